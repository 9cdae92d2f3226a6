//! Pictures of connections, for `analyze --plot` and `sim --plot`: the
//! segments the analyzer labels as it reads ([`Gathered`]), turned into
//! `streamlab_plot`'s data for one connection ([`time_sequence`],
//! [`throughput`]). Both commands draw from a capture, so a simulated run
//! and a real one give the same picture.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::Result;
use streamlab_analyzer::report::{Connection, Report};
use streamlab_analyzer::stream::Dir;
use streamlab_analyzer::tcp_analysis::{Flags, SegmentFacts};
use streamlab_plot::{Marker as Label, Segment, SegmentKind, Throughput, TimeSeq};
use streamlab_proto::observe::Marker;

/// The most segments kept of one connection (about 80 MB); later ones are
/// not drawn, and the picture's title says so.
const MAX_SEGMENTS: usize = 1_000_000;

/// The most data bars drawn in one picture: beyond it every k-th in-order
/// segment is drawn (all the retransmissions and the like still are), so
/// that a browser still opens the file.
const MAX_BARS: usize = 20_000;

/// Each wanted connection's segments, as the analyzer reads them.
#[derive(Default)]
pub struct Gathered {
    streams: HashMap<u64, Kept>,
}

#[derive(Default)]
struct Kept {
    facts: Vec<SegmentFacts>,
    /// Segments past [`MAX_SEGMENTS`], not kept.
    left_out: u64,
}

/// One connection's segments, taken when it finished.
pub struct Segments {
    pub facts: Vec<SegmentFacts>,
    pub left_out: u64,
}

impl Gathered {
    pub fn add(&mut self, facts: &SegmentFacts) {
        let kept = self.streams.entry(facts.stream).or_default();
        if kept.facts.len() < MAX_SEGMENTS {
            kept.facts.push(*facts);
        } else {
            kept.left_out += 1;
        }
    }

    /// The segments of `stream`, forgotten here.
    pub fn take(&mut self, stream: u64) -> Segments {
        let kept = self.streams.remove(&stream).unwrap_or_default();
        Segments {
            facts: kept.facts,
            left_out: kept.left_out,
        }
    }
}

/// Seconds from the capture's start.
fn secs(ns: u64, start_ns: u64) -> f64 {
    ns.saturating_sub(start_ns) as f64 / 1e9
}

fn other(dir: Dir) -> Dir {
    match dir {
        Dir::ToServer => Dir::ToClient,
        Dir::ToClient => Dir::ToServer,
    }
}

/// "server to client" or "client to server".
pub fn dir_words(dir: Dir) -> &'static str {
    match dir {
        Dir::ToServer => "client to server",
        Dir::ToClient => "server to client",
    }
}

/// The latest time of the connection: its last packet's, or a later one a
/// segment carried (a capture's clock may jump back), so that every point
/// lies on the time axis.
fn end_ns(c: &Connection, seg: &Segments) -> u64 {
    seg.facts
        .iter()
        .map(|f| f.time_ns)
        .fold(c.info.last_time_ns, u64::max)
}

/// The most throughput bins drawn, however long the connection.
const MAX_BINS: f64 = 10_000.0;

/// The time-sequence graph of direction `dir` of connection `c`.
pub fn time_sequence(c: &Connection, seg: &Segments, start_ns: u64, dir: Dir) -> TimeSeq {
    let info = &c.info;
    let (from, to) = match dir {
        Dir::ToClient => (info.server, info.client),
        Dir::ToServer => (info.client, info.server),
    };
    let mut title = format!("stream {}: {} ({from} → {to})", info.stream, dir_words(dir));
    let data: Vec<&SegmentFacts> = seg
        .facts
        .iter()
        .filter(|f| f.dir == dir && !f.syn && !f.rst)
        .filter(|f| f.len > 0 || f.labels.contains(Flags::KEEP_ALIVE))
        .collect();
    let kind = |f: &SegmentFacts| {
        let l = f.labels;
        if l.contains(Flags::ZERO_WINDOW_PROBE) || l.contains(Flags::KEEP_ALIVE) {
            SegmentKind::Probe
        } else if l.contains(Flags::RETRANSMISSION) {
            SegmentKind::Retransmission
        } else if l.contains(Flags::OUT_OF_ORDER) {
            SegmentKind::OutOfOrder
        } else {
            SegmentKind::Data
        }
    };
    let plain = data.iter().filter(|f| kind(f) == SegmentKind::Data).count();
    let every = plain.div_ceil(MAX_BARS).max(1);
    if every > 1 {
        title += &format!(" — 1 in every {every} in-order segments drawn");
    }
    if seg.left_out > 0 {
        title += &format!(" — the last {} segments not drawn", seg.left_out);
    }
    let mut n = 0;
    let segments = data
        .iter()
        .filter_map(|f| {
            let kind = kind(f);
            if kind == SegmentKind::Data {
                n += 1;
                if (n - 1) % every != 0 {
                    return None;
                }
            }
            Some(Segment {
                t: secs(f.time_ns, start_ns),
                start: f.offset,
                end: f.offset + u64::from(f.len),
                kind,
            })
        })
        .collect();
    let replies = seg
        .facts
        .iter()
        .filter(|f| f.dir == other(dir) && !f.syn && !f.rst);
    let mut acks = Vec::new();
    let mut window_edge = Vec::new();
    let mut zero_windows = Vec::new();
    for f in replies {
        let Some(ack) = f.ack else { continue };
        let t = secs(f.time_ns, start_ns);
        if acks.last().map(|&(_, a)| a) != Some(ack) {
            acks.push((t, ack));
        }
        let edge = ack + f.window;
        if window_edge.last().map(|&(_, e)| e) != Some(edge) {
            window_edge.push((t, edge));
        }
        if f.labels.contains(Flags::ZERO_WINDOW) {
            zero_windows.push((t, ack));
        }
    }
    let mut markers = Vec::new();
    if dir == Dir::ToClient {
        for track in &c.scan.tracks {
            let name = track
                .name
                .as_deref()
                .map(|n| format!(" ({n})"))
                .unwrap_or_default();
            for (spot, word) in [
                (&track.start, Marker::Start.name()),
                (&track.end, Marker::End.name()),
            ] {
                if let Some(spot) = spot {
                    markers.push(Label {
                        t: secs(spot.time_ns, start_ns),
                        offset: spot.offset,
                        label: format!("{word}{name}"),
                    });
                }
            }
        }
    }
    TimeSeq {
        title,
        segments,
        acks,
        window_edge,
        zero_windows,
        markers,
        end_s: secs(end_ns(c, seg), start_ns),
    }
}

/// The bits per second direction `dir` carried (every payload byte,
/// retransmissions too, as Wireshark's throughput graph counts), in about
/// a hundred bins.
pub fn throughput(c: &Connection, seg: &Segments, start_ns: u64, dir: Dir) -> Throughput {
    let end_s = secs(end_ns(c, seg), start_ns);
    let first_s = seg
        .facts
        .iter()
        .map(|f| secs(f.time_ns, start_ns))
        .fold(secs(c.info.first_time_ns, start_ns), f64::min);
    let bin_s = bin_for(end_s - first_s);
    let first_bin = (first_s / bin_s).floor();
    let mut bins: Vec<f64> = Vec::new();
    for f in seg.facts.iter().filter(|f| f.dir == dir && f.len > 0) {
        let i = ((secs(f.time_ns, start_ns) / bin_s).floor() - first_bin).max(0.0) as usize;
        if bins.len() <= i {
            bins.resize(i + 1, 0.0);
        }
        bins[i] += f64::from(f.len) * 8.0;
    }
    Throughput {
        title: format!("stream {}: throughput, {}", c.info.stream, dir_words(dir)),
        bins: bins
            .into_iter()
            .enumerate()
            .map(|(i, bits)| ((first_bin + i as f64) * bin_s, bits / bin_s))
            .collect(),
        bin_s,
        end_s,
    }
}

/// The bin width for `span` seconds: a round one giving about a hundred
/// bins; for a connection whose clock jumped far, wider ones, so never
/// more than [`MAX_BINS`].
fn bin_for(span: f64) -> f64 {
    bin_width(span).max(span / MAX_BINS)
}

/// A round bin width giving about a hundred bins over `span` seconds.
fn bin_width(span: f64) -> f64 {
    let want = span / 100.0;
    [
        0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0,
    ]
    .into_iter()
    .find(|&w| w >= want)
    .unwrap_or(60.0)
}

/// `analyze --plot DIR`: draws each connection that carried data as it
/// finishes, then hands it on to the report being printed.
pub struct Plotter<'r> {
    pub dir: PathBuf,
    pub gathered: Gathered,
    pub inner: &'r mut dyn Report,
    pub written: Vec<PathBuf>,
    /// The first picture that could not be written; none is tried after.
    pub failed: Option<anyhow::Error>,
}

impl Plotter<'_> {
    fn draw(&mut self, c: &Connection, start_ns: u64) -> Result<()> {
        let seg = self.gathered.take(c.info.stream);
        let stream = c.info.stream;
        let dir = &self.dir;
        let ts = time_sequence(c, &seg, start_ns, Dir::ToClient);
        let tp = throughput(c, &seg, start_ns, Dir::ToClient);
        let pictures = [
            (
                format!("stream-{stream}-time-sequence.svg"),
                streamlab_plot::time_sequence(&ts)?,
            ),
            (
                format!("stream-{stream}-throughput.svg"),
                streamlab_plot::throughput(&tp)?,
            ),
        ];
        for (name, svg) in pictures {
            let path = dir.join(name);
            streamlab_plot::save(&path, &svg)?;
            self.written.push(path);
        }
        Ok(())
    }
}

impl Report for Plotter<'_> {
    fn begin(&mut self, file: &str, format: streamlab_analyzer::capture::Format) {
        self.inner.begin(file, format);
    }

    fn connection(&mut self, c: Connection, start_ns: Option<u64>) {
        let carried = c.info.dirs.iter().any(|d| d.stream_bytes > 0);
        if carried && self.failed.is_none() {
            if let Err(e) = self.draw(&c, start_ns.unwrap_or(0)) {
                self.failed = Some(e);
            }
        } else {
            self.gathered.take(c.info.stream);
        }
        self.inner.connection(c, start_ns);
    }

    fn segment(&mut self, facts: &SegmentFacts) {
        self.gathered.add(facts);
        self.inner.segment(facts);
    }
}

/// Makes `dir` (and its parents) for pictures, naming it if it cannot.
pub fn make_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir)
        .map_err(|e| anyhow::anyhow!("cannot make the folder {} for plots: {e}", dir.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bins_are_round_and_about_a_hundred() {
        assert_eq!(bin_width(1.0), 0.01);
        assert_eq!(bin_width(3.2), 0.05);
        assert_eq!(bin_width(0.0), 0.001);
        assert_eq!(bin_width(1e9), 60.0);
        // A billion seconds (a clock that jumped): at most MAX_BINS bins.
        assert!(1e9 / bin_for(1e9) <= MAX_BINS);
        assert_eq!(bin_for(1.0), 0.01);
    }
}
