//! The kit's pictures, as SVG files a browser opens: what TCP did, drawn
//! the way the textbooks and Wireshark's Statistics menu draw it.
//!
//! * [`time_sequence`]: the time-sequence (Stevens) graph of one direction
//!   of a connection — each data segment an upright bar from its first to
//!   its last byte, retransmissions, out-of-order segments and window
//!   probes in their own colours, the ACKs and the receive window's right
//!   edge as lines, zero-window moments as crosses, and the track markers
//!   named where they lie;
//! * [`throughput`]: the bits per second a direction carried, over time;
//! * [`panel`]: a simulated run on one time axis — its time-sequence
//!   graph, the congestion window beside the bytes in flight, the receive
//!   window, and the player's buffer with the stalls shaded;
//! * [`experiment`]: lab 4's grid, stall time and download time against
//!   bandwidth, one line per loss rate.
//!
//! The crate knows nothing of captures or simulations: callers hand it
//! plain numbers (seconds, bytes), so the analyzer and the simulator draw
//! the same picture from the same kind of data. The series' names are
//! constants ([`series`]): the legend shows them, and tests look for them.
//!
//! Drawing is [plotters]' SVG backend with no font library: text goes into
//! the SVG as text, and the browser picks the font.

#![forbid(unsafe_code)]

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

mod draw;

pub use draw::{experiment, panel, throughput, time_sequence};

/// The names the legends give each series (and the tests look for).
pub mod series {
    pub const DATA: &str = "data sent";
    pub const RETRANSMISSION: &str = "retransmission";
    pub const OUT_OF_ORDER: &str = "out of order";
    pub const PROBE: &str = "window probe / keep-alive";
    pub const ACK: &str = "ACK (other side)";
    pub const WINDOW_EDGE: &str = "ACK + receive window";
    pub const ZERO_WINDOW: &str = "zero window";
    pub const THROUGHPUT: &str = "throughput";
    pub const CWND: &str = "congestion window";
    pub const IN_FLIGHT: &str = "bytes in flight";
    pub const RWND: &str = "receive window";
    pub const BUFFER: &str = "player buffer";
    pub const STALL: &str = "stall";
}

/// Each series' colour, the same in every picture (the palette of
/// matplotlib and Wireshark's graphs: blue data, red retransmissions).
pub mod colours {
    use plotters::style::RGBColor;

    pub const DATA: RGBColor = RGBColor(0x1f, 0x77, 0xb4);
    pub const RETRANSMISSION: RGBColor = RGBColor(0xd6, 0x27, 0x28);
    pub const OUT_OF_ORDER: RGBColor = RGBColor(0xff, 0x7f, 0x0e);
    pub const PROBE: RGBColor = RGBColor(0x94, 0x67, 0xbd);
    pub const ACK: RGBColor = RGBColor(0x2c, 0xa0, 0x2c);
    pub const WINDOW: RGBColor = RGBColor(0x7f, 0x7f, 0x7f);
    pub const MARKER: RGBColor = RGBColor(0xe3, 0x77, 0xc2);
    pub const CWND: RGBColor = RGBColor(0x8c, 0x56, 0x4b);
    pub const STALL: RGBColor = RGBColor(0xd6, 0x27, 0x28);

    /// `#RRGGBB`, as the SVG spells a colour.
    pub fn hex(c: RGBColor) -> String {
        format!("#{:02X}{:02X}{:02X}", c.0, c.1, c.2)
    }
}

/// Why a picture could not be made.
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    #[error("drawing {what}: {why}")]
    Draw { what: String, why: String },
    #[error("writing {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
}

/// What a data segment was, for its colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SegmentKind {
    /// New data, in order.
    Data,
    /// Data sent before (Wireshark's `tcp.analysis.retransmission`).
    Retransmission,
    /// Data below the highest sent that filled a hole sooner than a
    /// retransmission could (Wireshark's `tcp.analysis.out_of_order`).
    OutOfOrder,
    /// A window probe or keep-alive: 0 or 1 byte at the window's edge.
    Probe,
}

/// One data segment: sent at `t` seconds, bytes `start..end` of the
/// direction's stream (relative, as Wireshark's relative sequence numbers).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Segment {
    pub t: f64,
    pub start: u64,
    pub end: u64,
    pub kind: SegmentKind,
}

/// A named place in the stream: a track marker.
#[derive(Debug, Clone, PartialEq)]
pub struct Marker {
    pub t: f64,
    pub offset: u64,
    pub label: String,
}

/// One direction of one connection, for [`time_sequence`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TimeSeq {
    pub title: String,
    /// The data segments, in capture order.
    pub segments: Vec<Segment>,
    /// The other side's cumulative ACK over time (bytes of this direction).
    pub acks: Vec<(f64, u64)>,
    /// The ACK plus the window the other side offered: how far the sender
    /// may go.
    pub window_edge: Vec<(f64, u64)>,
    /// When the other side advertised a zero window, at its ACK.
    pub zero_windows: Vec<(f64, u64)>,
    pub markers: Vec<Marker>,
    /// The time axis runs from 0 to here (seconds).
    pub end_s: f64,
}

/// A direction's rate over time, for [`throughput`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Throughput {
    pub title: String,
    /// Each bin's start (seconds) and its rate in bits per second.
    pub bins: Vec<(f64, f64)>,
    pub bin_s: f64,
    pub end_s: f64,
}

/// A simulated run, for [`panel`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Panel {
    pub title: String,
    /// The server's data, as the capture shows it.
    pub timeseq: TimeSeq,
    /// The sender's congestion window in bytes, when its TCP has one.
    pub cwnd: Option<Vec<(f64, u64)>>,
    pub in_flight: Vec<(f64, u64)>,
    /// The window the receiver offered, in bytes, as the sender saw it.
    pub rwnd: Vec<(f64, u64)>,
    /// Seconds of audio the player held, over time.
    pub buffer_s: Vec<(f64, f64)>,
    /// When the music stopped: (from, to) in seconds.
    pub stalls: Vec<(f64, f64)>,
}

/// One line of [`experiment`]: points (Mbit/s, seconds).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Curve {
    pub label: String,
    pub points: Vec<(f64, f64)>,
}

/// Lab 4's grid, for [`experiment`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExperimentPlot {
    pub title: String,
    /// Seconds stalled against bandwidth, one curve per loss rate.
    pub stalled: Vec<Curve>,
    /// Seconds to download against bandwidth, one curve per loss rate.
    pub download: Vec<Curve>,
}

/// Writes `svg` to `path`, naming the file in the error.
pub fn save(path: &Path, svg: &str) -> Result<(), PlotError> {
    std::fs::write(path, svg).map_err(|source| PlotError::Write {
        path: path.display().to_string(),
        source,
    })
}

/// Draws into a fresh SVG of `size` and hands back its text.
fn render(
    what: &str,
    size: (u32, u32),
    paint: impl FnOnce(&DrawingArea<SVGBackend<'_>, Shift>) -> Result<(), String>,
) -> Result<String, PlotError> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        let fail = |why: String| PlotError::Draw {
            what: what.to_string(),
            why,
        };
        root.fill(&WHITE).map_err(|e| fail(e.to_string()))?;
        paint(&root).map_err(fail)?;
        root.present().map_err(|e| fail(e.to_string()))?;
    }
    Ok(svg)
}
