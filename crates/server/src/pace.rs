//! `streamlab server --rate`: writes paced to a bit rate, so a download on
//! loopback takes seconds, as it would on a real link, and a student can
//! pause, list or watch the capture while the song is still arriving.
//!
//! The pacer lets a write go when the bytes before it have "left" at the
//! rate, and cuts each write to a slice of about 20 ms of data. This is
//! pacing by the application, above TCP: the kernel still sends each slice
//! as fast as the link allows, so a capture shows bursts every 20 ms, not
//! a smooth line (as a real bottleneck would give).

use std::time::{Duration, Instant};

/// How much time one write's slice covers.
pub const SLICE: Duration = Duration::from_millis(20);
/// The smallest and largest slice, in bytes.
const MIN_SLICE: usize = 1_024;
const MAX_SLICE: usize = 64 * 1_024;

/// One connection's pacing state.
#[derive(Debug, Clone)]
pub struct Pacer {
    /// Bits per second.
    rate: u64,
    /// When the next write may go.
    next: Instant,
}

impl Pacer {
    /// A pacer at `rate` bits per second (at least 1), free at `now`.
    pub fn new(rate: u64, now: Instant) -> Pacer {
        Pacer {
            rate: rate.max(1),
            next: now,
        }
    }

    /// The most bytes the next write may carry.
    pub fn slice(&self) -> usize {
        let bytes = self.rate as u128 * SLICE.as_nanos() / 8 / 1_000_000_000;
        usize::try_from(bytes)
            .unwrap_or(MAX_SLICE)
            .clamp(MIN_SLICE, MAX_SLICE)
    }

    /// How long to wait, from `now`, before the next write.
    pub fn wait(&self, now: Instant) -> Duration {
        self.next.saturating_duration_since(now)
    }

    /// `n` bytes were written at `now`: the next write waits until they
    /// have left at the rate.
    pub fn sent(&mut self, now: Instant, n: usize) {
        let nanos = n as u128 * 8 * 1_000_000_000 / self.rate as u128;
        let took = Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX));
        self.next = self.next.max(now) + took;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_megabit_sends_2500_bytes_per_20_ms_slice() {
        let t0 = Instant::now();
        let mut p = Pacer::new(1_000_000, t0);
        assert_eq!(p.slice(), 2_500);
        assert_eq!(p.wait(t0), Duration::ZERO, "the first write goes at once");
        p.sent(t0, 2_500);
        assert_eq!(p.wait(t0), Duration::from_millis(20));
        // A write late by 5 ms is not made up for by a burst.
        let late = t0 + Duration::from_millis(25);
        assert_eq!(p.wait(late), Duration::ZERO);
        p.sent(late, 1_250);
        assert_eq!(p.wait(late), Duration::from_millis(10));
    }

    #[test]
    fn slices_stay_between_one_and_sixty_four_kib() {
        let t0 = Instant::now();
        assert_eq!(Pacer::new(1_000, t0).slice(), 1_024);
        assert_eq!(Pacer::new(100_000_000_000, t0).slice(), 65_536);
        assert_eq!(Pacer::new(0, t0).slice(), 1_024, "a zero rate is one bit/s");
    }

    #[test]
    fn a_whole_song_takes_its_size_over_the_rate() {
        let t0 = Instant::now();
        let mut p = Pacer::new(8_000_000, t0);
        let mut now = t0;
        let mut left = 1_000_000usize;
        while left > 0 {
            now += p.wait(now);
            let n = left.min(p.slice());
            p.sent(now, n);
            left -= n;
        }
        // 8 Mbit at 8 Mbit/s: the last slice goes out just before 1 s.
        let done = now + p.wait(now);
        assert_eq!(done - t0, Duration::from_secs(1));
    }
}
