//! The streamlab analyzer: reads the captures students make of the streaming
//! protocol (Wireshark, tshark, dumpcap and tcpdump on Windows, macOS and
//! Linux, and the kit's simulator) and reports what a student looks for in
//! Wireshark: endpoints, ports, the commands and replies, where
//! `track_data_start` and `track_data_end` lie, and what TCP did.
//!
//! The pieces, each a module with its tests beside it:
//!
//! * [`capture`]: a streaming reader of pcap (µs and ns, both byte orders)
//!   and pcapng (sections, interfaces with their own link type and
//!   timestamp unit, both byte orders, unknown blocks skipped) that lends
//!   out one packet at a time from a single buffer;
//! * [`link`]: the link layers real captures use — Ethernet with VLAN tags,
//!   Linux cooked SLL and SLL2, BSD NULL and LOOP, raw IP;
//! * [`ip`] and [`tcp`]: IPv4, IPv6 and TCP headers as views over the
//!   bytes, tolerant of segmentation offload, padding and snapshot lengths;
//! * [`decode`](mod@decode): one packet to a [`TcpSegment`] or the
//!   [`Other`] traffic it is;
//! * [`stream`]: what reassembly hands on — each direction as an ordered
//!   byte stream for a [`StreamSink`], and the facts of each connection
//!   ([`ConnInfo`]);
//! * [`reassembly`]: one direction put back in order (wraparound,
//!   retransmissions, overlaps, out-of-order segments, gaps);
//! * [`tcp_analysis`]: each segment labelled with Wireshark's
//!   `tcp.analysis.*` flags (retransmission, out of order, duplicate ACK,
//!   zero window, keep-alive, …), counted per direction;
//! * [`flows`]: the connection table, numbered as Wireshark's `tcp.stream`,
//!   finishing each connection when it closes or goes silent;
//! * [`scan`]: the protocol in each connection — commands, replies, and
//!   tracks between `track_data_start` and `track_data_end`;
//! * [`report`]: the whole capture analysed ([`report::analyze`]) and
//!   rendered as text, JSON or the conversation itself.
//!
//! The loop a caller writes:
//!
//! ```no_run
//! use streamlab_analyzer::{decode, CaptureReader, Decoded};
//!
//! let mut reader = CaptureReader::open("capture.pcapng")?;
//! let mut others = 0;
//! while let Some(packet) = reader.next_packet()? {
//!     match decode(&packet) {
//!         Decoded::Tcp(segment) => {
//!             println!("{} {} -> {} {}", packet.frame, segment.src, segment.dst, segment.flags)
//!         }
//!         Decoded::Other(_) => others += 1,
//!     }
//! }
//! println!("{others} other packets");
//! # Ok::<(), streamlab_analyzer::CaptureError>(())
//! ```
//!
//! To reassemble, give each segment to [`Flows::segment`] instead, with a
//! factory that makes each connection's sink; take each connection as it
//! finishes from [`Flows::poll_finished`], and after [`Flows::end`] the
//! rest. Connections are dropped as they finish, so memory stays bounded
//! however many a capture holds ([`flows::Limits`]).
//!
//! A capture cut off mid-record ends with [`CaptureError::Truncated`] after
//! its whole packets; whatever the error, the next call returns `Ok(None)`.
//! Input from a file never makes this crate panic.

#![forbid(unsafe_code)]

pub mod capture;
pub mod decode;
pub mod flows;
pub mod ip;
pub mod link;
pub mod link_type;
pub mod not_tcp;
pub mod reassembly;
pub mod report;
pub mod scan;
pub mod stream;
pub mod tcp;
pub mod tcp_analysis;

#[cfg(test)]
mod recorder;
#[cfg(test)]
use streamlab_testkit::captures as testutil;

pub use capture::{CaptureError, CaptureReader, CaptureWarning, Format, Packet};
pub use decode::{decode, Decoded, Malformed, Other};
pub use flows::Flows;
pub use link::LinkType;
pub use reassembly::Reassembler;
pub use stream::{Chunk, ClientBy, ConnInfo, Dir, DirStats, Handshake, StreamSink};
pub use tcp::{TcpFlags, TcpSegment};
