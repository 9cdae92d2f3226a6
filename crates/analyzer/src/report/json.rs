//! `--json`: the analysis for scripts, in a versioned schema
//! (docs/analyze-json.md). Field names never change within a version;
//! new fields may be added.
//!
//! The document is written a piece at a time, so a capture of a million
//! connections never has them all in memory: the head (`schema`, `file`,
//! `format`) and the opening of `connections`, each connection as it
//! finishes, then the close and the fields known only at the end.

use serde::Serialize;

use super::{escape, Analysis, Connection};
use crate::capture::Format;
use crate::scan::{CapturedTrack, Message};
use crate::stream::{ClientBy, DirStats, Handshake};

/// The schema's name and version, the first field of every document.
pub const SCHEMA: &str = "streamlab-analyze/1";

/// The fields before the connections.
#[derive(Serialize)]
struct Head<'a> {
    schema: &'static str,
    file: &'a str,
    format: &'static str,
}

/// The fields after the connections: known only once the file is read.
#[derive(Serialize)]
struct Tail<'a> {
    frames: u64,
    tcp_segments: u64,
    other: &'a std::collections::BTreeMap<&'static str, u64>,
    warnings: &'a [String],
    /// Why reading stopped early, if it did.
    stopped: Option<String>,
    truncated: bool,
    skipped_segments: u64,
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
    tracks: &'a [CapturedTrack],
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

/// The analysis as one JSON document: [`head`], each [`connection`],
/// [`tail`].
pub fn render(a: &Analysis) -> String {
    let mut s = head(&a.file, a.format);
    for (i, c) in a.connections.iter().enumerate() {
        s.push_str(&connection(c, a.start_ns, i == 0));
    }
    s + &tail(a)
}

/// The document up to the opening of its `connections` array.
pub fn head(file: &str, format: Format) -> String {
    let head = Head {
        schema: SCHEMA,
        file,
        format: match format {
            Format::Pcap { .. } => "pcap",
            Format::Pcapng => "pcapng",
        },
    };
    // Serialising plain structs of strings and numbers cannot fail.
    let text = serde_json::to_string_pretty(&head).expect("the head serialises");
    // Open, not closed: `{ …fields…,` then the array.
    let fields = text.trim_end_matches('}').trim_end();
    format!("{fields},\n  \"connections\": [")
}

/// One element of the `connections` array, indented to its place, with
/// the comma before it unless it is the `first`.
pub fn connection(c: &Connection, start_ns: Option<u64>, first: bool) -> String {
    let start = start_ns.unwrap_or(0);
    let secs = |ns: u64| ns.saturating_sub(start) as f64 / 1e9;
    // As in `head`: plain data always serialises.
    let text = serde_json::to_string_pretty(&conn(c, &secs)).expect("a connection serialises");
    let mut s = String::from(if first { "\n" } else { ",\n" });
    // JSON strings hold no raw line breaks, so each line can be indented.
    for (i, line) in text.lines().enumerate() {
        if i > 0 {
            s.push('\n');
        }
        s.push_str("    ");
        s.push_str(line);
    }
    s
}

/// The close of the array and the fields known only at the end.
pub fn tail(a: &Analysis) -> String {
    let tail = Tail {
        frames: a.frames,
        tcp_segments: a.tcp_segments,
        other: &a.other,
        warnings: &a.warnings,
        stopped: a.stopped.as_ref().map(ToString::to_string),
        truncated: a.is_truncated(),
        skipped_segments: a.skipped.segments,
    };
    // As in `head`: plain data always serialises.
    let text = serde_json::to_string_pretty(&tail).expect("the tail serialises");
    let fields = text.trim_start_matches('{');
    let close = if a.reported == 0 { "]" } else { "\n  ]" };
    format!("{close},{fields}\n")
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
