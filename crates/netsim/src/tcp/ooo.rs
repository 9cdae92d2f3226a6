//! The receiver's out-of-order queue and the SACK blocks it reports.
//!
//! A segment that arrives after a hole is kept here instead of being
//! dropped. When the hole is filled, everything that has become
//! contiguous moves to the in-order buffer. Positions are *stream offsets*
//! (bytes since the start of the peer's stream, 64 bits), so nothing here
//! wraps.
//!
//! ```text
//!  nxt          kept (SACK block 2)       kept (SACK block 1, newest)
//!   |  hole  |#########|   hole   |###############|
//! ```
//!
//! SACK blocks (RFC 2018) list the kept ranges, the one holding the most
//! recently received segment first, then the others by how recently they
//! changed.

use std::collections::BTreeMap;

/// Out-of-order data, by stream offset.
#[derive(Debug, Default)]
pub(super) struct OooQueue {
    /// Pieces that never overlap, keyed by their first offset.
    pieces: BTreeMap<u64, Vec<u8>>,
    /// The same bytes as merged ranges [start, end), in order.
    ranges: Vec<(u64, u64)>,
    /// Offsets of recently received segments, newest first.
    recent: Vec<u64>,
    /// The stream offset of a FIN seen beyond a hole.
    pub fin_at: Option<u64>,
}

/// How many recent arrivals to remember for block order.
const RECENT: usize = 8;

impl OooQueue {
    pub fn is_empty(&self) -> bool {
        self.pieces.is_empty()
    }

    /// Keeps `data`, which starts at offset `at` (beyond the in-order end).
    pub fn insert(&mut self, at: u64, data: &[u8]) {
        if data.is_empty() {
            return;
        }
        let end = at + data.len() as u64;
        let mut pos = at;
        // Start after any piece that already covers `at`.
        if let Some((&s, p)) = self.pieces.range(..=at).next_back() {
            pos = pos.max(s + p.len() as u64);
        }
        let mut gaps = Vec::new();
        for (&s, p) in self.pieces.range(at..end) {
            if s > pos {
                gaps.push((pos, s));
            }
            pos = pos.max(s + p.len() as u64);
        }
        if pos < end {
            gaps.push((pos, end));
        }
        for (s, e) in gaps {
            let piece = data[(s - at) as usize..(e - at) as usize].to_vec();
            self.pieces.insert(s, piece);
        }
        self.add_range(at, end);
        self.recent.retain(|&o| o != at);
        self.recent.insert(0, at);
        self.recent.truncate(RECENT);
    }

    fn add_range(&mut self, start: u64, end: u64) {
        let i = self.ranges.partition_point(|r| r.1 < start);
        let mut s = start;
        let mut e = end;
        let mut j = i;
        while j < self.ranges.len() && self.ranges[j].0 <= e {
            s = s.min(self.ranges[j].0);
            e = e.max(self.ranges[j].1);
            j += 1;
        }
        self.ranges.splice(i..j, [(s, e)]);
    }

    /// Moves to `out` the bytes that now follow `nxt` without a gap, and
    /// returns how many.
    pub fn take_contiguous(&mut self, nxt: u64, out: &mut impl Extend<u8>) -> u64 {
        let mut pos = nxt;
        while let Some(entry) = self.pieces.first_entry() {
            let s = *entry.key();
            if s > pos {
                break;
            }
            let piece = entry.remove();
            let e = s + piece.len() as u64;
            if e > pos {
                out.extend(piece[(pos - s) as usize..].iter().copied());
                pos = e;
            }
        }
        self.ranges.retain(|r| r.1 > pos);
        if let Some(first) = self.ranges.first_mut() {
            first.0 = first.0.max(pos);
        }
        self.recent.retain(|&o| o >= pos);
        pos - nxt
    }

    /// Up to `room` blocks as stream-offset ranges, newest first.
    pub fn blocks(&self, room: usize) -> Vec<(u64, u64)> {
        let mut out: Vec<(u64, u64)> = Vec::with_capacity(room);
        let containing = |o: u64| self.ranges.iter().copied().find(|r| r.0 <= o && o < r.1);
        for &o in &self.recent {
            if out.len() == room {
                break;
            }
            if let Some(r) = containing(o) {
                if !out.contains(&r) {
                    out.push(r);
                }
            }
        }
        for r in self.ranges.iter().rev() {
            if out.len() == room {
                break;
            }
            if !out.contains(r) {
                out.push(*r);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_fill_holes_and_come_out_in_order() {
        let mut q = OooQueue::default();
        q.insert(10, b"klm");
        q.insert(5, b"fghij");
        q.insert(12, b"mnop");
        let mut out = Vec::new();
        assert_eq!(q.take_contiguous(0, &mut out), 0, "the hole at 0..5");
        assert_eq!(q.take_contiguous(5, &mut out), 11);
        assert_eq!(out, b"fghijklmnop");
        assert!(q.is_empty());
    }

    #[test]
    fn blocks_list_the_newest_first() {
        let mut q = OooQueue::default();
        q.insert(100, &[1; 10]);
        q.insert(300, &[3; 10]);
        q.insert(200, &[2; 10]);
        q.insert(110, &[1; 10]);
        assert_eq!(q.blocks(3), [(100, 120), (200, 210), (300, 310)]);
        assert_eq!(q.blocks(2), [(100, 120), (200, 210)]);
        let mut sink = Vec::new();
        q.take_contiguous(120, &mut sink);
        assert_eq!(q.blocks(4), [(200, 210), (300, 310)]);
    }
}
