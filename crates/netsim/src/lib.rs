//! A deterministic, in-memory network simulator for streamlab.
//!
//! Work in progress (issue 3). What is here, each deterministic and tested:
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
//!   that Wireshark and tshark read;
//! * [`apps`]: the applications — the protocol crate's server and client
//!   sessions, and a scripted peer that writes given bytes at given times;
//! * [`trace`]: the trace of a run, rendered as a fixed-width text table;
//! * [`sim`]: the simulation loop that joins them (two hosts, one TCP
//!   connection, a link per direction, fault rules, a capture), and the
//!   named scenarios ([`sim::report`], [`sim::coalesced`]).
//!
//! Still to come: the remaining scenarios (framing, lossy, slow reader,
//! starved), a simulated real-time player, `streamlab sim`, committed
//! captures and property tests over many seeds. Everything uses only these
//! pieces, so that the same seed always gives the same trace and the same
//! capture, byte for byte.

pub mod apps;
pub mod link;
pub mod pcapng;
pub mod player;
pub mod queue;
pub mod rng;
pub mod rules;
pub mod scenario;
pub mod sim;
pub mod tcp;
pub mod time;
pub mod trace;
pub mod wire;
