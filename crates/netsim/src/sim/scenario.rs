//! Named scenarios: simulations set up to tell one story each.
//!
//! * [`report`]: the original report's capture — `lista`, `RV\nVL\n`,
//!   `quit`, `goodbye`, then the FINs;
//! * [`coalesced`]: two commands written at one instant leave in one
//!   segment; the original server reads them as one command and answers
//!   `Comando Inexistente.`, the framed one cuts them at line ends;
//! * [`lossy`]: a whole song over links that lose frames both ways; TCP
//!   retransmits until every byte arrives, in order.

use std::net::SocketAddrV4;
use std::sync::Arc;

use streamlab_proto::{
    Device, Dialect, DialectChoice, PcmFormat, PlayState, Request, ServerConfig, Track,
};

use super::{Sim, SimConfig};
use crate::apps::{Catalogue, ClientApp, ScriptedPeer, ServerApp};
use crate::time::SimTime;

/// A tiny CD-format track of silence: only its name matters here.
pub fn synthetic_track(name: &str) -> Track {
    Track {
        name: name.to_string(),
        format: PcmFormat::CD,
        // 16 frames of 4 bytes (stereo, 16-bit).
        pcm: Arc::from(vec![0u8; 64]),
    }
}

/// The report's server: songs `RV` and `VL`, the client as its one device.
fn server(config: &SimConfig, dialect: DialectChoice) -> Box<ServerApp> {
    let device = |addr: SocketAddrV4| Device {
        ip: addr.ip().to_string(),
        port: addr.port(),
        state: PlayState::Idle,
        song: None,
    };
    let ctx = Catalogue::new(
        vec![synthetic_track("RV"), synthetic_track("VL")],
        vec![device(config.client)],
    );
    let config = ServerConfig {
        dialect,
        ..ServerConfig::default()
    };
    Box::new(ServerApp::new(config, ctx))
}

/// The original report's conversation: client 10.0.0.10:45926 asks the
/// server 10.0.0.7:2635 for its songs (`lista`), gets `RV\nVL\n`, says
/// `quit`, gets `goodbye`, and both sides close. Original dialect; the
/// seed decides the ISNs.
pub fn report(seed: u64) -> Sim {
    let config = SimConfig::new(seed);
    let client = ClientApp::new(Dialect::Original, vec![Request::List, Request::Quit]);
    let server = server(&config, DialectChoice::Original);
    Sim::new(config, Box::new(client), server)
}

/// Which side of the [`coalesced`] story to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coalesced {
    /// A scripted peer writes `lista` and `quit` at the same instant, as
    /// the original client could; a second `quit` follows 500 ms later.
    Original,
    /// The framed client sends its greeting, `list` and `quit` at once.
    Framed,
}

/// Two commands written together reach the server in one segment.
pub fn coalesced(seed: u64, which: Coalesced) -> Sim {
    let config = SimConfig::new(seed);
    match which {
        Coalesced::Original => {
            let at = SimTime::from_millis;
            let peer = ScriptedPeer::new(vec![
                (at(0), b"lista".to_vec()),
                (at(0), b"quit".to_vec()),
                (at(500), b"quit".to_vec()),
            ]);
            let server = server(&config, DialectChoice::Original);
            Sim::new(config, Box::new(peer), server)
        }
        Coalesced::Framed => {
            let client = ClientApp::new(Dialect::Framed, vec![Request::List, Request::Quit]);
            let server = server(&config, DialectChoice::Framed);
            Sim::new(config, Box::new(client), server)
        }
    }
}

/// The song of the [`lossy`] scenario: `len` bytes of a pattern that no
/// shifted or repeated piece matches, so a misplaced byte shows.
pub fn patterned_track(name: &str, len: usize) -> Track {
    let pcm: Vec<u8> = (0..len)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761).rotate_left(7) as u8)
        .collect();
    Track {
        name: name.to_string(),
        format: PcmFormat::CD,
        pcm: Arc::from(pcm),
    }
}

/// A framed client downloads a `len`-byte song while each direction of the
/// link loses a frame with probability `loss`.
pub fn lossy(seed: u64, loss: f64, len: usize) -> Sim {
    let mut config = SimConfig::new(seed);
    config.uplink.loss = loss;
    config.downlink.loss = loss;
    let song = patterned_track("song", len);
    let ctx = Catalogue::new(vec![song], Vec::new());
    let server_config = ServerConfig {
        dialect: DialectChoice::Framed,
        ..ServerConfig::default()
    };
    let server = Box::new(ServerApp::new(server_config, ctx));
    let requests = vec![
        Request::Download {
            name: "song".into(),
        },
        Request::Quit,
    ];
    let client = ClientApp::new(Dialect::Framed, requests);
    Sim::new(config, Box::new(client), server)
}
