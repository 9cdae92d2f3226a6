//! One direction of a simulated link: how long a frame takes to cross it,
//! and whether it arrives at all.
//!
//! A frame first waits for the link to be free (frames leave one at a time,
//! in order), then takes `bits / bandwidth` to serialise, then `latency`
//! plus a random share of `jitter` to propagate. Frames that would wait
//! longer than the queue allows are dropped at the tail, as a router would.
//! Random loss, duplication and reordering are drawn from the run's one
//! [`SimRng`], so a seed decides every one of them.
//!
//! ```text
//!  now      leaves           arrives
//!   |--wait--|--serialise--|--latency + jitter--|
//! ```

use std::time::Duration;

use crate::rng::SimRng;
use crate::time::SimTime;

/// The properties of one direction of a link.
#[derive(Debug, Clone, PartialEq)]
pub struct LinkConfig {
    /// Propagation delay.
    pub latency: Duration,
    /// Up to this much extra delay, uniformly drawn per frame. Frames may
    /// then overtake each other, as on real paths.
    pub jitter: Duration,
    /// Bits per second; `None` serialises instantly.
    pub bandwidth: Option<u64>,
    /// The longest a frame may wait for the link before it is dropped.
    pub queue_limit: Duration,
    /// Probability that a frame is lost.
    pub loss: f64,
    /// Probability that a frame arrives twice.
    pub duplicate: f64,
    /// Probability that a frame is held back by `reorder_delay`.
    pub reorder: f64,
    pub reorder_delay: Duration,
}

impl Default for LinkConfig {
    /// A quiet LAN: 1 ms, 100 Mbit/s, nothing lost.
    fn default() -> Self {
        LinkConfig {
            latency: Duration::from_millis(1),
            jitter: Duration::ZERO,
            bandwidth: Some(100_000_000),
            queue_limit: Duration::from_millis(200),
            loss: 0.0,
            duplicate: 0.0,
            reorder: 0.0,
            reorder_delay: Duration::from_millis(5),
        }
    }
}

/// Why a frame did not arrive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DropReason {
    /// Random loss (`loss`).
    Lost,
    /// The queue in front of the link was full.
    QueueFull,
    /// A fault rule said so (its description).
    Rule(String),
}

/// What became of one frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fate {
    /// It arrives at these times (twice when duplicated).
    Arrives(Vec<SimTime>),
    Dropped(DropReason),
}

/// One direction of a link, with its queue state.
#[derive(Debug, Clone)]
pub struct Link {
    config: LinkConfig,
    /// When the last queued frame finishes leaving.
    free_at: SimTime,
}

/// Each direction's own random draws for a run with `seed`: uplink
/// (client to server) first, then downlink. A link draws only for the
/// frames it carries, so what the client sends never moves which of the
/// server's frames are lost: with the same seed and link, the server's
/// k-th frame meets the same fate in the simulator and in the kernel
/// testbed's emulator, which both take their draws from here.
pub fn direction_rngs(seed: u64) -> [SimRng; 2] {
    let mut seeds = SimRng::new(seed);
    let up = SimRng::new(seeds.next_u64());
    let down = SimRng::new(seeds.next_u64());
    [up, down]
}

impl Link {
    pub fn new(config: LinkConfig) -> Self {
        Link {
            config,
            free_at: SimTime::ZERO,
        }
    }

    pub fn config(&self) -> &LinkConfig {
        &self.config
    }

    /// Sends a frame of `len` bytes at `now`; draws from `rng` in a fixed
    /// order (loss, jitter, reorder, duplicate) so runs repeat exactly.
    pub fn transmit(&mut self, now: SimTime, len: usize, rng: &mut SimRng) -> Fate {
        let start = self.free_at.max(now);
        if start.since(now) > self.config.queue_limit {
            return Fate::Dropped(DropReason::QueueFull);
        }
        let leaves = start + self.serialisation(len);
        self.free_at = leaves;
        // The frame used the link even if it is lost on the way.
        if rng.chance(self.config.loss) {
            return Fate::Dropped(DropReason::Lost);
        }
        let mut arrives = leaves + self.config.latency + self.draw_jitter(rng);
        if rng.chance(self.config.reorder) {
            arrives = arrives + self.config.reorder_delay;
        }
        let mut times = vec![arrives];
        if rng.chance(self.config.duplicate) {
            times.push(arrives + self.draw_jitter(rng) + Duration::from_micros(1));
        }
        Fate::Arrives(times)
    }

    /// How long `len` bytes take to put on the wire.
    pub fn serialisation(&self, len: usize) -> Duration {
        match self.config.bandwidth {
            Some(bps) if bps > 0 => {
                let ns = (len as u128 * 8 * 1_000_000_000) / u128::from(bps);
                Duration::from_nanos(u64::try_from(ns).unwrap_or(u64::MAX))
            }
            _ => Duration::ZERO,
        }
    }

    fn draw_jitter(&self, rng: &mut SimRng) -> Duration {
        let max = u64::try_from(self.config.jitter.as_nanos()).unwrap_or(u64::MAX);
        Duration::from_nanos(rng.below(max.saturating_add(1)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> SimTime {
        SimTime::from_millis(n)
    }

    #[test]
    fn frames_queue_serialise_and_propagate() {
        // 8 Mbit/s: 1000 bytes take 1 ms to leave; 10 ms to cross.
        let config = LinkConfig {
            latency: Duration::from_millis(10),
            bandwidth: Some(8_000_000),
            ..LinkConfig::default()
        };
        let mut link = Link::new(config);
        let mut rng = SimRng::new(1);
        assert_eq!(
            link.transmit(ms(0), 1000, &mut rng),
            Fate::Arrives(vec![ms(11)])
        );
        // Sent at the same time, the second waits for the first.
        assert_eq!(
            link.transmit(ms(0), 1000, &mut rng),
            Fate::Arrives(vec![ms(12)])
        );
        // Later, the link is free again.
        assert_eq!(
            link.transmit(ms(50), 1000, &mut rng),
            Fate::Arrives(vec![ms(61)])
        );
    }

    #[test]
    fn a_full_queue_drops_at_the_tail() {
        let config = LinkConfig {
            bandwidth: Some(8_000_000), // 1 ms per 1000 bytes
            queue_limit: Duration::from_millis(3),
            ..LinkConfig::default()
        };
        let mut link = Link::new(config);
        let mut rng = SimRng::new(1);
        let fates: Vec<Fate> = (0..6)
            .map(|_| link.transmit(ms(0), 1000, &mut rng))
            .collect();
        let dropped = fates
            .iter()
            .filter(|f| **f == Fate::Dropped(DropReason::QueueFull))
            .count();
        assert_eq!(dropped, 2, "{fates:?}");
    }

    #[test]
    fn loss_and_duplication_follow_their_odds_and_the_seed() {
        let config = LinkConfig {
            loss: 0.1,
            duplicate: 0.05,
            jitter: Duration::from_millis(2),
            ..LinkConfig::default()
        };
        let run = |seed| {
            let mut link = Link::new(config.clone());
            let mut rng = SimRng::new(seed);
            (0..10_000)
                .map(|i| link.transmit(ms(i), 100, &mut rng))
                .collect::<Vec<_>>()
        };
        let a = run(3);
        assert_eq!(a, run(3), "same seed, same fates");
        assert_ne!(a, run(4));
        let lost = a.iter().filter(|f| matches!(f, Fate::Dropped(_))).count();
        let twice = a
            .iter()
            .filter(|f| matches!(f, Fate::Arrives(t) if t.len() == 2))
            .count();
        assert!((850..1150).contains(&lost), "{lost}");
        assert!((350..600).contains(&twice), "{twice}");
    }
}
