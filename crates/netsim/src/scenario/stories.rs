//! How each scenario is set up: its network, its server, its client.

use std::net::SocketAddrV4;
use std::time::Duration;

use streamlab_proto::{
    original, Device, Dialect, DialectChoice, PlayState, Request, ServerConfig, Track,
};

use super::{patterned_track, synthetic_track, Options, Run, Scenario};
use crate::apps::{Catalogue, ClientApp, Expect, NaiveClient, NaiveStep, ServerApp};
use crate::player::PlayerConfig;
use crate::sim::{Sim, SimConfig};
use crate::time::SimTime;

/// The song's name in every scenario that downloads one.
const SONG: &str = "song";

/// `framing`: the song's length puts `track_data_end` across a segment
/// boundary in the original dialect. With timestamps (the `linux` model) a
/// full segment carries 1448 B: 16 B of start marker + 2872 B of audio =
/// 2888 = 1448 + 1440, so 8 bytes of the end marker fill the second full
/// segment and 6 go in the third. (Without timestamps, 1460 B segments,
/// the marker would fit whole in the third.)
const FRAMING_SONG: usize = 2872;
/// `lossy`: 60 kB, about 40 full segments.
const LOSSY_SONG: usize = 60_000;
/// `slow-reader`: more than twice the receive buffer Linux starts with
/// (128 KiB), so the window closes even if the client read a little first.
const SLOW_READER_SONG: usize = 300_000;
/// `starved`: two seconds of CD audio (1.41 Mbit/s).
const STARVED_SONG: usize = 2 * 176_400;

pub(super) fn build(scenario: Scenario, dialect: Dialect, options: &Options) -> Run {
    let mut config = SimConfig::new(options.seed);
    let (sim, song) = match scenario {
        Scenario::Report => (report(config, dialect, options), None),
        Scenario::Framing => {
            let song = patterned_track(SONG, FRAMING_SONG);
            (framing(config, dialect, options, &song), Some(song))
        }
        Scenario::Lossy => {
            let song = song_or(options, LOSSY_SONG);
            (lossy(config, options, &song, dialect), Some(song))
        }
        Scenario::SlowReader => {
            // A modest home link, so the window fills at a readable pace.
            config.downlink.bandwidth = Some(10_000_000);
            let song = song_or(options, SLOW_READER_SONG);
            let (stops, reads_again) = super::SLOW_READER_PAUSE;
            let at = |d: Duration| SimTime::from_nanos(d.as_nanos() as u64);
            let client = ClientApp::new(dialect, download_and_quit(&song.name))
                .like_the_kits_client()
                .stop_reading(at(stops), at(reads_again));
            (start(config, options, client, &song, dialect), Some(song))
        }
        Scenario::Starved => {
            for link in [&mut config.uplink, &mut config.downlink] {
                link.bandwidth = Some(1_000_000);
                // A deep router buffer: a whole window may queue without a drop.
                link.queue_limit = Duration::from_secs(1);
            }
            let song = song_or(options, STARVED_SONG);
            let client = ClientApp::new(dialect, download_and_quit(&song.name))
                .like_the_kits_client()
                .with_player(PlayerConfig::default());
            (start(config, options, client, &song, dialect), Some(song))
        }
    };
    Run {
        scenario,
        dialect,
        sim,
        song,
    }
}

/// The user's song ([`Options::song`]), or a pattern of `len` bytes.
fn song_or(options: &Options, len: usize) -> Track {
    options
        .song
        .clone()
        .unwrap_or_else(|| patterned_track(SONG, len))
}

fn download_and_quit(name: &str) -> Vec<Request> {
    vec![
        Request::Download {
            name: name.to_string(),
        },
        Request::Quit,
    ]
}

/// `lossy`: links losing 5% of frames each way (unless the options say
/// otherwise), a client downloading `song`.
pub(super) fn lossy(
    mut config: SimConfig,
    options: &Options,
    song: &Track,
    dialect: Dialect,
) -> Sim {
    for link in [&mut config.uplink, &mut config.downlink] {
        link.loss = 0.05;
    }
    let client = ClientApp::new(dialect, download_and_quit(&song.name)).like_the_kits_client();
    start(config, options, client, song, dialect)
}

/// The server's settings: the run's dialect, and the user's pause if any.
fn server_config(dialect: Dialect, options: &Options) -> ServerConfig {
    let dialect = match dialect {
        Dialect::Original => DialectChoice::Original,
        Dialect::Framed => DialectChoice::Framed,
    };
    let default = ServerConfig::default();
    ServerConfig {
        dialect,
        pause: options.pause.unwrap_or(default.pause),
        ..default
    }
}

/// The client as the server's one device.
fn device(addr: SocketAddrV4) -> Device {
    Device {
        ip: addr.ip().to_string(),
        port: addr.port(),
        state: PlayState::Idle,
        song: None,
        position_ms: None,
    }
}

/// A server with one song and the client as its device, and `client`.
fn start(
    mut config: SimConfig,
    options: &Options,
    client: ClientApp,
    song: &Track,
    dialect: Dialect,
) -> Sim {
    options.apply(&mut config);
    let ctx = Catalogue::new(vec![song.clone()], vec![device(config.client)]);
    let server = ServerApp::new(server_config(dialect, options), ctx);
    Sim::new(config, Box::new(client), Box::new(server))
}

/// The original report's conversation: client 10.0.0.10:45926 asks the
/// server 10.0.0.7:2635 for its songs (`lista`), gets `RV\nVL\n`, says
/// `quit`, gets `goodbye`, and both sides close.
fn report(mut config: SimConfig, dialect: Dialect, options: &Options) -> Sim {
    options.apply(&mut config);
    let client = ClientApp::new(dialect, vec![Request::List, Request::Quit]);
    let ctx = Catalogue::new(
        vec![synthetic_track("RV"), synthetic_track("VL")],
        vec![device(config.client)],
    );
    let server = ServerApp::new(server_config(dialect, options), ctx);
    Sim::new(config, Box::new(client), Box::new(server))
}

/// `framing`: a server that writes its messages back to back (no pause,
/// as the original server does on a fast machine or loopback), and a
/// client in a hurry that writes two commands at once.
///
/// In the original dialect the client is a [`NaiveClient`], reading the
/// way the original Python client does; in the framed dialect it is the
/// protocol crate's client, sending everything at once.
fn framing(mut config: SimConfig, dialect: Dialect, options: &Options, song: &Track) -> Sim {
    options.apply(&mut config);
    let ctx = Catalogue::new(vec![song.clone()], vec![device(config.client)]);
    let server_config = ServerConfig {
        pause: options.pause.unwrap_or(Duration::ZERO),
        ..server_config(dialect, options)
    };
    let server = Box::new(ServerApp::new(server_config, ctx));
    match dialect {
        Dialect::Original => {
            let at = SimTime::from_millis;
            let list = original::encode_song_list(&[SONG.to_string()]);
            let download = format!("download {SONG}");
            let client = NaiveClient::new(vec![
                NaiveStep::new(at(0), &["lista", "lista_dispositivos"], Expect::Reply(list)),
                NaiveStep::new(at(500), &[&download], Expect::Track),
                NaiveStep::new(
                    at(1_000),
                    &["quit"],
                    Expect::Reply(original::GOODBYE.to_vec()),
                ),
            ]);
            Sim::new(config, Box::new(client), server)
        }
        Dialect::Framed => {
            let requests = vec![
                Request::List,
                Request::Devices,
                Request::Download {
                    name: SONG.to_string(),
                },
                Request::Quit,
            ];
            let client = ClientApp::new(Dialect::Framed, requests);
            Sim::new(config, Box::new(client), server)
        }
    }
}
