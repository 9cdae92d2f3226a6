//! A deterministic, in-memory network simulator for streamlab.
//!
//! It runs the protocol crate's own server and client sessions — the code
//! the real programs run — over a small simulated TCP, on links with
//! latency, jitter, limited bandwidth, loss, duplication and reordering,
//! and records every segment in a trace table and a pcapng capture that
//! Wireshark opens. One thread, virtual time, one seeded RNG: the same
//! seed and scenario give the same trace and capture, byte for byte.
//!
//! A test reads like a story: build a network, start the applications,
//! add a fault, run until idle, look.
//!
//! ```
//! use streamlab_netsim::apps::{Catalogue, ClientApp, ServerApp};
//! use streamlab_netsim::rules::Rule;
//! use streamlab_netsim::scenario::synthetic_track;
//! use streamlab_netsim::sim::{Side, Sim, SimConfig};
//! use streamlab_proto::{ClientEvent, Dialect, DialectChoice, Request, ServerConfig};
//!
//! // The report's two hosts, a quiet LAN, seed 7.
//! let config = SimConfig::new(7);
//! let songs = Catalogue::new(vec![synthetic_track("RV")], Vec::new());
//! let server_config = ServerConfig { dialect: DialectChoice::Original, ..ServerConfig::default() };
//! let server = ServerApp::new(server_config, songs);
//! let client = ClientApp::new(Dialect::Original, vec![Request::List, Request::Quit]);
//! let mut sim = Sim::new(config, Box::new(client), Box::new(server));
//!
//! // The network loses the first segment that carries `quit`.
//! sim.rule(Rule::drop_containing(b"quit"));
//! sim.run_until_idle(10_000).expect("a finished run");
//!
//! let client = sim.app::<ClientApp>(Side::Client).unwrap();
//! assert!(client.events().contains(&ClientEvent::Goodbye));
//! assert_eq!(sim.trace().matching("tcp retransmit").count(), 1);
//! ```
//!
//! Named scenarios ([`scenario`]) package the stories the labs tell, as
//! `streamlab sim` runs them.
//!
//! The pieces, each deterministic and tested on its own:
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
//! * [`apps`]: the applications — the protocol crate's sessions, a
//!   scripted peer, and a client that reads as the original Python one;
//! * [`player`]: a listener that plays in virtual real time (time to first
//!   audio, stalls);
//! * [`trace`]: the trace of a run, rendered as a fixed-width text table;
//! * [`sim`]: the simulation loop that joins them (two hosts, one TCP
//!   connection, a link per direction, fault rules, a capture);
//! * [`scenario`]: the named stories and their summaries.

#![forbid(unsafe_code)]

pub mod apps;
pub mod figures;
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
