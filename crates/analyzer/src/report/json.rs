//! `--json`: the analysis for scripts, in a versioned schema
//! (docs/analyze-json.md). Field names never change within a version;
//! new fields may be added.

use serde::Serialize;

use super::{escape, Analysis, Connection};
use crate::scan::{Message, Track};
use crate::stream::{ClientBy, DirStats, Handshake};

/// The schema's name and version, the first field of every document.
pub const SCHEMA: &str = "streamlab-analyze/1";

#[derive(Serialize)]
struct Doc<'a> {
    schema: &'static str,
    file: &'a str,
    format: &'static str,
    frames: u64,
    tcp_segments: u64,
    other: &'a std::collections::BTreeMap<&'static str, u64>,
    warnings: &'a [String],
    /// Why reading stopped early, if it did.
    stopped: Option<String>,
    truncated: bool,
    connections: Vec<Conn<'a>>,
}

#[derive(Serialize)]
struct Endpoint {
    ip: String,
    port: u16,
}

#[derive(Serialize)]
struct Directions<'a> {
    client_to_server: &'a DirStats,
    server_to_client: &'a DirStats,
}

#[derive(Serialize)]
struct Conn<'a> {
    stream: u64,
    ip_version: u8,
    transport: &'static str,
    client: Endpoint,
    server: Endpoint,
    client_by: &'static str,
    mid_stream: bool,
    dialect: Option<crate::scan::Dialect>,
    first_frame: u64,
    last_frame: u64,
    /// Seconds since the capture's first frame.
    start: f64,
    end: f64,
    handshake: &'a Handshake,
    directions: Directions<'a>,
    messages: Vec<Msg<'a>>,
    messages_dropped: u64,
    tracks: &'a [Track],
}

#[derive(Serialize)]
struct Msg<'a> {
    #[serde(flatten)]
    message: &'a Message,
    /// Seconds since the capture's first frame.
    time: f64,
    /// The message's bytes, escaped as in the text report (empty for
    /// audio).
    text: String,
}

/// The analysis as one JSON document.
pub fn render(a: &Analysis) -> String {
    let start = a.start_ns.unwrap_or(0);
    let secs = |ns: u64| ns.saturating_sub(start) as f64 / 1e9;
    let doc = Doc {
        schema: SCHEMA,
        file: &a.file,
        format: match a.format {
            crate::capture::Format::Pcap { .. } => "pcap",
            crate::capture::Format::Pcapng => "pcapng",
        },
        frames: a.frames,
        tcp_segments: a.tcp_segments,
        other: &a.other,
        warnings: &a.warnings,
        stopped: a.stopped.as_ref().map(ToString::to_string),
        truncated: a.is_truncated(),
        connections: a.connections.iter().map(|c| conn(c, &secs)).collect(),
    };
    // Serialising plain structs of strings and numbers cannot fail.
    serde_json::to_string_pretty(&doc).expect("the analysis serialises") + "\n"
}

fn conn<'a>(c: &'a Connection, secs: &dyn Fn(u64) -> f64) -> Conn<'a> {
    let i = &c.info;
    let endpoint = |a: std::net::SocketAddr| Endpoint {
        ip: a.ip().to_string(),
        port: a.port(),
    };
    Conn {
        stream: i.stream,
        ip_version: c.ip_version(),
        transport: "TCP",
        client: endpoint(i.client),
        server: endpoint(i.server),
        client_by: match i.client_by {
            ClientBy::Syn => "syn",
            ClientBy::ServerPort => "server_port",
            ClientBy::FirstPacket => "first_packet",
        },
        mid_stream: i.mid_stream,
        dialect: c.scan.dialect,
        first_frame: i.first_frame,
        last_frame: i.last_frame,
        start: secs(i.first_time_ns),
        end: secs(i.last_time_ns),
        handshake: &i.handshake,
        directions: Directions {
            client_to_server: &i.dirs[0],
            server_to_client: &i.dirs[1],
        },
        messages: c
            .scan
            .messages
            .iter()
            .map(|m| Msg {
                message: m,
                time: secs(m.time_ns),
                text: escape(&m.bytes, usize::MAX),
            })
            .collect(),
        messages_dropped: c.scan.messages_dropped,
        tracks: &c.scan.tracks,
    }
}
