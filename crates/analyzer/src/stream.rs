//! What TCP reassembly hands on: each direction of each connection as an
//! ordered byte stream, every piece tagged with the frame and time it came
//! from, and what the connection did on the way (handshake, retransmissions,
//! out-of-order segments, gaps, zero windows, FIN, RST).
//!
//! The reassembler ([`crate::flows`]) owns the connections; a [`StreamSink`]
//! per connection (the protocol scanner) receives its bytes as they become
//! contiguous, so nothing needs to keep a whole stream in memory.
//!
//! ```text
//!  packets ──▶ flows (one entry per connection, Wireshark's tcp.stream)
//!                 └─ per direction: reassembly ──▶ sink.data / sink.gap
//! ```

use std::net::SocketAddr;

/// A direction of a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Dir {
    /// Client to server.
    ToServer,
    /// Server to client.
    ToClient,
}

impl Dir {
    /// 0 for client → server, 1 for server → client.
    pub fn index(self) -> usize {
        match self {
            Dir::ToServer => 0,
            Dir::ToClient => 1,
        }
    }
}

/// In-order bytes of one direction, from one segment (or the part of it
/// that was new).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Chunk<'a> {
    /// Where `data` starts in the direction's stream (0 = its first byte).
    pub offset: u64,
    pub data: &'a [u8],
    /// The frame that carried these bytes (the first copy to arrive).
    pub frame: u64,
    /// That frame's time, in nanoseconds since the Unix epoch.
    pub time_ns: u64,
}

/// Receives one connection's reassembled streams.
pub trait StreamSink {
    /// The next in-order bytes of `dir`.
    fn data(&mut self, dir: Dir, chunk: Chunk<'_>);
    /// `len` bytes of `dir` from `offset` never appeared in the capture
    /// (lost before the capture point, cut by the snapshot length, or the
    /// capture ended first); the stream goes on at `offset + len`.
    /// `frame` / `time_ns` are those of the first frame after the gap (or
    /// of the last frame seen, at the end of the capture; for bytes a
    /// snapshot length cut off, of the frame that was cut).
    fn gap(&mut self, dir: Dir, offset: u64, len: u64, frame: u64, time_ns: u64);
}

/// How the analyzer decided which side is the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientBy {
    /// It sent the SYN.
    Syn,
    /// No SYN in the capture: the other side uses port 2635.
    ServerPort,
    /// No SYN and no port 2635: it sent the first packet seen.
    FirstPacket,
}

/// The three-way handshake, by frame number.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Handshake {
    pub syn: Option<u64>,
    pub syn_ack: Option<u64>,
    /// The client's first ACK after the SYN-ACK.
    pub ack: Option<u64>,
}

/// What one direction of a connection did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct DirStats {
    /// Every segment sent this way (with or without data).
    pub segments: u64,
    /// Bytes in the stream: each byte counted once, gaps not included.
    pub stream_bytes: u64,
    /// Segments whose data had all (or partly) been seen before.
    pub retransmissions: u64,
    /// The first few retransmitted frames, for the report.
    pub retransmission_frames: Vec<u64>,
    /// Segments that arrived beyond a hole and waited for it to fill.
    pub out_of_order: u64,
    /// Holes never filled, and their total size.
    pub gaps: u64,
    pub gap_bytes: u64,
    /// Segments advertising a zero window (not SYN, FIN or RST), as
    /// Wireshark counts `tcp.analysis.zero_window`.
    pub zero_windows: u64,
    /// One-byte segments sent while the other side's window was zero:
    /// window probes (`tcp.analysis.zero_window_probe`). Their byte is not
    /// taken into the stream (the receiver had no room for it), so the data
    /// that follows is not counted as a retransmission.
    pub zero_window_probes: u64,
    /// The segments Wireshark's `tcp.analysis.*` flags would mark, counted
    /// by flag ([`crate::tcp_analysis`]).
    pub tcp_analysis: crate::tcp_analysis::EventCounts,
    pub fin_frame: Option<u64>,
    pub rst_frame: Option<u64>,
}

/// The most frames kept in [`DirStats::retransmission_frames`].
pub const FRAMES_KEPT: usize = 16;

/// One TCP connection as the capture shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnInfo {
    /// Wireshark's `tcp.stream` number: connections counted from 0 in the
    /// order their first packet appears (a new SYN on the same ports
    /// after the old connection ended starts a new one).
    pub stream: u64,
    pub client: SocketAddr,
    pub server: SocketAddr,
    pub client_by: ClientBy,
    pub first_frame: u64,
    pub first_time_ns: u64,
    pub last_frame: u64,
    pub last_time_ns: u64,
    pub handshake: Handshake,
    /// Indexed by [`Dir::index`].
    pub dirs: [DirStats; 2],
    /// True if the capture saw this connection only from the middle (no
    /// SYN): stream offsets count from the first byte captured.
    pub mid_stream: bool,
}
