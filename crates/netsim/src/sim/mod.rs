//! The simulation: two hosts, one TCP connection between them, one link
//! per direction, fault rules, the two applications, a trace and a
//! capture — all driven by one event queue in virtual time.
//!
//! # The loop
//!
//! ```text
//! step():
//!     pop the earliest event; now = its time
//!         a segment arrives   -> the receiving endpoint's handle_segment
//!                                (the server's first SYN creates its endpoint)
//!         a wake-up           -> nothing more (timers are checked below)
//!     for each side: handle the TCP and app timers that are due, then pump:
//!         TCP -> wire   what the endpoint owes (an ACK, say) goes out first
//!         drain         an app waiting for its bytes to be acknowledged hears
//!                       handle_drained once the endpoint's send queue is empty
//!         app -> TCP    send() what the session has pending, consume() it
//!         TCP -> app    recv() at most read_size(now) bytes per read, one
//!                       handle_read per recv (one command per read in the
//!                       original dialect); the peer's FIN -> handle_eof
//!         app done      -> close() the endpoint
//!         TCP -> wire   each segment: rules, then the link; seen leaving
//!                       (and, when it arrives, seen arriving: see [`capture`])
//!     schedule a wake-up at the earliest timer still ahead
//! ```
//!
//! A wake-up that finds nothing due is harmless. There is no wall clock and
//! no hash map: one seed and one scenario give one trace and one capture,
//! byte for byte. [`Sim::run_until_idle`] is bounded and fails with a dump
//! of both connections rather than hang.

mod capture;
mod pump;

pub use capture::{CapturePoint, CapturedFrame};

use std::net::SocketAddrV4;
use std::path::Path;

use crate::apps::SimApp;
use crate::link::{Link, LinkConfig};
use crate::pcapng::PcapngError;
use crate::queue::EventQueue;
use crate::rng::SimRng;
use crate::rules::{Rule, Rules};
use crate::tcp::{TcpConfig, TcpEndpoint, TcpState};
use crate::time::SimTime;
use crate::trace::Trace;
use crate::wire::TcpRepr;

/// The comment on every captured frame the network dropped.
pub const DROPPED: &str = "dropped by the network";
/// The application name written in the capture.
const APP_NAME: &str = "streamlab-netsim";

/// One end of the connection: the protocol observer's own `Side`, so the
/// simulator and proto name the two ends with one type.
pub use streamlab_proto::observe::Side;

/// Everything a simulation is made of, apart from its applications.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Decides the ISNs and every random fate on the links.
    pub seed: u64,
    pub client: SocketAddrV4,
    pub server: SocketAddrV4,
    /// Client to server.
    pub uplink: LinkConfig,
    /// Server to client.
    pub downlink: LinkConfig,
    pub client_tcp: TcpConfig,
    pub server_tcp: TcpConfig,
    /// Where the capture is taken (the client's interface by default).
    pub capture_at: CapturePoint,
}

impl SimConfig {
    /// The report's hosts (client 10.0.0.10:45926, server 10.0.0.7:2635) on
    /// a quiet LAN, with `seed`.
    pub fn new(seed: u64) -> Self {
        SimConfig {
            seed,
            client: "10.0.0.10:45926".parse().expect("a valid literal address"),
            server: "10.0.0.7:2635".parse().expect("a valid literal address"),
            uplink: LinkConfig::default(),
            downlink: LinkConfig::default(),
            client_tcp: TcpConfig::default(),
            server_tcp: TcpConfig::default(),
            capture_at: CapturePoint::default(),
        }
    }
}

/// Why a run did not finish.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("no event left before both connections closed (seed {seed})\n{dump}")]
    Stuck { seed: u64, dump: String },
    #[error("still running after {events} events (seed {seed})\n{dump}")]
    Bound {
        seed: u64,
        events: usize,
        dump: String,
    },
    #[error(transparent)]
    Pcapng(#[from] PcapngError),
}

/// Something on the event queue.
#[derive(Debug)]
enum Event {
    /// `frame` is the segment's index in [`Sim::frames`].
    Arrive {
        to: Side,
        seg: TcpRepr,
        frame: usize,
    },
    Wake,
}

/// One host: its end of the connection and its application.
struct Host {
    addr: SocketAddrV4,
    tcp: Option<TcpEndpoint>,
    app: Box<dyn SimApp>,
    /// The IPv4 identification of the next frame.
    ident: u16,
    /// The state last written in the trace.
    state: Option<TcpState>,
    connected: bool,
    eof_given: bool,
    close_called: bool,
}

/// A frame as its sender put it on the wire: when, its bytes, and why the
/// network dropped it, if it did.
pub type Captured = (SimTime, Vec<u8>, Option<String>);

/// A whole simulation. See the [module documentation](self).
pub struct Sim {
    config: SimConfig,
    now: SimTime,
    /// Each link's own draws (loss, jitter, duplication, reordering):
    /// [`direction_rngs`](crate::link::direction_rngs).
    link_rngs: [SimRng; 2],
    queue: EventQueue<Event>,
    hosts: [Host; 2],
    links: [Link; 2],
    rules: Rules,
    server_isn: u32,
    /// The wake-up already on the queue, to avoid piling up duplicates.
    wake_at: Option<SimTime>,
    trace: Trace,
    frames: Vec<Captured>,
    /// Every frame leaving and every frame arriving, in time order.
    sightings: Vec<capture::Sighting>,
    events: usize,
    /// The server's windows over time, once [`Sim::record_windows`] asked.
    windows: Option<Vec<WindowSample>>,
}

/// The server's sending state at one moment: what a graph of a run draws
/// beside the segments ([`Sim::record_windows`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowSample {
    pub at: SimTime,
    /// The congestion window in bytes (segments × MSS); `None` for a model
    /// without congestion control.
    pub cwnd: Option<u64>,
    /// Bytes sent and not yet acknowledged.
    pub in_flight: u64,
    /// The window the client last offered, as the server holds it.
    pub peer_window: u64,
}

impl Sim {
    /// Builds the network and starts the client's connect at time 0.
    pub fn new(config: SimConfig, client: Box<dyn SimApp>, server: Box<dyn SimApp>) -> Self {
        let mut rng = SimRng::new(config.seed);
        let client_isn = rng.next_u32();
        let server_isn = rng.next_u32();
        let tcp = TcpEndpoint::connect(
            config.client,
            config.server,
            client_isn,
            config.client_tcp.clone(),
            SimTime::ZERO,
        );
        let host = |addr, tcp, app| Host {
            addr,
            tcp,
            app,
            ident: 0,
            state: None,
            connected: false,
            eof_given: false,
            close_called: false,
        };
        let mut sim = Sim {
            now: SimTime::ZERO,
            link_rngs: crate::link::direction_rngs(config.seed),
            queue: EventQueue::new(),
            hosts: [
                host(config.client, Some(tcp), client),
                host(config.server, None, server),
            ],
            links: [
                Link::new(config.uplink.clone()),
                Link::new(config.downlink.clone()),
            ],
            rules: Rules::default(),
            server_isn,
            wake_at: None,
            trace: Trace::new(),
            frames: Vec::new(),
            sightings: Vec::new(),
            events: 0,
            windows: None,
            config,
        };
        sim.pump_all();
        sim
    }

    /// Adds a fault rule (asked after the ones already there).
    pub fn rule(&mut self, rule: Rule) -> &mut Self {
        self.rules.push(rule);
        self
    }

    // ---- getters -------------------------------------------------------

    pub fn now(&self) -> SimTime {
        self.now
    }

    pub fn seed(&self) -> u64 {
        self.config.seed
    }

    pub fn config(&self) -> &SimConfig {
        &self.config
    }

    /// How many events the run has handled so far.
    pub fn events(&self) -> usize {
        self.events
    }

    pub fn trace(&self) -> &Trace {
        &self.trace
    }

    /// Every frame put on the wire, in the order sent, with the time it
    /// left its sender (dropped ones too). A capture shows one host's view:
    /// [`Sim::capture`].
    pub fn frames(&self) -> &[Captured] {
        &self.frames
    }

    pub fn tcp(&self, side: Side) -> Option<&TcpEndpoint> {
        self.hosts[side.index()].tcp.as_ref()
    }

    /// The application on `side`, if it is an `A`.
    pub fn app<A: SimApp>(&self, side: Side) -> Option<&A> {
        self.hosts[side.index()].app.as_any().downcast_ref()
    }

    /// True once both endpoints exist and are CLOSED.
    pub fn all_closed(&self) -> bool {
        self.hosts
            .iter()
            .all(|h| h.tcp.as_ref().is_some_and(TcpEndpoint::is_closed))
    }

    /// What a stuck run prints: time, both connections and both apps.
    pub fn dump(&self) -> String {
        let mut s = format!(
            "at {} after {} events, {} on the queue; replay with seed {}\n",
            self.now,
            self.events,
            self.queue.len(),
            self.config.seed
        );
        for h in &self.hosts {
            let tcp = match &h.tcp {
                Some(t) => format!(
                    "TCP {}, {} B in flight, {} B unread, peer window {}",
                    t.state(),
                    t.bytes_in_flight(),
                    t.recv_available(),
                    t.peer_window()
                ),
                None => "no TCP endpoint yet".to_string(),
            };
            s += &format!("  {}: {tcp}; {}\n", h.addr, h.app.describe());
        }
        s
    }

    /// From now on, keeps the server's [`WindowSample`] after each event
    /// that changed it; the run is otherwise the same, byte for byte.
    pub fn record_windows(&mut self) -> &mut Self {
        self.windows.get_or_insert_with(Vec::new);
        self
    }

    /// The samples kept since [`Sim::record_windows`], in time order.
    pub fn windows(&self) -> &[WindowSample] {
        self.windows.as_deref().unwrap_or_default()
    }

    // ---- running -------------------------------------------------------

    /// Handles the next event; false when the queue is empty.
    pub fn step(&mut self) -> bool {
        let Some((at, event)) = self.queue.pop() else {
            return false;
        };
        self.now = at;
        self.events += 1;
        match event {
            Event::Arrive { to, seg, frame } => {
                self.sightings.push(capture::Sighting {
                    at,
                    side: to,
                    frame,
                    sent: false,
                });
                self.arrive(to, &seg);
            }
            Event::Wake => {
                if self.wake_at == Some(at) {
                    self.wake_at = None;
                }
            }
        }
        self.pump_all();
        self.sample_windows();
        true
    }

    fn sample_windows(&mut self) {
        let (Some(windows), Some(tcp)) = (&mut self.windows, &self.hosts[Side::Server.index()].tcp)
        else {
            return;
        };
        let cwnd = tcp.cwnd();
        let sample = WindowSample {
            at: self.now,
            cwnd: (cwnd != u32::MAX).then(|| u64::from(cwnd) * tcp.send_mss() as u64),
            in_flight: tcp.bytes_in_flight() as u64,
            peer_window: tcp.peer_window() as u64,
        };
        let same = |w: &WindowSample| {
            (w.cwnd, w.in_flight, w.peer_window)
                == (sample.cwnd, sample.in_flight, sample.peer_window)
        };
        if !windows.last().is_some_and(same) {
            windows.push(sample);
        }
    }

    /// Runs until nothing is left to happen, at most `max_events` events.
    /// Fails with a dump if the bound is hit, or if the queue runs dry
    /// while a connection is still open.
    pub fn run_until_idle(&mut self, max_events: usize) -> Result<(), SimError> {
        self.run_until(max_events, |_| false)?;
        if self.all_closed() {
            Ok(())
        } else {
            Err(SimError::Stuck {
                seed: self.config.seed,
                dump: self.dump(),
            })
        }
    }

    /// Runs until `done` says so or the queue is empty, at most
    /// `max_events` events.
    pub fn run_until(
        &mut self,
        max_events: usize,
        mut done: impl FnMut(&Sim) -> bool,
    ) -> Result<(), SimError> {
        for _ in 0..max_events {
            if done(self) || !self.step() {
                return Ok(());
            }
        }
        if done(self) || self.queue.is_empty() {
            return Ok(());
        }
        Err(SimError::Bound {
            seed: self.config.seed,
            events: max_events,
            dump: self.dump(),
        })
    }

    // ---- output ----------------------------------------------------------

    /// The capture as bytes.
    pub fn pcapng_bytes(&self) -> Vec<u8> {
        // Writing to a Vec cannot fail, and frames fit the snapshot length
        // (one MSS at most, checked by `emit_frame`).
        self.write_pcapng(Vec::new())
            .expect("writing pcapng to memory")
    }

    /// Writes the capture to a file.
    pub fn save_pcapng(&self, path: &Path) -> Result<(), SimError> {
        let file = std::fs::File::create(path).map_err(PcapngError::Io)?;
        self.write_pcapng(std::io::BufWriter::new(file))?;
        Ok(())
    }

    // ---- internals -------------------------------------------------------

    fn arrive(&mut self, to: Side, seg: &TcpRepr) {
        let now = self.now;
        let host = &mut self.hosts[to.index()];
        match &mut host.tcp {
            Some(tcp) => tcp.handle_segment(now, seg),
            None => {
                // The listening socket: the first SYN creates the endpoint.
                let remote = self.config.client;
                host.tcp = TcpEndpoint::accept(
                    seg,
                    host.addr,
                    remote,
                    self.server_isn,
                    self.config.server_tcp.clone(),
                    now,
                );
            }
        }
    }

    fn pump_all(&mut self) {
        for side in [Side::Client, Side::Server] {
            self.fire_timers(side);
            self.pump(side);
        }
        self.schedule_wake();
    }

    fn fire_timers(&mut self, side: Side) {
        let now = self.now;
        let host = &mut self.hosts[side.index()];
        let Some(tcp) = &mut host.tcp else { return };
        if tcp.poll_timeout().is_some_and(|t| t <= now) {
            tcp.handle_timeout(now);
        }
        if host.connected && host.app.poll_timeout().is_some_and(|t| t <= now) {
            host.app.handle_timeout(now);
        }
    }

    /// Schedules a wake-up at the earliest timer after now (timers at or
    /// before now were just handled).
    fn schedule_wake(&mut self) {
        let now = self.now;
        let next = self
            .hosts
            .iter()
            .filter_map(|h| {
                let tcp = h.tcp.as_ref()?;
                let app = h.connected.then(|| h.app.poll_timeout()).flatten();
                [tcp.poll_timeout(), app]
                    .into_iter()
                    .flatten()
                    .filter(|&t| t > now)
                    .min()
            })
            .min();
        if let Some(t) = next {
            if self.wake_at.is_none_or(|w| t < w || w <= now) {
                self.wake_at = Some(t);
                self.queue.push(t, Event::Wake);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apps::{Catalogue, ScriptedPeer, ServerApp};
    use streamlab_proto::{DialectChoice, ServerConfig};

    /// A peer that asks for the list and then never speaks or closes again.
    fn silent_after_list(seed: u64) -> Sim {
        let peer = ScriptedPeer::new(vec![(SimTime::ZERO, b"lista".to_vec())]);
        let config = ServerConfig {
            dialect: DialectChoice::Original,
            ..ServerConfig::default()
        };
        let server = ServerApp::new(config, Catalogue::new(Vec::new(), Vec::new()));
        Sim::new(SimConfig::new(seed), Box::new(peer), Box::new(server))
    }

    #[test]
    fn a_run_with_nothing_left_to_do_fails_with_a_dump() {
        let mut sim = silent_after_list(7);
        let err = sim.run_until_idle(1_000).unwrap_err().to_string();
        assert!(err.starts_with("no event left"), "{err}");
        assert!(err.contains("seed 7"), "{err}");
        assert!(err.contains("10.0.0.7:2635: TCP ESTABLISHED"), "{err}");
        assert!(err.contains("scripted peer: 0 writes left"), "{err}");
    }

    #[test]
    fn a_run_that_hits_its_bound_fails_with_a_dump() {
        let mut sim = silent_after_list(7);
        let err = sim.run_until_idle(3).unwrap_err().to_string();
        assert!(err.starts_with("still running after 3 events"), "{err}");
    }
}
