//! Two TCP endpoints on a wire the test controls: the harness for tests of
//! [`TcpEndpoint`] (the shape of quinn-proto's `Pair`), used by the
//! crate's unit tests and by `tests/tcp_pair.rs`.
//!
//! The wire has a fixed one-way delay ([`DELAY`]) and, if a test asks, a
//! bandwidth for the server's segments ([`TcpPair::spacing`]). A *fault*
//! function decides the fate of each segment (pass, drop, duplicate), and
//! [`TcpPair::cut`] loses everything one side sends from then on. Each
//! side has a small application ([`PairApp`]): bytes to write as buffer
//! space allows, whether to close after them, whether to read.
//!
//! Virtual time moves from one event (an arrival, a timer) to the next,
//! and after each one both applications act and both endpoints send, as
//! the run-loop contract in [`crate::tcp`] asks. Every drive is bounded
//! ([`MAX_STEPS`]): a connection that gets stuck panics with
//! [`TcpPair::dump`], both endpoints and the last segments.
//!
//! ```
//! use streamlab_netsim::sim::Side;
//! use streamlab_netsim::tcp::pair::TcpPair;
//! use streamlab_netsim::tcp::TcpConfig;
//!
//! let mut p = TcpPair::new(TcpConfig::linux(), TcpConfig::linux());
//! p.write(Side::Server, &[7; 10_000]);
//! p.app(Side::Server).close_when_written = true;
//! p.app(Side::Client).close_when_written = true;
//! p.drive();
//! assert_eq!(p.apps[Side::Client.index()].inbox, vec![7; 10_000]);
//! ```

use std::collections::VecDeque;
use std::fmt::{self, Write as _};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Duration;

use super::{TcpConfig, TcpEndpoint, TcpEvent, TcpState};
use crate::sim::Side;
use crate::time::SimTime;
use crate::wire::TcpRepr;

pub const CLIENT_ADDR: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 10), 45926);
pub const SERVER_ADDR: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 7), 2635);
/// The ISNs unless a test picks others ([`TcpPair::with_isns`]).
pub const CLIENT_ISN: u32 = 1_000;
pub const SERVER_ISN: u32 = 9_000;
/// One-way delay of the wire, both directions.
pub const DELAY: Duration = Duration::from_millis(10);
/// The most events one drive handles before it calls the pair stuck.
pub const MAX_STEPS: usize = 1_000_000;

/// What the wire does with a segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    Pass,
    Drop,
    Duplicate,
}

/// Decides each segment's fate, given the side that sent it.
pub type Fault = Box<dyn FnMut(Side, &TcpRepr) -> Fate>;

/// A segment as it was put on the wire.
#[derive(Debug, Clone)]
pub struct Sent {
    pub at: SimTime,
    pub from: Side,
    pub seg: TcpRepr,
    pub fate: Fate,
}

/// The application on one side: bytes to write (as buffer space allows),
/// whether to close after them, whether to read, and what it has seen.
#[derive(Debug, Clone)]
pub struct PairApp {
    pub outbox: Vec<u8>,
    /// How much of `outbox` the endpoint has taken.
    pub written: usize,
    pub close_when_written: bool,
    pub closed: bool,
    /// Reads everything that arrives (on by default); off, the receive
    /// buffer fills and the window closes.
    pub reading: bool,
    pub inbox: Vec<u8>,
    /// The endpoint's events, with when they were polled.
    pub events: Vec<(SimTime, TcpEvent)>,
    /// Every state the endpoint was seen in, without repeats.
    pub states: Vec<TcpState>,
}

impl Default for PairApp {
    fn default() -> PairApp {
        PairApp {
            outbox: Vec::new(),
            written: 0,
            close_when_written: false,
            closed: false,
            reading: true,
            inbox: Vec::new(),
            events: Vec::new(),
            states: Vec::new(),
        }
    }
}

impl PairApp {
    /// How many of the events match.
    pub fn count(&self, pred: impl Fn(&TcpEvent) -> bool) -> usize {
        self.events.iter().filter(|(_, e)| pred(e)).count()
    }

    /// One turn: write what fits, close when all is written, read
    /// everything waiting.
    fn act(&mut self, ep: &mut TcpEndpoint) {
        while self.written < self.outbox.len() {
            let n = ep.send(&self.outbox[self.written..]);
            if n == 0 {
                break;
            }
            self.written += n;
        }
        // Closing in SYN-SENT would drop the connection: wait for the handshake.
        let ready = ep.state() != TcpState::SynSent;
        if self.close_when_written && !self.closed && ready && self.written == self.outbox.len() {
            ep.close();
            self.closed = true;
        }
        let mut buf = [0; 16 * 1024];
        while self.reading {
            let n = ep.recv(&mut buf);
            if n == 0 {
                break;
            }
            self.inbox.extend_from_slice(&buf[..n]);
        }
    }
}

/// Client, server (made when the client's SYN arrives), the wire and the
/// two applications.
pub struct TcpPair {
    pub now: SimTime,
    pub client: TcpEndpoint,
    pub server: Option<TcpEndpoint>,
    server_config: TcpConfig,
    server_isn: u32,
    /// The applications, by [`Side::index`].
    pub apps: [PairApp; 2],
    /// Segments in flight: arrival time, receiver, segment; by arrival.
    wire: VecDeque<(SimTime, Side, TcpRepr)>,
    /// Every segment sent, in order.
    pub log: Vec<Sent>,
    fault: Fault,
    /// A side whose every segment is lost from now on.
    pub cut: Option<Side>,
    /// How long each server segment holds the wire (zero: no bandwidth
    /// limit).
    pub spacing: Duration,
    busy_until: SimTime,
}

impl fmt::Debug for TcpPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.dump())
    }
}

impl TcpPair {
    /// A pair that connects at time zero with the default ISNs.
    pub fn new(client: TcpConfig, server: TcpConfig) -> TcpPair {
        TcpPair::with_isns(CLIENT_ISN, SERVER_ISN, client, server)
    }

    pub fn with_isns(
        client_isn: u32,
        server_isn: u32,
        client: TcpConfig,
        server: TcpConfig,
    ) -> TcpPair {
        let client =
            TcpEndpoint::connect(CLIENT_ADDR, SERVER_ADDR, client_isn, client, SimTime::ZERO);
        TcpPair {
            now: SimTime::ZERO,
            client,
            server: None,
            server_config: server,
            server_isn,
            apps: [PairApp::default(), PairApp::default()],
            wire: VecDeque::new(),
            log: Vec::new(),
            fault: Box::new(|_, _| Fate::Pass),
            cut: None,
            spacing: Duration::ZERO,
            busy_until: SimTime::ZERO,
        }
    }

    /// The pair with a fault function (see the module docs).
    pub fn with_fault(mut self, f: impl FnMut(Side, &TcpRepr) -> Fate + 'static) -> TcpPair {
        self.set_fault(f);
        self
    }

    /// Sets the fault function (see the module docs).
    pub fn set_fault(&mut self, f: impl FnMut(Side, &TcpRepr) -> Fate + 'static) {
        self.fault = Box::new(f);
    }

    /// Drops the `n`-th data segment (1-based) the server sends, once.
    pub fn drop_nth_server_segment(&mut self, n: usize) {
        let mut seen = 0;
        self.set_fault(move |from, seg| {
            if from == Side::Server && !seg.payload.is_empty() {
                seen += 1;
                if seen == n {
                    return Fate::Drop;
                }
            }
            Fate::Pass
        });
    }

    /// The endpoint of `side`. Panics before the server has seen a SYN.
    pub fn ep(&mut self, side: Side) -> &mut TcpEndpoint {
        match side {
            Side::Client => &mut self.client,
            Side::Server => self
                .server
                .as_mut()
                .expect("the server has not seen a SYN yet"),
        }
    }

    /// The server's endpoint. Panics before it has seen a SYN.
    pub fn server(&self) -> &TcpEndpoint {
        self.server
            .as_ref()
            .expect("the server has not seen a SYN yet")
    }

    pub fn app(&mut self, side: Side) -> &mut PairApp {
        &mut self.apps[side.index()]
    }

    /// Queues `bytes` for the side's application to write.
    pub fn write(&mut self, side: Side, bytes: &[u8]) {
        self.app(side).outbox.extend_from_slice(bytes);
    }

    /// Lets both applications act and both endpoints send, at `now`.
    pub fn flush(&mut self) {
        for side in [Side::Client, Side::Server] {
            let now = self.now;
            let app = &mut self.apps[side.index()];
            let ep = match side {
                Side::Client => &mut self.client,
                Side::Server => match self.server.as_mut() {
                    Some(ep) => ep,
                    None => continue,
                },
            };
            app.act(ep);
            let out: Vec<TcpRepr> = std::iter::from_fn(|| ep.poll_segment(now)).collect();
            app.events
                .extend(std::iter::from_fn(|| ep.poll_event()).map(|e| (now, e)));
            if app.states.last() != Some(&ep.state()) {
                app.states.push(ep.state());
            }
            for seg in out {
                self.transmit(side, seg);
            }
        }
    }

    fn transmit(&mut self, from: Side, seg: TcpRepr) {
        let fate = match self.cut == Some(from) {
            true => Fate::Drop,
            false => (self.fault)(from, &seg),
        };
        let mut arrival = self.now + DELAY;
        if from == Side::Server && fate != Fate::Drop && !self.spacing.is_zero() {
            self.busy_until = self.busy_until.max(self.now) + self.spacing;
            arrival = self.busy_until + DELAY;
        }
        let copies = match fate {
            Fate::Pass => 1,
            Fate::Drop => 0,
            Fate::Duplicate => 2,
        };
        for _ in 0..copies {
            let pos = self.wire.partition_point(|w| w.0 <= arrival);
            self.wire.insert(pos, (arrival, from.peer(), seg.clone()));
        }
        let at = self.now;
        self.log.push(Sent {
            at,
            from,
            seg,
            fate,
        });
    }

    /// When the next event (an arrival or a timer) is due, if any.
    pub fn next_event(&self) -> Option<SimTime> {
        let timers = [
            self.client.poll_timeout(),
            self.server.as_ref().and_then(|s| s.poll_timeout()),
        ];
        let arrival = self.wire.front().map(|w| w.0);
        timers.into_iter().chain([arrival]).flatten().min()
    }

    /// One event: the next arrival or timer. False if there is none.
    pub fn step(&mut self) -> bool {
        self.flush();
        let Some(at) = self.next_event() else {
            return false;
        };
        assert!(at >= self.now, "time went backwards:\n{}", self.dump());
        self.now = at;
        if self.wire.front().is_some_and(|w| w.0 == at) {
            let (_, to, seg) = self.wire.pop_front().expect("front was just seen");
            self.deliver(to, &seg);
        } else if self.client.poll_timeout() == Some(at) {
            self.client.handle_timeout(at);
        } else if let Some(server) = self.server.as_mut() {
            server.handle_timeout(at);
        }
        true
    }

    fn deliver(&mut self, to: Side, seg: &TcpRepr) {
        if to == Side::Server && self.server.is_none() {
            let config = self.server_config.clone();
            self.server = TcpEndpoint::accept(
                seg,
                SERVER_ADDR,
                CLIENT_ADDR,
                self.server_isn,
                config,
                self.now,
            );
            return;
        }
        let now = self.now;
        self.ep(to).handle_segment(now, seg);
    }

    /// Runs until nothing is left to happen.
    pub fn drive(&mut self) {
        for _ in 0..MAX_STEPS {
            if !self.step() {
                return;
            }
        }
        panic!("still busy after {MAX_STEPS} steps:\n{}", self.dump());
    }

    /// Runs every event due up to `until`, then sets the clock there.
    pub fn run_until(&mut self, until: SimTime) {
        for _ in 0..MAX_STEPS {
            self.flush();
            match self.next_event() {
                Some(at) if at <= until => {
                    self.step();
                }
                _ => {
                    self.now = self.now.max(until);
                    self.flush();
                    return;
                }
            }
        }
        panic!("still busy after {MAX_STEPS} steps:\n{}", self.dump());
    }

    /// Runs until `goal` holds; panics if the run goes idle first.
    pub fn drive_until(&mut self, goal: impl Fn(&mut TcpPair) -> bool) {
        for _ in 0..MAX_STEPS {
            self.flush();
            if goal(self) {
                return;
            }
            if !self.step() {
                panic!("idle before the goal was reached:\n{}", self.dump());
            }
        }
        panic!("goal not reached after {MAX_STEPS} steps:\n{}", self.dump());
    }

    /// Runs until both ends are established.
    pub fn established(&mut self) {
        self.drive_until(|p| {
            p.client.is_established() && p.server.as_ref().is_some_and(|s| s.is_established())
        });
    }

    /// Both endpoints and the last 20 segments, for a failure message.
    pub fn dump(&self) -> String {
        let mut out = format!("at {}\n", self.now);
        let eps = [
            ("client", Some(&self.client)),
            ("server", self.server.as_ref()),
        ];
        for ((name, ep), app) in eps.into_iter().zip(&self.apps) {
            let Some(ep) = ep else { continue };
            let _ = writeln!(
                out,
                "{name}: {} error={:?} in_flight={} send_space={} recv_available={} \
                 peer_window={} timeout={:?} written={}/{} read={}",
                ep.state(),
                ep.error(),
                ep.bytes_in_flight(),
                ep.send_space(),
                ep.recv_available(),
                ep.peer_window(),
                ep.poll_timeout().map(|t| t.to_string()),
                app.written,
                app.outbox.len(),
                app.inbox.len(),
            );
        }
        let trace = self.trace();
        let lines: Vec<&str> = trace.lines().collect();
        for line in &lines[lines.len().saturating_sub(20)..] {
            let _ = writeln!(out, "  {line}");
        }
        out
    }

    /// The wire as a text table: time, direction, segment, fate.
    pub fn trace(&self) -> String {
        let mut out = String::new();
        for s in &self.log {
            let arrow = match s.from {
                Side::Client => "c>s",
                Side::Server => "s>c",
            };
            let fate = match s.fate {
                Fate::Pass => "",
                Fate::Drop => "  DROPPED",
                Fate::Duplicate => "  DUPLICATED",
            };
            let _ = writeln!(out, "{} {arrow} {}{fate}", s.at, s.seg);
        }
        out
    }

    /// The segments `side` sent.
    pub fn sent(&self, side: Side) -> impl Iterator<Item = &Sent> {
        self.log.iter().filter(move |s| s.from == side)
    }

    /// The data-carrying segments `side` sent.
    pub fn data_from(&self, side: Side) -> impl Iterator<Item = &Sent> {
        self.sent(side).filter(|s| !s.seg.payload.is_empty())
    }
}
