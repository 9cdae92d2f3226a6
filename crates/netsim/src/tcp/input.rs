//! Segment arrival: RFC 9293's "SEGMENT ARRIVES" (section 3.10.7), cut
//! down to the states this endpoint has.
//!
//! A segment is examined in a fixed order, and most steps may end the
//! processing:
//!
//! ```text
//! 0. CLOSED?       answer with an RST, and stop
//! 1. RST?          if its number is in the window: the connection is over
//! 2. SYN?          the peer's SYN again: our answer was lost, answer again
//! 3. sequence      outside the window: re-ACK (if it took numbers), and
//!                  keep only its ACK field
//! 4. ACK           frees send buffer, moves timers, takes the window;
//!                  finishes the handshake in SYN-RECEIVED
//! 5. data          in-order bytes go to the receive buffer
//! 6. FIN           right after the data: the peer's stream has ended
//! ```
//!
//! Nothing here sends anything: steps only set what is owed (an ACK, an
//! RST) and [`poll_segment`](TcpEndpoint::poll_segment) builds it.

use super::config::Recovery;
use super::send::WindowChange;
use super::seq::SeqNum;
use super::{TcpEndpoint, TcpError, TcpEvent, TcpState};
use crate::time::SimTime;
use crate::wire::{TcpFlags, TcpRepr};

impl TcpEndpoint {
    /// Takes a segment that arrived from the peer at `now`. Segments for
    /// other ports are ignored. Then drain
    /// [`poll_segment`](Self::poll_segment): an ACK may be owed.
    pub fn handle_segment(&mut self, now: SimTime, seg: &TcpRepr) {
        if seg.src_port != self.remote.port() || seg.dst_port != self.local.port() {
            return;
        }
        self.clock = now;
        match self.state {
            TcpState::Closed => self.on_segment_closed(seg),
            TcpState::SynSent => self.on_segment_syn_sent(seg),
            _ => self.on_segment_synchronized(now, seg),
        }
        self.refresh_timers(now);
    }

    /// CLOSED: nobody is here any more. Tell the peer with an RST whose
    /// number is the one it expects from us (its ACK field), so that it
    /// stops retransmitting. An RST is never answered.
    fn on_segment_closed(&mut self, seg: &TcpRepr) {
        if seg.flags.contains(TcpFlags::ACK) && !seg.flags.contains(TcpFlags::RST) {
            self.rst_owed = Some(SeqNum(seg.ack));
        }
    }

    /// SYN-SENT: waiting for the SYN-ACK to our SYN.
    fn on_segment_syn_sent(&mut self, seg: &TcpRepr) {
        let flags = seg.flags;
        let has_ack = flags.contains(TcpFlags::ACK);
        let ack_ok = SeqNum(seg.ack) == self.snd.iss + 1;
        if has_ack && !ack_ok {
            // An answer to some other SYN (an old connection): reset it.
            if !flags.contains(TcpFlags::RST) {
                self.rst_owed = Some(SeqNum(seg.ack));
            }
            return;
        }
        if flags.contains(TcpFlags::RST) {
            if has_ack {
                self.fail(TcpError::Refused);
                self.events.push_back(TcpEvent::Reset);
            }
            return;
        }
        if !flags.contains(TcpFlags::SYN) {
            return;
        }
        self.take_peer_syn(seg);
        self.ack_owed = true;
        if has_ack {
            self.snd.ack(SeqNum(seg.ack));
            self.timers.on_progress();
            self.timers.stop_retransmit();
            self.establish();
        } else {
            // Simultaneous open: both sent a SYN. Resend ours as a SYN-ACK.
            self.state = TcpState::SynReceived;
            self.snd.nxt = self.snd.iss;
        }
    }

    /// Every state after SYN-SENT.
    fn on_segment_synchronized(&mut self, now: SimTime, seg: &TcpRepr) {
        let mut seq = SeqNum(seg.seq);
        let mut seq_len = seg.sequence_len();
        let flags = seg.flags;
        if flags.contains(TcpFlags::RST) {
            self.on_rst(seq);
            return;
        }
        if flags.contains(TcpFlags::SYN) {
            if self.rcv.irs() != Some(seq) || !flags.contains(TcpFlags::ACK) {
                self.on_repeated_syn(seq);
                return;
            }
            // The peer's SYN-ACK again: it missed our ACK. Answer, and read
            // the rest of the segment as if the SYN were not there.
            self.ack_owed = true;
            seq += 1;
            seq_len -= 1;
        }
        if !self.rcv.acceptable(seq, seq_len) {
            self.on_unacceptable(now, seg, seq_len);
            return;
        }
        self.take_timestamp(seg);
        if !flags.contains(TcpFlags::ACK) {
            return; // after the handshake, every segment carries an ACK
        }
        if self.state == TcpState::SynReceived {
            let ack = SeqNum(seg.ack);
            if !self.snd.is_new_ack(ack) {
                self.rst_owed = Some(ack);
                return;
            }
            self.establish();
        }
        if self.on_ack(now, seq, seg) {
            self.on_data(now, seq, seg);
        }
    }

    /// An RST counts only if its number is in the window, so that an old,
    /// delayed RST cannot kill a new connection. In TIME-WAIT it does not
    /// count at all (RFC 1337): the connection is done, and a stray segment
    /// answered by the peer's closed endpoint must not cut the wait short.
    fn on_rst(&mut self, seq: SeqNum) {
        if self.state != TcpState::TimeWait && self.rcv.rst_acceptable(seq) {
            self.fail(TcpError::Reset);
            self.events.push_back(TcpEvent::Reset);
        }
    }

    /// A SYN after the handshake started. The peer's own SYN again means our
    /// SYN-ACK was lost: send it again. Any other SYN gets a "challenge ACK"
    /// (RFC 5961) that says where we are, and is otherwise ignored.
    fn on_repeated_syn(&mut self, seq: SeqNum) {
        if self.state == TcpState::SynReceived && self.rcv.irs() == Some(seq) {
            self.snd.nxt = self.snd.iss;
        } else {
            self.ack_owed = true;
        }
    }

    /// A segment outside the window: old (a retransmission of what we have)
    /// or beyond it. If it took sequence numbers, ACK to say what we expect;
    /// a pure ACK is not answered (two endpoints could ACK each other's ACKs
    /// forever). Its ACK field is still used.
    ///
    /// A receiver that speaks Linux's probes also answers an empty segment
    /// numbered RCV.NXT − 1: a zero-window probe or a keep-alive.
    fn on_unacceptable(&mut self, now: SimTime, seg: &TcpRepr, seq_len: usize) {
        let keepalive = seq_len == 0 && SeqNum(seg.seq) + 1 == self.rcv.nxt;
        if seq_len > 0 || (keepalive && self.answers_keepalives()) {
            self.ack_owed = true;
        }
        if self.state == TcpState::TimeWait && seg.flags.contains(TcpFlags::FIN) {
            // The peer's FIN again: our last ACK was lost. Linger anew.
            self.timers.start_time_wait(now, self.config.time_wait);
        }
        let ack_usable = seg.flags.contains(TcpFlags::ACK) && self.state != TcpState::SynReceived;
        if ack_usable {
            self.on_ack(now, SeqNum(seg.seq), seg);
        }
    }

    /// The ACK field: frees acknowledged data, restarts or stops the
    /// retransmission timer, takes the peer's window, and notices when our
    /// FIN is acknowledged. Returns false if the segment should go no
    /// further.
    fn on_ack(&mut self, now: SimTime, seq: SeqNum, seg: &TcpRepr) -> bool {
        let ack = SeqNum(seg.ack);
        if self.snd.acks_unsent(ack) {
            self.ack_owed = true;
            return false;
        }
        let selective = self.config.recovery == Recovery::Selective;
        if selective && self.state != TcpState::SynReceived {
            self.on_ack_selective(now, seg, ack);
        } else if self.snd.is_new_ack(ack) {
            self.snd.ack(ack);
            self.in_recovery = false;
            self.timers.on_progress();
            if self.snd.in_flight() == 0 {
                self.timers.stop_retransmit();
            } else {
                self.timers.restart_retransmit(now);
            }
        }
        if ack >= self.snd.una {
            self.take_window(seq, ack, self.peer_window_of(seg));
        }
        if self.snd.fin_acked() {
            self.on_fin_acked(now);
        }
        true
    }

    fn take_window(&mut self, seq: SeqNum, ack: SeqNum, window: usize) {
        match self.snd.update_window(seq, ack, window) {
            Some(WindowChange::Closed) => self.events.push_back(TcpEvent::ZeroWindow),
            Some(WindowChange::Opened) => {
                self.events.push_back(TcpEvent::WindowOpened { window });
            }
            None => {}
        }
    }

    fn on_fin_acked(&mut self, now: SimTime) {
        match self.state {
            TcpState::FinWait1 => self.state = TcpState::FinWait2,
            TcpState::Closing => self.enter_time_wait(now),
            TcpState::LastAck => self.enter_closed(),
            _ => {}
        }
    }

    /// The payload and the FIN. Data is taken only while the peer's
    /// direction is open; anything that took numbers is acknowledged, even
    /// if it was dropped (the duplicate ACK tells the sender where we are).
    fn on_data(&mut self, now: SimTime, seq: SeqNum, seg: &TcpRepr) {
        let open = matches!(
            self.state,
            TcpState::Established | TcpState::FinWait1 | TcpState::FinWait2
        );
        if !seg.payload.is_empty() {
            if open {
                // Out of order, filling a hole, or old: ACK at once.
                let urgent = seq > self.rcv.nxt || self.rcv.has_holes();
                let taken = self.rcv.accept(seq, &seg.payload);
                self.grow_window(taken);
                self.ack_data(now, taken, urgent || taken == 0);
            } else {
                self.ack_owed = true;
            }
        }
        let fin_ready = open && self.rcv.fin_ready();
        if !seg.flags.contains(TcpFlags::FIN) && !fin_ready {
            return;
        }
        let fin_at = seq + seg.payload.len();
        if open && !fin_ready && fin_at > self.rcv.nxt {
            // Beyond a hole: remembered, taken when the hole fills.
            self.rcv.remember_fin(fin_at);
            self.ack_owed = true;
            return;
        }
        // The FIN counts only if every byte before it is in.
        if open && (fin_ready || fin_at == self.rcv.nxt) {
            if self.state == TcpState::Established {
                // Linux (tcp_fin): the ACK may wait to ride on our own FIN.
                self.acks.pingpong = self.config.delayed_ack;
                self.ack_data(now, 0, false);
            } else {
                // Our FIN went first: the peer's is ACKed at once.
                self.ack_owed = true;
            }
            self.take_fin(now);
        } else {
            self.ack_owed = true;
        }
    }

    fn take_fin(&mut self, now: SimTime) {
        self.rcv.accept_fin();
        self.events.push_back(TcpEvent::PeerFin);
        match self.state {
            TcpState::Established => self.state = TcpState::CloseWait,
            // Both sides closed at once; ours is not acknowledged yet.
            TcpState::FinWait1 => self.state = TcpState::Closing,
            TcpState::FinWait2 => self.enter_time_wait(now),
            _ => {}
        }
    }
}
