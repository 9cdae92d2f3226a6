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
//! The client is the side that sent the SYN ([`ClientBy::Syn`](crate::stream::ClientBy::Syn); a SYN-ACK
//! names it too). With no handshake in the capture it is the side talking to
//! port 2635, the protocol's port ([`ClientBy::ServerPort`](crate::stream::ClientBy::ServerPort)), or else the
//! sender of the first packet seen ([`ClientBy::FirstPacket`](crate::stream::ClientBy::FirstPacket)).
//!
//! Each direction's bytes go through a [`Reassembler`](crate::Reassembler) to the connection's
//! [`StreamSink`], made by the factory given to [`Flows::new`] when its
//! first byte arrives (or when it finishes, if none ever does).
//!
//! ## Finishing, and memory
//!
//! A capture may hold a million connections, so none is kept longer than
//! it must be. A connection *finishes* — its sink is handed out by
//! [`Flows::poll_finished`] and its state dropped — when
//!
//! * it closed (FIN both ways, or an RST) and then stayed silent for the
//!   close linger ([`Limits::close_linger`]), which leaves time for the
//!   last ACK and a retransmitted FIN;
//! * it stayed silent for the idle timeout ([`Limits::idle_timeout`]);
//! * a SYN on its ports started a new connection; or
//! * the capture ended ([`Flows::end`]).
//!
//! Silence is measured in *capture* time: the clock is the latest
//! timestamp seen. Connections come out in the order of their deadlines
//! (last packet plus linger or timeout), then, at the end, by stream
//! number; the order depends only on the capture.
//!
//! At most [`Limits::max_connections`] are tracked at once. A segment of a
//! connection that would be one too many is skipped and counted
//! ([`Flows::skipped`]); it takes no stream number, so stream numbers after
//! the table first filled may differ from Wireshark's. A packet that comes
//! after its connection finished starts a new one, with a new number,
//! where Wireshark would keep the old.
//!
//! A filter ([`Flows::with_filter`]) makes unwanted connections cost only
//! their numbering (about 150 bytes, until they finish), and
//! [`Flows::last_stream`] stops tracking anything once the numbers pass the
//! last one wanted.

mod conn;
mod table;

use std::collections::VecDeque;
use std::time::Duration;

use crate::capture::Packet;
use crate::reassembly::DEFAULT_HOLD_LIMIT;
use crate::stream::{ConnInfo, StreamSink};
use crate::tcp::{TcpFlags, TcpSegment};
use crate::tcp_analysis::SegmentFacts;

use conn::{first_sight, Conn};
use table::{Age, Table};

/// The protocol's server port: without a SYN, the side using it is the server.
pub const SERVER_PORT: u16 = 2635;

/// The most connections tracked at once, by default (`--max-connections`).
/// One costs about 1 KB with a message or two, 0.8 KB with none (a
/// port scan's SYN): 50,000 keep a flood of them under 100 MB.
pub const DEFAULT_MAX_CONNECTIONS: usize = 50_000;

/// How long an open connection may stay silent, in capture time, before it
/// is finished, by default (`--idle-timeout`).
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(300);

/// How long a closed connection is kept for stragglers (the last ACK, a
/// retransmitted FIN) after its last packet, in capture time.
pub const DEFAULT_CLOSE_LINGER: Duration = Duration::from_secs(10);

/// Makes the sink of a connection.
pub type SinkFactory<'f, S> = Box<dyn FnMut(&ConnInfo) -> S + 'f>;

/// Decides, at its first packet, whether a connection is wanted.
pub type Wanted<'f> = Box<dyn FnMut(&ConnInfo) -> bool + 'f>;

/// The bounds on the connection table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Connections tracked at once; a new one beyond is skipped.
    pub max_connections: usize,
    /// An open connection silent this long is finished.
    pub idle_timeout: Duration,
    /// A closed connection silent this long is finished.
    pub close_linger: Duration,
    /// Out-of-order bytes held per direction (see [`crate::reassembly`]).
    pub hold_limit: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: DEFAULT_MAX_CONNECTIONS,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            close_linger: DEFAULT_CLOSE_LINGER,
            hold_limit: DEFAULT_HOLD_LIMIT,
        }
    }
}

/// Segments skipped because the table was full.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Skipped {
    pub segments: u64,
    /// How many of them were SYNs opening a connection.
    pub syns: u64,
    /// The first one's frame.
    pub first_frame: Option<u64>,
}

/// The connection table, with each wanted connection's sink.
pub struct Flows<'f, S: StreamSink> {
    factory: SinkFactory<'f, S>,
    wanted: Wanted<'f>,
    last_stream: Option<u64>,
    limits: Limits,
    /// The idle timeout and the close linger in nanoseconds, by [`Age`].
    bounds_ns: [u64; 2],
    table: Table<Conn<S>>,
    /// The stream number the next new connection gets.
    next_stream: u64,
    /// The capture's clock: the latest timestamp seen.
    clock_ns: u64,
    /// Finished connections not yet taken.
    done: VecDeque<(ConnInfo, S)>,
    /// After [`Flows::end`]: the connections still to finish, the last
    /// stream number first. They finish one at a time, as they are taken,
    /// so no more than one is ever finished and not yet taken.
    ending: Vec<u32>,
    skipped: Skipped,
    most_tracked: usize,
}

impl<'f, S: StreamSink> Flows<'f, S> {
    /// An empty table with the default [`Limits`], wanting every
    /// connection; `factory` makes each connection's sink.
    pub fn new(factory: impl FnMut(&ConnInfo) -> S + 'f) -> Self {
        Flows {
            factory: Box::new(factory),
            wanted: Box::new(|_| true),
            last_stream: None,
            limits: Limits::default(),
            bounds_ns: bounds_ns(&Limits::default()),
            table: Table::new(),
            next_stream: 0,
            clock_ns: 0,
            done: VecDeque::new(),
            ending: Vec::new(),
            skipped: Skipped::default(),
            most_tracked: 0,
        }
    }

    /// The same table with other bounds.
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self.bounds_ns = bounds_ns(&limits);
        self
    }

    /// Only connections `wanted` accepts (when their first packet is seen)
    /// get a sink and are handed out; the rest are only numbered.
    pub fn with_filter(mut self, wanted: impl FnMut(&ConnInfo) -> bool + 'f) -> Self {
        self.wanted = Box::new(wanted);
        self
    }

    /// No connection numbered above `stream` is wanted: once the numbers
    /// pass it, new connections are not tracked at all.
    pub fn last_stream(mut self, stream: u64) -> Self {
        self.last_stream = Some(stream);
        self
    }

    /// How many stream numbers were given out.
    pub fn streams(&self) -> u64 {
        self.next_stream
    }

    /// How many connections are tracked now.
    pub fn tracked(&self) -> usize {
        self.table.len()
    }

    /// The most connections tracked at once so far.
    pub fn most_tracked(&self) -> usize {
        self.most_tracked
    }

    /// The segments skipped because the table was full.
    pub fn skipped(&self) -> Skipped {
        self.skipped
    }

    /// Takes one TCP segment and the packet it came in; returns the stream
    /// number of its connection, or `None` if it was not tracked (the
    /// table was full, or the number is past [`Flows::last_stream`]).
    /// Connections it finished wait in [`Flows::poll_finished`].
    pub fn segment(&mut self, packet: &Packet<'_>, seg: &TcpSegment<'_>) -> Option<u64> {
        self.labelled(packet, seg).map(|(stream, _)| stream)
    }

    /// [`Flows::segment`], also answering with the segment's facts when
    /// the filter wants its connection: what a graph of it draws.
    pub fn labelled(
        &mut self,
        packet: &Packet<'_>,
        seg: &TcpSegment<'_>,
    ) -> Option<(u64, Option<SegmentFacts>)> {
        // Segments after `end`: what was ending finishes first.
        for id in std::mem::take(&mut self.ending).into_iter().rev() {
            self.retire(id);
        }
        self.clock_ns = self.clock_ns.max(packet.timestamp_ns);
        self.finish_expired();
        let pair = if seg.src <= seg.dst {
            (seg.src, seg.dst)
        } else {
            (seg.dst, seg.src)
        };
        let id = match self.table.find(&pair) {
            Some(id) if !self.table.get(id).is_new_connection(seg) => id,
            found => {
                if let Some(id) = found {
                    self.retire(id); // superseded by a new connection
                }
                self.open(pair, packet, seg)?
            }
        };
        let conn = self.table.get_mut(id);
        let facts = conn.segment(packet, seg, &mut self.factory);
        let age = if conn.is_closed() {
            Age::Closed
        } else {
            Age::Open
        };
        let stream = conn.stream;
        self.table.touch(id, age, self.clock_ns);
        Some((stream, facts))
    }

    /// The next finished connection, in the order they finished.
    pub fn poll_finished(&mut self) -> Option<(ConnInfo, S)> {
        while self.done.is_empty() {
            let id = self.ending.pop()?;
            self.retire(id);
        }
        self.done.pop_front()
    }

    /// The capture is over: every connection still tracked finishes, by
    /// stream number, after those that finished before (each as
    /// [`Flows::poll_finished`] takes it).
    pub fn end(&mut self) {
        let mut ids = self.table.ids();
        ids.sort_by_key(|&id| std::cmp::Reverse(self.table.get(id).stream));
        self.ending = ids;
    }

    /// [`Flows::end`], then every finished connection.
    pub fn finish(mut self) -> Vec<(ConnInfo, S)> {
        self.end();
        std::iter::from_fn(|| self.poll_finished()).collect()
    }

    /// A connection seen for the first time, if there is room for it.
    fn open(
        &mut self,
        pair: table::Pair,
        packet: &Packet<'_>,
        seg: &TcpSegment<'_>,
    ) -> Option<u32> {
        if self.last_stream.is_some_and(|last| self.next_stream > last) {
            return None;
        }
        if self.table.len() >= self.limits.max_connections {
            let syn = seg.flags.bits() & (TcpFlags::SYN.bits() | TcpFlags::ACK.bits());
            self.skipped.segments += 1;
            self.skipped.syns += u64::from(syn == TcpFlags::SYN.bits());
            self.skipped.first_frame.get_or_insert(packet.frame);
            return None;
        }
        let info = first_sight(self.next_stream, packet, seg);
        self.next_stream += 1;
        let wanted = (self.wanted)(&info);
        let conn = Conn::new(info, wanted, self.limits.hold_limit);
        let id = self.table.insert(pair, conn, self.clock_ns);
        self.most_tracked = self.most_tracked.max(self.table.len());
        Some(id)
    }

    /// Finishes every connection silent past its bound.
    fn finish_expired(&mut self) {
        while let Some(id) = self.table.expired(self.clock_ns, self.bounds_ns) {
            self.retire(id);
        }
    }

    /// Drops connection `id`; if it was wanted, it is finished.
    fn retire(&mut self, id: u32) {
        if let Some(tracked) = self.table.remove(id).tracked {
            self.done.push_back(tracked.finish(&mut self.factory));
        }
    }
}

/// The bounds on silence in nanoseconds, by [`Age`].
fn bounds_ns(limits: &Limits) -> [u64; 2] {
    [limits.idle_timeout, limits.close_linger]
        .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod limit_tests;
#[cfg(test)]
mod tests;
