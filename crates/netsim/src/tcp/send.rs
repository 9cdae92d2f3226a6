//! The sending half: the send buffer and the variables RFC 9293 calls
//! `SND.*`.
//!
//! The application's bytes wait in one buffer until the peer acknowledges
//! them. Four sequence numbers cut the stream into regions:
//!
//! ```text
//!            una              nxt             una + wnd        data_end
//!  ...acked ---+---------------+------------------+----------------+
//!              | sent, not yet | may be sent now  | must wait for  |
//!              | acknowledged  | (peer has room)  | the window     |
//!              +---------------+------------------+----------------+
//!              |<----------- bytes held in `data` ---------------->|
//! ```
//!
//! `max` is the highest number ever sent. Normally `nxt == max`; after a
//! timeout `nxt` goes back to `una` (go-back-N), and every segment that
//! starts below `max` is a retransmission. The SYN takes the number `iss`
//! and the FIN takes `data_end`, one each, though neither is a byte of data.

use std::collections::VecDeque;

use super::seq::SeqNum;

/// A piece of the stream that can go out now: `len` bytes from `seq`, and
/// the FIN after them if `fin`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Chunk {
    pub seq: SeqNum,
    pub len: usize,
    pub fin: bool,
}

/// What a window update did, for the trace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum WindowChange {
    /// The peer's window went to zero.
    Closed,
    /// The peer's window is no longer zero.
    Opened,
}

#[derive(Debug)]
pub(super) struct SendState {
    /// ISS: our initial sequence number; the SYN takes it.
    pub iss: SeqNum,
    /// SND.UNA: the oldest number not yet acknowledged.
    pub una: SeqNum,
    /// SND.NXT: the next number to send.
    pub nxt: SeqNum,
    /// One past the highest number ever sent (BSD's `snd_max`).
    pub max: SeqNum,
    /// SND.WND: the window the peer advertised (scaled), counted from `una`.
    pub wnd: usize,
    /// SND.WL1 and SND.WL2: the seq and ack of the segment that last set
    /// `wnd`, so that an older segment, arriving late, cannot undo it.
    wl1: SeqNum,
    wl2: SeqNum,
    /// The application's bytes from `data_seq` on.
    data: VecDeque<u8>,
    /// The sequence number of `data[0]`: one after the SYN at first.
    data_seq: SeqNum,
    pub capacity: usize,
    /// `close` was called: a FIN follows the last byte, and `send` takes
    /// nothing more.
    pub fin_queued: bool,
    /// The end of the last window probe. A probe sends one byte without
    /// moving `nxt`, and the peer may acknowledge that byte.
    probe_end: Option<SeqNum>,
    /// Send only segments the window takes whole
    /// ([`TcpConfig::whole_segments`](super::TcpConfig::whole_segments)).
    pub whole_segments: bool,
}

impl SendState {
    pub fn new(iss: SeqNum, capacity: usize) -> Self {
        SendState {
            iss,
            una: iss,
            nxt: iss,
            max: iss,
            wnd: 0,
            wl1: SeqNum(0),
            wl2: iss,
            data: VecDeque::new(),
            data_seq: iss + 1,
            capacity,
            fin_queued: false,
            probe_end: None,
            whole_segments: false,
        }
    }

    /// Copies as much of `bytes` as fits into the buffer; returns how much.
    pub fn write(&mut self, bytes: &[u8]) -> usize {
        let n = bytes.len().min(self.space());
        self.data.extend(&bytes[..n]);
        n
    }

    /// Free room in the buffer (none once the FIN is queued).
    pub fn space(&self) -> usize {
        if self.fin_queued {
            0
        } else {
            self.capacity.saturating_sub(self.data.len())
        }
    }

    /// One past the last byte the application wrote; the FIN's number.
    pub fn data_end(&self) -> SeqNum {
        self.data_seq + self.data.len()
    }

    /// Bytes written but not sent (counted from `nxt`).
    pub fn unsent(&self) -> usize {
        usize::try_from(self.data_end() - self.nxt).unwrap_or(0)
    }

    /// Bytes written and not yet acknowledged, sent or not.
    pub fn queued(&self) -> usize {
        self.data.len()
    }

    /// Sequence space sent and not yet acknowledged (SYN and FIN count).
    pub fn in_flight(&self) -> usize {
        usize::try_from(self.max - self.una).unwrap_or(0)
    }

    /// How much more the peer's window lets us send from `nxt`.
    pub fn usable_window(&self) -> usize {
        let right_edge = self.una + self.wnd;
        usize::try_from(right_edge - self.nxt).unwrap_or(0)
    }

    /// The next piece of the stream to send: at most `mss` bytes, within the
    /// window, with the FIN riding on the last piece. The FIN needs no window
    /// room: it carries no byte the peer must store. With `whole_segments`,
    /// a piece the window would cut short waits (see
    /// [`window_blocked`](Self::window_blocked)).
    pub fn next_chunk(&self, mss: usize) -> Option<Chunk> {
        let want = self.unsent().min(mss);
        let room = self.usable_window();
        if self.whole_segments && want > room {
            return None;
        }
        Some(self.chunk_of(want.min(room))).filter(|c| c.len > 0 || c.fin)
    }

    /// What the persist timer sends into a window too small for a whole
    /// segment: as much as fits, at most `mss` (Linux's `tcp_write_wakeup`).
    pub fn wakeup_chunk(&self, mss: usize) -> Option<Chunk> {
        if self.nxt != self.una {
            return None;
        }
        let len = self.unsent().min(mss).min(self.usable_window());
        Some(self.chunk_of(len)).filter(|c| c.len > 0)
    }

    fn chunk_of(&self, len: usize) -> Chunk {
        Chunk {
            seq: self.nxt,
            len,
            fin: self.fin_queued && self.nxt + len == self.data_end(),
        }
    }

    /// True if data waits, nothing is in flight, and the window is too
    /// small for the next segment: zero, or with `whole_segments` smaller
    /// than the segment. Only the persist timer gets things going again.
    pub fn window_blocked(&self, mss: usize) -> bool {
        let need = if self.whole_segments {
            self.unsent().min(mss)
        } else {
            1
        };
        self.nxt == self.una && self.unsent() > 0 && self.usable_window() < need
    }

    /// A copy of `len` bytes starting at `seq`, or of the part of them
    /// still in the buffer.
    pub fn payload(&self, seq: SeqNum, len: usize) -> Vec<u8> {
        let start = usize::try_from(seq - self.data_seq)
            .unwrap_or(0)
            .min(self.data.len());
        let end = start.saturating_add(len).min(self.data.len());
        self.data.range(start..end).copied().collect()
    }

    /// Records that `chunk` (or the SYN, `Chunk { seq: iss, len: 0, .. }`
    /// with `syn`) went out.
    pub fn sent(&mut self, chunk: Chunk, syn: bool) {
        self.nxt = chunk.seq + (chunk.len + usize::from(chunk.fin) + usize::from(syn));
        self.max = self.max.max(self.nxt);
    }

    /// A one-byte window probe, if one is due: the peer's window is zero,
    /// nothing is in flight and data is waiting. Returns the byte's number
    /// and value; `nxt` stays where it is.
    pub fn probe(&mut self) -> Option<(SeqNum, u8)> {
        if self.wnd != 0 || self.nxt != self.una || self.unsent() == 0 {
            return None;
        }
        let byte = *self.data.get(self.offset(self.una)?)?;
        self.probe_end = Some(self.una + 1);
        Some((self.una, byte))
    }

    /// True if a zero-window probe is due: the peer's window is zero,
    /// nothing is in flight and data waits.
    pub fn probe_due(&self) -> bool {
        self.wnd == 0 && self.nxt == self.una && self.unsent() > 0
    }

    /// One past the highest number the peer may acknowledge.
    fn sent_limit(&self) -> SeqNum {
        self.probe_end.map_or(self.max, |p| self.max.max(p))
    }

    /// True if `ack` acknowledges something new.
    pub fn is_new_ack(&self, ack: SeqNum) -> bool {
        ack > self.una && ack <= self.sent_limit()
    }

    /// True if `ack` acknowledges numbers never sent (a confused peer).
    pub fn acks_unsent(&self, ack: SeqNum) -> bool {
        ack > self.sent_limit()
    }

    /// Takes a new acknowledgment: drops the acknowledged bytes and moves
    /// `una` (and `nxt`, `max`, if the peer acknowledged a probe byte).
    pub fn ack(&mut self, ack: SeqNum) {
        let acked = usize::try_from(ack - self.data_seq).unwrap_or(0);
        let freed = acked.min(self.data.len());
        self.data.drain(..freed);
        self.data_seq += freed;
        self.una = ack;
        self.nxt = self.nxt.max(ack);
        self.max = self.max.max(ack);
        if self.probe_end.is_some_and(|p| p <= ack) {
            self.probe_end = None;
        }
    }

    /// Takes the peer's window from a segment (seq, ack, window), unless an
    /// earlier segment — by seq, then ack — already said something newer.
    pub fn update_window(&mut self, seq: SeqNum, ack: SeqNum, wnd: usize) -> Option<WindowChange> {
        if !(self.wl1 < seq || (self.wl1 == seq && self.wl2 <= ack)) {
            return None;
        }
        let was_zero = self.wnd == 0;
        self.wnd = wnd;
        self.wl1 = seq;
        self.wl2 = ack;
        match (was_zero, wnd == 0) {
            (false, true) => Some(WindowChange::Closed),
            (true, false) => Some(WindowChange::Opened),
            _ => None,
        }
    }

    /// Sets the window from the peer's SYN, before any comparison can be
    /// made.
    pub fn init_window(&mut self, seq: SeqNum, wnd: usize) {
        self.wnd = wnd;
        self.wl1 = seq;
        self.wl2 = self.iss;
    }

    /// True once the peer has acknowledged our FIN.
    pub fn fin_acked(&self) -> bool {
        self.fin_queued && self.una == self.data_end() + 1
    }

    /// The buffer index of `seq`, if it is in the buffer.
    fn offset(&self, seq: SeqNum) -> Option<usize> {
        usize::try_from(seq - self.data_seq)
            .ok()
            .filter(|&i| i < self.data.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A sender past its handshake, near the top of the sequence space.
    fn synced(iss: u32, capacity: usize, wnd: u16) -> SendState {
        let mut s = SendState::new(SeqNum(iss), capacity);
        s.sent(
            Chunk {
                seq: s.iss,
                len: 0,
                fin: false,
            },
            true,
        );
        s.ack(s.iss + 1);
        s.init_window(SeqNum(7), usize::from(wnd));
        s
    }

    #[test]
    fn writes_are_partial_when_the_buffer_fills() {
        let mut s = synced(0, 10, 1000);
        assert_eq!(s.write(b"hello"), 5);
        assert_eq!(s.write(b"world, again"), 5);
        assert_eq!(s.space(), 0);
        s.fin_queued = true;
        assert_eq!(s.write(b"x"), 0);
    }

    #[test]
    fn chunks_are_cut_at_the_mss_and_the_window() {
        let mut s = synced(u32::MAX - 2, 100, 8);
        s.write(&[1; 20]);
        let c = s.next_chunk(5).unwrap();
        assert_eq!((c.seq, c.len, c.fin), (SeqNum(u32::MAX - 1), 5, false));
        s.sent(c, false);
        let c = s.next_chunk(5).unwrap();
        assert_eq!(c.len, 3, "only 3 bytes of the 8-byte window are left");
        s.sent(c, false);
        assert_eq!(s.next_chunk(5), None);
        assert_eq!(s.in_flight(), 8);
    }

    #[test]
    fn a_whole_segment_sender_waits_for_the_persist_timer_then_sends_what_fits() {
        let mut s = synced(0, 100, 8);
        s.whole_segments = true;
        s.write(&[1; 20]);
        s.sent(s.next_chunk(5).unwrap(), false);
        assert_eq!(
            s.next_chunk(5),
            None,
            "3 bytes of window: a 5-byte segment waits"
        );
        assert!(
            !s.window_blocked(5),
            "something is in flight: the RTO runs, not persist"
        );
        s.ack(s.una + 5);
        s.wnd = 3; // the reader took nothing: the right edge stays put
        assert!(
            s.window_blocked(5),
            "nothing in flight and a window too small"
        );
        let c = s.wakeup_chunk(5).unwrap();
        assert_eq!(c.len, 3, "the persist timer sends what fits");
        s.sent(c, false);
        assert_eq!(s.wakeup_chunk(5), None, "in flight: no second wake-up");
    }

    #[test]
    fn a_whole_segment_sender_still_sends_a_short_last_piece_that_fits() {
        let mut s = synced(0, 100, 8);
        s.whole_segments = true;
        s.write(&[1; 4]);
        s.fin_queued = true;
        let c = s.next_chunk(5).unwrap();
        assert_eq!((c.len, c.fin), (4, true));
    }

    #[test]
    fn acks_across_the_wrap_free_the_buffer() {
        let mut s = synced(u32::MAX - 2, 100, 1000);
        s.write(b"abcdefgh");
        s.sent(s.next_chunk(100).unwrap(), false);
        let ack = s.una + 5;
        assert!(s.is_new_ack(ack));
        s.ack(ack);
        assert_eq!(s.una, SeqNum(3));
        assert_eq!(s.payload(s.una, 3), b"fgh");
        assert!(!s.is_new_ack(ack), "the same ack again is a duplicate");
        assert!(s.acks_unsent(s.max + 1));
    }

    #[test]
    fn the_fin_rides_on_the_last_chunk_and_needs_no_window() {
        let mut s = synced(10, 100, 4);
        s.write(b"abcd");
        s.fin_queued = true;
        let c = s.next_chunk(1460).unwrap();
        assert_eq!((c.len, c.fin), (4, true));
        s.sent(c, false);
        s.ack(s.max);
        assert!(s.fin_acked());
        assert_eq!(s.next_chunk(1460), None);
    }

    #[test]
    fn a_probe_is_one_byte_and_does_not_move_nxt() {
        let mut s = synced(5, 100, 0);
        s.write(b"xyz");
        assert_eq!(s.next_chunk(1460), None, "zero window");
        assert_eq!(s.probe(), Some((SeqNum(6), b'x')));
        assert_eq!(s.nxt, SeqNum(6));
        assert!(s.is_new_ack(SeqNum(7)), "the peer may take the probe byte");
        s.ack(SeqNum(7));
        assert_eq!((s.una, s.nxt), (SeqNum(7), SeqNum(7)));
        assert_eq!(s.unsent(), 2);
    }

    #[test]
    fn old_window_news_is_ignored() {
        let mut s = synced(0, 100, 500);
        assert_eq!(
            s.update_window(SeqNum(7), SeqNum(1), 0),
            Some(WindowChange::Closed)
        );
        assert_eq!(s.update_window(SeqNum(6), SeqNum(1), 900), None);
        assert_eq!(s.wnd, 0, "a segment with an older seq must not reopen");
        assert_eq!(
            s.update_window(SeqNum(7), SeqNum(1), 900),
            Some(WindowChange::Opened)
        );
    }
}
