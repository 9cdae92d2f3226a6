//! The report as a student reads it: for each connection, the answers to
//! the original report's questions (A. IP version, B. addresses,
//! C. transport, D. ports, E. payload), then the tracks and what TCP did.
//! Each connection's section is printed as it finishes, so the counts of
//! the whole file come last.
//!
//! ```text
//! TCP stream 0: 10.0.0.10:45926 → 10.0.0.7:2635, original dialect
//!   A. IP version: IPv4
//!   B. server 10.0.0.7, client 10.0.0.10 (the client sent the SYN)
//!   C. transport: TCP
//!   D. client port 45926, server port 2635
//!   E. payload, in order:
//!        frame      time  from    message
//!            4  0.002009  client  "lista"
//! ```

use std::fmt::Write as _;

use streamlab_proto::observe::Marker;
use streamlab_proto::PcmFormat;

use super::{escape, is_binary, seconds, Analysis, Connection};
use crate::capture::Format;
use crate::scan::{CapturedTrack, Kind};
use crate::stream::{ClientBy, ConnInfo, Dir};

/// How much of a message the table shows.
const SHOWN: usize = 60;

/// The whole report: [`head`], each [`connection`], [`tail`].
pub fn render(a: &Analysis) -> String {
    let mut s = head(&a.file, a.format);
    for c in &a.connections {
        s.push_str(&connection(c, a.start_ns));
    }
    s + &tail(a)
}

/// The first line, before any connection: the file and its format.
pub fn head(file: &str, format: Format) -> String {
    let format = match format {
        Format::Pcap { nanos: true } => "pcap (nanosecond)",
        Format::Pcap { nanos: false } => "pcap (microsecond)",
        Format::Pcapng => "pcapng",
    };
    format!("{file}: {format}\n")
}

/// One connection's section, after a blank line.
pub fn connection(c: &Connection, start: Option<u64>) -> String {
    let mut s = String::from("\n");
    connection_into(&mut s, c, start);
    s
}

/// After the connections: the warnings, and what the file held in all.
pub fn tail(a: &Analysis) -> String {
    let mut s = String::from("\n");
    for w in &a.warnings {
        let _ = writeln!(s, "warning: {w}");
    }
    if let Some(e) = &a.stopped {
        let _ = writeln!(s, "warning: {e}; the report covers what was read");
    }
    if a.reported == 0 {
        let _ = writeln!(s, "no TCP connection matches");
    }
    let _ = writeln!(s, "{}", everything_else(a));
    s
}

/// The one-line summary of the whole file.
pub fn everything_else(a: &Analysis) -> String {
    let mut s = format!(
        "in all: {} frames, {} TCP segments in {} connection(s) reported",
        a.frames, a.tcp_segments, a.reported
    );
    if a.other.is_empty() {
        s.push_str("; nothing else");
    } else {
        let parts: Vec<String> = a.other.iter().map(|(k, n)| format!("{n} {k}")).collect();
        let _ = write!(s, "; other traffic: {}", parts.join(", "));
    }
    s
}

fn connection_into(s: &mut String, c: &Connection, start: Option<u64>) {
    let i = &c.info;
    let dialect = c.scan.dialect.map_or("no payload".to_string(), |d| {
        format!("{d:?} dialect").to_lowercase()
    });
    let _ = writeln!(
        s,
        "TCP stream {}: {} → {}, {dialect}",
        i.stream, i.client, i.server
    );
    let _ = writeln!(s, "  A. IP version: IPv{}", c.ip_version());
    let how = match i.client_by {
        ClientBy::Syn => "the client sent the SYN",
        ClientBy::ServerPort => "no SYN captured: the server uses port 2635",
        ClientBy::FirstPacket => "no SYN captured: the client sent the first packet",
    };
    let _ = writeln!(
        s,
        "  B. server {}, client {} ({how})",
        i.server.ip(),
        i.client.ip()
    );
    let _ = writeln!(s, "  C. transport: TCP");
    let _ = writeln!(
        s,
        "  D. client port {}, server port {}",
        i.client.port(),
        i.server.port()
    );
    payload(s, c, start);
    for (n, t) in c.scan.tracks.iter().enumerate() {
        track(s, n + 1, t, c.scan.dialect, start);
    }
    tcp(s, i);
}

fn payload(s: &mut String, c: &Connection, start: Option<u64>) {
    if c.scan.messages.is_empty() {
        let _ = writeln!(s, "  E. payload: none");
        return;
    }
    let _ = writeln!(s, "  E. payload, in order:");
    let _ = writeln!(s, "     {:>7}  {:>10}  from    message", "frame", "time");
    for m in &c.scan.messages {
        let from = match m.dir {
            Dir::ToServer => "client",
            Dir::ToClient => "server",
        };
        let binary = m.kind == Kind::Text && is_binary(&m.bytes);
        let mut text = match m.kind {
            Kind::Audio => format!("[{} B of audio]", m.len),
            _ if binary => format!("[{} B of binary data]", m.len),
            _ => format!("\"{}\"", escape(&m.bytes, SHOWN)),
        };
        if m.kind == Kind::Text && !binary && m.len > m.bytes.len() as u64 {
            let _ = write!(text, " ({} B)", m.len);
        }
        if m.missing > 0 {
            let _ = write!(text, " ({} B missing from the capture)", m.missing);
        }
        let at = seconds(m.time_ns, start);
        let _ = writeln!(s, "     {:>7}  {at:>10}  {from}  {text}", m.frame);
    }
    if c.scan.messages_dropped > 0 {
        let _ = writeln!(s, "     … and {} more messages", c.scan.messages_dropped);
    }
}

fn track(
    s: &mut String,
    n: usize,
    t: &CapturedTrack,
    dialect: Option<crate::scan::Dialect>,
    start: Option<u64>,
) {
    // The name comes from the capture: escaped as messages are, so a
    // name cannot move the cursor or colour a terminal.
    let name = t
        .name
        .as_deref()
        .map_or("(unnamed)".to_string(), |n| escape(n.as_bytes(), SHOWN));
    let _ = writeln!(s, "  track {n}: {name}");
    match &t.start {
        Some(spot) => {
            let glued = t.first_audio_frame == Some(spot.last_frame);
            let _ = writeln!(
                s,
                "     {}: frame {}, {} s{}",
                Marker::Start.name(),
                frames(spot.frame, spot.last_frame),
                seconds(spot.time_ns, start),
                placement(spot.is_split(), glued, "second", "first")
            );
        }
        None => {
            let _ = writeln!(
                s,
                "     track_data_start: not captured (the capture began during the track)"
            );
        }
    }
    match &t.end {
        Some(end) => {
            let glued = t.last_audio_frame == Some(end.frame);
            let _ = writeln!(
                s,
                "     {}:   frame {}, {} s{}",
                Marker::End.name(),
                frames(end.frame, end.last_frame),
                seconds(end.time_ns, start),
                placement(end.is_split(), glued, "first", "last")
            );
        }
        None => {
            let _ = writeln!(
                s,
                "     no end marker: the stream ends {} B after the start",
                t.audio_bytes + t.missing_bytes
            );
        }
    }
    // The original dialect carries no format: it is CD audio by convention.
    let (format, assumed) = match (t.format, dialect) {
        (Some(f), _) => (f, ""),
        _ => (PcmFormat::CD, " (assumed, as the original client does)"),
    };
    let mut line = format!(
        "     audio: {} B = {:.3} s of {format}{assumed}",
        t.audio_bytes,
        format.seconds(t.audio_bytes)
    );
    if let Some(a) = t.announced_bytes.filter(|&a| a != t.audio_bytes) {
        let _ = write!(line, "; the header announced {a} B");
    }
    if t.missing_bytes > 0 {
        let _ = write!(line, "; {} B missing from the capture", t.missing_bytes);
    }
    let _ = writeln!(s, "{line}");
    // From the first audio byte (not the start marker: a server may pause
    // after the marker) to the end marker, or the last audio byte.
    let last = t.end.map(|e| e.time_ns).or(t.last_audio_ns);
    if let Some((first, last)) = t.first_audio_ns.zip(last).filter(|(f, l)| l > f) {
        let secs = (last - first) as f64 / 1e9;
        let _ = writeln!(
            s,
            "     transfer: {secs:.6} s from the first audio byte, {:.2} Mbit/s",
            t.audio_bytes as f64 * 8.0 / secs / 1e6
        );
    }
}

/// Where a marker lies: split or not, and whether audio shares a segment
/// with it. A split marker has two segments, so the words name the one
/// that carries audio (`part`) and which audio (`which`).
fn placement(split: bool, glued: bool, part: &str, which: &str) -> String {
    match (split, glued) {
        (false, false) => String::new(),
        (false, true) => ", glued to audio in the same segment".into(),
        (true, false) => ", split across two segments".into(),
        (true, true) => {
            format!(", split across two segments, the {part} of them shared with the {which} audio")
        }
    }
}

fn frames(first: u64, last: u64) -> String {
    if first == last {
        first.to_string()
    } else {
        format!("{first}–{last}")
    }
}

fn tcp(s: &mut String, i: &ConnInfo) {
    let h = &i.handshake;
    let hs = match (h.syn, h.syn_ack, h.ack) {
        (Some(a), Some(b), Some(c)) => format!("handshake in frames {a}, {b}, {c}"),
        (None, _, _) => "no handshake captured (the capture starts mid-connection)".into(),
        (Some(a), b, c) => format!(
            "handshake incomplete: SYN in frame {a}, SYN-ACK {}, ACK {}",
            b.map_or("missing".into(), |f| f.to_string()),
            c.map_or("missing".into(), |f| f.to_string())
        ),
    };
    let _ = writeln!(s, "  TCP: {hs}");
    for (dir, name) in [
        (Dir::ToServer, "client → server"),
        (Dir::ToClient, "server → client"),
    ] {
        let d = &i.dirs[dir.index()];
        let mut line = format!(
            "     {name}: {} segments, {} B of data",
            d.segments, d.stream_bytes
        );
        let mut add = |n: u64, what: &str| {
            if n > 0 {
                let _ = write!(line, ", {n} {what}");
            }
        };
        add(d.retransmissions, "retransmitted");
        add(d.out_of_order, "out of order");
        add(d.gaps, "gap(s)");
        add(d.zero_windows, "zero window(s)");
        add(d.zero_window_probes, "window probe(s)");
        if d.gap_bytes > 0 {
            let _ = write!(line, " ({} B never captured)", d.gap_bytes);
        }
        if let Some(f) = d.fin_frame {
            let _ = write!(line, ", FIN in frame {f}");
        }
        if let Some(f) = d.rst_frame {
            let _ = write!(line, ", RST in frame {f}");
        }
        let _ = writeln!(s, "{line}");
        let labels: Vec<String> = d
            .tcp_analysis
            .named()
            .into_iter()
            .filter(|&(_, n)| n > 0)
            .map(|(name, n)| format!("{name} {n}"))
            .collect();
        if !labels.is_empty() {
            let _ = writeln!(s, "       tcp.analysis: {}", labels.join(", "));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::Scanner;
    use crate::stream::{Chunk, DirStats, Handshake, StreamSink};

    #[test]
    fn a_markers_place_names_the_segment_that_shares_it_with_audio() {
        assert_eq!(placement(false, false, "first", "last"), "");
        assert_eq!(
            placement(false, true, "first", "last"),
            ", glued to audio in the same segment"
        );
        assert_eq!(
            placement(true, false, "first", "last"),
            ", split across two segments"
        );
        assert_eq!(
            placement(true, true, "second", "first"),
            ", split across two segments, the second of them shared with the first audio"
        );
    }

    /// A connection whose client asked for `name` and got a short track.
    fn download(name: &[u8]) -> Connection {
        let mut scanner = Scanner::new(None);
        let chunk = |data, frame| Chunk {
            offset: 0,
            data,
            frame,
            time_ns: frame,
        };
        let mut command = b"download ".to_vec();
        command.extend_from_slice(name);
        scanner.data(Dir::ToServer, chunk(&command, 4));
        scanner.data(
            Dir::ToClient,
            chunk(b"track_data_start\x01\x02track_data_end", 5),
        );
        let addr = |s: &str| s.parse().expect("a literal address");
        let info = ConnInfo {
            stream: 0,
            client: addr("10.0.0.10:45926"),
            server: addr("10.0.0.7:2635"),
            client_by: ClientBy::Syn,
            first_frame: 1,
            first_time_ns: 1,
            last_frame: 5,
            last_time_ns: 5,
            handshake: Handshake::default(),
            dirs: [DirStats::default(), DirStats::default()],
            mid_stream: false,
        };
        Connection {
            info,
            scan: scanner.finish(),
        }
    }

    #[test]
    fn a_track_name_from_the_capture_is_escaped() {
        let s = connection(&download(b"a\x1b[31mred\x07"), Some(0));
        assert!(s.contains("  track 1: a\\x1b[31mred\\x07\n"), "{s}");
        assert!(!s.chars().any(|c| c.is_control() && c != '\n'), "{s:?}");
    }
}
