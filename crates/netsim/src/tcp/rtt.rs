//! The round-trip time estimate and the retransmission timeout it gives
//! (RFC 6298), with Linux's numbers.
//!
//! Each sample `R` (the time from sending a segment to its ACK) moves two
//! averages:
//!
//! ```text
//! first sample:  SRTT = R            RTTVAR = R / 2
//! later:         RTTVAR = 3/4 RTTVAR + 1/4 |SRTT - R|
//!                SRTT   = 7/8 SRTT   + 1/8 R
//! RTO = SRTT + max(4 × RTTVAR, rto_min)       (before any sample: 1 s)
//! ```
//!
//! RFC 6298 writes `max(G, 4 × RTTVAR)` with G the clock granularity and
//! then a floor of 1 s on the whole RTO; Linux instead adds its `rto_min`
//! (200 ms) to the variance term, so an RTO on a LAN is about 200 ms plus
//! the RTT. That is the rule here.
//!
//! **Linux's variation term** (`linux`, as `tcp_rtt_estimator`): the
//! deviation is kept as above (`mdev`), but the RTO adds the largest
//! deviation seen over the last round trip (`mdev_max`, floored at
//! `rto_min`) rather than the current one, and that term (`rttvar`) comes
//! down only a quarter of the way to the new round's largest each round.
//! A falling RTT moves the deviation an eighth as much as a rising one. So
//! while a queue fills and every sample is later than the last, the RTO
//! keeps the margin of the steepest rise, where RFC 6298's would shrink
//! back within a few samples:
//!
//! ```text
//! first sample:  SRTT = R   mdev = R / 2   rttvar = max(4 × mdev, rto_min)
//! later:         err = R − SRTT;  SRTT = 7/8 SRTT + 1/8 R
//!                4mdev += |err| − mdev        (an eighth of that if R < SRTT
//!                                             and it would grow)
//!                mdev_max = max(mdev_max, 4mdev); rttvar = max(rttvar, mdev_max)
//! each round:    rttvar −= (rttvar − mdev_max) / 4 if above;
//!                mdev_max = rto_min
//! RTO = SRTT + rttvar
//! ```
//!
//! **Karn's rule**: a segment that was sent twice gives no sample, since
//! its ACK may answer either copy. The caller keeps it (`tcp/recovery.rs`).
//! Arithmetic is in whole microseconds, so results are exact and the same
//! on every machine.

use std::time::Duration;

use super::seq::SeqNum;

#[derive(Debug, Clone)]
pub(super) struct RttEstimator {
    /// Smoothed RTT, µs; `None` before the first sample.
    srtt: Option<u64>,
    /// RTT variation, µs: RFC 6298's RTTVAR, or with `linux` the term the
    /// RTO adds (Linux's `rttvar_us`, already four deviations and floored).
    rttvar: u64,
    /// Linux's rule (`tcp_rtt_estimator`) instead of RFC 6298's.
    linux: bool,
    /// With `linux`: four times the mean deviation (`mdev_us`).
    mdev4: u64,
    /// With `linux`: the largest `mdev4` of this round (`mdev_max_us`).
    mdev_max: u64,
    /// With `linux`: the round ends when SND.UNA passes this (`rtt_seq`).
    round_end: SeqNum,
    /// The smallest sample seen, µs (CUBIC and the receive autotuning use it).
    min_rtt: Option<u64>,
    rto_min: u64,
    initial_rto: Duration,
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

impl RttEstimator {
    /// RFC 6298's estimator.
    pub fn new(initial_rto: Duration, rto_min: Duration) -> Self {
        RttEstimator {
            srtt: None,
            rttvar: 0,
            linux: false,
            mdev4: 0,
            mdev_max: 0,
            round_end: SeqNum(0),
            min_rtt: None,
            rto_min: micros(rto_min),
            initial_rto,
        }
    }

    /// Linux's estimator (see the module's text).
    pub fn linux(initial_rto: Duration, rto_min: Duration) -> Self {
        RttEstimator {
            linux: true,
            ..Self::new(initial_rto, rto_min)
        }
    }

    /// Takes one RTT sample. `una` and `nxt` are SND.UNA and SND.NXT after
    /// the ACK that gave it (Linux's estimator counts rounds by them).
    pub fn sample(&mut self, r: Duration, una: SeqNum, nxt: SeqNum) {
        let r = micros(r).max(1);
        self.min_rtt = Some(self.min_rtt.map_or(r, |m| m.min(r)));
        if self.linux {
            self.sample_linux(r, una, nxt);
            return;
        }
        match self.srtt {
            None => {
                self.srtt = Some(r);
                self.rttvar = r / 2;
            }
            Some(srtt) => {
                self.rttvar = (3 * self.rttvar + srtt.abs_diff(r)) / 4;
                self.srtt = Some((7 * srtt + r) / 8);
            }
        }
    }

    fn sample_linux(&mut self, r: u64, una: SeqNum, nxt: SeqNum) {
        let Some(srtt) = self.srtt else {
            self.srtt = Some(r);
            self.mdev4 = 2 * r;
            self.rttvar = self.mdev4.max(self.rto_min);
            self.mdev_max = self.rttvar;
            self.round_end = nxt;
            return;
        };
        self.srtt = Some((7 * srtt + r) / 8);
        let quarter = self.mdev4 / 4;
        if r < srtt {
            // A falling RTT: grow the deviation by an eighth only.
            let err = srtt - r;
            if err > quarter {
                self.mdev4 += (err - quarter) / 8;
            } else {
                self.mdev4 -= quarter - err;
            }
        } else {
            self.mdev4 = self.mdev4 - quarter + (r - srtt);
        }
        if self.mdev4 > self.mdev_max {
            self.mdev_max = self.mdev4;
            self.rttvar = self.rttvar.max(self.mdev_max);
        }
        if una > self.round_end {
            if self.mdev_max < self.rttvar {
                self.rttvar -= (self.rttvar - self.mdev_max) / 4;
            }
            self.round_end = nxt;
            self.mdev_max = self.rto_min;
        }
    }

    pub fn srtt(&self) -> Option<Duration> {
        self.srtt.map(Duration::from_micros)
    }

    pub fn min_rtt(&self) -> Option<Duration> {
        self.min_rtt.map(Duration::from_micros)
    }

    /// The RTO before backoff.
    pub fn rto(&self) -> Duration {
        match self.srtt {
            None => self.initial_rto,
            Some(srtt) if self.linux => Duration::from_micros(srtt + self.rttvar),
            Some(srtt) => Duration::from_micros(srtt + (4 * self.rttvar).max(self.rto_min)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn before_any_sample_the_rto_is_one_second() {
        let e = RttEstimator::new(Duration::from_secs(1), 200 * MS);
        assert_eq!(e.rto(), Duration::from_secs(1));
        assert_eq!(e.srtt(), None);
    }

    #[test]
    fn the_first_sample_sets_srtt_and_half_of_it_as_variation() {
        // RFC 6298 2.2: SRTT = R, RTTVAR = R/2, RTO = SRTT + max(G, 4 RTTVAR).
        let mut e = RttEstimator::new(Duration::from_secs(1), Duration::ZERO);
        e.sample(100 * MS, SeqNum(0), SeqNum(0));
        assert_eq!(e.srtt(), Some(100 * MS));
        assert_eq!(e.rto(), 300 * MS, "100 + 4 × 50");
    }

    #[test]
    fn later_samples_move_the_averages_by_an_eighth_and_a_quarter() {
        // RFC 6298 2.3 with R' = 200 ms after R = 100 ms:
        // RTTVAR = 3/4 × 50 + 1/4 × |100 − 200| = 62.5
        // SRTT   = 7/8 × 100 + 1/8 × 200       = 112.5
        let mut e = RttEstimator::new(Duration::from_secs(1), Duration::ZERO);
        e.sample(100 * MS, SeqNum(0), SeqNum(0));
        e.sample(200 * MS, SeqNum(0), SeqNum(0));
        assert_eq!(e.srtt(), Some(Duration::from_micros(112_500)));
        assert_eq!(e.rto(), Duration::from_micros(112_500 + 250_000));
    }

    const US: Duration = Duration::from_micros(1);

    #[test]
    fn linux_keeps_the_rounds_largest_deviation_where_the_rfc_lets_it_fall() {
        let mut linux = RttEstimator::linux(Duration::from_secs(1), 200 * MS);
        let mut rfc = RttEstimator::new(Duration::from_secs(1), 200 * MS);
        let round = (SeqNum(0), SeqNum(1000));
        // First sample: mdev = 50 ms, rttvar = max(4 × 50, 200) ms.
        for e in [&mut linux, &mut rfc] {
            e.sample(100 * MS, round.0, round.1);
        }
        assert_eq!(linux.rto(), 300 * MS);
        assert_eq!(rfc.rto(), 300 * MS);
        // A queue fills: 400 ms. err = 300; 4mdev = 200 − 50 + 300 = 450;
        // SRTT = (7 × 100 + 400) / 8 = 137.5 ms. Both say 137.5 + 450.
        for e in [&mut linux, &mut rfc] {
            e.sample(400 * MS, round.0, round.1);
        }
        assert_eq!(linux.rto(), 587_500 * US);
        assert_eq!(rfc.rto(), 587_500 * US);
        // A sample equal to SRTT: the RFC's variation falls by a quarter
        // (4 × 84.375 = 337.5 ms); Linux keeps the round's largest, 450.
        for e in [&mut linux, &mut rfc] {
            e.sample(137_500 * US, round.0, round.1);
        }
        assert_eq!(rfc.rto(), (137_500 + 337_500) * US);
        assert_eq!(linux.rto(), (137_500 + 450_000) * US);
        // SND.UNA passes the round's end: rttvar (450) is not above the
        // round's largest (450), so it stays; the next round starts from
        // rto_min.
        linux.sample(137_500 * US, SeqNum(1001), SeqNum(2000));
        assert_eq!(linux.rto(), (137_500 + 450_000) * US);
        // In the next round the deviation stays under rto_min, so that is
        // the round's largest: at its end rttvar comes a quarter of the
        // way down to it, 450 − (450 − 200) / 4 = 387.5 ms.
        linux.sample(137_500 * US, SeqNum(1500), SeqNum(2000));
        linux.sample(137_500 * US, SeqNum(2001), SeqNum(3000));
        assert_eq!(linux.rto(), (137_500 + 387_500) * US);
    }

    #[test]
    fn a_falling_rtt_raises_linuxs_rto_an_eighth_as_much_as_the_rfcs() {
        let mut linux = RttEstimator::linux(Duration::from_secs(1), Duration::ZERO);
        let mut rfc = RttEstimator::new(Duration::from_secs(1), Duration::ZERO);
        for r in [400 * MS, 100 * MS, 10 * MS] {
            linux.sample(r, SeqNum(0), SeqNum(1));
            rfc.sample(r, SeqNum(0), SeqNum(1));
        }
        // SRTT: 400, then 362.5, then 318.437 ms (both rules).
        // Linux, 4mdev: 800; |err| 300 exceeds a quarter of it (200) by
        // 100, an eighth of which is added: 812.5; |err| 352.5 exceeds
        // 203.125 by 149.375: + 18.671 = 831.171 ms.
        assert_eq!(linux.rto(), (318_437 + 831_171) * US);
        // RFC 6298, RTTVAR: 200, (3 × 200 + 300) / 4 = 225, then
        // (3 × 225 + 352.5) / 4 = 256.875; RTO = SRTT + 4 × 256.875.
        assert_eq!(rfc.rto(), (318_437 + 1_027_500) * US);
    }

    #[test]
    fn linux_adds_its_200_ms_floor_to_the_variation() {
        let mut e = RttEstimator::new(Duration::from_secs(1), 200 * MS);
        e.sample(2 * MS, SeqNum(0), SeqNum(0));
        assert_eq!(e.rto(), 202 * MS, "2 ms + max(4 ms, 200 ms)");
        for _ in 0..50 {
            e.sample(2 * MS, SeqNum(0), SeqNum(0));
        }
        assert_eq!(e.rto(), 202 * MS);
        assert_eq!(e.min_rtt(), Some(2 * MS));
    }
}
