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
//! **Karn's rule**: a segment that was sent twice gives no sample, since
//! its ACK may answer either copy. The caller keeps it (`tcp/recovery.rs`).
//! Arithmetic is in whole microseconds, so results are exact and the same
//! on every machine.

use std::time::Duration;

#[derive(Debug, Clone)]
pub(super) struct RttEstimator {
    /// Smoothed RTT, µs; `None` before the first sample.
    srtt: Option<u64>,
    /// RTT variation, µs.
    rttvar: u64,
    /// The smallest sample seen, µs (CUBIC and the receive autotuning use it).
    min_rtt: Option<u64>,
    rto_min: u64,
    initial_rto: Duration,
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

impl RttEstimator {
    pub fn new(initial_rto: Duration, rto_min: Duration) -> Self {
        RttEstimator {
            srtt: None,
            rttvar: 0,
            min_rtt: None,
            rto_min: micros(rto_min),
            initial_rto,
        }
    }

    /// Takes one RTT sample.
    pub fn sample(&mut self, r: Duration) {
        let r = micros(r).max(1);
        self.min_rtt = Some(self.min_rtt.map_or(r, |m| m.min(r)));
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
        e.sample(100 * MS);
        assert_eq!(e.srtt(), Some(100 * MS));
        assert_eq!(e.rto(), 300 * MS, "100 + 4 × 50");
    }

    #[test]
    fn later_samples_move_the_averages_by_an_eighth_and_a_quarter() {
        // RFC 6298 2.3 with R' = 200 ms after R = 100 ms:
        // RTTVAR = 3/4 × 50 + 1/4 × |100 − 200| = 62.5
        // SRTT   = 7/8 × 100 + 1/8 × 200       = 112.5
        let mut e = RttEstimator::new(Duration::from_secs(1), Duration::ZERO);
        e.sample(100 * MS);
        e.sample(200 * MS);
        assert_eq!(e.srtt(), Some(Duration::from_micros(112_500)));
        assert_eq!(e.rto(), Duration::from_micros(112_500 + 250_000));
    }

    #[test]
    fn linux_adds_its_200_ms_floor_to_the_variation() {
        let mut e = RttEstimator::new(Duration::from_secs(1), 200 * MS);
        e.sample(2 * MS);
        assert_eq!(e.rto(), 202 * MS, "2 ms + max(4 ms, 200 ms)");
        for _ in 0..50 {
            e.sample(2 * MS);
        }
        assert_eq!(e.rto(), 202 * MS);
        assert_eq!(e.min_rtt(), Some(2 * MS));
    }
}
