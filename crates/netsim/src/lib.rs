//! A deterministic, in-memory network simulator for streamlab.
//!
//! Work in progress (issue 3). This first slice holds the foundations the
//! simulator is built on, each deterministic and tested on its own:
//!
//! * [`time`]: virtual time in integer nanoseconds — no wall clock;
//! * [`rng`]: one seeded random number generator of a pinned algorithm;
//! * [`queue`]: the event queue, ordered by (time, sequence number);
//! * [`link`]: one direction of a link: queue, bandwidth, latency, jitter,
//!   loss, duplication and reordering;
//! * [`rules`]: targeted faults (drop the Nth segment, drop or delay what
//!   contains some bytes, partitions) that compose;
//! * [`wire`]: Ethernet/IPv4/TCP frames with correct checksums;
//! * [`tcp`]: a small sans-IO TCP endpoint — handshake, MSS segments,
//!   flow control, retransmission with backoff, FIN and RST;
//! * [`pcapng`]: a pcapng writer (nanosecond timestamps, packet comments)
//!   that Wireshark and tshark read.
//!
//! The simulation loop that joins them (hosts, the protocol sessions as
//! applications, the trace table) and the named scenarios come next; they
//! will only use these pieces, so that the same seed always gives the same
//! trace and the same capture, byte for byte.

pub mod link;
pub mod pcapng;
pub mod queue;
pub mod rng;
pub mod rules;
pub mod tcp;
pub mod time;
pub mod wire;
