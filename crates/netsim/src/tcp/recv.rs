//! The receiving half: the receive buffer, the window, and the variables
//! RFC 9293 calls `RCV.*`.
//!
//! Bytes that arrived in order wait in a buffer until the application reads
//! them. The free space is the *window* this side advertises: the peer may
//! send up to `right_edge`, and no further.
//!
//! ```text
//!        read by the app   nxt                      right_edge
//!  ... -------------------+-------------------------+---------- ...
//!      | in the buffer,   | the peer may send these | not yet: no
//!      | not read yet     | (the advertised window) | room for them
//! ```
//!
//! In the go-back-N model only in-order data is kept. A segment that starts
//! beyond `nxt` (because one before it was lost) is dropped and answered
//! with a duplicate ACK; the sender's retransmission fills the hole and
//! everything after it comes again. With an out-of-order queue (every real
//! stack, and the `newreno` and `linux` models) such a segment is kept in
//! [`OooQueue`] and reported in SACK blocks, and filling the hole delivers
//! it all at once.
//!
//! **Silly window avoidance** (RFC 1122, 4.2.3.3): when the application
//! reads a few bytes from a full buffer, advertising a window of a few
//! bytes would make the sender send tiny segments. So the right edge only
//! moves when it can move by at least min(MSS, buffer / 2); a reader that
//! opens a closed window that far is owed a *window update* ACK.

use std::collections::VecDeque;

use super::ooo::OooQueue;
use super::seq::SeqNum;

#[derive(Debug)]
pub(super) struct RecvState {
    /// IRS: the peer's initial sequence number, once its SYN arrived.
    irs: Option<SeqNum>,
    /// RCV.NXT: the next number expected from the peer.
    pub nxt: SeqNum,
    /// RCV.NXT + RCV.WND as last advertised; it never moves back.
    right_edge: SeqNum,
    /// Received in order, not yet read.
    data: VecDeque<u8>,
    capacity: usize,
    /// How far the right edge must be able to move before it does.
    threshold: usize,
    /// The peer's FIN arrived (and took its number).
    pub fin: bool,
    /// Segments beyond a hole, if they are kept.
    ooo: Option<OooQueue>,
    /// Bytes taken in order so far: `nxt` as a stream offset.
    nxt_off: u64,
    /// The window the last segment we sent advertised (Linux's `rcv_wnd`).
    advertised: usize,
}

impl RecvState {
    /// A receiver with `capacity` bytes of buffer (at most 65535) whose own
    /// MSS is `mss`.
    pub fn new(capacity: usize, mss: usize) -> Self {
        RecvState {
            irs: None,
            nxt: SeqNum(0),
            right_edge: SeqNum(0),
            data: VecDeque::new(),
            capacity,
            threshold: mss.min(capacity / 2).max(1),
            fin: false,
            ooo: None,
            nxt_off: 0,
            advertised: 0,
        }
    }

    /// Keep segments that arrive after a hole.
    pub fn keep_out_of_order(&mut self) {
        self.ooo = Some(OooQueue::default());
    }

    /// True if data beyond a hole is waiting.
    pub fn has_holes(&self) -> bool {
        self.ooo.as_ref().is_some_and(|q| !q.is_empty())
    }

    /// The buffer size the window is taken from.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Sets the buffer size (autotuning grows it; before the SYN it may
    /// also shrink). The right edge never moves back.
    pub fn set_capacity(&mut self, capacity: usize) {
        self.capacity = capacity;
        if !self.is_synced() {
            return;
        }
        let edge = self.nxt + capacity.saturating_sub(self.data.len());
        self.right_edge = self.right_edge.max(edge);
    }

    /// SACK blocks for an ACK, newest first, at most `room`.
    pub fn sack_blocks(&self, room: usize) -> Vec<(u32, u32)> {
        let Some(q) = &self.ooo else {
            return Vec::new();
        };
        let seq = |off: u64| (self.nxt + (off - self.nxt_off) as usize).get();
        q.blocks(room)
            .into_iter()
            .map(|(s, e)| {
                let fin = usize::from(q.fin_at == Some(e));
                (seq(s), seq(e).wrapping_add(fin as u32))
            })
            .collect()
    }

    /// Remembers a FIN at `seq`, beyond a hole, if out-of-order data is
    /// kept and the FIN is inside the window.
    pub fn remember_fin(&mut self, seq: SeqNum) {
        let off = usize::try_from(seq - self.nxt).ok();
        let in_window = off.is_some_and(|o| o <= self.window());
        if let (Some(q), Some(off), true) = (&mut self.ooo, off, in_window) {
            q.fin_at = Some(self.nxt_off + off as u64);
        }
    }

    /// True when a FIN seen earlier beyond a hole now sits at `nxt`.
    pub fn fin_ready(&self) -> bool {
        !self.fin
            && self
                .ooo
                .as_ref()
                .is_some_and(|q| q.fin_at == Some(self.nxt_off))
    }

    /// Takes the peer's SYN: the stream starts one after its number.
    pub fn sync(&mut self, irs: SeqNum) {
        self.irs = Some(irs);
        self.nxt = irs + 1;
        self.right_edge = self.nxt + self.capacity;
    }

    /// The peer's ISN, once known.
    pub fn irs(&self) -> Option<SeqNum> {
        self.irs
    }

    pub fn is_synced(&self) -> bool {
        self.irs.is_some()
    }

    /// The window to advertise: room from `nxt` to the right edge (the
    /// whole buffer before the peer's SYN, for our own SYN).
    pub fn window(&self) -> usize {
        if self.is_synced() {
            usize::try_from(self.right_edge - self.nxt).unwrap_or(0)
        } else {
            self.capacity
        }
    }

    /// A segment went out: remember the window it advertised.
    pub fn note_advertised(&mut self) {
        self.advertised = self.window();
    }

    /// The window the last segment sent advertised.
    pub fn advertised(&self) -> usize {
        self.advertised
    }

    /// The window the free space would allow now, whatever the right edge
    /// says (Linux's `__tcp_select_window` before its no-shrink rule).
    pub fn free_window(&self) -> usize {
        self.capacity.saturating_sub(self.data.len())
    }

    /// Bytes waiting for the application.
    pub fn available(&self) -> usize {
        self.data.len()
    }

    /// The sequence check of RFC 9293 (3.10.7.4): does a segment of
    /// `len` numbers starting at `seq` overlap the window? A segment that
    /// starts exactly at `nxt` always passes, even into a zero window: its
    /// data may not fit, but its FIN and its ACK are still news.
    pub fn acceptable(&self, seq: SeqNum, len: usize) -> bool {
        let wnd = self.window();
        if seq == self.nxt {
            return true;
        }
        match (len, wnd) {
            (_, 0) => false,
            (0, _) => seq.in_range(self.nxt, wnd),
            _ => seq.in_range(self.nxt, wnd) || (seq + (len - 1)).in_range(self.nxt, wnd),
        }
    }

    /// An RST counts if its number is anywhere from `nxt` to the right edge
    /// (inclusive: a sender that filled the window sends its RST there).
    pub fn rst_acceptable(&self, seq: SeqNum) -> bool {
        seq.in_range(self.nxt, self.window() + 1)
    }

    /// Takes what fits of `payload`, which starts at `seq`: bytes already
    /// received are skipped, bytes beyond the window are cut off, and a
    /// segment that starts after a hole is dropped (or kept in the
    /// out-of-order queue). Returns the bytes that joined the in-order
    /// data, including any the segment made contiguous.
    pub fn accept(&mut self, seq: SeqNum, payload: &[u8]) -> usize {
        let Ok(skip) = usize::try_from(self.nxt - seq) else {
            // Out of order: starts beyond `nxt`.
            let gap = usize::try_from(seq - self.nxt).unwrap_or(usize::MAX);
            let room = self.window().saturating_sub(gap);
            let at = self.nxt_off + gap as u64;
            if let Some(q) = &mut self.ooo {
                q.insert(at, &payload[..payload.len().min(room)]);
            }
            return 0;
        };
        let fresh = payload.get(skip..).unwrap_or_default();
        let take = fresh.len().min(self.window());
        self.data.extend(&fresh[..take]);
        self.nxt += take;
        self.nxt_off += take as u64;
        let mut pulled = 0;
        if let Some(q) = &mut self.ooo {
            pulled = q.take_contiguous(self.nxt_off, &mut self.data) as usize;
        }
        self.nxt += pulled;
        self.nxt_off += pulled as u64;
        take + pulled
    }

    /// Takes the peer's FIN, which sits at `nxt`.
    pub fn accept_fin(&mut self) {
        self.fin = true;
        self.nxt += 1;
        // The FIN took a number but no buffer room: keep the window as is.
        self.right_edge += 1;
    }

    /// Moves up to `buf.len()` bytes to `buf`. Returns how many, and whether
    /// the window grew from small to useful, so a window update is owed.
    pub fn read(&mut self, buf: &mut [u8]) -> (usize, bool) {
        let n = buf.len().min(self.data.len());
        for (dst, src) in buf.iter_mut().zip(self.data.drain(..n)) {
            *dst = src;
        }
        (n, n > 0 && self.open_window())
    }

    /// Moves the right edge if it can move by at least `threshold`; true if
    /// the window was smaller than that before (the peer may be stuck).
    fn open_window(&mut self) -> bool {
        if !self.is_synced() || self.fin {
            return false;
        }
        let old = self.window();
        let new_edge = self.nxt + self.capacity.saturating_sub(self.data.len());
        let growth = usize::try_from(new_edge - self.right_edge).unwrap_or(0);
        if growth < self.threshold {
            return false;
        }
        self.right_edge = new_edge;
        old < self.threshold
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn synced(irs: u32, capacity: usize, mss: usize) -> RecvState {
        let mut r = RecvState::new(capacity, mss);
        r.sync(SeqNum(irs));
        r
    }

    #[test]
    fn in_order_data_is_taken_across_the_wrap() {
        let mut r = synced(u32::MAX - 2, 100, 10);
        assert_eq!(r.accept(SeqNum(u32::MAX - 1), b"abcd"), 4);
        assert_eq!(r.nxt, SeqNum(2));
        assert_eq!(r.accept(SeqNum(2), b"ef"), 2);
        let mut buf = [0; 10];
        assert_eq!(r.read(&mut buf).0, 6);
        assert_eq!(&buf[..6], b"abcdef");
    }

    #[test]
    fn duplicates_are_skipped_and_gaps_dropped() {
        let mut r = synced(0, 100, 10);
        r.accept(SeqNum(1), b"hello");
        assert_eq!(r.accept(SeqNum(1), b"hello"), 0, "all old");
        assert_eq!(r.accept(SeqNum(4), b"lo, you"), 5, "overlap trimmed");
        assert_eq!(r.accept(SeqNum(20), b"later"), 0, "after a hole");
        assert_eq!(r.available(), 10);
    }

    #[test]
    fn data_beyond_the_window_is_cut_off() {
        let mut r = synced(0, 8, 4);
        assert_eq!(r.accept(SeqNum(1), b"0123456789"), 8);
        assert_eq!(r.window(), 0);
        assert_eq!(r.accept(SeqNum(9), b"89"), 0);
    }

    #[test]
    fn the_sequence_check_follows_the_window() {
        let mut r = synced(100, 10, 4);
        assert!(r.acceptable(SeqNum(101), 0));
        assert!(r.acceptable(SeqNum(105), 3));
        assert!(r.acceptable(SeqNum(98), 5), "overlaps from the left");
        assert!(!r.acceptable(SeqNum(99), 2), "entirely old");
        assert!(!r.acceptable(SeqNum(111), 1), "beyond the window");
        r.accept(SeqNum(101), &[0; 10]);
        assert!(
            r.acceptable(SeqNum(111), 1),
            "at nxt, even into zero window"
        );
        assert!(!r.acceptable(SeqNum(112), 0));
        assert!(r.rst_acceptable(SeqNum(111)));
        assert!(!r.rst_acceptable(SeqNum(112)));
    }

    #[test]
    fn a_small_read_keeps_the_window_closed() {
        let mut r = synced(0, 1000, 100);
        r.accept(SeqNum(1), &[7; 1000]);
        assert_eq!(r.window(), 0);
        let mut buf = [0; 99];
        assert_eq!(r.read(&mut buf), (99, false));
        assert_eq!(r.window(), 0, "99 bytes is below the MSS of 100");
        assert_eq!(r.read(&mut buf), (99, true), "now 198 bytes: update");
        assert_eq!(r.window(), 198);
        let mut big = [0; 500];
        assert_eq!(r.read(&mut big), (500, false), "window was already open");
        assert_eq!(r.window(), 698);
    }

    #[test]
    fn the_fin_takes_a_number_but_no_room() {
        let mut r = synced(0, 10, 4);
        r.accept(SeqNum(1), b"abc");
        r.accept_fin();
        assert_eq!(r.nxt, SeqNum(5));
        assert_eq!(r.window(), 7);
        let mut buf = [0; 3];
        assert_eq!(r.read(&mut buf), (3, false), "no update after a FIN");
    }
}
