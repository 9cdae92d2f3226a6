//! A deterministic, in-memory network simulator for streamlab.
//!
//! Work in progress (issue 3). This first slice holds the foundations the
//! simulator is built on, each deterministic and tested on its own:
//!
//! * [`time`]: virtual time in integer nanoseconds — no wall clock;
//! * [`rng`]: one seeded random number generator of a pinned algorithm;
//! * [`queue`]: the event queue, ordered by (time, sequence number);
//! * [`wire`]: Ethernet/IPv4/TCP frames with correct checksums;
//! * [`pcapng`]: a pcapng writer (nanosecond timestamps, packet comments)
//!   that Wireshark and tshark read.
//!
//! Links, the small TCP, the protocol sessions as applications and the
//! scenarios come next; they will only use these pieces, so that the same
//! seed always gives the same trace and the same capture, byte for byte.

pub mod pcapng;
pub mod queue;
pub mod rng;
pub mod time;
pub mod wire;
