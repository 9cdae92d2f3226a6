//! A whole capture analysed: every TCP connection with its endpoints,
//! messages, tracks and TCP events, and a count of everything else.
//!
//! [`analyze_into`] streams the file once: packets are decoded, TCP
//! segments go to the connection table ([`crate::flows`]), each
//! connection's streams to a protocol [`Scanner`], and each connection, as
//! it finishes, to a [`Report`] — which may print it and forget it. Memory
//! is bounded by the connections tracked at once ([`Limits`]) and the
//! messages each keeps, not by the size of the capture or its number of
//! connections (audio is counted, never kept — unless an [`AudioOut`]
//! takes it). [`analyze`] keeps every connection instead, for callers that
//! want them all at once.
//!
//! Connections come out in the order they finish (see [`crate::flows`]):
//! a connection that closed, or went silent, comes out as the capture's
//! clock passes its deadline; the rest at the end, by stream number.
//!
//! The report is rendered as text ([`text`]: answers to the original
//! report's questions A–E), as JSON ([`json`]: a versioned schema), or as
//! the streams themselves ([`follow`]), each a piece at a time: a head,
//! one piece per connection, a tail.

pub mod check;
pub mod follow;
pub mod json;
pub mod text;

use std::collections::BTreeMap;
use std::io::Read;

use crate::capture::{CaptureError, CaptureReader, Format};
use crate::decode::{decode, Decoded};
use crate::flows::Flows;
pub use crate::flows::{Limits, Skipped};
use crate::scan::{AudioOut, Scan, Scanner};
use crate::stream::ConnInfo;
use crate::tcp_analysis::SegmentFacts;

/// Which connections to report.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// Only this `tcp.stream` number.
    pub stream: Option<u64>,
    /// Only connections with this port on either side.
    pub port: Option<u16>,
}

impl Filter {
    pub fn keeps(&self, info: &ConnInfo) -> bool {
        self.stream.is_none_or(|s| s == info.stream)
            && self
                .port
                .is_none_or(|p| info.client.port() == p || info.server.port() == p)
    }
}

/// Which connections to report, and the bounds on the table of them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Options {
    pub filter: Filter,
    pub limits: Limits,
}

/// Receives an analysis as it goes.
pub trait Report {
    /// The capture's header was read: it is a capture, of this format.
    fn begin(&mut self, file: &str, format: Format);
    /// A connection finished; `start_ns` is the capture's first timestamp.
    fn connection(&mut self, c: Connection, start_ns: Option<u64>);
    /// A segment of a wanted connection, as it is read (before its
    /// connection finishes): for a report that draws or counts segments.
    fn segment(&mut self, _facts: &SegmentFacts) {}
}

/// One TCP connection: what TCP did and what the protocol said.
#[derive(Debug, Clone)]
pub struct Connection {
    pub info: ConnInfo,
    pub scan: Scan,
}

impl Connection {
    /// 4 or 6.
    pub fn ip_version(&self) -> u8 {
        if self.info.client.is_ipv4() {
            4
        } else {
            6
        }
    }
}

/// Everything found in one capture.
#[derive(Debug)]
pub struct Analysis {
    /// The file's name as given.
    pub file: String,
    pub format: Format,
    /// Frames read (Wireshark's numbering).
    pub frames: u64,
    /// The first frame's time: report times count from it.
    pub start_ns: Option<u64>,
    pub tcp_segments: u64,
    /// Everything that is not TCP, by kind (`UDP`, `ARP`, …).
    pub other: BTreeMap<&'static str, u64>,
    /// Oddities in the file the reader tolerated, and limits the analysis
    /// hit (a full connection table).
    pub warnings: Vec<String>,
    /// Why the reading stopped early, if it did (the report covers what
    /// was read before).
    pub stopped: Option<CaptureError>,
    /// The connections the filter kept, in the order they finished, from
    /// [`analyze`]; empty from [`analyze_into`], which hands each to its
    /// [`Report`] instead.
    pub connections: Vec<Connection>,
    /// How many connections were reported.
    pub reported: u64,
    /// Segments not analysed because too many connections were open.
    pub skipped: Skipped,
}

impl Analysis {
    /// True when the file ended in the middle of a record.
    pub fn is_truncated(&self) -> bool {
        matches!(self.stopped, Some(CaptureError::Truncated { .. }))
    }
}

/// Makes the audio output for a connection's tracks, if any.
pub type OutFactory<'a> = dyn FnMut(&ConnInfo) -> Option<Box<dyn AudioOut>> + 'a;

/// Reads a whole capture, keeping every connection the filter wants in
/// [`Analysis::connections`]. A file that is not a capture (or cannot be
/// opened) is an error; a capture that is cut off or corrupt part-way is
/// analysed up to that point, with [`Analysis::stopped`] saying why.
pub fn analyze<R: Read>(
    file: &str,
    reader: R,
    filter: &Filter,
    outs: &mut OutFactory<'_>,
) -> Result<Analysis, CaptureError> {
    let options = Options {
        filter: filter.clone(),
        limits: Limits::default(),
    };
    let mut kept = Keep(Vec::new());
    let mut analysis = analyze_into(file, reader, &options, outs, &mut kept)?;
    analysis.connections = kept.0;
    Ok(analysis)
}

/// Keeps every connection.
struct Keep(Vec<Connection>);

impl Report for Keep {
    fn begin(&mut self, _: &str, _: Format) {}
    fn connection(&mut self, c: Connection, _: Option<u64>) {
        self.0.push(c);
    }
}

/// Reads a whole capture, handing each connection the filter wants to
/// `report` as it finishes; errors as [`analyze`]'s.
pub fn analyze_into<R: Read>(
    file: &str,
    reader: R,
    options: &Options,
    outs: &mut OutFactory<'_>,
    report: &mut dyn Report,
) -> Result<Analysis, CaptureError> {
    let mut reader = CaptureReader::new(reader)?;
    report.begin(file, reader.format());
    let filter = &options.filter;
    let mut flows = Flows::new(|info: &ConnInfo| Scanner::new(outs(info)))
        .with_limits(options.limits)
        .with_filter(|info| filter.keeps(info));
    if let Some(stream) = filter.stream {
        flows = flows.last_stream(stream);
    }
    let mut start_ns = None;
    let mut tcp_segments = 0;
    let mut reported = 0;
    let mut other: BTreeMap<&'static str, u64> = BTreeMap::new();
    let mut hand_out = |flows: &mut Flows<'_, Scanner>, report: &mut dyn Report, start_ns| {
        while let Some((info, scanner)) = flows.poll_finished() {
            let scan = scanner.finish();
            report.connection(Connection { info, scan }, start_ns);
            reported += 1;
        }
    };
    let stopped = loop {
        match reader.next_packet() {
            Ok(Some(packet)) => {
                start_ns.get_or_insert(packet.timestamp_ns);
                match decode(&packet) {
                    Decoded::Tcp(segment) => {
                        tcp_segments += 1;
                        if let Some((_, Some(facts))) = flows.labelled(&packet, &segment) {
                            report.segment(&facts);
                        }
                        hand_out(&mut flows, report, start_ns);
                    }
                    Decoded::Other(o) => *other.entry(o.category()).or_default() += 1,
                }
            }
            Ok(None) => break None,
            Err(e) => break Some(e),
        }
    };
    flows.end();
    hand_out(&mut flows, report, start_ns);
    let skipped = flows.skipped();
    let mut warnings: Vec<String> = reader.warnings().iter().map(ToString::to_string).collect();
    warnings.extend(skip_warning(&skipped, options.limits.max_connections));
    Ok(Analysis {
        file: file.to_string(),
        format: reader.format(),
        frames: reader.frames_read(),
        start_ns,
        tcp_segments,
        other,
        warnings,
        stopped,
        connections: Vec::new(),
        reported,
        skipped,
    })
}

/// What a full connection table cost, in a sentence.
fn skip_warning(skipped: &Skipped, max: usize) -> Option<String> {
    let first = skipped.first_frame?;
    Some(format!(
        "more than {max} connections at once: {} TCP segments from frame {first} on \
         were skipped ({} of them SYNs opening a connection), and later stream numbers \
         may differ from Wireshark's; --max-connections raises the limit",
        skipped.segments, skipped.syns
    ))
}

/// Printable text for a message: the one escaping rule of the kit, owned
/// by the protocol crate (the client prints server text through it too).
pub use streamlab_proto::escape::escape;

/// True when `bytes` look like binary data rather than text: more than a
/// quarter of the first 64 are neither UTF-8 text nor line breaks.
pub fn is_binary(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(64)];
    let mut odd = 0;
    for chunk in head.utf8_chunks() {
        odd += chunk.invalid().len();
        odd += chunk
            .valid()
            .chars()
            .filter(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
            .count();
    }
    odd * 4 > head.len()
}

/// Seconds since `start`, six decimals: `0.002009`.
pub fn seconds(ns: u64, start: Option<u64>) -> String {
    let d = ns.saturating_sub(start.unwrap_or(ns));
    format!("{}.{:06}", d / 1_000_000_000, (d % 1_000_000_000) / 1_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_shown_as_text_and_the_rest_escaped() {
        assert_eq!(escape(b"RV\nVL\n", 60), "RV\\nVL\\n");
        let not_found = "Musica 'x' não encontrada".as_bytes();
        assert_eq!(escape(not_found, 60), "Musica 'x' não encontrada");
        assert_eq!(escape(b"a\x00\xff\"", 60), "a\\x00\\xff\\\"");
        assert_eq!(escape(b"abcdef", 3), "abc…");
    }

    #[test]
    fn audio_is_binary_and_replies_are_not() {
        let audio: Vec<u8> = (0..200u32).map(|i| (i * 37 % 256) as u8).collect();
        assert!(is_binary(&audio));
        assert!(!is_binary(b"amazing_grace\nfrere_jacques\n"));
        assert!(!is_binary("Musica 'x' não encontrada".as_bytes()));
        assert!(!is_binary(b""));
    }

    #[test]
    fn times_count_from_the_first_frame() {
        assert_eq!(seconds(1_500_002_000, Some(1_000_000_000)), "0.500002");
        assert_eq!(seconds(7, None), "0.000000");
    }
}
