//! Segment departure: what the endpoint puts on the wire next.
//!
//! [`poll_segment`](TcpEndpoint::poll_segment) answers one question at a
//! time, in this order of precedence:
//!
//! ```text
//! 1. an RST owed                      (abort, give-up, or an answer to junk)
//! 2. our SYN or SYN-ACK               (first time, or again after a timeout)
//! 3. data from `nxt`, and/or our FIN  (as much as MSS and window allow)
//! 4. a one-byte window probe          (the persist timer fired)
//! 5. a pure ACK                       (something arrived, nothing to carry it)
//! ```
//!
//! Every segment after our SYN carries the latest ACK number and window, so
//! data "piggybacks" any ACK that was owed. A data segment that empties the
//! send buffer gets PSH, as Linux sets it at the end of a write.

use super::send::Chunk;
use super::seq::SeqNum;
use super::{TcpEndpoint, TcpEvent, TcpState};
use crate::time::SimTime;
use crate::wire::{TcpFlags, TcpRepr};

impl TcpEndpoint {
    /// The next segment to put on the wire at `now`, if any. Call it until
    /// it returns `None` after every `handle_*` and mutator call.
    pub fn poll_segment(&mut self, now: SimTime) -> Option<TcpRepr> {
        let seg = self
            .next_rst()
            .or_else(|| self.next_syn(now))
            .or_else(|| self.next_data(now))
            .or_else(|| self.next_probe())
            .or_else(|| self.next_ack());
        if seg.is_some() {
            // Every segment but an RST or our first SYN carries the ACK.
            self.ack_owed = false;
        }
        self.refresh_timers(now);
        seg
    }

    fn next_rst(&mut self) -> Option<TcpRepr> {
        let seq = self.rst_owed.take()?;
        Some(TcpRepr {
            src_port: self.local.port(),
            dst_port: self.remote.port(),
            seq: seq.get(),
            ack: 0,
            flags: TcpFlags::RST,
            window: 0,
            mss: None,
            payload: Vec::new(),
        })
    }

    /// The SYN (active open) or SYN-ACK (passive open), when `nxt` is back
    /// at our ISN: at first, and after each retransmission timeout.
    fn next_syn(&mut self, now: SimTime) -> Option<TcpRepr> {
        let opening = matches!(self.state, TcpState::SynSent | TcpState::SynReceived);
        if !opening || self.snd.nxt != self.snd.iss {
            return None;
        }
        let chunk = Chunk {
            seq: self.snd.iss,
            len: 0,
            fin: false,
        };
        self.note_sending(now, chunk);
        self.snd.sent(chunk, true);
        let mut seg = self.segment(chunk.seq, TcpFlags::SYN, Vec::new());
        seg.mss = Some(self.config.mss);
        Some(seg)
    }

    /// The next piece of the stream. After a timeout only one segment may
    /// be outstanding until an ACK comes back.
    fn next_data(&mut self, now: SimTime) -> Option<TcpRepr> {
        if !self.can_send_data() || (self.in_recovery && self.snd.nxt != self.snd.una) {
            return None;
        }
        let chunk = self.snd.next_chunk(self.send_mss)?;
        let payload = self.snd.payload(chunk.seq, chunk.len);
        let mut flags = TcpFlags::empty();
        if chunk.len > 0 && chunk.seq + chunk.len == self.snd.data_end() {
            flags |= TcpFlags::PSH;
        }
        if chunk.fin {
            flags |= TcpFlags::FIN;
        }
        self.note_sending(now, chunk);
        self.snd.sent(chunk, false);
        Some(self.segment(chunk.seq, flags, payload))
    }

    /// One byte beyond a zero window. The peer drops it (no room) and
    /// answers with its window — or takes it, if room opened meanwhile. It
    /// is not timed by the RTO: the persist timer sends the next probe.
    fn next_probe(&mut self) -> Option<TcpRepr> {
        if !std::mem::take(&mut self.probe_owed) || !self.can_send_data() {
            return None;
        }
        let (seq, byte) = self.snd.probe()?;
        self.events
            .push_back(TcpEvent::WindowProbe { seq: seq.get() });
        Some(self.segment(seq, TcpFlags::empty(), vec![byte]))
    }

    fn next_ack(&mut self) -> Option<TcpRepr> {
        if !self.ack_owed || !self.rcv.is_synced() || self.state == TcpState::Closed {
            return None;
        }
        Some(self.segment(self.snd.nxt, TcpFlags::empty(), Vec::new()))
    }

    /// Before `chunk` goes out: trace it if it is sent again, and make sure
    /// the retransmission timer runs.
    fn note_sending(&mut self, now: SimTime, chunk: Chunk) {
        if chunk.seq < self.snd.max {
            self.events.push_back(TcpEvent::Retransmit {
                seq: chunk.seq.get(),
                len: chunk.len,
                attempt: self.timers.retries.max(1),
            });
        }
        self.timers.arm_retransmit(now);
    }

    /// A segment from us to the peer, with the ACK (once we know the peer's
    /// ISN) and our window filled in.
    fn segment(&self, seq: SeqNum, mut flags: TcpFlags, payload: Vec<u8>) -> TcpRepr {
        let ack = if self.rcv.is_synced() {
            flags |= TcpFlags::ACK;
            self.rcv.nxt.get()
        } else {
            0
        };
        TcpRepr {
            src_port: self.local.port(),
            dst_port: self.remote.port(),
            seq: seq.get(),
            ack,
            flags,
            window: self.rcv.window(),
            mss: None,
            payload,
        }
    }
}
