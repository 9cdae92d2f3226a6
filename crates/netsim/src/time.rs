//! Virtual time: integer nanoseconds since the simulation started.
//!
//! The simulator never reads a clock. Every event happens at a [`SimTime`],
//! and integer nanoseconds make every sum exact, so a run is the same on
//! every machine.

use std::fmt;
use std::ops::{Add, Sub};
use std::time::Duration;

/// A point in virtual time, in nanoseconds since the start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct SimTime(u64);

impl SimTime {
    pub const ZERO: SimTime = SimTime(0);

    pub const fn from_nanos(ns: u64) -> Self {
        SimTime(ns)
    }

    pub const fn from_micros(us: u64) -> Self {
        SimTime(us * 1_000)
    }

    pub const fn from_millis(ms: u64) -> Self {
        SimTime(ms * 1_000_000)
    }

    pub const fn as_nanos(self) -> u64 {
        self.0
    }

    /// The same instant as a `Duration` since the start, for the protocol
    /// sessions, which take time as a `Duration`.
    pub const fn as_duration(self) -> Duration {
        Duration::from_nanos(self.0)
    }

    /// The time `d` later (saturating at the end of time, 584 years on).
    pub fn after(self, d: Duration) -> SimTime {
        let ns = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        SimTime(self.0.saturating_add(ns))
    }

    /// How long after `earlier` this is (zero if it is not later).
    pub fn since(self, earlier: SimTime) -> Duration {
        Duration::from_nanos(self.0.saturating_sub(earlier.0))
    }
}

impl Add<Duration> for SimTime {
    type Output = SimTime;
    fn add(self, d: Duration) -> SimTime {
        self.after(d)
    }
}

impl Sub for SimTime {
    type Output = Duration;
    fn sub(self, earlier: SimTime) -> Duration {
        self.since(earlier)
    }
}

impl From<Duration> for SimTime {
    fn from(d: Duration) -> SimTime {
        SimTime::ZERO.after(d)
    }
}

impl fmt::Display for SimTime {
    /// Seconds with microsecond digits, as a trace table shows them:
    /// `12.345678`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let us = self.0 / 1_000;
        write!(f, "{}.{:06}", us / 1_000_000, us % 1_000_000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_is_exact_and_saturates() {
        let t = SimTime::from_millis(10) + Duration::from_micros(5);
        assert_eq!(t.as_nanos(), 10_005_000);
        assert_eq!(t - SimTime::from_millis(10), Duration::from_micros(5));
        assert_eq!(SimTime::ZERO - t, Duration::ZERO);
        assert_eq!(
            SimTime::from_nanos(u64::MAX)
                .after(Duration::from_secs(1))
                .as_nanos(),
            u64::MAX
        );
        assert_eq!(t.as_duration(), Duration::from_nanos(10_005_000));
    }

    #[test]
    fn displays_seconds_with_microseconds() {
        assert_eq!(SimTime::from_micros(12_345_678).to_string(), "12.345678");
        assert_eq!(SimTime::ZERO.to_string(), "0.000000");
    }
}
