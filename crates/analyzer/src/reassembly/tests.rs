//! One direction fed segment by segment, as the cases real captures hold:
//! in order, retransmitted, overlapping, out of order, lost, wrapped
//! around, cut by a snapshot length, captured twice, and shuffled at random.

use super::*;
use crate::recorder::{Event, Recorder};
use streamlab_netsim::rng::SimRng;

const SYN: TcpFlags = TcpFlags::SYN;
const ACK: TcpFlags = TcpFlags::ACK;

/// A segment from 10.0.0.10:45926 to port 2635.
fn segment(seq: u32, flags: TcpFlags, payload: &[u8], wire_len: u32) -> TcpSegment<'_> {
    TcpSegment {
        src: "10.0.0.10:45926".parse().expect("a literal address"),
        dst: "10.0.0.7:2635".parse().expect("a literal address"),
        seq,
        ack: 1,
        flags,
        window: 1000,
        window_scale: None,
        payload,
        truncated: wire_len as usize > payload.len(),
        wire_len,
    }
}

/// One direction with its sink and counters; frames count from 1.
struct OneWay {
    reassembler: Reassembler,
    sink: Recorder,
    stats: DirStats,
    frame: u64,
}

impl OneWay {
    fn new() -> Self {
        OneWay::with_hold_limit(DEFAULT_HOLD_LIMIT)
    }

    fn with_hold_limit(limit: usize) -> Self {
        OneWay {
            reassembler: Reassembler::with_hold_limit(limit),
            sink: Recorder::default(),
            stats: DirStats::default(),
            frame: 0,
        }
    }

    fn send(&mut self, seg: &TcpSegment<'_>) -> u64 {
        self.frame += 1;
        let mut out = Output {
            sink: &mut self.sink,
            dir: Dir::ToServer,
            stats: &mut self.stats,
        };
        let time_ns = self.frame * 1_000;
        self.reassembler.segment(seg, self.frame, time_ns, &mut out);
        self.frame
    }

    fn syn(&mut self, isn: u32) -> u64 {
        self.send(&segment(isn, SYN, b"", 0))
    }

    fn data(&mut self, seq: u32, payload: &[u8]) -> u64 {
        self.send(&segment(seq, ACK, payload, payload.len() as u32))
    }

    fn finish(&mut self) {
        let mut out = Output {
            sink: &mut self.sink,
            dir: Dir::ToServer,
            stats: &mut self.stats,
        };
        self.reassembler.finish(&mut out);
    }

    fn bytes(&self) -> Vec<u8> {
        self.sink.bytes(Dir::ToServer)
    }

    fn gaps(&self) -> Vec<(u64, u64)> {
        self.sink.gaps(Dir::ToServer)
    }

    /// `(offset, bytes, frame)` of each data call.
    fn chunks(&self) -> Vec<(u64, Vec<u8>, u64)> {
        let chunks = self.sink.events.iter().filter_map(|event| match event {
            Event::Data {
                offset,
                bytes,
                frame,
                ..
            } => Some((*offset, bytes.clone(), *frame)),
            Event::Gap { .. } => None,
        });
        chunks.collect()
    }
}

#[test]
fn in_order_bytes_are_delivered_as_they_come_from_isn_plus_one() {
    let mut way = OneWay::new();
    way.syn(1000);
    way.data(1001, b"hello");
    assert_eq!(way.bytes(), b"hello", "delivered before the capture ends");
    way.data(1006, b" world");
    assert_eq!(
        way.chunks(),
        [(0, b"hello".to_vec(), 2), (5, b" world".to_vec(), 3)]
    );
    assert_eq!(way.stats.stream_bytes, 11);
    assert_eq!((way.stats.retransmissions, way.stats.out_of_order), (0, 0));
    assert_eq!(way.reassembler.next_offset(), 11);
}

#[test]
fn a_retransmission_is_counted_and_its_frame_kept() {
    let mut way = OneWay::new();
    way.syn(0);
    way.data(1, b"lista\n");
    let again = way.data(1, b"lista\n");
    let part = way.data(3, b"st");
    way.finish();
    assert_eq!(way.bytes(), b"lista\n");
    assert_eq!(way.stats.retransmissions, 2);
    assert_eq!(way.stats.retransmission_frames, [again, part]);
}

#[test]
fn only_so_many_retransmitted_frames_are_kept() {
    let mut way = OneWay::new();
    way.syn(0);
    way.data(1, b"x");
    for _ in 0..FRAMES_KEPT + 5 {
        way.data(1, b"x");
    }
    assert_eq!(way.stats.retransmissions, FRAMES_KEPT as u64 + 5);
    assert_eq!(way.stats.retransmission_frames.len(), FRAMES_KEPT);
}

#[test]
fn a_partial_overlap_delivers_only_the_new_part_and_the_first_copy_wins() {
    let mut way = OneWay::new();
    way.syn(0);
    way.data(1, b"abcd");
    let overlap = way.data(3, b"XXgh"); // "cd" again, but different
    assert_eq!(way.bytes(), b"abcdgh");
    assert_eq!(way.chunks()[1], (4, b"gh".to_vec(), overlap));
    assert_eq!(way.stats.retransmissions, 1);
    assert_eq!(way.stats.stream_bytes, 6);
}

#[test]
fn out_of_order_segments_wait_for_the_hole_then_go_on_in_place() {
    let mut way = OneWay::new();
    way.syn(0);
    let late = way.data(6, b"world");
    assert_eq!(way.bytes(), b"", "held until the hole fills");
    let early = way.data(1, b"hello");
    assert_eq!(
        way.chunks(),
        [(0, b"hello".to_vec(), early), (5, b"world".to_vec(), late)]
    );
    assert_eq!((way.stats.out_of_order, way.stats.gaps), (1, 0));
    assert_eq!(way.reassembler.held_cost, 0, "nothing left held");
}

#[test]
fn held_bytes_arrived_first_so_they_win_over_a_later_copy() {
    let mut way = OneWay::new();
    way.syn(0);
    way.data(3, b"cdef");
    way.data(3, b"CDEF"); // nothing new: a retransmission
    way.data(1, b"abXXXXg");
    assert_eq!(way.bytes(), b"abcdefg");
    assert_eq!((way.stats.out_of_order, way.stats.retransmissions), (1, 1));
}

#[test]
fn out_of_order_copies_keep_only_what_is_not_held_yet() {
    let mut way = OneWay::new();
    way.syn(0);
    way.data(5, b"efgh");
    way.data(3, b"cdEFGHij"); // around the held part
    way.data(1, b"ab");
    assert_eq!(way.bytes(), b"abcdefghij");
    assert_eq!(way.stats.out_of_order, 2);
}

#[test]
fn a_hole_never_filled_is_a_gap_at_the_end_and_what_follows_is_delivered() {
    let mut way = OneWay::new();
    way.syn(0);
    way.data(1, b"abc");
    let after = way.data(11, b"xyz");
    way.finish();
    assert_eq!(way.bytes(), b"abcxyz");
    assert_eq!(way.gaps(), [(3, 7)]);
    let Event::Gap { frame, .. } = &way.sink.events[1] else {
        panic!("the gap comes before the bytes after it");
    };
    assert_eq!(*frame, after, "tagged with the first frame after it");
    assert_eq!((way.stats.gaps, way.stats.gap_bytes), (1, 7));
    assert_eq!(way.stats.stream_bytes, 6);
}

#[test]
fn sequence_numbers_wrap_around_past_two_to_the_32() {
    let mut way = OneWay::new();
    way.syn(u32::MAX - 2); // offset 0 is u32::MAX - 1
    way.data(u32::MAX - 1, b"ab");
    way.data(2, b"ef"); // out of order, across the wrap
    way.data(0, b"cd");
    assert_eq!(way.bytes(), b"abcdef");
    assert_eq!(way.stats.out_of_order, 1);
}

#[test]
fn the_stream_offset_runs_past_four_gigabytes() {
    // Cut segments carry the offset far with few bytes: each says 1 GiB
    // was on the wire and one byte was captured.
    let mut way = OneWay::new();
    way.syn(7);
    let gib = 1u32 << 30;
    for i in 0..5u32 {
        let seq = 8u32.wrapping_add(i.wrapping_mul(gib));
        way.send(&segment(seq, ACK, &[b'a' + i as u8], gib));
    }
    way.data(8u32.wrapping_add(5u32.wrapping_mul(gib)), b"end");
    assert_eq!(way.bytes(), b"abcdeend");
    assert_eq!(way.reassembler.next_offset(), 5 * u64::from(gib) + 3);
    assert_eq!(way.chunks()[5].0, 5 * u64::from(gib));
}

#[test]
fn a_capture_from_mid_stream_counts_from_the_first_segment() {
    let mut way = OneWay::new();
    way.data(5000, b"abc");
    way.data(4990, b"0123456789abc"); // from before the capture: old
    way.data(5003, b"def");
    assert_eq!(way.bytes(), b"abcdef");
    assert_eq!(way.chunks()[0].0, 0);
    assert_eq!(way.stats.retransmissions, 1);
}

#[test]
fn syn_and_fin_each_take_one_sequence_number() {
    let mut way = OneWay::new();
    way.send(&segment(100, SYN, b"hi", 2)); // data on the SYN (fast open)
    way.syn(100); // the SYN again: no data, nothing to count
    way.send(&segment(103, TcpFlags::from_bits(0x11), b"!", 1));
    way.send(&segment(105, ACK, b"", 0)); // after the FIN's number
    way.finish();
    assert_eq!(way.bytes(), b"hi!");
    assert_eq!(way.gaps(), []);
    assert_eq!(way.stats.retransmissions, 0);
}

#[test]
fn a_reset_before_anything_else_does_not_anchor() {
    let mut way = OneWay::new();
    way.send(&segment(0, TcpFlags::RST, b"", 0));
    assert!(!way.reassembler.is_anchored());
    way.data(500, b"abc");
    assert_eq!(way.bytes(), b"abc");
}

#[test]
fn what_a_snapshot_length_cut_off_is_a_gap() {
    let mut way = OneWay::new();
    way.syn(0);
    way.send(&segment(1, ACK, b"abc", 10));
    assert_eq!(way.gaps(), [(3, 7)], "declared at once, not waited for");
    way.send(&segment(21, ACK, b"uv", 5)); // out of order and cut
    way.send(&segment(11, ACK, b"klmnopqrst", 10));
    way.finish();
    assert_eq!(way.bytes(), b"abcklmnopqrstuv");
    assert_eq!(way.gaps(), [(3, 7), (22, 3)]);
    assert_eq!((way.stats.gaps, way.stats.gap_bytes), (2, 10));
}

#[test]
fn a_segment_captured_twice_is_delivered_once() {
    let mut way = OneWay::new();
    way.syn(0);
    for (seq, payload) in [(1, &b"RV\n"[..]), (7, b"VL\n"), (4, b"EN\n")] {
        way.data(seq, payload);
        way.data(seq, payload);
    }
    way.finish();
    assert_eq!(way.bytes(), b"RV\nEN\nVL\n");
    assert_eq!(way.stats.retransmissions, 3, "as Wireshark counts them");
}

#[test]
fn a_full_hold_buffer_gives_up_the_hole_and_goes_on() {
    let mut way = OneWay::with_hold_limit(400); // two held segments fit, with their cost
    way.syn(0);
    way.data(1, b"start");
    let first_held = way.data(16, &[b'a'; 100]);
    way.data(116, &[b'b'; 100]);
    assert_eq!(way.bytes().len(), 5, "two segments fit");
    way.data(216, &[b'c'; 100]);
    assert_eq!(way.gaps(), [(5, 10)], "the hole is given up");
    assert_eq!(way.sink.events[1], {
        Event::Gap {
            dir: Dir::ToServer,
            offset: 5,
            len: 10,
            frame: first_held,
        }
    });
    assert_eq!(way.bytes().len(), 305);
    way.data(6, b"0123456789"); // the hole's bytes, too late
    assert_eq!(way.stats.retransmissions, 1);
    assert_eq!(way.stats.stream_bytes + way.stats.gap_bytes, 315);
}

/// A random stream cut into random segments, some duplicated, some
/// overlapping, all shuffled: `(offset, len)` in the order to send.
fn scramble(rng: &mut SimRng, len: u64) -> Vec<(u64, u64)> {
    let mut pieces = Vec::new();
    let mut at = 0;
    while at < len {
        let n = (1 + rng.below(300)).min(len - at);
        pieces.push((at, n));
        at += n;
    }
    for _ in 0..rng.below(10) {
        let i = rng.below(pieces.len() as u64) as usize;
        pieces.push(pieces[i]); // a duplicate
        let start = rng.below(len);
        pieces.push((start, (1 + rng.below(500)).min(len - start))); // an overlap
    }
    for i in (1..pieces.len()).rev() {
        pieces.swap(i, rng.below(i as u64 + 1) as usize);
    }
    pieces
}

#[test]
fn random_cuts_duplicates_overlaps_and_shuffles_give_back_the_stream() {
    let mut gave_up_holes = 0;
    for seed in 1..=200u64 {
        let mut rng = SimRng::new(seed);
        let stream: Vec<u8> = (0..1 + rng.below(6000))
            .map(|_| rng.next_u64() as u8)
            .collect();
        let isn = rng.next_u64() as u32;
        let tight = seed % 4 == 0; // a hold limit small enough to give up holes
        let mut way = OneWay::with_hold_limit(if tight { 1000 } else { 1 << 20 });
        way.syn(isn);
        let sent = scramble(&mut rng, stream.len() as u64);
        for &(offset, n) in &sent {
            let seq = isn.wrapping_add(1).wrapping_add(offset as u32);
            way.data(seq, &stream[offset as usize..(offset + n) as usize]);
        }
        way.finish();
        let replay = format!("seed {seed}: cargo test -p streamlab-analyzer random_cuts");
        let stats = &way.stats;
        assert_eq!(
            stats.stream_bytes + stats.gap_bytes,
            stream.len() as u64,
            "{replay}"
        );
        assert!(
            stats.retransmissions + stats.out_of_order <= sent.len() as u64,
            "{replay}"
        );
        for (offset, bytes, _) in way.chunks() {
            let original = &stream[offset as usize..offset as usize + bytes.len()];
            assert_eq!(bytes, original, "{replay}: bytes at {offset}");
        }
        if !tight {
            assert_eq!(way.bytes(), stream, "{replay}");
            assert_eq!(stats.gaps, 0, "{replay}");
        }
        gave_up_holes += u64::from(stats.gaps > 0);
    }
    assert!(gave_up_holes > 10, "the tight limit was exercised");
}
