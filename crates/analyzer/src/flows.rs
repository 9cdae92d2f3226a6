//! The connection table: which connection each segment belongs to, which
//! side is the client, and what each connection did.
//!
//! Connections are found by their address pair in either order and
//! numbered as Wireshark numbers `tcp.stream`: from 0, in the order their
//! first packet appears. A pair's ports can be used again; as tshark 4.0
//! decides it, a SYN (without ACK) starts a new connection when its sender
//! already sent on the pair with another starting sequence number (that of
//! its SYN, or one before its first segment when the capture started
//! mid-connection):
//!
//! ```text
//!  frame  segment                        stream
//!  1      a → b  SYN     seq 100         0
//!  2      b → a  SYN,ACK seq 500         0
//!  …      …                              0
//!  9      a → b  SYN     seq 9000        1   (a's connection began at 100)
//! ```
//!
//! The client is the side that sent the SYN ([`ClientBy::Syn`]; a SYN-ACK
//! names it too). With no handshake in the capture it is the side talking to
//! port 2635, the protocol's port ([`ClientBy::ServerPort`]), or else the
//! sender of the first packet seen ([`ClientBy::FirstPacket`]).
//!
//! Each direction's bytes go through a [`Reassembler`] to the connection's
//! [`StreamSink`], made by the factory given to [`Flows::new`] when the
//! connection's first packet is seen. A connection costs a few hundred
//! bytes plus its sink until segments arrive out of order.

use std::collections::HashMap;
use std::net::SocketAddr;

use crate::capture::Packet;
use crate::reassembly::{Output, Reassembler, DEFAULT_HOLD_LIMIT};
use crate::stream::{ClientBy, ConnInfo, Dir, DirStats, Handshake, StreamSink};
use crate::tcp::{TcpFlags, TcpSegment};

/// The protocol's server port: without a SYN, the side using it is the server.
pub const SERVER_PORT: u16 = 2635;

/// Makes the sink of a new connection.
pub type SinkFactory<'f, S> = Box<dyn FnMut(&ConnInfo) -> S + 'f>;

/// Every connection of a capture, with its sink.
pub struct Flows<'f, S: StreamSink> {
    factory: SinkFactory<'f, S>,
    /// By stream number.
    conns: Vec<Conn<S>>,
    /// The latest connection on each address pair (lower address first).
    by_pair: HashMap<(SocketAddr, SocketAddr), usize>,
    hold_limit: usize,
}

/// One connection: what is known of it, its sink, and its two directions.
struct Conn<S> {
    info: ConnInfo,
    sink: S,
    /// Indexed by [`Dir::index`].
    ways: [Reassembler; 2],
    /// Wireshark's base sequence number of each direction, to tell a new
    /// connection on the same ports from a retransmitted SYN.
    base_seq: [Option<u32>; 2],
    /// The window each direction advertised last, to recognise probes.
    last_window: [Option<u16>; 2],
}

impl<'f, S: StreamSink> Flows<'f, S> {
    /// An empty table; `factory` makes each new connection's sink.
    pub fn new(factory: impl FnMut(&ConnInfo) -> S + 'f) -> Self {
        Flows::with_hold_limit(DEFAULT_HOLD_LIMIT, factory)
    }

    /// An empty table whose directions hold at most `limit` out-of-order
    /// bytes each (see [`crate::reassembly`]).
    pub fn with_hold_limit(limit: usize, factory: impl FnMut(&ConnInfo) -> S + 'f) -> Self {
        Flows {
            factory: Box::new(factory),
            conns: Vec::new(),
            by_pair: HashMap::new(),
            hold_limit: limit,
        }
    }

    /// How many connections have been seen.
    pub fn len(&self) -> usize {
        self.conns.len()
    }

    /// True before the first segment.
    pub fn is_empty(&self) -> bool {
        self.conns.is_empty()
    }

    /// Takes one TCP segment and the packet it came in; returns the
    /// stream number of its connection.
    pub fn segment(&mut self, packet: &Packet<'_>, seg: &TcpSegment<'_>) -> u64 {
        let pair = if seg.src <= seg.dst {
            (seg.src, seg.dst)
        } else {
            (seg.dst, seg.src)
        };
        let index = match self.by_pair.get(&pair) {
            Some(&index) if !self.conns[index].is_new_connection(seg) => index,
            previous => {
                if let Some(&index) = previous {
                    self.conns[index].finish(); // superseded: let go of its buffers
                }
                let stream = self.conns.len() as u64;
                let info = first_sight(stream, packet, seg);
                let sink = (self.factory)(&info);
                let ways = [(); 2].map(|_| Reassembler::with_hold_limit(self.hold_limit));
                let base_seq = [None; 2];
                let conn = Conn {
                    info,
                    sink,
                    ways,
                    base_seq,
                    last_window: [None; 2],
                };
                self.conns.push(conn);
                self.by_pair.insert(pair, self.conns.len() - 1);
                self.conns.len() - 1
            }
        };
        self.conns[index].segment(packet, seg);
        index as u64
    }

    /// The capture is over: each connection's held bytes are delivered
    /// (after their gaps), and the connections handed back by stream number.
    pub fn finish(self) -> Vec<(ConnInfo, S)> {
        let conns = self.conns.into_iter().map(|mut conn| {
            conn.finish();
            (conn.info, conn.sink)
        });
        conns.collect()
    }
}

/// A new connection's facts from its first segment: who the client is,
/// and whether the capture started in its middle.
fn first_sight(stream: u64, packet: &Packet<'_>, seg: &TcpSegment<'_>) -> ConnInfo {
    let syn = seg.flags.contains(TcpFlags::SYN);
    let ack = seg.flags.contains(TcpFlags::ACK);
    let (from_client, client_by) = match () {
        _ if syn && !ack => (true, ClientBy::Syn),
        _ if syn => (false, ClientBy::Syn), // the SYN-ACK's receiver
        _ if seg.dst.port() == SERVER_PORT => (true, ClientBy::ServerPort),
        _ if seg.src.port() == SERVER_PORT => (false, ClientBy::ServerPort),
        _ => (true, ClientBy::FirstPacket),
    };
    let (client, server) = if from_client {
        (seg.src, seg.dst)
    } else {
        (seg.dst, seg.src)
    };
    ConnInfo {
        stream,
        client,
        server,
        client_by,
        first_frame: packet.frame,
        first_time_ns: packet.timestamp_ns,
        last_frame: packet.frame,
        last_time_ns: packet.timestamp_ns,
        handshake: Handshake::default(),
        dirs: [DirStats::default(), DirStats::default()],
        mid_stream: !syn || ack,
    }
}

impl<S: StreamSink> Conn<S> {
    fn dir_of(&self, seg: &TcpSegment<'_>) -> Dir {
        if seg.src == self.info.client {
            Dir::ToServer
        } else {
            Dir::ToClient
        }
    }

    /// A SYN whose sender already started this connection at another
    /// sequence number (tshark's rule for port reuse).
    fn is_new_connection(&self, seg: &TcpSegment<'_>) -> bool {
        let syn_only = seg.flags.bits() & (TcpFlags::SYN.bits() | TcpFlags::ACK.bits());
        let base = self.base_seq[self.dir_of(seg).index()];
        syn_only == TcpFlags::SYN.bits() && base.is_some_and(|base| base != seg.seq)
    }

    fn segment(&mut self, packet: &Packet<'_>, seg: &TcpSegment<'_>) {
        let dir = self.dir_of(seg);
        let (frame, time_ns) = (packet.frame, packet.timestamp_ns);
        let flags = seg.flags;
        let syn = flags.contains(TcpFlags::SYN);
        self.base_seq[dir.index()].get_or_insert(if syn {
            seg.seq
        } else {
            seg.seq.wrapping_sub(1)
        });
        self.info.last_frame = frame;
        self.info.last_time_ns = time_ns;
        self.handshake(dir, seg, frame);

        let stats = &mut self.info.dirs[dir.index()];
        stats.segments += 1;
        let control = TcpFlags::SYN.bits() | TcpFlags::FIN.bits() | TcpFlags::RST.bits();
        if seg.window == 0 && flags.bits() & control == 0 {
            stats.zero_windows += 1;
        }
        if flags.contains(TcpFlags::FIN) {
            stats.fin_frame.get_or_insert(frame);
        }
        if flags.contains(TcpFlags::RST) {
            stats.rst_frame.get_or_insert(frame);
        }
        let other = match dir {
            Dir::ToServer => Dir::ToClient,
            Dir::ToClient => Dir::ToServer,
        };
        let probe = seg.payload.len() == 1 && self.last_window[other.index()] == Some(0);
        if flags.bits() & control == 0 {
            self.last_window[dir.index()] = Some(seg.window);
        }
        if probe {
            stats.zero_window_probes += 1;
            return;
        }
        let mut out = Output {
            sink: &mut self.sink,
            dir,
            stats,
        };
        self.ways[dir.index()].segment(seg, frame, time_ns, &mut out);
    }

    /// Notes the handshake's frames; a SYN-ACK whose SYN the capture
    /// missed still tells where the client's stream starts.
    fn handshake(&mut self, dir: Dir, seg: &TcpSegment<'_>, frame: u64) {
        let (syn, ack) = (
            seg.flags.contains(TcpFlags::SYN),
            seg.flags.contains(TcpFlags::ACK),
        );
        let handshake = &mut self.info.handshake;
        match (dir, syn, ack) {
            (Dir::ToServer, true, false) => {
                handshake.syn.get_or_insert(frame);
            }
            (Dir::ToClient, true, true) => {
                handshake.syn_ack.get_or_insert(frame);
                self.ways[Dir::ToServer.index()].anchor(seg.ack);
            }
            (Dir::ToServer, false, true) if handshake.syn_ack.is_some() => {
                handshake.ack.get_or_insert(frame);
            }
            _ => {}
        }
    }

    fn finish(&mut self) {
        for dir in [Dir::ToServer, Dir::ToClient] {
            let stats = &mut self.info.dirs[dir.index()];
            let mut out = Output {
                sink: &mut self.sink,
                dir,
                stats,
            };
            self.ways[dir.index()].finish(&mut out);
        }
    }
}

#[cfg(test)]
mod tests;
