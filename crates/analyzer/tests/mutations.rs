//! Damaged captures never make the analyzer panic, and what it reports
//! about them still adds up.
//!
//! Four small captures the kit ships (a classic pcap among them) are
//! mutated 2,000 times each by a fixed-seed generator (netsim's `SimRng`): bytes flipped or
//! overwritten with 0x00 / 0xff, the file cut short, a range copied over
//! another place, or the head of one file spliced to the tail of another.
//! `report::analyze` must return, `Ok` or `Err`, and an `Ok` must keep the
//! invariants in [`sane`]. A failure names the capture, the seed and the
//! mutation's number; the loop is deterministic, so the same command
//! replays it:
//!
//! ```text
//! cargo test -p streamlab-analyzer --test mutations
//! ```

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

use streamlab_analyzer::report::{self, Analysis, Filter};
use streamlab_analyzer::scan::{Message, MAX_MESSAGES, MAX_TEXT};
use streamlab_analyzer::Dir;
use streamlab_netsim::rng::SimRng;

const CAPTURES: [&str; 4] = [
    "sim-report.pcapng",
    "sim-framing-original.pcapng",
    "loopback-framed.pcapng",
    "any-sll2-framed.pcap",
];
const SEED: u64 = 0x5eed_2635_0bad_cafe;
const MUTATIONS: u64 = 2_000;

fn read(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../captures")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// One damaged copy of `bytes` (`other` is another capture, for splices).
/// Most mutations touch the first kilobytes, where the headers are that
/// steer everything after them.
fn mutate(rng: &mut SimRng, bytes: &[u8], other: &[u8]) -> (String, Vec<u8>) {
    let mut out = bytes.to_vec();
    let len = out.len();
    let near = |rng: &mut SimRng| {
        if rng.index(2) == 0 {
            rng.index(len.min(2_048))
        } else {
            rng.index(len)
        }
    };
    match rng.index(6) {
        0 => {
            let n = 1 + rng.index(8);
            for _ in 0..n {
                let at = near(rng);
                out[at] ^= 1 << rng.index(8);
            }
            (format!("flip {n} bits"), out)
        }
        1 | 2 => {
            let at = near(rng);
            let n = (1 + rng.index(4)).min(len - at);
            let value = if rng.index(2) == 0 { 0x00 } else { 0xff };
            out[at..at + n].fill(value);
            (format!("{n} bytes at {at} set to {value:#04x}"), out)
        }
        3 => {
            let at = rng.index(len);
            out.truncate(at);
            (format!("cut at {at}"), out)
        }
        4 => {
            let from = near(rng);
            let n = 1 + rng.index(256.min(len - from));
            let to = near(rng);
            let range = out[from..from + n].to_vec();
            out.splice(to..to, range);
            (format!("{n} bytes from {from} copied in at {to}"), out)
        }
        _ => {
            let head = rng.index(len);
            let tail = rng.index(other.len());
            out.truncate(head);
            out.extend_from_slice(&other[tail..]);
            (
                format!("head {head} spliced to another's tail at {tail}"),
                out,
            )
        }
    }
}

/// What an analysis of `len` bytes must keep, however damaged they were.
fn sane(a: &Analysis, len: usize) -> Result<(), String> {
    let check = |ok: bool, what: &str| if ok { Ok(()) } else { Err(what.to_string()) };
    // Every frame, and every block numbered as one, takes 12 bytes at least.
    let most = len as u64 / 12;
    check(a.frames <= most, "more frames than the file can hold")?;
    let others: u64 = a.other.values().sum();
    check(
        a.tcp_segments + others == a.frames,
        "each frame is TCP or other",
    )?;
    let segments: u64 = a
        .connections
        .iter()
        .flat_map(|c| c.info.dirs.iter().map(|d| d.segments))
        .sum();
    check(segments == a.tcp_segments, "each segment has a connection")?;
    let stream_bytes: u64 = a
        .connections
        .iter()
        .flat_map(|c| c.info.dirs.iter().map(|d| d.stream_bytes))
        .sum();
    check(
        stream_bytes <= len as u64,
        "more stream bytes than file bytes",
    )?;
    // Connections come out as they finish (a damaged clock reorders
    // them), but every number is given once, from 0 up.
    let mut numbers: Vec<u64> = a.connections.iter().map(|c| c.info.stream).collect();
    numbers.sort_unstable();
    check(
        numbers.iter().enumerate().all(|(i, &n)| n == i as u64),
        "streams numbered without holes",
    )?;
    check(
        a.reported == a.connections.len() as u64,
        "each connection reported once",
    )?;
    for conn in &a.connections {
        let info = &conn.info;
        let scan = &conn.scan;
        let frames = info.first_frame..=info.last_frame;
        check(info.last_frame <= most, "a frame beyond the file")?;
        check(!frames.is_empty(), "the first frame after the last")?;
        check(scan.messages.len() <= MAX_MESSAGES, "too many messages")?;
        let order = |m: &Message| (m.frame, m.dir, m.offset);
        check(
            scan.messages
                .windows(2)
                .all(|w| order(&w[0]) <= order(&w[1])),
            "messages out of order",
        )?;
        for m in &scan.messages {
            check(
                frames.contains(&m.frame),
                "a message outside its connection",
            )?;
            check(m.missing <= m.len, "more missing than the message's length")?;
            check(
                m.bytes.len() as u64 <= m.len && m.bytes.len() <= MAX_TEXT,
                "a message keeps more bytes than it has",
            )?;
        }
        for dir in [Dir::ToServer, Dir::ToClient] {
            let mut ours: Vec<&Message> = scan.messages.iter().filter(|m| m.dir == dir).collect();
            let seen: u64 = ours.iter().map(|m| m.len - m.missing).sum();
            check(
                seen <= info.dirs[dir.index()].stream_bytes,
                "messages hold more bytes than their stream",
            )?;
            // Messages cut a stream into pieces: none overlaps the next.
            ours.sort_by_key(|m| m.offset);
            check(
                ours.windows(2)
                    .all(|w| w[0].offset + w[0].len <= w[1].offset),
                "two messages overlap in their stream",
            )?;
        }
        for t in &scan.tracks {
            let spots = t.start.iter().chain(&t.end);
            for s in spots {
                check(
                    frames.contains(&s.frame) && frames.contains(&s.last_frame),
                    "a marker outside its connection",
                )?;
            }
            if let (Some(start), Some(end)) = (&t.start, &t.end) {
                check(
                    end.offset >= start.offset + 16,
                    "a track ends before it starts",
                )?;
            }
            check(
                t.audio_bytes <= info.dirs[1].stream_bytes,
                "more audio than the server sent",
            )?;
        }
    }
    Ok(())
}

/// Analyses every mutation of capture `index`: how many were read as
/// captures, or the first failure.
fn survive(index: usize) -> Result<u64, String> {
    let name = CAPTURES[index];
    let bytes = read(name);
    let other = read(CAPTURES[(index + 1) % CAPTURES.len()]);
    let seed = SEED ^ (index as u64 + 1);
    let mut rng = SimRng::new(seed);
    let mut analysed = 0;
    for round in 0..MUTATIONS {
        let (what, damaged) = mutate(&mut rng, &bytes, &other);
        let result = catch_unwind(AssertUnwindSafe(|| {
            report::analyze(name, &damaged[..], &Filter::default(), &mut |_| None)
        }));
        let verdict = match result {
            Err(_) => Err("panicked".to_string()),
            Ok(Err(_)) => Ok(()),
            Ok(Ok(analysis)) => {
                analysed += 1;
                sane(&analysis, damaged.len())
            }
        };
        verdict
            .map_err(|why| format!("{name}, seed {seed:#x}, mutation {round} ({what}): {why}"))?;
    }
    Ok(analysed)
}

#[test]
fn damaged_captures_are_analysed_without_panics_and_add_up() {
    let mut failures = Vec::new();
    for (i, name) in CAPTURES.iter().enumerate() {
        match survive(i) {
            // Most damage leaves a capture to analyse: the invariants
            // were really put to the test.
            Ok(n) if n >= MUTATIONS / 2 => {
                println!("{name}: {n} of {MUTATIONS} still read as captures")
            }
            Ok(n) => failures.push(format!("{name}: only {n} read as captures")),
            Err(e) => failures.push(e),
        }
    }
    assert!(
        failures.is_empty(),
        "replay: cargo test -p streamlab-analyzer --test mutations\n{}",
        failures.join("\n")
    );
}

#[test]
fn the_undamaged_captures_are_sane_too() {
    for name in CAPTURES {
        let bytes = read(name);
        let a = report::analyze(name, &bytes[..], &Filter::default(), &mut |_| None)
            .expect("a capture the analyzer reads");
        assert_eq!(sane(&a, bytes.len()), Ok(()), "{name}");
        assert_eq!(a.connections.len(), 1, "{name}");
    }
}
