//! Every capture the kit ships, read by `report::analyze` and by tshark,
//! must tell the same story:
//!
//! 1. the same connections, numbered as `tcp.stream`, between the same
//!    endpoints, with the SYN's sender as the client;
//! 2. the same bytes in each direction (`follow,tcp,raw`);
//! 3. each `track_data_start` / `track_data_end` in the same frames: the
//!    first frame (by number) whose payload covers the marker's first byte,
//!    and the one covering its last, worked out here from tshark's
//!    `tcp.seq` and `tcp.len` alone; and at the same stream offsets as a
//!    plain search of tshark's reassembled bytes finds them.
//!
//! Without tshark on PATH the test is skipped (and says so), unless
//! `STREAMLAB_REQUIRE_TSHARK` is set, as CI sets it. tshark writing
//! anything on stderr but its "Running as user" notice fails the test.
//!
//! Replay one capture's comparison:
//!
//! ```text
//! cargo test -p streamlab-analyzer --test crosscheck
//! tshark -n -r captures/FILE -qz follow,tcp,raw,0
//! ```

mod support;

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;

use streamlab_analyzer::report::{self, Analysis, Connection, Filter};
use streamlab_analyzer::scan::{Kind, MarkerSpot};
use streamlab_analyzer::{ConnInfo, Dir};
use support::{captures, follow, tshark, tshark_available};

const START: &[u8] = b"track_data_start";
const END: &[u8] = b"track_data_end";

fn analyze(path: &Path) -> Analysis {
    let file = std::fs::File::open(path).expect("open the capture");
    let name = path.display().to_string();
    let analysis = report::analyze(&name, file, &Filter::default(), &mut |_| None)
        .expect("a capture the analyzer reads");
    assert!(analysis.stopped.is_none(), "{name}: {:?}", analysis.stopped);
    analysis
}

/// One TCP frame as tshark sees it.
struct Row {
    stream: u64,
    src: SocketAddr,
    dst: SocketAddr,
    /// A SYN without ACK.
    syn: bool,
}

/// Every frame: `None` for those that are not TCP.
fn tshark_frames(path: &Path) -> Vec<Option<Row>> {
    let fields = [
        "tcp.stream",
        "ip.src",
        "ipv6.src",
        "tcp.srcport",
        "ip.dst",
        "ipv6.dst",
        "tcp.dstport",
        "tcp.flags.syn",
        "tcp.flags.ack",
    ];
    let mut args = vec!["-T", "fields"];
    for field in &fields {
        args.extend(["-e", field]);
    }
    let text = tshark(path, &args);
    let addr = |ip4: &str, ip6: &str, port: &str| -> SocketAddr {
        let ip: IpAddr = if ip4.is_empty() { ip6 } else { ip4 }
            .parse()
            .expect("an address");
        SocketAddr::new(ip, port.parse().expect("a port"))
    };
    let flag = |f: &str| f == "1" || f == "True";
    text.lines()
        .map(|line| {
            let f: Vec<&str> = line.split('\t').collect();
            (!f[0].is_empty()).then(|| Row {
                stream: f[0].parse().expect("a stream number"),
                src: addr(f[1], f[2], f[3]),
                dst: addr(f[4], f[5], f[6]),
                syn: flag(f[7]) && !flag(f[8]),
            })
        })
        .collect()
}

/// A segment with data the server sent: its frame and time, and where its
/// payload lies in the stream. tshark's relative `tcp.seq` is 1 at the
/// first byte, after the SYN or, caught mid-stream, at the first segment
/// seen (the analyzer's offset 0 either way). `captured` leaves out what
/// a snapshot length cut off.
struct Seg {
    frame: u64,
    time_ns: u64,
    offset: u64,
    captured: u64,
}

fn server_segments(path: &Path, info: &ConnInfo) -> Vec<Seg> {
    let filter = format!(
        "tcp.stream=={} && tcp.len>0 && tcp.srcport=={}",
        info.stream,
        info.server.port()
    );
    let mut args = vec!["-Y", &filter, "-T", "fields"];
    for field in [
        "frame.number",
        "frame.time_epoch",
        "tcp.seq",
        "tcp.len",
        "frame.len",
        "frame.cap_len",
    ] {
        args.extend(["-e", field]);
    }
    let text = tshark(path, &args);
    text.lines()
        .map(|line| {
            let f: Vec<&str> = line.split('\t').collect();
            let number = |x: &str| x.parse::<u64>().expect("a number");
            let cut = number(f[4]) - number(f[5]);
            Seg {
                frame: number(f[0]),
                time_ns: epoch_ns(f[1]),
                offset: number(f[2]) - 1,
                captured: number(f[3]).saturating_sub(cut),
            }
        })
        .collect()
}

/// `1700000000.123456789` in nanoseconds.
fn epoch_ns(text: &str) -> u64 {
    let (seconds, fraction) = text.split_once('.').unwrap_or((text, "0"));
    let fraction = format!("{fraction:0<9}");
    seconds.parse::<u64>().expect("seconds") * 1_000_000_000
        + fraction[..9].parse::<u64>().expect("nanoseconds")
}

/// The first segment (by frame number) that carries stream offset `at`.
fn covering(segments: &[Seg], at: u64) -> Option<&Seg> {
    segments
        .iter()
        .filter(|s| (s.offset..s.offset + s.captured).contains(&at))
        .min_by_key(|s| s.frame)
}

/// How far the stream runs from offset 0 without a hole: up to there,
/// tshark's followed bytes sit at their stream offsets (after a hole it
/// closes ranks, so a search there would find shifted offsets).
fn unbroken(segments: &[Seg]) -> u64 {
    let mut spans: Vec<(u64, u64)> = segments
        .iter()
        .map(|s| (s.offset, s.offset + s.captured))
        .collect();
    spans.sort_unstable();
    let mut end = 0;
    for (from, to) in spans {
        if from > end {
            break;
        }
        end = end.max(to);
    }
    end
}

/// Every offset where `needle` lies wholly in `hay`.
fn occurrences(hay: &[u8], needle: &[u8]) -> Vec<u64> {
    hay.windows(needle.len())
        .enumerate()
        .filter(|(_, w)| *w == needle)
        .map(|(i, _)| i as u64)
        .collect()
}

/// Our marker against the frames tshark's segments put it in, and the
/// first one's time.
fn marker_agrees(name: &str, what: &str, spot: &MarkerSpot, len: u64, segs: &[Seg]) {
    let first = covering(segs, spot.offset);
    let last = covering(segs, spot.offset + len - 1);
    let frame = |s: Option<&Seg>| s.map(|s| s.frame);
    assert_eq!(
        (Some(spot.frame), Some(spot.last_frame)),
        (frame(first), frame(last)),
        "{name}: {what} at stream offset {}: (first, last) frame",
        spot.offset
    );
    assert_eq!(
        Some(spot.time_ns),
        first.map(|s| s.time_ns),
        "{name}: {what}: the time of frame {}",
        spot.frame
    );
}

/// Step 1: the same `tcp.stream` numbers, endpoints, and client.
fn connections_agree(name: &str, ours: &Analysis, frames: &[Option<Row>]) {
    let mut theirs: BTreeMap<u64, Vec<&Row>> = BTreeMap::new();
    for row in frames.iter().flatten() {
        theirs.entry(row.stream).or_default().push(row);
    }
    // Ours come out in the order they finished.
    let mut numbers: Vec<u64> = ours.connections.iter().map(|c| c.info.stream).collect();
    numbers.sort_unstable();
    let expected: Vec<u64> = theirs.keys().copied().collect();
    assert_eq!(numbers, expected, "{name}: tcp.stream numbers");
    for info in ours.connections.iter().map(|c| &c.info) {
        let (client, server) = (info.client, info.server);
        for row in &theirs[&info.stream] {
            let ends = (row.src, row.dst);
            assert!(
                ends == (client, server) || ends == (server, client),
                "{name} stream {}: tshark has {ends:?}, we have {client} → {server}",
                info.stream
            );
            if row.syn {
                assert_eq!(row.src, client, "{name}: the SYN's sender is the client");
            }
        }
    }
}

/// Step 3: every marker we found, and only those, where tshark's bytes have
/// one; each track's markers in the frames tshark's segments put them in.
/// Returns how many markers were checked.
fn markers_agree(name: &str, path: &Path, conn: &Connection, served: &[u8]) -> usize {
    let segs = server_segments(path, &conn.info);
    let reach = unbroken(&segs).min(served.len() as u64);
    let within = |kind: Kind, len: usize| -> Vec<u64> {
        let found = conn.scan.messages.iter();
        found
            .filter(|m| m.dir == Dir::ToClient && m.kind == kind)
            .map(|m| m.offset)
            .filter(|at| at + len as u64 <= reach)
            .collect()
    };
    // `reach` fits in memory: it is at most the bytes tshark printed.
    let plain = &served[..reach as usize];
    assert_eq!(
        within(Kind::TrackStart, START.len()),
        occurrences(plain, START),
        "{name}: track_data_start offsets"
    );
    assert_eq!(
        within(Kind::TrackEnd, END.len()),
        occurrences(plain, END),
        "{name}: track_data_end offsets"
    );
    // A marker message starts in the frame that first carried its byte,
    // with or without a track around it (an end seen mid-stream).
    let marker_messages =
        conn.scan.messages.iter().filter(|m| {
            m.dir == Dir::ToClient && matches!(m.kind, Kind::TrackStart | Kind::TrackEnd)
        });
    for m in marker_messages {
        assert_eq!(
            Some(m.frame),
            covering(&segs, m.offset).map(|s| s.frame),
            "{name}: the {:?} message at offset {}",
            m.kind,
            m.offset
        );
    }
    let mut markers = 0;
    for track in &conn.scan.tracks {
        let (start, end) = (START.len() as u64, END.len() as u64);
        if let Some(spot) = &track.start {
            marker_agrees(name, "track_data_start", spot, start, &segs);
            markers += 1;
        }
        if let Some(spot) = &track.end {
            marker_agrees(name, "track_data_end", spot, end, &segs);
            markers += 1;
        }
    }
    markers
}

/// One capture, all three comparisons; returns how many markers matched.
fn agree(path: &Path) -> usize {
    let name = path.file_name().expect("a file name").to_string_lossy();
    let ours = analyze(path);
    let frames = tshark_frames(path);
    assert_eq!(ours.frames, frames.len() as u64, "{name}: frames");
    connections_agree(&name, &ours, &frames);
    let mut markers = 0;
    for conn in &ours.connections {
        let info = &conn.info;
        // Step 2: the bytes of each direction.
        let ([a, b], [x, y]) = follow(path, info.stream);
        let bytes = BTreeMap::from([(a, x), (b, y)]);
        let sent = |addr: &SocketAddr| bytes.get(addr).map_or(&[][..], Vec::as_slice);
        assert_eq!(
            [info.dirs[0].stream_bytes, info.dirs[1].stream_bytes],
            [
                sent(&info.client).len() as u64,
                sent(&info.server).len() as u64
            ],
            "{name} stream {}: stream bytes [to server, to client]",
            info.stream
        );
        markers += markers_agree(&name, path, conn, sent(&info.server));
    }
    println!(
        "{name}: {} connection(s), {markers} marker(s) agree",
        ours.connections.len()
    );
    markers
}

#[test]
fn every_shipped_capture_reads_as_tshark_reads_it() {
    if !tshark_available() {
        return;
    }
    let mut markers = 0;
    let mut failed = Vec::new();
    for path in captures() {
        // Each capture on its own, so one disagreement shows them all.
        match std::panic::catch_unwind(|| agree(&path)) {
            Ok(n) => markers += n,
            Err(_) => failed.push(path.display().to_string()),
        }
    }
    assert!(failed.is_empty(), "tshark disagrees on {failed:#?}");
    assert!(
        markers >= 12,
        "the captures hold markers to check: {markers}"
    );
}
