//! Selective loss recovery and congestion control: the sender of the
//! `newreno` and `linux` models (`recovery = Selective`).
//!
//! Every data segment sent is recorded on the [`Scoreboard`]. Each ACK
//! runs through [`on_ack_selective`](TcpEndpoint::on_ack_selective):
//!
//! ```text
//! new data ACKed  → drop it from the scoreboard, take an RTT sample
//!                   (Karn), grow cwnd (slow start / Reno / CUBIC)
//! SACK blocks     → mark segments SACKed; 3 SACKed above a hole = lost
//! duplicate ACK   → without SACK, count it as one segment gone
//! 3 of them       → fast recovery: ssthresh and cwnd cut, oldest hole resent
//! ACK ≥ recover   → recovery done, cwnd = ssthresh
//! timer           → cwnd = 1, everything not SACKed is lost (enter_loss)
//! ```
//!
//! What goes out next ([`next_selective`](TcpEndpoint::next_selective)) is
//! RFC 6675's `NextSeg`: a lost segment not yet resent, else new data,
//! else once per recovery the rescue segment — each only while
//! `pipe < cwnd`.

use std::time::Duration;

use super::cc::CongestionControl;
use super::event::RetransmitReason;
use super::rtt::RttEstimator;
use super::scoreboard::{Sacked, Scoreboard, DUP_THRESH};
use super::seq::SeqNum;
use super::{TcpEndpoint, TcpEvent};
use crate::time::SimTime;
use crate::wire::{TcpFlags, TcpRepr};

/// Linux's TCP_RTO_MIN, added to the probe timeout when one segment is out
/// (the peer may be delaying its ACK).
const PTO_ONE_SEGMENT: Duration = Duration::from_millis(200);
/// Linux's TCP_TIMEOUT_MIN (two ticks) when deadlines are exact.
const TIMEOUT_MIN_EXACT: Duration = Duration::from_millis(2);

/// Where the sender is in loss recovery (Linux's `icsk_ca_state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum CaState {
    Open,
    /// Fast recovery until `recover` is acknowledged.
    Recovery {
        recover: SeqNum,
        rescued: bool,
    },
    /// After a timeout, until `recover` is acknowledged.
    Loss {
        recover: SeqNum,
    },
}

#[derive(Debug)]
pub(super) struct LossState {
    pub rtt: RttEstimator,
    pub cc: CongestionControl,
    pub sb: Scoreboard,
    pub ca: CaState,
    pub dupacks: u32,
    /// The end of the stream when a tail-loss probe went out; none is
    /// sent again until it is acknowledged.
    tlp_high: Option<SeqNum>,
    tlp_owed: bool,
    /// The first retransmission of a recovery goes out whatever the pipe.
    force_one: bool,
    /// Proportional rate reduction (RFC 6937) in fast recovery: cwnd
    /// before the cut, segments delivered and sent since it began.
    prr: Prr,
}

/// RFC 6937's counters, as Linux's `prior_cwnd`, `prr_delivered`, `prr_out`.
#[derive(Debug, Default, Clone, Copy)]
struct Prr {
    prior_cwnd: u32,
    delivered: u32,
    out: u32,
}

impl LossState {
    pub fn new(config: &super::TcpConfig) -> Self {
        LossState {
            rtt: if config.linux_rto {
                RttEstimator::linux(config.initial_rto, config.rto_min)
            } else {
                RttEstimator::new(config.initial_rto, config.rto_min)
            },
            cc: CongestionControl::new(config.congestion, config.initial_window, config.timer_tick),
            sb: Scoreboard::default(),
            ca: CaState::Open,
            dupacks: 0,
            tlp_high: None,
            tlp_owed: false,
            force_one: false,
            prr: Prr::default(),
        }
    }
}

impl TcpEndpoint {
    /// The ACK field in the selective model. `seg` is the whole segment
    /// (its SACK blocks, its window, whether it carries data).
    pub(super) fn on_ack_selective(&mut self, now: SimTime, seg: &TcpRepr, ack: SeqNum) {
        let prior_out = self.loss.sb.packets_out();
        let prior_lost = self.loss.sb.lost_out;
        let advanced = self.snd.is_new_ack(ack);
        let delivered;
        if advanced {
            self.snd.ack(ack);
            let acked = self.loss.sb.ack(ack);
            let newest_rtt = acked.newest_sent.map(|t| now.since(t));
            self.loss
                .cc
                .hystart_on_ack(now, ack, self.snd.nxt, newest_rtt);
            self.timers.stop_loss_probe();
            self.loss.dupacks = 0;
            if self.loss.tlp_high.is_some_and(|h| ack >= h) {
                self.loss.tlp_high = None;
            }
            let sacked = self.take_sacks(seg);
            // Linux's order (tcp_ack_update_rtt): the oldest segment this
            // ACK covers, else (its estimator) the oldest newly SACKed,
            // else the timestamp echo.
            let sample = acked
                .rtt_from
                .or(sacked.rtt_from.filter(|_| self.config.linux_rto))
                .map(|sent| now.since(sent))
                .or_else(|| self.timestamp_rtt(now, seg));
            if let Some(r) = sample {
                self.loss.rtt.sample(r, self.snd.una, self.snd.nxt);
            }
            if self.config.rtt_estimation {
                self.timers.set_base_rto(self.loss.rtt.rto());
            }
            self.timers.on_progress();
            // Linux grows cwnd by what this ACK delivered: segments newly
            // SACKed, and those acknowledged that no SACK had covered.
            delivered = acked.delivered + sacked.newly;
            self.after_new_ack(now, ack, delivered, prior_out);
            if self.snd.in_flight() == 0 {
                self.timers.stop_retransmit();
            } else {
                self.timers.restart_retransmit(now);
            }
            self.grow_send_buffer();
        } else if self.is_dupack(seg, ack) {
            self.loss.dupacks += 1;
            if !self.sack_ok() {
                let sb = &mut self.loss.sb;
                sb.reno_sacked = (sb.reno_sacked + 1).min(sb.packets_out().saturating_sub(1));
            }
            let sacked = self.take_sacks(seg);
            self.sack_rtt_sample(now, &sacked);
            delivered = sacked.newly;
            self.maybe_enter_recovery();
        } else {
            let sacked = self.take_sacks(seg);
            self.sack_rtt_sample(now, &sacked);
            delivered = sacked.newly;
        }
        self.rack_step(now);
        let newly_lost = self.loss.sb.lost_out > prior_lost;
        self.prr_step(delivered, advanced, newly_lost);
    }

    /// Proportional rate reduction (RFC 6937, as Linux's
    /// `tcp_cwnd_reduction`): in fast recovery each ACK lets out segments
    /// in proportion to those it delivered, `ssthresh / prior_cwnd` of
    /// them while the pipe is above ssthresh, and below it no more than
    /// were delivered (plus one when the ACK moved SND.UNA) up to
    /// ssthresh. cwnd becomes the pipe plus that allowance.
    fn prr_step(&mut self, delivered: u32, advanced: bool, newly_lost: bool) {
        if !self.config.prr || delivered == 0 {
            return;
        }
        if !matches!(self.loss.ca, CaState::Recovery { .. }) {
            return;
        }
        let l = &mut self.loss;
        l.prr.delivered += delivered;
        let pipe = l.sb.pipe();
        let ssthresh = l.cc.ssthresh;
        let prr = l.prr;
        let sndcnt = if pipe > ssthresh {
            let allowed = (u64::from(ssthresh) * u64::from(prr.delivered))
                .div_ceil(u64::from(prr.prior_cwnd.max(1)));
            u32::try_from(allowed)
                .unwrap_or(u32::MAX)
                .saturating_sub(prr.out)
        } else {
            let mut n = prr.delivered.saturating_sub(prr.out).max(delivered);
            if advanced && !newly_lost {
                n += 1;
            }
            n.min(ssthresh - pipe)
        };
        // The first retransmission of a recovery always goes.
        let sndcnt = sndcnt.max(u32::from(prr.out == 0));
        l.cc.cwnd = pipe + sndcnt;
    }

    /// RACK after an ACK or when its timer fires: advance the mark, find
    /// the segments it makes lost, start recovery if that found some, and
    /// keep the timer for those not yet due.
    fn rack_step(&mut self, now: SimTime) {
        if !self.config.rack || !self.sack_ok() {
            return;
        }
        let min_rtt = self.loss.rtt.min_rtt();
        self.loss.sb.rack_advance(now, min_rtt);
        let (newly, wait) = self.loss.sb.rack_detect(now, self.rack_reo_wnd());
        if newly > 0 {
            self.maybe_enter_recovery();
        }
        match wait {
            // Linux waits two ticks more (TCP_TIMEOUT_MIN).
            Some(w) => self.timers.arm_reorder(now, w + self.timeout_min()),
            None => self.timers.stop_reorder(),
        }
    }

    /// Linux's TCP_TIMEOUT_MIN: two clock ticks, added to the probe's and
    /// the reordering timer's waits.
    fn timeout_min(&self) -> Duration {
        match self.timers.tick() {
            Duration::ZERO => TIMEOUT_MIN_EXACT,
            tick => 2 * tick,
        }
    }

    /// How long RACK lets a segment be late before calling it lost: none
    /// in recovery or once three segments are SACKed (no reordering has
    /// been seen), else a quarter of the minimum RTT, at most SRTT.
    fn rack_reo_wnd(&self) -> Duration {
        let recovering = self.loss.ca != CaState::Open;
        if recovering || self.loss.sb.sacked_out >= DUP_THRESH {
            return Duration::ZERO;
        }
        let quarter = self.loss.rtt.min_rtt().unwrap_or_default() / 4;
        quarter.min(self.loss.rtt.srtt().unwrap_or(quarter))
    }

    /// RACK's reordering timer fired.
    pub(super) fn on_reorder_timer(&mut self, now: SimTime) {
        self.rack_step(now);
    }

    /// RFC 5681's duplicate ACK: nothing new acknowledged, no data, the
    /// same window, and something outstanding.
    fn is_dupack(&self, seg: &TcpRepr, ack: SeqNum) -> bool {
        ack == self.snd.una
            && seg.payload.is_empty()
            && !seg.flags.intersects(TcpFlags::SYN | TcpFlags::FIN)
            && self.peer_window_of(seg) == self.snd.wnd
            && !self.loss.sb.is_empty()
    }

    /// Takes the SACK blocks; returns how many segments they newly cover.
    /// Linux's estimator also measures from SACKs on an ACK that does not
    /// move SND.UNA. The new RTO applies from the next time the timer is
    /// set; the running timer keeps its deadline.
    fn sack_rtt_sample(&mut self, now: SimTime, sacked: &Sacked) {
        let Some(sent) = sacked.rtt_from.filter(|_| self.config.linux_rto) else {
            return;
        };
        self.loss
            .rtt
            .sample(now.since(sent), self.snd.una, self.snd.nxt);
        if self.config.rtt_estimation {
            self.timers.set_base_rto(self.loss.rtt.rto());
        }
    }

    fn take_sacks(&mut self, seg: &TcpRepr) -> Sacked {
        if !self.sack_ok() || seg.options.sack_blocks.is_empty() {
            return Sacked::default();
        }
        let blocks: Vec<(SeqNum, SeqNum)> = seg
            .options
            .sack_blocks
            .iter()
            .map(|&(l, r)| (SeqNum(l), SeqNum(r)))
            .filter(|&(l, r)| l >= self.snd.una && r > l && r <= self.snd.max)
            .collect();
        let sacked = self.loss.sb.sack(&blocks);
        if sacked.newly > 0 {
            self.loss.sb.mark_lost_by_sack();
            self.maybe_enter_recovery();
        }
        sacked
    }

    fn maybe_enter_recovery(&mut self) {
        if self.loss.ca != CaState::Open {
            return;
        }
        let (evidence, why) = if self.sack_ok() {
            (self.loss.sb.sacked_out, RetransmitReason::SackHole)
        } else {
            (self.loss.dupacks, RetransmitReason::DupAcks)
        };
        if evidence < DUP_THRESH && self.loss.sb.lost_out == 0 {
            return;
        }
        let why = if self.loss.dupacks >= DUP_THRESH {
            RetransmitReason::DupAcks
        } else {
            why
        };
        self.loss.sb.mark_head_lost(why);
        self.loss.prr = Prr {
            prior_cwnd: self.loss.cc.cwnd,
            ..Prr::default()
        };
        self.loss.cc.on_loss();
        self.loss.ca = CaState::Recovery {
            recover: self.snd.max,
            rescued: false,
        };
        self.loss.force_one = true;
        let cwnd = self.loss.cc.cwnd;
        self.events.push_back(TcpEvent::Recovery { cwnd, why });
    }

    fn after_new_ack(&mut self, now: SimTime, ack: SeqNum, acked: u32, prior_out: u32) {
        match self.loss.ca {
            CaState::Recovery { recover, .. } if ack >= recover => {
                self.loss.ca = CaState::Open;
                self.loss.sb.reno_sacked = 0;
                self.loss.cc.end_recovery();
                let cwnd = self.loss.cc.cwnd;
                self.events.push_back(TcpEvent::RecoveryDone { cwnd });
            }
            CaState::Recovery { .. } => {
                if !self.sack_ok() {
                    // RFC 6582: a partial ACK shows the next hole.
                    self.loss.sb.mark_head_lost(RetransmitReason::PartialAck);
                }
            }
            CaState::Loss { recover } => {
                if ack >= recover {
                    self.loss.ca = CaState::Open;
                }
                let min_rtt = self.loss.rtt.min_rtt();
                self.loss.cc.on_ack(now, acked, min_rtt, true);
            }
            CaState::Open => {
                let cc = &self.loss.cc;
                let limited = if cc.in_slow_start() {
                    u64::from(cc.cwnd) < 2 * u64::from(prior_out)
                } else {
                    prior_out >= cc.cwnd
                };
                let min_rtt = self.loss.rtt.min_rtt();
                self.loss.cc.on_ack(now, acked, min_rtt, limited);
                self.maybe_enter_recovery();
            }
        }
    }

    /// The retransmission timer fired on an established connection.
    pub(super) fn enter_loss(&mut self) {
        let reduced = self.loss.ca != CaState::Open;
        self.loss.cc.on_rto(reduced);
        self.loss.sb.mark_all_lost();
        self.loss.ca = CaState::Loss {
            recover: self.snd.max,
        };
        self.loss.dupacks = 0;
        self.loss.tlp_high = None;
        self.loss.force_one = true;
        if self.config.congestion != super::Congestion::None {
            let ssthresh = self.loss.cc.ssthresh;
            self.events.push_back(TcpEvent::LossWindow { ssthresh });
        }
    }

    /// The next segment in the selective model, if any may go.
    pub(super) fn next_selective(&mut self, now: SimTime) -> Option<TcpRepr> {
        let room = self.loss.sb.pipe() < self.loss.cc.cwnd;
        if std::mem::take(&mut self.loss.tlp_owed) {
            if let Some(seg) = self.send_loss_probe(now) {
                return Some(seg);
            }
        }
        if let Some(i) = self.loss.sb.next_lost() {
            if room || std::mem::take(&mut self.loss.force_one) {
                let why = self.loss.sb.get(i)?.lost.unwrap_or(RetransmitReason::Rto);
                return self.resend(now, i, why);
            }
            return None;
        }
        self.loss.force_one = false;
        if room {
            if let Some(seg) = self.send_new(now) {
                return Some(seg);
            }
        }
        if let CaState::Recovery {
            recover,
            rescued: false,
        } = self.loss.ca
        {
            if room && self.sack_ok() && self.snd.una < recover {
                let i = self.loss.sb.rescue_candidate()?;
                self.loss.ca = CaState::Recovery {
                    recover,
                    rescued: true,
                };
                return self.resend(now, i, RetransmitReason::Rescue);
            }
        }
        None
    }

    /// New data from `nxt`, recorded on the scoreboard.
    fn send_new(&mut self, now: SimTime) -> Option<TcpRepr> {
        let chunk = self.snd.next_chunk(self.send_mss)?;
        self.loss.sb.push(chunk.seq, chunk.len, chunk.fin, now);
        if matches!(self.loss.ca, CaState::Recovery { .. }) {
            self.loss.prr.out += 1;
        }
        self.timers.stop_loss_probe();
        Some(self.data_segment(now, chunk))
    }

    /// Scoreboard segment `i` again.
    fn resend(&mut self, now: SimTime, i: usize, why: RetransmitReason) -> Option<TcpRepr> {
        let s = self.loss.sb.get(i)?.clone();
        self.loss.sb.retransmitted(i, now);
        let chunk = super::send::Chunk {
            seq: s.seq,
            len: s.len,
            fin: s.fin,
        };
        self.events.push_back(TcpEvent::Retransmit {
            seq: s.seq.get(),
            len: s.len,
            attempt: self.timers.retries.max(1),
            why,
        });
        self.stats.retransmitted += 1;
        if matches!(self.loss.ca, CaState::Recovery { .. }) {
            self.stats.fast_retransmits += 1;
            self.loss.prr.out += 1;
        }
        if i == 0 && self.config.linux_rto && !self.timers.reorder_armed() {
            // Linux gives the oldest segment a whole RTO from its resending
            // (in Linux the reordering timer holds the same slot).
            self.timers.restart_retransmit(now);
        } else {
            self.timers.arm_retransmit(now);
        }
        let payload = self.snd.payload(s.seq, s.len);
        Some(self.build_data(chunk, payload))
    }

    /// The probe timer fired: send new data if there is some the window
    /// allows, else the last segment again.
    pub(super) fn on_loss_probe_timer(&mut self) {
        // The probe took the RTO's place; the RTO starts again after it.
        self.timers.stop_retransmit();
        self.loss.tlp_owed = true;
        self.loss.tlp_high = Some(self.snd.max);
        self.stats.tail_loss_probes += 1;
    }

    fn send_loss_probe(&mut self, now: SimTime) -> Option<TcpRepr> {
        if let Some(seg) = self.send_new(now) {
            let seq = seg.seq;
            self.events.push_back(TcpEvent::TailLossProbe { seq });
            self.timers.restart_retransmit(now);
            return Some(seg);
        }
        let last = self.loss.sb.packets_out().checked_sub(1)? as usize;
        if self.loss.sb.get(last)?.sacked {
            return None;
        }
        let seg = self.resend(now, last, RetransmitReason::TailLossProbe);
        self.timers.restart_retransmit(now);
        seg
    }

    /// Arms the probe timer when one is allowed: SACK on, no recovery
    /// running, segments out, an RTT known, no probe unanswered.
    pub(super) fn refresh_loss_probe(&mut self, now: SimTime) {
        let l = &self.loss;
        let allowed = self.config.tail_loss_probe
            && self.sack_ok()
            && l.ca == CaState::Open
            && !l.sb.is_empty()
            && l.tlp_high.is_none()
            && self.can_send_data();
        let Some(srtt) = l.rtt.srtt().filter(|_| allowed) else {
            self.timers.stop_loss_probe();
            return;
        };
        if self.timers.loss_probe_armed() {
            return;
        }
        let slack = if l.sb.packets_out() == 1 {
            PTO_ONE_SEGMENT
        } else {
            self.timeout_min()
        };
        let rto_at = self.timers.retransmit_deadline();
        self.timers.arm_loss_probe(now, 2 * srtt + slack, rto_at);
    }

    /// An RTT from the timestamp echo, for ACKs Karn's rule leaves out.
    fn timestamp_rtt(&self, now: SimTime, seg: &TcpRepr) -> Option<Duration> {
        let (_, ecr) = seg.options.timestamp.filter(|_| self.neg.timestamps)?;
        let ms = self.ts_now(now).wrapping_sub(ecr);
        (ecr != 0 && ms < 1 << 30).then(|| Duration::from_millis(u64::from(ms)))
    }

    /// Linux's send-buffer autotuning: room for about two windows.
    fn grow_send_buffer(&mut self) {
        if !self.config.buffer_autotuning || self.config.congestion == super::Congestion::None {
            return;
        }
        let want = (self.loss.cc.cwnd as usize)
            .saturating_mul(2 * self.send_mss)
            .min(self.config.send_buffer_max);
        self.snd.capacity = self.snd.capacity.max(want);
    }
}
