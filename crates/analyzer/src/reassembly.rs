//! One direction of one TCP connection, put back into a byte stream.
//!
//! TCP numbers every byte with a 32-bit sequence number that wraps around;
//! the reassembler turns it into a 64-bit *stream offset* (0 = the first
//! byte of the direction) and hands the bytes on in order:
//!
//! ```text
//!  seq    ISN  ISN+1 ............................ wraps past 2^32 ...
//!  offset  (SYN)  0   1   2 ...                  2^32 - 1, 2^32, ...
//! ```
//!
//! * **Anchor.** With the SYN seen, offset 0 is ISN + 1 (the SYN takes one
//!   sequence number). A capture that starts mid-stream anchors at the
//!   sequence number of the first segment seen this way.
//! * **Unwrap.** A sequence number is read as the offset nearest the next
//!   expected one (within ±2 GiB), so the stream goes on across 2^32.
//! * **Classify** each segment that carries data:
//!
//! ```text
//!  already delivered      next expected       held (out of order)
//!  ────────────────────────┤                   ├────┤
//!    [old old]            retransmission: counted, dropped
//!         [old|new new]   partial overlap: only the new part, first copy wins
//!                         [new new]           in order: delivered at once
//!                                     [new]   beyond a hole: held
//! ```
//!
//! In-order bytes go to the sink as a slice of the captured packet (no
//! copy); only out-of-order bytes are copied, into a buffer bounded per
//! direction ([`DEFAULT_HOLD_LIMIT`]). When it is full, the hole before the
//! earliest held segment is declared a gap and the stream goes on. Bytes a
//! snapshot length cut off (the segment's [`TcpSegment::wire_len`] beyond
//! its payload) are a gap too. Gaps are recorded, never filled in: the sink
//! hears of each ([`StreamSink::gap`]) before the bytes after it.

use std::collections::BTreeMap;

use crate::stream::{Chunk, Dir, DirStats, StreamSink, FRAMES_KEPT};
use crate::tcp::{TcpFlags, TcpSegment};

/// The out-of-order bytes held per direction before a hole is given up.
pub const DEFAULT_HOLD_LIMIT: usize = 4 << 20;

/// What each held segment costs beyond its bytes, in the limit's count
/// (so segments cut to nothing by a snapshot length are bounded too).
const ENTRY_COST: usize = 64;

/// Where a reassembler's output goes: the connection's sink, tagged with
/// the direction, and the direction's counters.
pub struct Output<'a, S> {
    pub sink: &'a mut S,
    pub dir: Dir,
    pub stats: &'a mut DirStats,
}

/// Reassembles one direction of a connection. Small until segments arrive
/// out of order: nothing is allocated for a stream that arrives in order.
#[derive(Debug, Clone)]
pub struct Reassembler {
    /// The sequence number of stream offset 0, once known.
    base: Option<u32>,
    /// The next offset expected: everything before it was delivered or
    /// declared a gap.
    next: u64,
    /// Out-of-order segments by offset, never overlapping one another.
    held: BTreeMap<u64, Held>,
    /// Held bytes plus [`ENTRY_COST`] per entry.
    held_cost: usize,
    limit: usize,
}

/// An out-of-order segment (or the part of it that was new), copied.
#[derive(Debug, Clone)]
struct Held {
    data: Vec<u8>,
    /// Bytes after `data` that the capture cut off.
    missing: u64,
    frame: u64,
    time_ns: u64,
}

/// A stretch of the stream from one frame: captured bytes, then `missing`
/// bytes the capture did not keep.
#[derive(Debug, Clone, Copy)]
struct Piece<'a> {
    offset: u64,
    data: &'a [u8],
    missing: u64,
    frame: u64,
    time_ns: u64,
}

impl<'a> Piece<'a> {
    fn end(&self) -> u64 {
        self.offset + self.data.len() as u64 + self.missing
    }

    /// The part of the piece in `[from, to)` (both within it).
    fn sub(&self, from: u64, to: u64) -> Piece<'a> {
        let captured_end = self.offset + self.data.len() as u64;
        let data = if from < captured_end {
            // Both indices are within `data`: from >= offset, and the end
            // is clamped to the captured end.
            let (a, b) = (from - self.offset, to.min(captured_end) - self.offset);
            &self.data[a as usize..b as usize]
        } else {
            &[]
        };
        let missing = to - from.max(captured_end).min(to);
        Piece {
            offset: from,
            data,
            missing,
            ..*self
        }
    }
}

impl Default for Reassembler {
    fn default() -> Self {
        Reassembler::new()
    }
}

impl Reassembler {
    /// A reassembler holding up to [`DEFAULT_HOLD_LIMIT`] out-of-order bytes.
    pub fn new() -> Self {
        Reassembler::with_hold_limit(DEFAULT_HOLD_LIMIT)
    }

    /// A reassembler holding up to `limit` out-of-order bytes.
    pub fn with_hold_limit(limit: usize) -> Self {
        Reassembler {
            base: None,
            next: 0,
            held: BTreeMap::new(),
            held_cost: 0,
            limit,
        }
    }

    /// The next stream offset expected (the stream's length so far,
    /// gaps included).
    pub fn next_offset(&self) -> u64 {
        self.next
    }

    /// True once stream offset 0 is tied to a sequence number.
    pub fn is_anchored(&self) -> bool {
        self.base.is_some()
    }

    /// Ties stream offset 0 to `seq`, unless it already is tied.
    pub fn anchor(&mut self, seq: u32) {
        self.base.get_or_insert(seq);
    }

    /// Ties stream offset 0 to `seg` if nothing did yet: a SYN's data
    /// starts one after its sequence number, another segment's at it (but
    /// an RST's number proves nothing). All [`Reassembler::segment`] does
    /// with a segment that carries no data.
    pub fn anchor_segment(&mut self, seg: &TcpSegment<'_>) {
        if seg.flags.contains(TcpFlags::SYN) {
            self.anchor(seg.seq.wrapping_add(1));
        } else if !seg.flags.contains(TcpFlags::RST) {
            self.anchor(seg.seq);
        }
    }

    /// Takes one segment sent this way, seen in `frame` at `time_ns`.
    pub fn segment<S: StreamSink>(
        &mut self,
        seg: &TcpSegment<'_>,
        frame: u64,
        time_ns: u64,
        out: &mut Output<'_, S>,
    ) {
        self.anchor_segment(seg);
        let syn = seg.flags.contains(TcpFlags::SYN);
        let data_seq = seg.seq.wrapping_add(u32::from(syn));
        let Some(base) = self.base else { return };
        let wire_len = u64::from(seg.wire_len).max(seg.payload.len() as u64);
        if wire_len == 0 {
            return;
        }
        // The offset nearest `next` whose low 32 bits are `data_seq - base`.
        let relative = data_seq.wrapping_sub(base);
        let delta = relative.wrapping_sub(self.next as u32) as i32;
        let offset = self.next as i64 + i64::from(delta);
        let old = (self.next as i64 - offset).max(0) as u64;
        if old >= wire_len {
            return Self::retransmission(frame, out);
        }
        // Counted from the segment's first byte, the new part is
        // `[old, wire_len)`; then moved to where it lies in the stream (at
        // or beyond `next`, so not negative).
        let within = Piece {
            offset: 0,
            data: seg.payload,
            missing: wire_len - seg.payload.len() as u64,
            frame,
            time_ns,
        };
        let piece = Piece {
            offset: (offset + old as i64) as u64,
            ..within.sub(old, wire_len)
        };
        if old > 0 {
            Self::retransmission(frame, out);
        }
        if piece.offset == self.next {
            self.advance(Some(piece), out);
        } else if self.hold(piece) {
            out.stats.out_of_order += 1;
            self.enforce_limit(out);
        } else {
            Self::retransmission(frame, out);
        }
    }

    /// The capture is over: whatever is still held is delivered, each
    /// hole before it declared a gap.
    pub fn finish<S: StreamSink>(&mut self, out: &mut Output<'_, S>) {
        while !self.held.is_empty() {
            self.skip_to_held(out);
        }
    }

    fn retransmission<S>(frame: u64, out: &mut Output<'_, S>) {
        let stats = &mut *out.stats;
        stats.retransmissions += 1;
        if stats.retransmission_frames.len() < FRAMES_KEPT {
            stats.retransmission_frames.push(frame);
        }
    }

    /// Delivers `piece` (which starts at or before `next`), interleaved
    /// with the held segments it reaches: held bytes arrived first, so
    /// they win where the two overlap.
    fn advance<S: StreamSink>(&mut self, piece: Option<Piece<'_>>, out: &mut Output<'_, S>) {
        loop {
            let limit = self.held.keys().next().copied().unwrap_or(u64::MAX);
            if let Some(piece) = piece {
                self.emit(&piece, piece.end().min(limit), out);
            }
            match self.held.first_entry() {
                Some(entry) if *entry.key() <= self.next => {
                    let (offset, held) = entry.remove_entry();
                    self.held_cost -= held.data.len() + ENTRY_COST;
                    let piece = Piece {
                        offset,
                        data: &held.data,
                        missing: held.missing,
                        frame: held.frame,
                        time_ns: held.time_ns,
                    };
                    self.emit(&piece, piece.end(), out);
                }
                _ => return,
            }
        }
    }

    /// Hands on the part of `piece` in `[next, upto)`: its captured bytes
    /// as data, the rest as a gap.
    fn emit<S: StreamSink>(&mut self, piece: &Piece<'_>, upto: u64, out: &mut Output<'_, S>) {
        if upto <= self.next || piece.offset > self.next {
            return;
        }
        let part = piece.sub(self.next, upto);
        if !part.data.is_empty() {
            let chunk = Chunk {
                offset: self.next,
                data: part.data,
                frame: piece.frame,
                time_ns: piece.time_ns,
            };
            out.sink.data(out.dir, chunk);
            out.stats.stream_bytes += part.data.len() as u64;
            self.next += part.data.len() as u64;
        }
        if part.missing > 0 {
            self.gap(part.missing, piece.frame, piece.time_ns, out);
        }
    }

    fn gap<S: StreamSink>(&mut self, len: u64, frame: u64, time_ns: u64, out: &mut Output<'_, S>) {
        out.sink.gap(out.dir, self.next, len, frame, time_ns);
        out.stats.gaps += 1;
        out.stats.gap_bytes += len;
        self.next += len;
    }

    /// Keeps the parts of `piece` (which starts beyond `next`) that no
    /// held segment covers yet; false if there were none.
    fn hold(&mut self, piece: Piece<'_>) -> bool {
        let end = piece.end();
        let mut at = piece.offset;
        if let Some((offset, held)) = self.held.range(..at).next_back() {
            at = at
                .max(offset + held.data.len() as u64 + held.missing)
                .min(end);
        }
        let mut added = false;
        while at < end {
            let (stop, resume) = match self.held.range(at..end).next() {
                Some((&offset, held)) => (offset, offset + held.data.len() as u64 + held.missing),
                None => (end, end),
            };
            if stop > at {
                let part = piece.sub(at, stop);
                self.held_cost += part.data.len() + ENTRY_COST;
                let held = Held {
                    data: part.data.to_vec(),
                    missing: part.missing,
                    frame: part.frame,
                    time_ns: part.time_ns,
                };
                self.held.insert(at, held);
                added = true;
            }
            at = resume;
        }
        added
    }

    /// Gives up holes while the held segments cost more than the limit.
    fn enforce_limit<S: StreamSink>(&mut self, out: &mut Output<'_, S>) {
        while self.held_cost > self.limit && !self.held.is_empty() {
            self.skip_to_held(out);
        }
    }

    /// Declares the hole before the earliest held segment a gap, then
    /// delivers what follows it.
    fn skip_to_held<S: StreamSink>(&mut self, out: &mut Output<'_, S>) {
        let Some((&offset, held)) = self.held.first_key_value() else {
            return;
        };
        let (frame, time_ns) = (held.frame, held.time_ns);
        if offset > self.next {
            self.gap(offset - self.next, frame, time_ns, out);
        }
        self.advance(None, out);
    }
}

#[cfg(test)]
mod tests;
