//! Connections as captures show them: a whole conversation, captures that
//! start in the middle, ports used again, port scans, zero windows, and a
//! marker split across segments.

use std::cell::RefCell;
use std::rc::Rc;

use std::net::SocketAddr;

use super::*;
use crate::link::LinkType;
use crate::recorder::Recorder;
use crate::stream::{Chunk, ClientBy, Dir, Handshake};

pub(super) const SYN: u8 = 0x02;
pub(super) const SYN_ACK: u8 = 0x12;
pub(super) const ACK: u8 = 0x10;
pub(super) const PSH_ACK: u8 = 0x18;
pub(super) const FIN_ACK: u8 = 0x11;
const RST: u8 = 0x04;

pub(super) const CLIENT: &str = "10.0.0.10:45926";
pub(super) const SERVER: &str = "10.0.0.7:2635";

pub(super) fn addr(text: &str) -> SocketAddr {
    text.parse().expect("a literal address")
}

/// A capture fed one segment at a time; frames count from 1, a
/// millisecond apart, plus `later_ns`.
pub(super) struct Capture<S: StreamSink> {
    pub flows: Flows<'static, S>,
    frame: u64,
    /// Added to every timestamp from now on, to let time pass.
    pub later_ns: u64,
    /// The stream number of each frame (`None`: not tracked).
    pub streams: Vec<Option<u64>>,
}

impl Capture<Recorder> {
    pub fn new() -> Self {
        Capture::with(Flows::new(|_: &ConnInfo| Recorder::default()))
    }
}

impl<S: StreamSink> Capture<S> {
    pub fn with(flows: Flows<'static, S>) -> Self {
        Capture {
            flows,
            frame: 0,
            later_ns: 0,
            streams: Vec::new(),
        }
    }

    /// Sends a segment; returns its frame.
    pub fn send(&mut self, src: &str, dst: &str, seq: u32, flags: u8, payload: &[u8]) -> u64 {
        self.send_window(src, dst, seq, flags, payload, 1000)
    }

    fn send_window(
        &mut self,
        src: &str,
        dst: &str,
        seq: u32,
        flags: u8,
        payload: &[u8],
        window: u16,
    ) -> u64 {
        self.frame += 1;
        let packet = Packet {
            frame: self.frame,
            timestamp_ns: self.frame * 1_000_000 + self.later_ns,
            interface: 0,
            link_type: LinkType::RAW,
            captured_len: 0,
            original_len: 0,
            data: &[],
        };
        let seg = TcpSegment {
            src: addr(src),
            dst: addr(dst),
            seq,
            ack: 1,
            flags: TcpFlags::from_bits(flags),
            window,
            window_scale: None,
            payload,
            truncated: false,
            wire_len: payload.len() as u32,
        };
        let stream = self.flows.segment(&packet, &seg);
        self.streams.push(stream);
        self.frame
    }
}

#[test]
fn a_whole_conversation_from_handshake_to_fin() {
    let mut cap = Capture::new();
    cap.send(CLIENT, SERVER, 100, SYN, b"");
    cap.send(SERVER, CLIENT, 500, SYN_ACK, b"");
    cap.send(CLIENT, SERVER, 101, ACK, b"");
    cap.send(CLIENT, SERVER, 101, PSH_ACK, b"lista\n");
    cap.send(SERVER, CLIENT, 501, PSH_ACK, b"RV\nVL\n");
    cap.send(CLIENT, SERVER, 107, FIN_ACK, b"");
    cap.send(SERVER, CLIENT, 507, FIN_ACK, b"");
    cap.send(CLIENT, SERVER, 108, ACK, b"");
    let conns = cap.flows.finish();
    assert_eq!(conns.len(), 1);
    let (info, sink) = &conns[0];
    assert_eq!(
        (info.stream, info.client, info.server),
        (0, addr(CLIENT), addr(SERVER))
    );
    assert_eq!((info.client_by, info.mid_stream), (ClientBy::Syn, false));
    let handshake = Handshake {
        syn: Some(1),
        syn_ack: Some(2),
        ack: Some(3),
    };
    assert_eq!(info.handshake, handshake);
    assert_eq!((info.first_frame, info.last_frame), (1, 8));
    assert_eq!(cap.streams, [Some(0); 8]);
    assert_eq!(
        (info.first_time_ns, info.last_time_ns),
        (1_000_000, 8_000_000)
    );
    assert_eq!(sink.bytes(Dir::ToServer), b"lista\n");
    assert_eq!(sink.bytes(Dir::ToClient), b"RV\nVL\n");
    let [up, down] = &info.dirs;
    assert_eq!(
        (up.segments, up.stream_bytes, up.fin_frame),
        (5, 6, Some(6))
    );
    assert_eq!(
        (down.segments, down.stream_bytes, down.fin_frame),
        (3, 6, Some(7))
    );
}

#[test]
fn without_a_syn_the_client_is_the_side_talking_to_port_2635() {
    let mut cap = Capture::new();
    cap.send(SERVER, CLIENT, 9000, PSH_ACK, b"VL\n"); // the server speaks first
    cap.send(CLIENT, SERVER, 4000, PSH_ACK, b"quit\n");
    let (info, sink) = &cap.flows.finish()[0];
    assert_eq!(
        (info.client, info.client_by),
        (addr(CLIENT), ClientBy::ServerPort)
    );
    assert!(info.mid_stream);
    assert_eq!(sink.bytes(Dir::ToClient), b"VL\n");
    assert_eq!(sink.bytes(Dir::ToServer), b"quit\n");
}

#[test]
fn without_a_syn_or_the_port_the_client_sent_the_first_packet() {
    let mut cap = Capture::new();
    cap.send("10.0.0.1:5000", "10.0.0.2:80", 1, PSH_ACK, b"GET");
    let (info, _) = &cap.flows.finish()[0];
    assert_eq!(info.client, addr("10.0.0.1:5000"));
    assert_eq!(
        (info.client_by, info.mid_stream),
        (ClientBy::FirstPacket, true)
    );
}

#[test]
fn a_syn_ack_without_its_syn_names_the_client_and_where_its_stream_starts() {
    let mut cap = Capture::new();
    cap.send("10.0.0.2:80", "10.0.0.1:5000", 500, SYN_ACK, b""); // acks 1
    cap.send("10.0.0.1:5000", "10.0.0.2:80", 11, PSH_ACK, b"late"); // 10 lost
    let (info, sink) = &cap.flows.finish()[0];
    assert_eq!(
        (info.client, info.client_by),
        (addr("10.0.0.1:5000"), ClientBy::Syn)
    );
    assert_eq!(info.handshake.syn_ack, Some(1));
    assert_eq!(sink.gaps(Dir::ToServer), [(0, 10)]);
    assert_eq!(sink.bytes(Dir::ToServer), b"late");
}

#[test]
fn ports_used_again_with_a_new_isn_start_a_new_stream() {
    let made = Rc::new(RefCell::new(Vec::new()));
    let log = Rc::clone(&made);
    let mut cap = Capture::with(Flows::new(move |info: &ConnInfo| {
        log.borrow_mut().push(info.stream);
        Recorder::default()
    }));
    cap.send(CLIENT, SERVER, 100, SYN, b"");
    cap.send(CLIENT, SERVER, 100, SYN, b""); // retransmitted: same stream
    cap.send(SERVER, CLIENT, 500, SYN_ACK, b"");
    cap.send(CLIENT, SERVER, 101, PSH_ACK, b"one");
    cap.send(CLIENT, SERVER, 104, FIN_ACK, b"");
    cap.send("10.0.0.99:1", SERVER, 7, SYN, b""); // another pair between
    let reuse = cap.send(CLIENT, SERVER, 9000, SYN, b"");
    cap.send(SERVER, CLIENT, 700, SYN_ACK, b"");
    cap.send(CLIENT, SERVER, 9001, PSH_ACK, b"two");
    let streams = [0, 0, 0, 0, 0, 1, 2, 2, 2].map(Some);
    assert_eq!(cap.streams, streams);
    // Sinks are made at a connection's first byte; stream 1 never had
    // one, so its sink is made when it finishes, at the end.
    assert_eq!(*made.borrow(), [0, 2]);
    let conns = cap.flows.finish();
    assert_eq!(*made.borrow(), [0, 2, 1]);
    let streams: Vec<_> = conns
        .iter()
        .map(|(info, _)| (info.stream, info.first_frame))
        .collect();
    assert_eq!(streams, [(0, 1), (1, 6), (2, reuse)]);
    assert_eq!(conns[0].1.bytes(Dir::ToServer), b"one");
    assert_eq!(conns[2].1.bytes(Dir::ToServer), b"two");
    assert_eq!(conns[0].0.dirs[0].segments, 4);
    assert_eq!(conns[2].0.handshake.syn, Some(reuse));
}

#[test]
fn a_port_scan_is_many_small_connections_in_order() {
    let mut cap = Capture::new();
    for port in 1..=2000u16 {
        let target = format!("10.0.0.7:{port}");
        cap.send("10.0.0.66:40000", &target, 1, SYN, b"");
        if port % 2 == 0 {
            cap.send(&target, "10.0.0.66:40000", 0, RST | ACK, b"");
        }
    }
    let conns = cap.flows.finish();
    assert_eq!(conns.len(), 2000);
    for (i, (info, _)) in conns.iter().enumerate() {
        assert_eq!(info.stream, i as u64);
        assert_eq!(info.server.port(), i as u16 + 1);
        let rst = info.dirs[Dir::ToClient.index()].rst_frame;
        assert_eq!(rst.is_some(), info.server.port() % 2 == 0);
    }
}

#[test]
fn zero_windows_are_counted_as_wireshark_counts_them() {
    let mut cap = Capture::new();
    cap.send(CLIENT, SERVER, 100, SYN, b"");
    cap.send_window(SERVER, CLIENT, 500, SYN_ACK, b"", 0); // SYN: not counted
    cap.send_window(CLIENT, SERVER, 101, ACK, b"", 0);
    cap.send_window(CLIENT, SERVER, 101, ACK, b"", 0);
    cap.send_window(CLIENT, SERVER, 101, RST, b"", 0); // RST: not counted
    let (info, _) = &cap.flows.finish()[0];
    assert_eq!(info.dirs[0].zero_windows, 2);
    assert_eq!(info.dirs[1].zero_windows, 0);
}

/// A scanner in miniature: finds a marker in one direction's stream,
/// wherever the segments cut it, with the frame its first byte came in.
struct FindMarker {
    marker: &'static [u8],
    tail: Vec<u8>,
    found: Vec<(u64, u64)>,
    frames: Vec<(u64, u64)>, // (offset, frame) of each chunk
}

impl StreamSink for FindMarker {
    fn data(&mut self, _dir: Dir, chunk: Chunk<'_>) {
        self.frames.push((chunk.offset, chunk.frame));
        let start = chunk.offset - self.tail.len() as u64;
        self.tail.extend_from_slice(chunk.data);
        for (i, window) in self.tail.windows(self.marker.len()).enumerate() {
            if window == self.marker {
                let offset = start + i as u64;
                let frame = self.frames.iter().rev().find(|(at, _)| *at <= offset);
                self.found.push((offset, frame.map_or(0, |f| f.1)));
            }
        }
        let keep = self.tail.len().min(self.marker.len() - 1);
        self.tail.drain(..self.tail.len() - keep);
    }

    fn gap(&mut self, _: Dir, _: u64, _: u64, _: u64, _: u64) {
        self.tail.clear();
    }
}

#[test]
fn a_marker_split_across_two_segments_is_found_in_the_stream() {
    let mut cap = Capture::with(Flows::new(|_: &ConnInfo| FindMarker {
        marker: b"\nEND\n",
        tail: Vec::new(),
        found: Vec::new(),
        frames: Vec::new(),
    }));
    cap.send(CLIENT, SERVER, 100, SYN, b"");
    let second = cap.send(CLIENT, SERVER, 109, PSH_ACK, b"ND\nmore"); // out of order
    let first = cap.send(CLIENT, SERVER, 101, PSH_ACK, b"RV\nVL\n\nE");
    let (_, sink) = &cap.flows.finish()[0];
    assert_eq!(sink.found, [(6, first)]);
    assert_eq!(sink.frames, [(0, first), (8, second)]);
}
