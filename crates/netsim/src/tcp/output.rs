//! Segment departure: what the endpoint puts on the wire next.
//!
//! [`poll_segment`](TcpEndpoint::poll_segment) answers one question at a
//! time, in this order of precedence:
//!
//! ```text
//! 1. an RST owed                      (abort, give-up, or an answer to junk)
//! 2. our SYN or SYN-ACK               (first time, or again after a timeout)
//! 3. data from `nxt`, and/or our FIN  (as much as MSS and window allow)
//! 4. a window probe                   (the persist timer fired)
//! 5. a pure ACK                       (something arrived, nothing to carry it)
//! ```
//!
//! Every segment after our SYN carries the latest ACK number and window, so
//! data "piggybacks" any ACK that was owed. A data segment that empties the
//! send buffer gets PSH, as Linux sets it at the end of a write. In the
//! selective model step 3 is `recovery.rs`'s `NextSeg`.

use super::config::{Recovery, WindowProbe};
use super::send::Chunk;
use super::seq::SeqNum;
use super::{RetransmitReason, TcpEndpoint, TcpEvent, TcpState};
use crate::time::SimTime;
use crate::wire::{TcpFlags, TcpRepr};

impl TcpEndpoint {
    /// The next segment to put on the wire at `now`, if any. Call it until
    /// it returns `None` after every `handle_*` and mutator call.
    pub fn poll_segment(&mut self, now: SimTime) -> Option<TcpRepr> {
        self.clock = now;
        let seg = self
            .next_rst()
            .or_else(|| self.next_syn(now))
            .or_else(|| self.next_data(now))
            .or_else(|| self.next_probe(now))
            .or_else(|| self.next_ack());
        if let Some(seg) = &seg {
            if !seg.payload.is_empty() {
                self.note_data_sent(now);
            }
            // Every segment but an RST or our first SYN carries the ACK.
            self.ack_owed = false;
            self.acks.unacked = 0;
            self.timers.stop_delayed_ack();
            self.rcv.note_advertised();
            self.stats.segments_sent += 1;
            self.stats.bytes_sent += seg.payload.len() as u64;
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
            options: Default::default(),
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
        self.syn_sent = Some(match self.syn_sent {
            None => (now, false),
            Some((at, _)) => (at, true),
        });
        let mut seg = self.segment(chunk.seq, TcpFlags::SYN, Vec::new());
        seg.mss = Some(self.config.mss);
        seg.window = self.header_window(true);
        seg.options = self.syn_options(now);
        Some(seg)
    }

    /// The next piece of the stream. After a timeout only one segment may
    /// be outstanding until an ACK comes back.
    fn next_data(&mut self, now: SimTime) -> Option<TcpRepr> {
        if !self.can_send_data() {
            return None;
        }
        if self.config.recovery == Recovery::Selective {
            return self.next_selective(now);
        }
        if self.in_recovery && self.snd.nxt != self.snd.una {
            return None;
        }
        let chunk = self.snd.next_chunk(self.send_mss)?;
        Some(self.data_segment(now, chunk))
    }

    /// `chunk` on its way out from `nxt`: timed, and `nxt` moved past it.
    pub(super) fn data_segment(&mut self, now: SimTime, chunk: Chunk) -> TcpRepr {
        let payload = self.snd.payload(chunk.seq, chunk.len);
        self.note_sending(now, chunk);
        self.snd.sent(chunk, false);
        self.build_data(chunk, payload)
    }

    /// The segment for `chunk`: PSH if it empties the buffer, FIN if due.
    pub(super) fn build_data(&self, chunk: Chunk, payload: Vec<u8>) -> TcpRepr {
        let mut flags = TcpFlags::empty();
        if chunk.len > 0 && chunk.seq + chunk.len == self.snd.data_end() {
            flags |= TcpFlags::PSH;
        }
        if chunk.fin {
            flags |= TcpFlags::FIN;
        }
        self.segment(chunk.seq, flags, payload)
    }

    /// The persist timer fired. Into a window that is open but too small
    /// for a whole segment, send what fits (Linux's `tcp_write_wakeup`).
    /// Into a zero window, a probe. The one-byte kind sends a byte beyond
    /// the window: the peer drops it (no room) and answers with its window —
    /// or takes it, if room opened meanwhile. Linux's kind sends no byte at
    /// SND.UNA − 1, a number the peer already has, which it must answer.
    /// Neither probe is timed by the RTO: the persist timer sends the next.
    fn next_probe(&mut self, now: SimTime) -> Option<TcpRepr> {
        if !std::mem::take(&mut self.probe_owed) || !self.can_send_data() {
            return None;
        }
        if let Some(chunk) = self.snd.wakeup_chunk(self.send_mss) {
            if self.config.recovery == Recovery::Selective {
                self.loss.sb.push(chunk.seq, chunk.len, chunk.fin, now);
            }
            return Some(self.data_segment(now, chunk));
        }
        let seg = match self.config.window_probe {
            WindowProbe::OneByte => {
                let (seq, byte) = self.snd.probe()?;
                self.segment(seq, TcpFlags::empty(), vec![byte])
            }
            WindowProbe::ZeroByte if self.snd.probe_due() => {
                let seq = SeqNum(self.snd.una.get().wrapping_sub(1));
                self.segment(seq, TcpFlags::empty(), Vec::new())
            }
            WindowProbe::ZeroByte => return None,
        };
        self.stats.zero_window_probes += 1;
        self.events
            .push_back(TcpEvent::WindowProbe { seq: seg.seq });
        Some(seg)
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
                why: RetransmitReason::Rto,
            });
            self.stats.retransmitted += 1;
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
            window: self.header_window(false),
            mss: None,
            options: self.segment_options(self.clock),
            payload,
        }
    }
}
