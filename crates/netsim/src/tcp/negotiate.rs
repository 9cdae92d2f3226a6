//! What the two SYNs agree on (window scaling, SACK, timestamps), and the
//! receiver's side of Linux's model: delayed ACKs and receive-buffer
//! autotuning.
//!
//! **Options** count only if both SYNs carry them (RFC 7323, RFC 2018):
//! the side that connects offers what its configuration allows, the side
//! that accepts answers with what it allows *and* was offered.
//!
//! **Delayed ACKs** (Linux's `__tcp_ack_snd_check`): an ACK goes out at
//! once when more than one full segment is unacknowledged, in *quick-ACK
//! mode* (the first 16 segments of a connection, unless it is interactive:
//! see below), for data out of order
//! or filling a hole, and for duplicates. Data that comes after a silence
//! longer than the RTO (a sender that waited on a closed window, say) starts
//! quick-ACK mode again, as Linux's `tcp_event_data_recv` does. Otherwise the delayed-ACK timer
//! sends it 40 ms later (Linux's `TCP_ATO_MIN`; its `ato` can grow toward
//! 200 ms on slow interactive flows, which is not modelled), unless data
//! going the other way carries it first.
//!
//! **Interactive connections** (Linux's *pingpong mode*): an endpoint
//! that sends data within 40 ms of receiving some (a reply) takes its
//! peer for a conversation. Its quick ACKs stop, so the ACK of a request
//! can wait to ride on the answer; the ACK rules above still apply. The
//! mode ends when the delayed-ACK timer fires with an ACK owed. So a
//! client that answers a track's first bytes with a `status` line ACKs
//! the download every second segment from the start, as a capture of the
//! kit's client on Linux shows.
//!
//! **Receive autotuning** (a simple model of `tcp_rcv_space_adjust`): once
//! per round trip the receiver looks at how many bytes the application
//! read. If that beats the best so far, the window becomes
//! `2 × copied + 16 × MSS` (more if the rate is still climbing), up to half
//! of `recv_buffer_max` — Linux's buffer holds per-packet overhead too.

use std::time::Duration;

use super::config::WindowProbe;
use super::{TcpEndpoint, TcpState};
use crate::time::SimTime;
use crate::wire::{TcpFlags, TcpOptions, TcpRepr};

/// Linux's `TCP_MAX_QUICKACKS`.
const QUICK_ACKS: u32 = 16;
/// Linux's `TCP_ATO_MIN`.
const DELAYED_ACK: Duration = Duration::from_millis(40);
/// Bytes of a timestamp option with its padding.
pub(super) const TIMESTAMP_LEN: usize = 12;
/// Linux's guess of the peer's segment size before any arrives.
const DEFAULT_RCV_MSS: usize = 536;
/// The share of its receive buffer Linux 6.x advertises as window, as a
/// fraction: a full segment's length over the memory it takes
/// (`scaling_ratio`, 158/256 on the testbed's interfaces: 80,896 B of
/// 131,072). It sets where the window stops growing before autotuning.
const WIN_FROM_SPACE: (usize, usize) = (158, 256);

#[derive(Debug, Default)]
pub(super) struct Negotiated {
    pub sack: bool,
    pub timestamps: bool,
    /// Shift for the peer's windows (what its SYN asked for).
    pub snd_shift: u8,
    /// Shift for our windows.
    pub rcv_shift: u8,
    /// TS.Recent: the peer's latest TSval, echoed in our TSecr.
    pub ts_recent: u32,
    /// Added to the clock in milliseconds to make our TSval (the ISN, so a
    /// capture does not show the simulation's clock).
    pub ts_offset: u32,
    /// The peer's SYN offered window scaling (and we use it).
    pub peer_scales: bool,
}

/// The receiver's ACK bookkeeping.
#[derive(Debug)]
pub(super) struct AckState {
    quick: u32,
    /// Bytes received since the last ACK went out.
    pub unacked: usize,
    /// The largest segment seen from the peer.
    rcv_mss: usize,
    /// Autotuning: when the current measurement started, bytes read since,
    /// and the best per-RTT count so far.
    space_since: SimTime,
    copied: usize,
    space: usize,
    /// When data last arrived (Linux's `lrcvtime`).
    last_data: Option<SimTime>,
    /// Interactive (Linux's pingpong mode): we sent data within the
    /// delayed-ACK time of receiving some, so ACKs wait to ride on a reply
    /// and the quick ACKs are off; it ends when the delayed-ACK timer fires.
    pub pingpong: bool,
}

impl AckState {
    pub fn new(mss: usize) -> Self {
        AckState {
            quick: QUICK_ACKS,
            unacked: 0,
            rcv_mss: DEFAULT_RCV_MSS,
            space_since: SimTime::ZERO,
            copied: 0,
            space: 10 * mss,
            last_data: None,
            pingpong: false,
        }
    }
}

impl TcpEndpoint {
    pub(super) fn sack_ok(&self) -> bool {
        self.neg.sack
    }

    /// Our timestamp clock at `now`: milliseconds, as Linux's.
    pub(super) fn ts_now(&self, now: SimTime) -> u32 {
        // The clock wraps every 49 days, as the header field does.
        (now.as_nanos() / 1_000_000) as u32 + self.neg.ts_offset
    }

    /// The options for our SYN or SYN-ACK.
    pub(super) fn syn_options(&self, now: SimTime) -> TcpOptions {
        let c = &self.config;
        let active = self.state == TcpState::SynSent;
        let mut o = TcpOptions::default();
        if c.window_scale && (active || self.neg.peer_scales) {
            o.window_scale = Some(c.window_scale_shift());
        }
        o.sack_permitted = c.sack && (active || self.neg.sack);
        if c.timestamps && (active || self.neg.timestamps) {
            o.timestamp = Some((self.ts_now(now), self.neg.ts_recent));
        }
        o
    }

    /// The options a segment after the SYN carries.
    pub(super) fn segment_options(&self, now: SimTime) -> TcpOptions {
        let mut o = TcpOptions::default();
        if self.neg.timestamps {
            o.timestamp = Some((self.ts_now(now), self.neg.ts_recent));
        }
        if self.neg.sack && self.rcv.has_holes() {
            o.sack_blocks = self.rcv.sack_blocks(o.sack_room(false));
        }
        o
    }

    /// Takes the options of the peer's SYN: what both sides agree on.
    pub(super) fn take_peer_options(&mut self, syn: &TcpRepr) {
        let c = &self.config;
        let o = &syn.options;
        self.neg.sack = c.sack && o.sack_permitted;
        self.neg.timestamps = c.timestamps && o.timestamp.is_some();
        if let Some((val, _)) = o.timestamp {
            self.neg.ts_recent = val;
        }
        match o.window_scale.filter(|_| c.window_scale) {
            Some(shift) => {
                self.neg.snd_shift = shift.min(14);
                self.neg.rcv_shift = c.window_scale_shift();
                self.neg.peer_scales = true;
            }
            None => {
                let cap = self.rcv.capacity().min(super::TcpConfig::MAX_WINDOW);
                self.rcv.set_capacity(cap);
            }
        }
    }

    /// Records the peer's TSval (RFC 7323's rule: only from a segment that
    /// is not beyond what we expect, and only forward).
    pub(super) fn take_timestamp(&mut self, seg: &TcpRepr) {
        let Some((val, _)) = seg.options.timestamp.filter(|_| self.neg.timestamps) else {
            return;
        };
        let fresh = (val.wrapping_sub(self.neg.ts_recent) as i32) >= 0;
        if fresh && crate::tcp::SeqNum(seg.seq) <= self.rcv.nxt {
            self.neg.ts_recent = val;
        }
    }

    /// The peer's window in bytes from a segment's header.
    pub(super) fn peer_window_of(&self, seg: &TcpRepr) -> usize {
        if seg.flags.contains(TcpFlags::SYN) {
            usize::from(seg.window)
        } else {
            usize::from(seg.window) << self.neg.snd_shift
        }
    }

    /// Our window as the header field says it.
    pub(super) fn header_window(&self, syn: bool) -> u16 {
        let w = self.rcv.window();
        let w = if syn { w } else { w >> self.neg.rcv_shift };
        u16::try_from(w).unwrap_or(u16::MAX)
    }

    /// `len` bytes of data arrived (0 for a FIN): owe an ACK now, or arm
    /// the delayed-ACK timer. `urgent` for out-of-order, hole-filling or
    /// duplicate data.
    pub(super) fn ack_data(&mut self, now: SimTime, len: usize, urgent: bool) {
        let rto = self.timers.rto;
        let a = &mut self.acks;
        if len > 0 {
            if a.last_data.is_some_and(|t| now.since(t) > rto) {
                a.quick = QUICK_ACKS;
            }
            a.last_data = Some(now);
        }
        if !self.config.delayed_ack || urgent {
            self.ack_owed = true;
            return;
        }
        a.rcv_mss = a.rcv_mss.max(len);
        a.unacked += len;
        // Two segments earn an ACK only if the window would not shrink:
        // a reader that stopped gets ACKs from the timer alone.
        let window_holds = self.rcv.free_window() >= self.rcv.advertised();
        if a.quick > 0 && !a.pingpong {
            a.quick -= 1;
            self.ack_owed = true;
        } else if a.unacked > a.rcv_mss && window_holds {
            // Linux counts the quick ACKs down by every ACK it sends.
            a.quick = a.quick.saturating_sub(1);
            self.ack_owed = true;
        } else if self.timers.delayed_ack_before(now + DELAYED_ACK / 4) {
            // The timer would fire within a quarter of its delay: ACK now.
            self.ack_owed = true;
        } else {
            self.timers.arm_delayed_ack(now, DELAYED_ACK);
        }
    }

    /// A segment with data is going out: a reply within the delayed-ACK
    /// time of the last data received makes the connection interactive
    /// (Linux's `tcp_event_data_sent`, pingpong threshold 1).
    pub(super) fn note_data_sent(&mut self, now: SimTime) {
        let a = &mut self.acks;
        if self.config.delayed_ack && a.last_data.is_some_and(|t| now.since(t) < DELAYED_ACK) {
            a.pingpong = true;
        }
    }

    /// In-order data arrived: the window grows toward Linux's clamp by two
    /// segments per segment (`tcp_grow_window`, growing `rcv_ssthresh`),
    /// while the free space allows.
    pub(super) fn grow_window(&mut self, len: usize) {
        if !self.config.buffer_autotuning || len == 0 || !self.rcv.is_synced() {
            return;
        }
        let clamp = self.config.recv_buffer * WIN_FROM_SPACE.0 / WIN_FROM_SPACE.1;
        let clamp = clamp.min(super::TcpConfig::MAX_WINDOW << self.neg.rcv_shift);
        let room = clamp.saturating_sub(self.rcv.available());
        let cap = self.rcv.capacity();
        if cap < room {
            self.rcv.set_capacity((cap + 2 * self.send_mss).min(room));
        }
    }

    /// Does this endpoint answer a zero-byte probe at RCV.NXT − 1?
    pub(super) fn answers_keepalives(&self) -> bool {
        self.config.window_probe == WindowProbe::ZeroByte
    }

    /// Receive autotuning, after the application read `n` bytes.
    pub(super) fn rcv_space_adjust(&mut self, n: usize) {
        if !self.config.buffer_autotuning || !self.rcv.is_synced() {
            return;
        }
        let now = self.clock;
        let rtt = self.loss.rtt.srtt().unwrap_or(self.config.initial_rto);
        let a = &mut self.acks;
        a.copied += n;
        if now.since(a.space_since) < rtt {
            return;
        }
        let (copied, space) = (a.copied, a.space);
        a.copied = 0;
        a.space_since = now;
        if copied <= space {
            return;
        }
        a.space = copied;
        let mss = self.send_mss.max(1);
        let mut win = 2 * copied + 16 * mss;
        if copied >= space + space / 4 {
            win += 2 * win * (copied - space) / space;
        }
        let most = (self.config.recv_buffer_max / 2)
            .min(super::TcpConfig::MAX_WINDOW << self.neg.rcv_shift);
        if win.min(most) > self.rcv.capacity() {
            self.rcv.set_capacity(win.min(most));
        }
    }
}
