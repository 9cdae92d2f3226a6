//! Reassembly checked against two independent views of the same capture:
//! tshark's (`tcp.stream` of every frame, and `follow,tcp,raw` of every
//! connection) on a capture written here with retransmissions, segments
//! out of order, overlaps, a connection caught mid-stream, ports used again
//! and sequence numbers wrapping; and the simulator's own record of what
//! each side sent, on its lossy, slow-reader and framing scenarios.
//!
//! Without tshark on PATH its half is skipped (and says so), unless
//! `STREAMLAB_REQUIRE_TSHARK` is set, as CI sets it.

use streamlab_testkit::captures as testutil;

mod support;

use std::net::SocketAddr;

use streamlab_analyzer::{
    decode, CaptureReader, Chunk, ConnInfo, Decoded, Dir, DirStats, Flows, StreamSink,
};
use streamlab_netsim::scenario::{stream_bytes, Options, Scenario};
use streamlab_netsim::sim::Side;
use support::{follow, tshark, tshark_available};
use testutil::*;

/// Collects each direction's bytes and counts the gaps.
#[derive(Default)]
struct Collect {
    bytes: [Vec<u8>; 2],
    gaps: u64,
}

impl StreamSink for Collect {
    fn data(&mut self, dir: Dir, chunk: Chunk<'_>) {
        self.bytes[dir.index()].extend_from_slice(chunk.data);
    }

    fn gap(&mut self, _: Dir, _: u64, _: u64, _: u64, _: u64) {
        self.gaps += 1;
    }
}

/// `(frame, tcp.stream)` of each TCP frame.
type FrameStreams = Vec<(u64, u64)>;

/// Reads a whole capture: the stream of each TCP frame, and each
/// connection.
fn reassemble(bytes: &[u8]) -> (FrameStreams, Vec<(ConnInfo, Collect)>) {
    let mut reader = CaptureReader::new(bytes).expect("a capture header");
    let mut flows = Flows::new(|_: &ConnInfo| Collect::default());
    let mut streams = Vec::new();
    while let Some(packet) = reader.next_packet().expect("a whole capture") {
        if let Decoded::Tcp(segment) = decode(&packet) {
            // A few connections, far from the table's limit: all tracked.
            let stream = flows
                .segment(&packet, &segment)
                .expect("a tracked connection");
            streams.push((packet.frame, stream));
        }
    }
    (streams, flows.finish())
}

const TCP: u8 = 6;
const SYN: u8 = 0x02;
const SYN_ACK: u8 = 0x12;
const ACK: u8 = 0x10;
const PSH_ACK: u8 = 0x18;
const FIN_ACK: u8 = 0x11;

/// A capture of raw IPv4 packets, a millisecond apart.
struct Writer {
    file: PcapngFile,
    frames: u64,
}

impl Writer {
    fn new() -> Self {
        let mut file = PcapngFile::default();
        file.section(false).interface(101, 262_144, &[]);
        Writer { file, frames: 0 }
    }

    fn send(&mut self, src: &str, dst: &str, seq: u32, flags: u8, payload: &[u8]) {
        let (src, dst): (SocketAddr, SocketAddr) = (src.parse().unwrap(), dst.parse().unwrap());
        let ip = |a: SocketAddr| match a.ip() {
            std::net::IpAddr::V4(v4) => v4.octets(),
            std::net::IpAddr::V6(_) => unreachable!("the test uses IPv4"),
        };
        let segment = tcp(src.port(), dst.port(), seq, 1, flags, payload);
        let packet = ipv4(ip(src), ip(dst), TCP, &segment);
        self.frames += 1;
        let ts = 1_700_000_000_000_000 + self.frames * 1_000;
        self.file.enhanced(0, ts, &packet, packet.len() as u32);
    }
}

const A: &str = "10.0.0.10:45926";
const S: &str = "10.0.0.7:2635";
const M: &str = "10.0.0.20:50000";
const W: &str = "10.0.0.30:40000";

/// Four connections on three address pairs, interleaved.
fn oddities() -> Vec<u8> {
    let mut w = Writer::new();
    w.send(A, S, 1000, SYN, b"");
    w.send(S, A, 5000, SYN_ACK, b"");
    w.send(A, S, 1001, ACK, b"");
    w.send(A, S, 1001, PSH_ACK, b"lista\n");
    w.send(S, A, 5001, PSH_ACK, b"RV\n");
    w.send(S, A, 5007, PSH_ACK, b"EN\n"); // out of order
    w.send(M, S, 3333, PSH_ACK, b"status\n"); // mid-stream, another pair
    w.send(S, A, 5004, PSH_ACK, b"VL\n"); // fills the hole
    w.send(S, A, 5004, PSH_ACK, b"VL\nEN\n"); // a retransmission
    w.send(S, M, 77777, PSH_ACK, b"playing\n");
    w.send(W, S, u32::MAX - 5, SYN, b"");
    w.send(S, W, 42, SYN_ACK, b"");
    w.send(W, S, u32::MAX - 4, PSH_ACK, b"across the wrap\n");
    w.send(A, S, 1007, FIN_ACK, b"");
    w.send(S, A, 5010, FIN_ACK, b"");
    w.send(A, S, 1008, ACK, b"");
    w.send(A, S, 90_000, SYN, b""); // the same ports again
    w.send(S, A, 123, SYN_ACK, b"");
    w.send(A, S, 90_001, PSH_ACK, b"again\n");
    w.send(S, A, 124, PSH_ACK, b"abc");
    w.send(S, A, 125, PSH_ACK, b"bcdef"); // overlaps, same bytes
    w.send(M, S, 3340, PSH_ACK, b"quit\n");
    w.file.bytes
}

/// Our streams against tshark's: frame by frame, then byte by byte.
fn agree_with_tshark(name: &str, capture: &[u8]) {
    let (ours, conns) = reassemble(capture);
    if !tshark_available() {
        return;
    }
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join(name);
    std::fs::write(&path, capture).expect("write the capture");
    let fields = tshark(
        &path,
        &["-T", "fields", "-e", "frame.number", "-e", "tcp.stream"],
    );
    let theirs: FrameStreams = fields
        .lines()
        .filter_map(|line| line.split_once('\t'))
        .filter(|(_, stream)| !stream.is_empty())
        .map(|(frame, stream)| (frame.parse().unwrap(), stream.parse().unwrap()))
        .collect();
    assert_eq!(ours, theirs, "tcp.stream of every frame");
    let zero = tshark(
        &path,
        &[
            "-Y",
            "tcp.analysis.zero_window",
            "-T",
            "fields",
            "-e",
            "tcp.stream",
            "-e",
            "tcp.srcport",
        ],
    );
    for (info, sink) in &conns {
        let zero_from = |port: u16| {
            let row = format!("{}\t{port}", info.stream);
            zero.lines().filter(|line| *line == row).count() as u64
        };
        let zero_windows = [zero_from(info.client.port()), zero_from(info.server.port())];
        let ours = [info.dirs[0].zero_windows, info.dirs[1].zero_windows];
        assert_eq!(ours, zero_windows, "stream {}: zero windows", info.stream);
        let ([node0, _], bytes) = follow(&path, info.stream);
        let client_first = node0 == info.client;
        let (to_server, to_client) = if client_first { (0, 1) } else { (1, 0) };
        let stream = info.stream;
        assert_eq!(
            sink.bytes[0], bytes[to_server],
            "stream {stream} to the server"
        );
        assert_eq!(
            sink.bytes[1], bytes[to_client],
            "stream {stream} to the client"
        );
    }
}

#[test]
fn streams_and_their_bytes_agree_with_tshark() {
    let capture = oddities();
    let (_, conns) = reassemble(&capture);
    let summary: Vec<_> = conns
        .iter()
        .map(|(info, sink)| (info.stream, info.client.to_string(), sink.gaps))
        .collect();
    assert_eq!(
        summary,
        [
            (0, A.to_string(), 0),
            (1, M.to_string(), 0),
            (2, W.to_string(), 0),
            (3, A.to_string(), 0),
        ]
    );
    assert_eq!(conns[0].1.bytes[1], b"RV\nVL\nEN\n");
    assert_eq!(conns[2].1.bytes[0], b"across the wrap\n");
    let stats = &conns[0].0.dirs[1];
    assert_eq!((stats.out_of_order, stats.retransmissions), (1, 1));
    agree_with_tshark("oddities.pcapng", &capture);
}

/// The simulator's capture, reassembled, gives back what each side sent.
/// Returns the connection's counters.
fn agree_with_the_simulator(scenario: Scenario) -> [DirStats; 2] {
    let mut run = scenario.build(&Options::new(1)).remove(0);
    run.sim
        .run_until_idle(1_000_000)
        .expect("the scenario ends");
    let capture = run.sim.pcapng_bytes();
    let (_, conns) = reassemble(&capture);
    let name = scenario.name();
    assert_eq!(conns.len(), 1, "{name}: one connection");
    let (info, sink) = &conns[0];
    assert_eq!(sink.gaps, 0, "{name}: nothing missing");
    assert!(!info.mid_stream, "{name}: the handshake is in the capture");
    let server = stream_bytes(&run.sim, Side::Server);
    let client = stream_bytes(&run.sim, Side::Client);
    assert!(!server.is_empty(), "{name}: the server sent something");
    assert!(
        sink.bytes[1] == server,
        "{name}: the server's stream differs"
    );
    assert!(
        sink.bytes[0] == client,
        "{name}: the client's stream differs"
    );
    agree_with_tshark(&format!("{name}.pcapng"), &capture);
    info.dirs.clone()
}

#[test]
fn the_lossy_scenario_reassembles_to_what_the_server_sent() {
    let [_, from_server] = agree_with_the_simulator(Scenario::Lossy);
    // Taken at the client, a resend that fills a hole arrives after the
    // segments beyond the hole: this analyzer counts it as out of order
    // (it never saw the lost first copy).
    assert!(
        from_server.retransmissions + from_server.out_of_order > 0,
        "the losses were repaired: {from_server:?}"
    );
}

#[test]
fn the_slow_reader_scenario_reassembles_to_what_the_server_sent() {
    let [from_client, _] = agree_with_the_simulator(Scenario::SlowReader);
    assert!(from_client.zero_windows > 0, "the client's window closed");
}

#[test]
fn the_framing_scenario_reassembles_to_what_the_server_sent() {
    agree_with_the_simulator(Scenario::Framing);
}
