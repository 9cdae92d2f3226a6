//! The sender's record of every segment in flight, the *scoreboard* of
//! RFC 6675, and the counters Linux keeps beside it.
//!
//! ```text
//!  una                                                          max
//!   | seg | seg | seg | seg | seg | seg | seg | seg | seg | seg |
//!     lost  SACKed      lost+        SACKed SACKed SACKed
//!                       resent
//!
//! pipe = segments out − SACKed − lost + resent      (Linux's packets in flight)
//! ```
//!
//! A segment is judged **lost** when three segments above it are SACKed
//! (RFC 6675's `IsLost` with DupThresh 3), when recovery starts (the
//! oldest one), or when the retransmission timer fires (all of them). Lost
//! segments go out again before any new data, oldest first (`NextSeg`).
//! With RACK (RFC 8985, Linux's default) a segment is also lost once one
//! sent after it has been delivered and a round trip has passed since it
//! went out, which finds holes near the tail and lost retransmissions.
//! Without SACK, each duplicate ACK stands for one segment that left the
//! network (`reno_sacked`), as Linux counts them.

use std::collections::VecDeque;
use std::time::Duration;

use super::event::RetransmitReason;

use super::seq::SeqNum;
use crate::time::SimTime;

/// SACKed segments above a hole that make it a loss.
pub(super) const DUP_THRESH: u32 = 3;

#[derive(Debug, Clone)]
pub(super) struct SentSeg {
    pub seq: SeqNum,
    pub len: usize,
    pub fin: bool,
    pub sent_at: SimTime,
    pub sacked: bool,
    /// Judged lost, and why; cleared when SACKed.
    pub lost: Option<RetransmitReason>,
    /// Sent again since it was judged lost, and not yet SACKed or ACKed.
    pub retrans: bool,
    /// Ever sent twice (Karn: its ACK gives no RTT sample).
    pub ever_retrans: bool,
}

impl SentSeg {
    pub fn end(&self) -> SeqNum {
        self.seq + (self.len + usize::from(self.fin))
    }
}

/// A segment known delivered, as RACK remembers it: when it was last
/// sent, where it ended, whether it was ever sent twice, and (once
/// accepted) the round trip it took.
#[derive(Debug, Clone, Copy)]
struct RackMark {
    sent_at: SimTime,
    end: SeqNum,
    resent: bool,
    rtt: Duration,
}

impl RackMark {
    /// True if `self` went out after a segment sent at `t` ending at `end`.
    fn sent_after(&self, t: SimTime, end: SeqNum) -> bool {
        self.sent_at > t || (self.sent_at == t && self.end > end)
    }
}

/// What a cumulative ACK took off the scoreboard.
#[derive(Debug, Default)]
pub(super) struct Acked {
    pub segs: u32,
    /// Of those, the ones not SACKed before: delivered just now (the rest
    /// were counted as delivered when their SACK came).
    pub delivered: u32,
    /// When the oldest segment acknowledged and not SACKed before was
    /// sent, if no segment acknowledged had been sent twice (Karn's rule).
    pub rtt_from: Option<SimTime>,
    /// When the newest segment acknowledged was sent, under the same rule
    /// (Linux's `ca_rtt_us` is measured from it; HyStart uses that).
    pub newest_sent: Option<SimTime>,
}

/// What SACK blocks newly marked.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Sacked {
    pub newly: u32,
    /// When the oldest of them that was sent only once went out (Linux's
    /// `first_sackt`, which its SACK RTT sample is measured from).
    pub rtt_from: Option<SimTime>,
}

#[derive(Debug, Default)]
pub(super) struct Scoreboard {
    segs: VecDeque<SentSeg>,
    pub sacked_out: u32,
    pub lost_out: u32,
    pub retrans_out: u32,
    /// Duplicate ACKs standing for SACKs when SACK is off.
    pub reno_sacked: u32,
    /// One past the highest SACKed number.
    pub high_sacked: Option<SeqNum>,
    /// RACK's mark: the most recently sent segment known delivered.
    rack: Option<RackMark>,
    /// The most recently sent segment this ACK delivered, for RACK.
    newest_delivered: Option<RackMark>,
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl Scoreboard {
    pub fn packets_out(&self) -> u32 {
        count(self.segs.len())
    }

    pub fn is_empty(&self) -> bool {
        self.segs.is_empty()
    }

    /// Segments believed to be in the network.
    pub fn pipe(&self) -> u32 {
        (self.packets_out() + self.retrans_out)
            .saturating_sub(self.sacked_out + self.lost_out + self.reno_sacked)
    }

    pub fn push(&mut self, seq: SeqNum, len: usize, fin: bool, now: SimTime) {
        self.segs.push_back(SentSeg {
            seq,
            len,
            fin,
            sent_at: now,
            sacked: false,
            lost: None,
            retrans: false,
            ever_retrans: false,
        });
    }

    pub fn get(&self, i: usize) -> Option<&SentSeg> {
        self.segs.get(i)
    }

    fn forget(&mut self, s: &SentSeg) {
        self.sacked_out -= u32::from(s.sacked);
        self.lost_out -= u32::from(s.lost.is_some());
        self.retrans_out -= u32::from(s.retrans);
    }

    /// Drops what `una` acknowledges.
    pub fn ack(&mut self, una: SeqNum) -> Acked {
        let mut acked = Acked::default();
        let mut karn_ok = true;
        while let Some(front) = self.segs.front() {
            if front.end() > una {
                if front.seq < una {
                    // Partly acknowledged (a window cut it): keep the rest.
                    let cut = usize::try_from(una - front.seq).unwrap_or(0);
                    let f = &mut self.segs[0];
                    f.len = f.len.saturating_sub(cut);
                    f.seq = una;
                }
                break;
            }
            let s = self.segs.pop_front().expect("front exists");
            self.forget(&s);
            Self::note_delivered(&mut self.newest_delivered, &s);
            karn_ok &= !s.ever_retrans;
            if !s.sacked {
                // As Linux's first_ackt/last_ackt: a segment SACKed before
                // gave its sample then.
                acked.rtt_from.get_or_insert(s.sent_at);
                acked.newest_sent = Some(s.sent_at);
            }
            acked.segs += 1;
            acked.delivered += u32::from(!s.sacked);
        }
        if !karn_ok {
            acked.rtt_from = None;
            acked.newest_sent = None;
        }
        if self.high_sacked.is_some_and(|h| h <= una) {
            self.high_sacked = None;
        }
        let extra = self.reno_sacked.min(acked.segs.saturating_sub(1));
        self.reno_sacked = (self.reno_sacked - extra).min(self.packets_out().saturating_sub(1));
        acked
    }

    /// Marks the segments inside the SACK blocks; returns how many were new.
    pub fn sack(&mut self, blocks: &[(SeqNum, SeqNum)]) -> Sacked {
        let mut newly = 0;
        let mut rtt_from: Option<SimTime> = None;
        for &(left, right) in blocks {
            let start = self.segs.partition_point(|s| s.seq < left);
            for i in start..self.segs.len() {
                let s = &mut self.segs[i];
                if s.end() > right {
                    break;
                }
                if s.sacked {
                    continue;
                }
                s.sacked = true;
                if !s.ever_retrans {
                    rtt_from = Some(rtt_from.map_or(s.sent_at, |t| t.min(s.sent_at)));
                }
                Self::note_delivered(&mut self.newest_delivered, s);
                let was_lost = s.lost.take().is_some();
                let was_retrans = std::mem::take(&mut s.retrans);
                self.sacked_out += 1;
                self.lost_out -= u32::from(was_lost);
                self.retrans_out -= u32::from(was_retrans);
                newly += 1;
                self.high_sacked = Some(self.high_sacked.map_or(right, |h| h.max(right)));
            }
        }
        Sacked { newly, rtt_from }
    }

    fn note_delivered(newest: &mut Option<RackMark>, s: &SentSeg) {
        if newest.is_none_or(|n| !n.sent_after(s.sent_at, s.end())) {
            *newest = Some(RackMark {
                sent_at: s.sent_at,
                end: s.end(),
                resent: s.ever_retrans,
                rtt: Duration::ZERO,
            });
        }
    }

    /// RACK's step after an ACK: the newest segment it delivered becomes
    /// the mark, unless it was sent twice and came back faster than the
    /// minimum RTT (the ACK may be for the first copy).
    pub fn rack_advance(&mut self, now: SimTime, min_rtt: Option<Duration>) {
        let Some(mut n) = self.newest_delivered.take() else {
            return;
        };
        n.rtt = now.since(n.sent_at);
        if n.resent && min_rtt.is_some_and(|m| n.rtt < m) {
            return;
        }
        if self.rack.is_none_or(|r| n.sent_after(r.sent_at, r.end)) {
            self.rack = Some(n);
        }
    }

    /// RACK's loss detection: every segment not SACKed, sent before the
    /// mark, and older than the mark's RTT plus `reo_wnd`, is lost (a
    /// retransmission as well: it goes out again). Returns how many were
    /// newly marked, and how long until the next one would be due.
    pub fn rack_detect(&mut self, now: SimTime, reo_wnd: Duration) -> (u32, Option<Duration>) {
        let Some(r) = self.rack else {
            return (0, None);
        };
        let (mut newly, mut wait) = (0, None::<Duration>);
        for s in self.segs.iter_mut() {
            if !r.sent_after(s.sent_at, s.end()) {
                // First sends go out in sequence order, and a resend comes
                // later still: past a segment sent once, after the mark,
                // every segment went out after the mark too.
                if !s.ever_retrans {
                    break;
                }
                continue;
            }
            let waiting = s.lost.is_some() && !s.retrans;
            if s.sacked || waiting {
                continue;
            }
            let due = s.sent_at + r.rtt + reo_wnd;
            if due > now {
                let left = due.since(now);
                wait = Some(wait.map_or(left, |w| w.max(left)));
                continue;
            }
            if std::mem::take(&mut s.retrans) {
                self.retrans_out -= 1;
            }
            if s.lost.is_none() {
                self.lost_out += 1;
            }
            s.lost = Some(RetransmitReason::Rack);
            newly += 1;
        }
        (newly, wait)
    }

    /// RFC 6675 `IsLost`: marks every segment with `DUP_THRESH` SACKed
    /// segments above it. Returns how many were newly marked.
    pub fn mark_lost_by_sack(&mut self) -> u32 {
        let mut above = 0;
        let mut newly = 0;
        for s in self.segs.iter_mut().rev() {
            if s.sacked {
                above += 1;
            } else if above >= DUP_THRESH && s.lost.is_none() && !s.retrans {
                s.lost = Some(RetransmitReason::SackHole);
                newly += 1;
            }
        }
        self.lost_out += newly;
        newly
    }

    /// Marks the oldest segment not SACKed as lost, for `why`, unless it
    /// is marked or was sent again already.
    pub fn mark_head_lost(&mut self, why: RetransmitReason) {
        if let Some(s) = self.segs.iter_mut().find(|s| !s.sacked) {
            if s.lost.is_none() && !s.retrans {
                s.lost = Some(why);
                self.lost_out += 1;
            }
        }
    }

    /// The retransmission timer fired: everything not SACKed is lost.
    pub fn mark_all_lost(&mut self) {
        self.reno_sacked = 0;
        self.retrans_out = 0;
        self.lost_out = 0;
        for s in self.segs.iter_mut().filter(|s| !s.sacked) {
            s.retrans = false;
            s.lost = Some(RetransmitReason::Rto);
            self.lost_out += 1;
        }
    }

    /// The oldest segment judged lost and not yet sent again.
    pub fn next_lost(&self) -> Option<usize> {
        // Every segment sent again is also marked lost: none is waiting
        // when the two counts agree.
        if self.lost_out <= self.retrans_out {
            return None;
        }
        self.segs
            .iter()
            .position(|s| s.lost.is_some() && !s.retrans && !s.sacked)
    }

    /// RFC 6675's rescue: the highest segment not SACKed and not yet sent
    /// again, if it lies below a SACKed one.
    pub fn rescue_candidate(&self) -> Option<usize> {
        let high = self.high_sacked?;
        let i = self
            .segs
            .iter()
            .rposition(|s| !s.sacked && !s.retrans && s.end() <= high)?;
        Some(i)
    }

    /// Records that segment `i` went out again.
    pub fn retransmitted(&mut self, i: usize, now: SimTime) {
        let s = &mut self.segs[i];
        if !s.retrans {
            s.retrans = true;
            self.retrans_out += 1;
        }
        s.ever_retrans = true;
        s.sent_at = now;
        if s.lost.is_none() {
            // A probe or rescue: count it as lost and resent, so pipe
            // stays right when its ACK comes.
            s.lost = Some(RetransmitReason::TailLossProbe);
            self.lost_out += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: SimTime = SimTime::ZERO;

    fn board(n: usize) -> Scoreboard {
        let mut b = Scoreboard::default();
        for i in 0..n {
            b.push(SeqNum(1 + 100 * i as u32), 100, false, T0);
        }
        b
    }

    #[test]
    fn rack_finds_a_hole_near_the_tail_once_a_round_trip_has_passed() {
        let us = |n: u64| SimTime::ZERO + Duration::from_micros(n);
        let mut b = Scoreboard::default();
        for i in 0..3u32 {
            b.push(SeqNum(1 + 100 * i), 100, false, us(1000 * u64::from(i)));
        }
        // Segment 2 (sent at 2 ms) is SACKed at 12 ms; 0 and 1 never came.
        b.sack(&[(SeqNum(201), SeqNum(301))]);
        assert_eq!(b.mark_lost_by_sack(), 0, "one SACKed: RFC 6675 cannot tell");
        b.rack_advance(us(12_000), None);
        let reo_wnd = Duration::from_micros(1500);
        let (lost, wait) = b.rack_detect(us(12_000), reo_wnd);
        assert_eq!(lost, 1, "segment 0: sent at 0, due at 0 + 10 + 1.5 ms");
        assert_eq!(
            wait,
            Some(Duration::from_micros(500)),
            "segment 1 is due at 12.5 ms"
        );
        assert_eq!(b.rack_detect(us(12_500), reo_wnd), (1, None));
        assert_eq!((b.lost_out, b.next_lost()), (2, Some(0)));
    }

    #[test]
    fn rack_finds_a_lost_retransmission() {
        let ms = SimTime::from_millis;
        let mut b = board(2);
        b.sack(&[(SeqNum(101), SeqNum(201))]);
        b.rack_advance(ms(10), None);
        assert_eq!(b.rack_detect(ms(10), Duration::ZERO).0, 1);
        b.retransmitted(0, ms(10));
        b.push(SeqNum(201), 100, false, ms(11));
        assert_eq!(b.next_lost(), None, "resent: nothing waits");
        // The new segment is SACKed at 21 ms; the resend of 0 is not.
        b.sack(&[(SeqNum(201), SeqNum(301))]);
        b.rack_advance(ms(21), None);
        assert_eq!(b.rack_detect(ms(21), Duration::ZERO), (1, None));
        assert_eq!(b.next_lost(), Some(0), "lost again: it goes out again");
    }

    #[test]
    fn three_sacked_segments_above_a_hole_make_it_lost() {
        let mut b = board(6);
        assert_eq!(b.sack(&[(SeqNum(201), SeqNum(401))]).newly, 2);
        assert_eq!(b.mark_lost_by_sack(), 0, "two above: not yet");
        assert_eq!(b.sack(&[(SeqNum(201), SeqNum(501))]).newly, 1);
        assert_eq!(b.mark_lost_by_sack(), 2, "segments 0 and 1 are lost");
        assert_eq!(b.next_lost(), Some(0));
        assert_eq!(b.pipe(), 6 - 3 - 2);
        b.retransmitted(0, T0);
        assert_eq!(b.pipe(), 2);
        assert_eq!(b.next_lost(), Some(1));
    }

    #[test]
    fn sacks_time_a_sample_from_the_oldest_segment_sent_once() {
        let ms = SimTime::from_millis;
        let mut b = Scoreboard::default();
        for i in 0..5u32 {
            b.push(SeqNum(1 + 100 * i), 100, false, ms(u64::from(i)));
        }
        b.mark_head_lost(RetransmitReason::DupAcks);
        b.retransmitted(0, ms(20));
        // Segment 0 (resent) and 2–3 arrive: 0 gives no sample (Karn), so
        // the sample runs from segment 2, sent at 2 ms.
        let s = b.sack(&[(SeqNum(1), SeqNum(101)), (SeqNum(201), SeqNum(401))]);
        assert_eq!((s.newly, s.rtt_from), (3, Some(ms(2))));
        assert_eq!(
            b.sack(&[(SeqNum(201), SeqNum(401))]),
            Sacked::default(),
            "nothing new"
        );
        // A cumulative ACK over SACKed segments takes no sample from them.
        let a = b.ack(SeqNum(401));
        assert_eq!((a.segs, a.delivered, a.rtt_from), (4, 1, None));
        let a = b.ack(SeqNum(501));
        assert_eq!(a.rtt_from, Some(ms(4)));
    }

    #[test]
    fn a_cumulative_ack_drops_segments_and_obeys_karn() {
        let mut b = board(4);
        let a = b.ack(SeqNum(201));
        assert_eq!((a.segs, a.rtt_from), (2, Some(T0)));
        b.mark_head_lost(RetransmitReason::DupAcks);
        b.retransmitted(0, SimTime::from_millis(5));
        let a = b.ack(SeqNum(401));
        assert_eq!(
            (a.segs, a.rtt_from),
            (2, None),
            "a resent segment: no sample"
        );
        assert_eq!((b.lost_out, b.retrans_out, b.packets_out()), (0, 0, 0));
    }

    #[test]
    fn a_timeout_marks_all_but_the_sacked() {
        let mut b = board(5);
        b.sack(&[(SeqNum(301), SeqNum(401))]);
        b.mark_all_lost();
        assert_eq!((b.lost_out, b.sacked_out, b.pipe()), (4, 1, 0));
        assert_eq!(
            b.rescue_candidate(),
            Some(2),
            "the hole just below the SACK"
        );
    }
}
