//! What the server's integration tests share: a catalogue, a server on
//! 127.0.0.1, and blocking helpers with bounded waits.

#![allow(dead_code)] // each test binary uses its own part of this

use std::io::Read;
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use streamlab_proto::{DialectChoice, PcmFormat, ServerConfig, Track};
use streamlab_server::{RunningServer, Server, ServerOptions};

pub fn tracks() -> Vec<Track> {
    let song = |name: &str, len: usize, seed: u8| Track {
        name: name.into(),
        format: PcmFormat::CD,
        pcm: (0..len)
            .map(|i| (i as u8).wrapping_mul(seed) ^ (i >> 8) as u8)
            .collect::<Arc<[u8]>>(),
    };
    // "big" is larger than loopback socket buffers, so a client that does not
    // read really blocks the server's writes.
    vec![
        song("RV", 50_000, 3),
        song("VL", 2_000, 5),
        song("big", 24 << 20, 7),
    ]
}

/// Options with a 2 s write timeout, so a stuck client goes quickly.
pub fn options(dialect: DialectChoice, pause_ms: u64, max_clients: usize) -> ServerOptions {
    ServerOptions {
        session: ServerConfig {
            dialect,
            pause: Duration::from_millis(pause_ms),
            ..ServerConfig::default()
        },
        max_clients,
        write_timeout: Duration::from_secs(2),
        ..ServerOptions::default()
    }
}

pub fn start(dialect: DialectChoice, pause_ms: u64, max_clients: usize) -> RunningServer {
    start_with(options(dialect, pause_ms, max_clients))
}

pub fn start_with(options: ServerOptions) -> RunningServer {
    let addr: SocketAddr = "127.0.0.1:0".parse().unwrap();
    Server::bind(addr, tracks(), options).unwrap().spawn()
}

pub fn connect(server: &RunningServer) -> TcpStream {
    let s = TcpStream::connect(server.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s
}

/// Reads until the server closes; returns everything.
pub fn read_to_close(s: &mut TcpStream) -> Vec<u8> {
    let mut all = Vec::new();
    s.read_to_end(&mut all).unwrap();
    all
}

/// Reads framed lines until `n` lines arrived.
pub fn read_lines(s: &mut TcpStream, n: usize) -> String {
    let mut text = Vec::new();
    let mut byte = [0u8; 1];
    while text.iter().filter(|&&b| b == b'\n').count() < n {
        match s.read(&mut byte).unwrap() {
            0 => break,
            _ => text.push(byte[0]),
        }
    }
    String::from_utf8_lossy(&text).into_owned()
}

/// Waits (bounded) until `cond` holds.
pub fn eventually(what: &str, cond: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}
