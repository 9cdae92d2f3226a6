//! What a run did, in a few lines a student reads before the trace: the
//! network, the segments, where the track markers fell, what the client
//! got, and how playback went.
//!
//! ```text
//! framing, original dialect, seed 1
//! network: latency 1 ms, jitter 0 ms, 100 Mbit/s, loss 0%, MSS 1460, TCP gbn
//! wire: 16 segments (client → server 7, server → client 9), 0 dropped, ...
//! marker track_data_start: frame 11, glued to 1444 B after it
//! ```

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};
use std::net::Ipv4Addr;
use std::time::Duration;

use streamlab_proto::observe::{self, Marker, Observer};
use streamlab_proto::ClientEvent;

use super::Run;
use crate::apps::{event_text, played_text, ClientApp, NaiveClient};
use crate::link::LinkConfig;
use crate::player::secs;
use crate::sim::{Side, Sim};
use crate::wire::{parse_frame, TcpFlags};

/// Where one track marker fell in the server's byte stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarkerFrames {
    pub marker: Marker,
    /// Its offset in the server → client stream (0 = the first byte).
    pub offset: u64,
    /// The capture's frame numbers (1-based, as Wireshark counts) of the
    /// segments that carried it: one, or two when it was split.
    pub frames: Vec<usize>,
    /// Other bytes in the same segments before and after the marker.
    pub before: usize,
    pub after: usize,
}

impl fmt::Display for MarkerFrames {
    /// `frame 11, glued to 1444 B after it` or `split across frames 12 and 13`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.frames.as_slice() {
            [one] => write!(f, "frame {one}")?,
            [first, .., last] => write!(f, "split across frames {first} and {last}")?,
            [] => return f.write_str("not seen"),
        }
        match (self.before, self.after) {
            (0, 0) => f.write_str(", alone in its segment"),
            (0, a) => write!(f, ", glued to {a} B after it"),
            (b, 0) => write!(f, ", glued to {b} B before it"),
            (b, a) => write!(f, ", glued to {b} B before and {a} B after it"),
        }
    }
}

/// The bytes `side` sent, in order, as the capture's segments carried
/// them — what Wireshark's "Follow TCP Stream" shows for that side.
pub fn stream_bytes(sim: &Sim, side: Side) -> Vec<u8> {
    first_arrivals(sim, side).0
}

/// One captured segment's new, in-order bytes: where they begin in the
/// stream, which frame (1-based) carried them, how many.
#[derive(Debug, Clone, Copy)]
struct Piece {
    offset: u64,
    frame: usize,
    len: usize,
}

/// `side`'s stream, and the captured segments that brought new bytes in
/// order. Dropped frames do not count (their retransmissions do); nor do
/// copies of bytes already seen. This is TCP's reassembly only: what the
/// bytes mean is the protocol observer's business.
fn first_arrivals(sim: &Sim, side: Side) -> (Vec<u8>, Vec<Piece>) {
    let from = match side {
        Side::Client => *sim.config().client.ip(),
        Side::Server => *sim.config().server.ip(),
    };
    let mut pieces: Vec<Piece> = Vec::new();
    let mut stream: Vec<u8> = Vec::new();
    let mut data_start: Option<u32> = None;
    // Segments that arrived after a hole (a receiver with an out-of-order
    // queue keeps them; the sender never sends them again), by offset.
    let mut ahead: BTreeMap<u64, (usize, Vec<u8>)> = BTreeMap::new();
    for (i, seen) in sim.captured().iter().enumerate() {
        let Ok((_, ip, tcp)) = parse_frame(seen.bytes) else {
            continue;
        };
        if ip.src != from || seen.comment.is_some() {
            continue;
        }
        if tcp.flags.contains(TcpFlags::SYN) {
            data_start = Some(tcp.seq.wrapping_add(1));
            continue;
        }
        let Some(base) = data_start else { continue };
        if tcp.payload.is_empty() {
            continue;
        }
        let offset = u64::from(tcp.seq.wrapping_sub(base));
        let kept = ahead.entry(offset).or_default();
        if kept.1.len() < tcp.payload.len() {
            *kept = (i + 1, tcp.payload);
        }
        // Take every kept segment that now joins the stream.
        while let Some(entry) = ahead.first_entry() {
            let offset = *entry.key();
            let have = stream.len() as u64;
            if offset > have {
                break;
            }
            let (frame, payload) = entry.remove();
            let end = offset + payload.len() as u64;
            if end <= have {
                continue;
            }
            let skip = usize::try_from(have - offset).unwrap_or(0);
            stream.extend_from_slice(&payload[skip..]);
            pieces.push(Piece {
                offset: have,
                frame,
                len: payload.len() - skip,
            });
        }
    }
    (stream, pieces)
}

/// The track markers in the server's stream, as the segments that arrived
/// carried them (a dropped frame's retransmission counts, not the frame).
///
/// Both directions go to [`Observer`] in the order their frames were
/// captured, so a marker is what the protocol says it is: a framed
/// track's audio that happens to hold the marker's bytes is audio.
pub fn marker_frames(sim: &Sim) -> Vec<MarkerFrames> {
    let sides = [Side::Client, Side::Server].map(|side| first_arrivals(sim, side));
    let mut order: Vec<(usize, observe::Side, Piece)> = Vec::new();
    for (who, (_, pieces)) in [observe::Side::Client, observe::Side::Server]
        .into_iter()
        .zip(&sides)
    {
        order.extend(pieces.iter().map(|p| (p.frame, who, *p)));
    }
    order.sort_by_key(|(frame, _, _)| *frame);
    let mut observer = Observer::new();
    let mut found = Vec::new();
    let mut take = |observer: &mut Observer| {
        while let Some(e) = observer.poll_event() {
            match e {
                observe::Event::TrackStart { at, .. } => found.push((Marker::Start, at)),
                observe::Event::TrackEnd { at } => found.push((Marker::End, at)),
                _ => {}
            }
        }
    };
    for (_, who, p) in &order {
        let stream = &sides[who.index()].0;
        let from = p.offset as usize;
        observer.data(*who, p.offset, &stream[from..from + p.len]);
        take(&mut observer);
    }
    observer.finish();
    take(&mut observer);
    let server = &sides[1].1;
    found
        .into_iter()
        .map(|(marker, at)| spot(marker, at, server))
        .collect()
}

fn spot(marker: Marker, offset: u64, pieces: &[Piece]) -> MarkerFrames {
    let end = offset + marker.byte_len() as u64;
    let covering: Vec<&Piece> = pieces
        .iter()
        .filter(|p| p.offset < end && p.offset + p.len as u64 > offset)
        .collect();
    let before = covering.first().map_or(0, |p| (offset - p.offset) as usize);
    let after = covering.last().map_or(0, |p| {
        (p.offset + p.len as u64).saturating_sub(end) as usize
    });
    MarkerFrames {
        marker,
        offset,
        frames: covering.iter().map(|p| p.frame).collect(),
        before,
        after,
    }
}

impl Run {
    /// The run in a few lines (see the [module docs](self)).
    pub fn summary(&self) -> String {
        let sim = &self.sim;
        let mut s = format!(
            "{}, {} dialect, seed {}\n",
            self.scenario,
            self.dialect,
            sim.seed()
        );
        let c = sim.config();
        let _ = writeln!(
            s,
            "network: {}, MSS {}, TCP {}",
            link_text(&c.downlink),
            c.server_tcp.mss.min(c.client_tcp.mss),
            c.server_tcp.flavor
        );
        wire_lines(&mut s, sim);
        for spot in marker_frames(sim) {
            let _ = writeln!(s, "marker {}: {spot}", spot.marker.name());
        }
        self.client_lines(&mut s);
        let _ = writeln!(
            s,
            "last event at {} s of virtual time (TIME-WAIT included)",
            sim.now()
        );
        s
    }

    fn client_lines(&self, s: &mut String) {
        let sim = &self.sim;
        if let Some(naive) = sim.app::<NaiveClient>(Side::Client) {
            let _ = writeln!(s, "client (reads as the original Python client):");
            for o in naive.outcomes() {
                let verdict = o.failure.as_deref().unwrap_or("as expected");
                let played = match (&o.audio, &o.played) {
                    (Some(audio), Some(played)) => {
                        format!("; {}", played_text(played.len(), audio.len()))
                    }
                    _ => String::new(),
                };
                let _ = writeln!(s, "  {} → {verdict}{played}", o.sent);
            }
        }
        let Some(client) = sim.app::<ClientApp>(Side::Client) else {
            return;
        };
        let _ = writeln!(s, "client (the protocol crate's session):");
        // Every scenario downloads at most one song: compare it once.
        let same = self.bit_exact() == Some(true);
        for e in client.events() {
            match e {
                ClientEvent::TrackStart { .. } | ClientEvent::TrackData { .. } => {}
                ClientEvent::TrackEnd { name, bytes } => {
                    let verdict = if same {
                        "identical to the served song"
                    } else {
                        "NOT the served song"
                    };
                    let _ = writeln!(s, "  track {name}: {bytes} B, {verdict}");
                }
                other => {
                    let _ = writeln!(s, "  {}", event_text(other));
                }
            }
        }
        if let Some(p) = client.player() {
            let first = p.time_to_first_audio().map_or("never".to_string(), |d| {
                format!("{} after the request", secs(d))
            });
            let _ = writeln!(
                s,
                "player: first audio {first}; {} stall(s), {} in all; {} of audio",
                p.stalls().len(),
                secs(p.stalled_for()),
                secs(p.audio_length())
            );
        }
    }
}

/// A link in words, as the summary's `network:` line says it:
/// `latency 1 ms, jitter 0 µs, 10 Mbit/s, loss 5%`.
pub fn link_text(l: &LinkConfig) -> String {
    let bw = match l.bandwidth {
        Some(b) if b >= 1_000_000 && b % 1_000_000 == 0 => format!("{} Mbit/s", b / 1_000_000),
        Some(b) if b >= 1_000 && b % 1_000 == 0 => format!("{} kbit/s", b / 1_000),
        Some(b) => format!("{b} bit/s"),
        None => "unlimited bandwidth".into(),
    };
    let mut text = format!(
        "latency {}, jitter {}, {bw}, loss {}%",
        short(l.latency),
        short(l.jitter),
        l.loss * 100.0
    );
    if l.duplicate > 0.0 {
        let _ = write!(text, ", duplication {}%", l.duplicate * 100.0);
    }
    if l.reorder > 0.0 {
        let _ = write!(text, ", reordering {}%", l.reorder * 100.0);
    }
    text
}

/// A link delay as people write it: `10 ms`, `250 µs`, `1.5 s`.
fn short(d: Duration) -> String {
    let us = d.as_micros();
    if us >= 1_000_000 {
        format!("{} s", d.as_secs_f64())
    } else if us >= 1_000 && us % 1_000 == 0 {
        format!("{} ms", us / 1_000)
    } else if us >= 1_000 {
        format!("{} ms", us as f64 / 1_000.0)
    } else {
        format!("{us} µs")
    }
}

/// Segments each way, drops, and what TCP did about them.
fn wire_lines(s: &mut String, sim: &Sim) {
    let client: Ipv4Addr = *sim.config().client.ip();
    let mut up = 0;
    let mut down = 0;
    let mut dropped = 0;
    let mut zero = 0;
    for (_, frame, note) in sim.frames() {
        let Ok((_, ip, tcp)) = parse_frame(frame) else {
            continue;
        };
        if ip.src == client {
            up += 1;
        } else {
            down += 1;
        }
        dropped += usize::from(note.is_some());
        // As Wireshark counts them: a window of 0 on a segment that is
        // not a SYN, FIN or RST.
        let special = TcpFlags::SYN | TcpFlags::FIN | TcpFlags::RST;
        zero += usize::from(tcp.window == 0 && !tcp.flags.intersects(special));
    }
    let count = |needle: &str| sim.trace().matching(needle).count();
    let _ = writeln!(
        s,
        "wire: {} segments (client → server {up}, server → client {down}), {dropped} dropped, \
         {} retransmitted",
        up + down,
        count("tcp retransmit")
    );
    let probes = count("tcp window probe");
    if zero + probes > 0 {
        let _ = writeln!(
            s,
            "flow control: {zero} segment(s) advertised a zero window, {probes} window probe(s)"
        );
    }
}
