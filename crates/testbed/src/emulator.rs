//! The link emulator's scheduling, with no device and no clock: packets in,
//! packets out at their due time, time passed in.
//!
//! It is netsim's own link model ([`Link`]), one per direction, each with
//! its own [`SimRng`], the very ones the simulator uses
//! ([`direction_rngs`]): the same seed gives the server's `k`-th packet
//! the same fate here as in the simulator. The difference from the
//! simulator is where `now` comes from: here it is the real time elapsed
//! since the run started, read by the driver ([`crate::pump`]).
//!
//! Why a generator per direction: real time decides how many ACKs the
//! client sends between two data packets, and with one shared generator
//! that would shift which data packets are lost. Apart, the server's
//! `k`-th packet meets the same fate in every run with the same seed (as
//! long as the router queue drops nothing: a full queue takes no draw).
//!
//! ```text
//!   client fd ──read──> handle_packet(now, ToServer, p) ──┐
//!                                                         │ Link::transmit
//!   server fd <─write── poll_release(now) <── queue by (due, seq)
//! ```
//!
//! The driver's loop: read whatever the devices have and hand each packet
//! to [`Emulator::handle_packet`]; write every packet that
//! [`Emulator::poll_release`] gives; sleep until
//! [`Emulator::poll_timeout`] or until a device is readable.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Duration;

use streamlab_netsim::link::{direction_rngs, DropReason, Fate, Link, LinkConfig};
use streamlab_netsim::rng::SimRng;
use streamlab_netsim::time::SimTime;

/// Which way a packet crosses the emulated link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Dir {
    /// From the client to the server (the uplink).
    ToServer,
    /// From the server to the client (the downlink).
    ToClient,
}

impl Dir {
    fn index(self) -> usize {
        match self {
            Dir::ToServer => 0,
            Dir::ToClient => 1,
        }
    }

    /// `client → server` or `server → client`, as captures say it.
    pub fn arrow(self) -> &'static str {
        match self {
            Dir::ToServer => "client → server",
            Dir::ToClient => "server → client",
        }
    }
}

/// What the link made of a packet handed to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PacketFate {
    /// It will be released at these times (twice when duplicated).
    Queued(Vec<SimTime>),
    Dropped(DropReason),
}

/// A packet the driver must write now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Release {
    pub dir: Dir,
    /// When the link model said it arrives.
    pub due: SimTime,
    pub packet: Vec<u8>,
}

/// One packet waiting in the link, ordered by (due time, arrival order).
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Waiting {
    due: SimTime,
    seq: u64,
    dir: Dir,
    packet: Vec<u8>,
}

/// Both directions of the emulated link. See the [module docs](self).
#[derive(Debug)]
pub struct Emulator {
    links: [Link; 2],
    rngs: [SimRng; 2],
    queue: BinaryHeap<Reverse<Waiting>>,
    seq: u64,
    dropped: [u64; 2],
    passed: [u64; 2],
}

impl Emulator {
    /// `uplink` carries client → server, `downlink` server → client.
    /// The seed's generator gives each direction's seed (uplink first).
    pub fn new(uplink: LinkConfig, downlink: LinkConfig, seed: u64) -> Self {
        Emulator {
            links: [Link::new(uplink), Link::new(downlink)],
            rngs: direction_rngs(seed),
            queue: BinaryHeap::new(),
            seq: 0,
            dropped: [0; 2],
            passed: [0; 2],
        }
    }

    // ---- getters ---------------------------------------------------------

    /// Packets the link dropped going `dir` (lost or tail-dropped).
    pub fn dropped(&self, dir: Dir) -> u64 {
        self.dropped[dir.index()]
    }

    /// Packets handed to the link going `dir`, dropped or not.
    pub fn offered(&self, dir: Dir) -> u64 {
        self.passed[dir.index()]
    }

    /// Packets still inside the link.
    pub fn in_flight(&self) -> usize {
        self.queue.len()
    }

    /// The earliest due time of a packet inside the link.
    pub fn poll_timeout(&self) -> Option<SimTime> {
        self.queue.peek().map(|Reverse(w)| w.due)
    }

    // ---- handle_* ----------------------------------------------------------

    /// A packet of `dir` entered the link at `now`.
    pub fn handle_packet(&mut self, now: SimTime, dir: Dir, packet: Vec<u8>) -> PacketFate {
        let i = dir.index();
        self.passed[i] += 1;
        match self.links[i].transmit(now, packet.len(), &mut self.rngs[i]) {
            Fate::Dropped(reason) => {
                self.dropped[i] += 1;
                PacketFate::Dropped(reason)
            }
            Fate::Arrives(times) => {
                for &due in &times {
                    self.seq += 1;
                    self.queue.push(Reverse(Waiting {
                        due,
                        seq: self.seq,
                        dir,
                        packet: packet.clone(),
                    }));
                }
                PacketFate::Queued(times)
            }
        }
    }

    // ---- poll_* ------------------------------------------------------------

    /// The next packet due at or before `now`, earliest first.
    pub fn poll_release(&mut self, now: SimTime) -> Option<Release> {
        if self.poll_timeout()? > now {
            return None;
        }
        let Reverse(w) = self.queue.pop()?;
        Some(Release {
            dir: w.dir,
            due: w.due,
            packet: w.packet,
        })
    }
}

/// How late the driver wrote packets, against their due times: the
/// emulator's own error, which a real link does not have.
#[derive(Debug, Clone, Default)]
pub struct Lateness {
    samples: Vec<u64>,
}

impl Lateness {
    /// One packet was written `late` after its due time.
    pub fn record(&mut self, late: Duration) {
        self.samples
            .push(u64::try_from(late.as_nanos()).unwrap_or(u64::MAX));
    }

    pub fn count(&self) -> usize {
        self.samples.len()
    }

    /// The `p`-th percentile (0 to 100), nearest rank; zero with no samples.
    pub fn percentile(&self, p: f64) -> Duration {
        if self.samples.is_empty() {
            return Duration::ZERO;
        }
        let mut sorted = self.samples.clone();
        sorted.sort_unstable();
        let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
        let at = rank.clamp(1, sorted.len()) - 1;
        Duration::from_nanos(sorted[at])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> SimTime {
        SimTime::from_millis(n)
    }

    /// 8 Mbit/s (1000 bytes take 1 ms), 10 ms latency, nothing lost.
    fn slow_link() -> LinkConfig {
        LinkConfig {
            latency: Duration::from_millis(10),
            bandwidth: Some(8_000_000),
            queue_limit: Duration::from_secs(1),
            ..LinkConfig::default()
        }
    }

    #[test]
    fn packets_leave_at_their_due_time_and_in_due_order() {
        let mut emu = Emulator::new(slow_link(), slow_link(), 1);
        let v = emu.handle_packet(ms(0), Dir::ToServer, vec![1; 1000]);
        assert_eq!(v, PacketFate::Queued(vec![ms(11)]));
        // The other direction has its own link: no wait behind the first.
        emu.handle_packet(ms(0), Dir::ToClient, vec![2; 1000]);
        // Behind the first on the uplink: one more millisecond.
        emu.handle_packet(ms(0), Dir::ToServer, vec![3; 1000]);
        assert_eq!(emu.poll_timeout(), Some(ms(11)));
        assert_eq!(emu.poll_release(ms(10)), None, "nothing is due yet");
        let first = emu.poll_release(ms(11)).expect("due at 11 ms");
        let second = emu.poll_release(ms(11)).expect("also due at 11 ms");
        assert_eq!((first.dir, first.packet[0]), (Dir::ToServer, 1));
        assert_eq!((second.dir, second.packet[0]), (Dir::ToClient, 2));
        assert_eq!(emu.poll_release(ms(11)), None);
        let third = emu.poll_release(ms(30)).expect("due at 12 ms");
        assert_eq!((third.due, third.packet[0]), (ms(12), 3));
        assert_eq!(emu.in_flight(), 0);
        assert_eq!(emu.poll_timeout(), None);
    }

    #[test]
    fn a_queue_longer_than_its_limit_drops_at_the_tail() {
        let link = LinkConfig {
            queue_limit: Duration::from_millis(2),
            ..slow_link()
        };
        let mut emu = Emulator::new(link.clone(), link, 1);
        let verdicts: Vec<PacketFate> = (0..5)
            .map(|_| emu.handle_packet(ms(0), Dir::ToClient, vec![0; 1000]))
            .collect();
        // Waits of 0, 1 and 2 ms fit the limit; 3 and 4 ms do not.
        assert_eq!(
            verdicts[3..],
            [
                PacketFate::Dropped(DropReason::QueueFull),
                PacketFate::Dropped(DropReason::QueueFull)
            ]
        );
        assert_eq!(emu.dropped(Dir::ToClient), 2);
        assert_eq!(emu.dropped(Dir::ToServer), 0);
        assert_eq!(emu.offered(Dir::ToClient), 5);
    }

    #[test]
    fn the_seed_decides_which_packets_are_lost() {
        let lossy = LinkConfig {
            loss: 0.2,
            ..slow_link()
        };
        let run = |seed| {
            let mut emu = Emulator::new(lossy.clone(), lossy.clone(), seed);
            (0..200u64)
                .map(|i| emu.handle_packet(ms(i * 5), Dir::ToClient, vec![0; 100]))
                .map(|v| matches!(v, PacketFate::Dropped(_)))
                .collect::<Vec<bool>>()
        };
        let a = run(1);
        assert_eq!(a, run(1), "same seed, same losses");
        assert_ne!(a, run(2));
        let lost = a.iter().filter(|&&d| d).count();
        assert!((20..60).contains(&lost), "{lost} of 200 at 20%");
    }

    #[test]
    fn acks_do_not_move_the_losses_of_data() {
        let lossy = LinkConfig {
            loss: 0.2,
            ..slow_link()
        };
        // The same 100 data packets, with 0 or 3 ACKs between each two.
        let run = |acks: usize| {
            let mut emu = Emulator::new(lossy.clone(), lossy.clone(), 9);
            (0..100u64)
                .map(|i| {
                    for _ in 0..acks {
                        emu.handle_packet(ms(i * 5), Dir::ToServer, vec![0; 40]);
                    }
                    emu.handle_packet(ms(i * 5), Dir::ToClient, vec![0; 1000])
                })
                .map(|v| matches!(v, PacketFate::Dropped(_)))
                .collect::<Vec<bool>>()
        };
        assert_eq!(run(0), run(3));
    }

    #[test]
    fn lateness_percentiles_use_the_nearest_rank() {
        let mut late = Lateness::default();
        assert_eq!(late.percentile(50.0), Duration::ZERO);
        for us in 1..=100 {
            late.record(Duration::from_micros(us));
        }
        assert_eq!(late.count(), 100);
        assert_eq!(late.percentile(50.0), Duration::from_micros(50));
        assert_eq!(late.percentile(99.0), Duration::from_micros(99));
        assert_eq!(late.percentile(100.0), Duration::from_micros(100));
    }
}
