//! One live connection: what numbering its packets needs (every tracked
//! connection has that), and, for the connections the filter wants, what
//! the report needs — the facts, the two reassemblers and the sink.
//!
//! Sizes matter here, as a capture may hold a million connections: one the
//! filter does not want costs about 100 bytes; a wanted one that never
//! carries data (a SYN of a port scan) about 600 more, as its sink is made
//! only when its first byte arrives.

use crate::capture::Packet;
use crate::reassembly::{Output, Reassembler};
use crate::stream::{ClientBy, ConnInfo, Dir, DirStats, Handshake, StreamSink};
use crate::tcp::{TcpFlags, TcpSegment};
use crate::tcp_analysis::{Flags, SegmentFacts, TcpAnalysis};

use super::{SinkFactory, SERVER_PORT};

/// A live connection.
pub(super) struct Conn<S> {
    pub stream: u64,
    /// True when the client has the lower address of the two, so a
    /// segment's direction needs no copy of the addresses.
    client_is_lower: bool,
    /// Wireshark's base sequence number of each direction, to tell a new
    /// connection on the same ports from a retransmitted SYN.
    base_seq: [Option<u32>; 2],
    /// A FIN was sent each way; an RST either way.
    fin: [bool; 2],
    rst: bool,
    /// `None` when the filter does not want it: it is only numbered.
    pub tracked: Option<Box<Tracked<S>>>,
}

/// What the report needs of a wanted connection.
pub(super) struct Tracked<S> {
    pub info: ConnInfo,
    /// Indexed by [`Dir::index`].
    pub ways: [Reassembler; 2],
    /// The window each direction advertised last, to recognise probes.
    last_window: [Option<u16>; 2],
    /// Wireshark's view of the segments, for the `tcp.analysis` counts.
    analysis: TcpAnalysis,
    /// Made by the factory when the first byte is handed on.
    pub sink: Option<Box<S>>,
}

impl<S: StreamSink> Conn<S> {
    /// A connection seen first in `packet`; `tracked` if the filter wants it.
    pub fn new(info: ConnInfo, wanted: bool, hold_limit: usize) -> Self {
        Conn {
            stream: info.stream,
            client_is_lower: info.client <= info.server,
            base_seq: [None; 2],
            fin: [false; 2],
            rst: false,
            tracked: wanted.then(|| {
                Box::new(Tracked {
                    info,
                    ways: [(); 2].map(|_| Reassembler::with_hold_limit(hold_limit)),
                    last_window: [None; 2],
                    analysis: TcpAnalysis::new(),
                    sink: None,
                })
            }),
        }
    }

    fn dir_of(&self, seg: &TcpSegment<'_>) -> Dir {
        if (seg.src <= seg.dst) == self.client_is_lower {
            Dir::ToServer
        } else {
            Dir::ToClient
        }
    }

    /// A SYN whose sender already started this connection at another
    /// sequence number (tshark's rule for port reuse).
    pub fn is_new_connection(&self, seg: &TcpSegment<'_>) -> bool {
        let syn_only = seg.flags.bits() & (TcpFlags::SYN.bits() | TcpFlags::ACK.bits());
        if syn_only != TcpFlags::SYN.bits() {
            return false;
        }
        let base = self.base_seq[self.dir_of(seg).index()];
        base.is_some_and(|base| base != seg.seq)
    }

    /// FIN both ways, or an RST: only stragglers may follow.
    pub fn is_closed(&self) -> bool {
        self.rst || (self.fin[0] && self.fin[1])
    }

    /// Takes one segment of this connection; a wanted one answers with
    /// the segment's [`SegmentFacts`].
    pub fn segment(
        &mut self,
        packet: &Packet<'_>,
        seg: &TcpSegment<'_>,
        factory: &mut SinkFactory<'_, S>,
    ) -> Option<SegmentFacts> {
        let dir = self.dir_of(seg);
        let syn = seg.flags.contains(TcpFlags::SYN);
        self.base_seq[dir.index()].get_or_insert(if syn {
            seg.seq
        } else {
            seg.seq.wrapping_sub(1)
        });
        self.fin[dir.index()] |= seg.flags.contains(TcpFlags::FIN);
        self.rst |= seg.flags.contains(TcpFlags::RST);
        let tracked = self.tracked.as_deref_mut()?;
        let labels = tracked.segment(dir, packet, seg, factory);
        let other = match dir {
            Dir::ToServer => Dir::ToClient,
            Dir::ToClient => Dir::ToServer,
        };
        // Offsets count from the byte after the SYN.
        let offset_in = |d: Dir, n: u32| {
            self.base_seq[d.index()].map(|base| u64::from(n.wrapping_sub(base).wrapping_sub(1)))
        };
        let offset = if syn {
            u64::MAX
        } else {
            offset_in(dir, seg.seq).unwrap_or(0)
        };
        let ack = if seg.flags.contains(TcpFlags::ACK) {
            offset_in(other, seg.ack)
        } else {
            None
        };
        Some(SegmentFacts {
            stream: self.stream,
            dir,
            frame: packet.frame,
            time_ns: packet.timestamp_ns,
            offset,
            len: seg.wire_len,
            ack,
            window: tracked.analysis.window_bytes(dir, seg),
            labels,
            syn,
            fin: seg.flags.contains(TcpFlags::FIN),
            rst: seg.flags.contains(TcpFlags::RST),
        })
    }
}

impl<S: StreamSink> Tracked<S> {
    /// Takes one segment; answers with its Wireshark labels.
    fn segment(
        &mut self,
        dir: Dir,
        packet: &Packet<'_>,
        seg: &TcpSegment<'_>,
        factory: &mut SinkFactory<'_, S>,
    ) -> Flags {
        let (frame, time_ns) = (packet.frame, packet.timestamp_ns);
        self.info.last_frame = frame;
        self.info.last_time_ns = time_ns;
        self.handshake(dir, seg, frame);
        let labels = self.analysis.segment(dir, seg, time_ns);
        self.account(dir, packet, seg, factory, labels);
        labels
    }

    /// Counts the segment and hands its bytes to reassembly.
    fn account(
        &mut self,
        dir: Dir,
        packet: &Packet<'_>,
        seg: &TcpSegment<'_>,
        factory: &mut SinkFactory<'_, S>,
        labels: Flags,
    ) {
        let (frame, time_ns) = (packet.frame, packet.timestamp_ns);
        let flags = seg.flags;
        let stats = &mut self.info.dirs[dir.index()];
        stats.tcp_analysis.add(labels);
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
            self.info.dirs[dir.index()].zero_window_probes += 1;
            return;
        }
        let way = &mut self.ways[dir.index()];
        if seg.payload.is_empty() && seg.wire_len == 0 {
            // Nothing for the sink: only where the stream starts.
            return way.anchor_segment(seg);
        }
        let info = &self.info;
        let sink = self.sink.get_or_insert_with(|| Box::new(factory(info)));
        let mut out = Output {
            sink: &mut **sink,
            dir,
            stats: &mut self.info.dirs[dir.index()],
        };
        way.segment(seg, frame, time_ns, &mut out);
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

    /// The connection is over: held bytes are delivered (after their
    /// gaps); the facts and the sink (made now if no byte ever came) are
    /// handed back.
    pub fn finish(mut self, factory: &mut SinkFactory<'_, S>) -> (ConnInfo, S) {
        let info = &self.info;
        let sink = self.sink.get_or_insert_with(|| Box::new(factory(info)));
        for dir in [Dir::ToServer, Dir::ToClient] {
            let mut out = Output {
                sink: &mut **sink,
                dir,
                stats: &mut self.info.dirs[dir.index()],
            };
            self.ways[dir.index()].finish(&mut out);
        }
        // Just made if it was not there.
        let sink = self.sink.take().expect("the sink");
        (self.info, *sink)
    }
}

/// A new connection's facts from its first segment: who the client is,
/// and whether the capture started in its middle.
pub(super) fn first_sight(stream: u64, packet: &Packet<'_>, seg: &TcpSegment<'_>) -> ConnInfo {
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
