//! The trace of a run: one row per thing worth seeing, rendered as a
//! fixed-width text table that a student reads like a capture and a test
//! keeps as a snapshot.
//!
//! ```text
//!       time  who                              what
//!   0.000000  10.0.0.10:45926 → 10.0.0.7:2635  SYN
//!   0.001004  10.0.0.7:2635 → 10.0.0.10:45926  SYN ACK
//!   0.002009  10.0.0.10:45926 → 10.0.0.7:2635  data 5 B "lista"
//!   0.003018  10.0.0.7:2635                    server read "lista"
//! ```
//!
//! Segments are shown when they are sent, by the flags they carry and a
//! short preview of their payload; a segment the network drops is followed
//! by a `drop (…)` row. The other rows are what the endpoints and the
//! applications report. Nothing here depends on a clock or a hash order,
//! so the same run always renders the same text.

use std::fmt::{self, Write as _};

use crate::time::SimTime;
use crate::wire::{TcpFlags, TcpRepr};

/// The longest payload preview shown, in characters before escaping.
const PREVIEW_CHARS: usize = 24;
/// The width of the `time` column: up to 999 seconds line up.
const TIME_WIDTH: usize = 10;
/// The width of the `who` column: `255.255.255.255:65535 → …` fits.
const WHO_WIDTH: usize = 31;

/// One line of the trace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceRow {
    pub at: SimTime,
    /// `10.0.0.10:45926 → 10.0.0.7:2635` for a segment, the host's own
    /// address for anything else.
    pub who: String,
    pub what: String,
    /// For a segment (and its drop), the frame it was: an index into
    /// [`Sim::frames`](crate::sim::Sim::frames).
    pub frame: Option<usize>,
}

/// Every row of a run, in the order things happened.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Trace {
    rows: Vec<TraceRow>,
}

impl Trace {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&mut self, at: SimTime, who: impl Into<String>, what: impl Into<String>) {
        self.rows.push(TraceRow {
            at,
            who: who.into(),
            what: what.into(),
            frame: None,
        });
    }

    /// A row about frame `frame` (its sending, or its drop).
    pub fn push_frame(
        &mut self,
        at: SimTime,
        who: impl Into<String>,
        what: impl Into<String>,
        frame: usize,
    ) {
        self.rows.push(TraceRow {
            at,
            who: who.into(),
            what: what.into(),
            frame: Some(frame),
        });
    }

    /// The table with a first column `No.`: each segment's frame number in
    /// a capture, as Wireshark numbers it (`numbers[frame]`, 1-based;
    /// blank for rows that are no frame, and for frames the capture does
    /// not hold, such as one dropped before it reached the capture point).
    pub fn render_numbered(&self, numbers: &[Option<usize>]) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{:>6}  {:>TIME_WIDTH$}  {:<WHO_WIDTH$}  what",
            "No.", "time", "who"
        );
        for row in &self.rows {
            let no = row
                .frame
                .and_then(|f| numbers.get(f).copied().flatten())
                .map(|n| n.to_string())
                .unwrap_or_default();
            let at = row.at.to_string();
            let line = format!(
                "{no:>6}  {at:>TIME_WIDTH$}  {:<WHO_WIDTH$}  {}",
                row.who, row.what
            );
            let _ = writeln!(out, "{}", line.trim_end());
        }
        out
    }

    pub fn rows(&self) -> &[TraceRow] {
        &self.rows
    }

    /// The rows whose `what` contains `needle`, for assertions.
    pub fn matching<'a>(&'a self, needle: &'a str) -> impl Iterator<Item = &'a TraceRow> + 'a {
        self.rows.iter().filter(move |r| r.what.contains(needle))
    }
}

impl fmt::Display for Trace {
    /// The table: a header line, then one line per row, without trailing
    /// spaces.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut line = String::new();
        let _ = write!(line, "{:>TIME_WIDTH$}  {:<WHO_WIDTH$}  what", "time", "who");
        writeln!(f, "{line}")?;
        for row in &self.rows {
            line.clear();
            // `SimTime`'s Display ignores widths: pad its text instead.
            let at = row.at.to_string();
            let _ = write!(
                line,
                "{at:>TIME_WIDTH$}  {:<WHO_WIDTH$}  {}",
                row.who, row.what
            );
            writeln!(f, "{}", line.trim_end())?;
        }
        Ok(())
    }
}

/// A segment as the `what` column shows it: its flags, or `data N B
/// "preview"` followed by any flag other than ACK and PSH.
///
/// ```text
/// SYN            SYN ACK           ACK          FIN ACK
/// data 5 B "lista"                 data 7 B "goodbye" FIN
/// ```
pub fn describe_segment(seg: &TcpRepr) -> String {
    let named = [
        (TcpFlags::SYN, "SYN"),
        (TcpFlags::FIN, "FIN"),
        (TcpFlags::RST, "RST"),
        (TcpFlags::ACK, "ACK"),
    ];
    if seg.payload.is_empty() {
        let flags: Vec<&str> = named
            .iter()
            .filter(|(flag, _)| seg.flags.contains(*flag))
            .map(|(_, name)| *name)
            .collect();
        return if flags.is_empty() {
            "(no flags)".to_string()
        } else {
            flags.join(" ")
        };
    }
    let mut s = format!("data {} B {}", seg.payload.len(), preview(&seg.payload));
    for (flag, name) in &named[..3] {
        if seg.flags.contains(*flag) {
            s.push(' ');
            s.push_str(name);
        }
    }
    s
}

/// A short, printable, quoted preview of some bytes: at most 24 of them,
/// with `\n`, `\r`, `\t`, `\"`, `\\` and `\xNN` escapes, and `…` when cut.
pub fn preview(bytes: &[u8]) -> String {
    let mut s = String::from("\"");
    for &b in bytes.iter().take(PREVIEW_CHARS) {
        match b {
            b'\n' => s.push_str("\\n"),
            b'\r' => s.push_str("\\r"),
            b'\t' => s.push_str("\\t"),
            b'"' => s.push_str("\\\""),
            b'\\' => s.push_str("\\\\"),
            0x20..=0x7e => s.push(char::from(b)),
            _ => {
                let _ = write!(s, "\\x{b:02x}");
            }
        }
    }
    s.push('"');
    if bytes.len() > PREVIEW_CHARS {
        s.push('…');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(flags: TcpFlags, payload: &[u8]) -> TcpRepr {
        TcpRepr {
            src_port: 1,
            dst_port: 2,
            seq: 0,
            ack: 0,
            flags,
            window: 0,
            mss: None,
            options: Default::default(),
            payload: payload.to_vec(),
        }
    }

    #[test]
    fn segments_show_flags_or_a_preview() {
        assert_eq!(describe_segment(&seg(TcpFlags::SYN, b"")), "SYN");
        let syn_ack = TcpFlags::from_bits(TcpFlags::SYN.bits() | TcpFlags::ACK.bits());
        assert_eq!(describe_segment(&seg(syn_ack, b"")), "SYN ACK");
        let fin = TcpFlags::from_bits(TcpFlags::FIN.bits() | TcpFlags::ACK.bits());
        assert_eq!(
            describe_segment(&seg(fin, b"RV\nVL\n")),
            r#"data 6 B "RV\nVL\n" FIN"#
        );
    }

    #[test]
    fn previews_are_short_escaped_and_marked_when_cut() {
        assert_eq!(preview(b"a\"b\\\x00"), r#""a\"b\\\x00""#);
        let long = preview(&[b'x'; 30]);
        assert_eq!(long, format!("\"{}\"…", "x".repeat(24)));
    }

    #[test]
    fn the_table_is_fixed_width_without_trailing_spaces() {
        let mut t = Trace::new();
        t.push(
            SimTime::from_micros(10_240),
            "10.0.0.10:45926 → 10.0.0.7:2635",
            "SYN",
        );
        t.push(SimTime::from_millis(1500), "10.0.0.7:2635", "");
        assert_eq!(
            t.to_string(),
            "      time  who                              what\n\
             \x20\x200.010240  10.0.0.10:45926 → 10.0.0.7:2635  SYN\n\
             \x20\x201.500000  10.0.0.7:2635\n"
        );
    }
}
