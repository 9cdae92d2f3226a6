//! The applications the simulator runs on its TCP: the protocol crate's
//! own server and client sessions (not copies of them), and a scripted
//! peer that writes given bytes at given times, as the original Python
//! client did.
//!
//! Each application is an [`App`]: the same sans-IO shape as the sessions
//! themselves — bytes to write ([`App::pending`] / [`App::consume`]), reads
//! handed in ([`App::handle_read`], [`App::handle_eof`]), a timer
//! ([`App::poll_timeout`] / [`App::handle_timeout`]) — plus what the
//! simulator needs to drive a socket for it: how much one read may take,
//! and when to close.

use std::any::Any;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::fmt::Write as _;

use streamlab_proto::{
    original, ClientConfig, ClientEvent, ClientSession, Device, Dialect, Outcome, PlayState,
    Request, ServerConfig, ServerContext, ServerEvent, ServerSession, Track,
};

use crate::time::SimTime;
use crate::trace::preview;

/// The most a framed reader takes in one read.
const FRAMED_READ: usize = 64 * 1024;

/// An application on one end of the simulated connection.
///
/// The simulator calls it only once its TCP connection is established.
/// Notes ([`App::poll_note`]) become rows of the trace.
pub trait App: Any {
    /// Called once, when the connection is established.
    fn on_connected(&mut self, _now: SimTime) {}
    /// Bytes to write now.
    fn pending(&self, now: SimTime) -> &[u8];
    /// `n` bytes of [`pending`](App::pending) were taken by TCP.
    fn consume(&mut self, now: SimTime, n: usize);
    /// The most bytes one read may take now; 0 when not reading.
    fn read_size(&self) -> usize;
    /// One read's bytes.
    fn handle_read(&mut self, now: SimTime, data: &[u8]);
    /// The peer closed its side and everything before it was read.
    fn handle_eof(&mut self, now: SimTime);
    /// When [`handle_timeout`](App::handle_timeout) is due, if ever.
    fn poll_timeout(&self) -> Option<SimTime>;
    fn handle_timeout(&mut self, _now: SimTime) {}
    /// True when the application is done and its socket should be closed.
    fn wants_close(&self, now: SimTime) -> bool;
    /// The next line for the trace.
    fn poll_note(&mut self) -> Option<String>;
    /// One line of state for a stuck run's dump.
    fn describe(&self) -> String;
    /// For [`Sim::app`](crate::sim::Sim::app), to get the concrete type back.
    fn as_any(&self) -> &dyn Any;
}

// ---- the server ----------------------------------------------------------

/// The server's shared state, in memory: a song catalogue and a device
/// registry (one client here).
#[derive(Debug)]
pub struct Catalogue {
    tracks: Vec<Track>,
    devices: RefCell<Vec<Device>>,
}

impl Catalogue {
    pub fn new(tracks: Vec<Track>, devices: Vec<Device>) -> Self {
        Catalogue {
            tracks,
            devices: RefCell::new(devices),
        }
    }
}

impl ServerContext for Catalogue {
    fn song_names(&self) -> Vec<String> {
        self.tracks.iter().map(|t| t.name.clone()).collect()
    }

    fn track(&self, name: &str) -> Option<Track> {
        streamlab_proto::find_track(&self.tracks, name).cloned()
    }

    fn devices(&self) -> Vec<Device> {
        self.devices.borrow().clone()
    }

    fn report(&self, _conn: u64, state: PlayState, song: Option<String>) {
        // One connection per simulation: the first device is its client.
        if let Some(d) = self.devices.borrow_mut().first_mut() {
            d.state = state;
            d.song = song;
        }
    }
}

/// The protocol crate's [`ServerSession`] with its catalogue.
///
/// Reads follow the original server's habit in the original dialect: at
/// most [`original::RECV_SIZE`] bytes, and each read is one command — so
/// two commands that TCP glued together are read, and rejected, as one.
#[derive(Debug)]
pub struct ServerApp {
    session: ServerSession,
    ctx: Catalogue,
    notes: VecDeque<String>,
}

impl ServerApp {
    pub fn new(config: ServerConfig, ctx: Catalogue) -> Self {
        ServerApp {
            session: ServerSession::new(1, config),
            ctx,
            notes: VecDeque::new(),
        }
    }

    pub fn session(&self) -> &ServerSession {
        &self.session
    }

    fn take_events(&mut self) {
        while let Some(e) = self.session.poll_event() {
            let note = match e {
                ServerEvent::Dialect(d) => format!("server speaks {d}"),
                ServerEvent::Command { text, outcome } => {
                    format!(
                        "server: {} → {}",
                        preview(text.as_bytes()),
                        outcome_text(&outcome)
                    )
                }
                ServerEvent::BadInput { detail } => format!("server: bad input: {detail}"),
            };
            self.notes.push_back(note);
        }
    }
}

fn outcome_text(o: &Outcome) -> String {
    match o {
        Outcome::Replied => "reply".into(),
        Outcome::Track { name, bytes } => format!("track {name} ({bytes} B)"),
        Outcome::NotFound => "not found".into(),
        Outcome::Recorded => "recorded".into(),
        Outcome::Goodbye => "goodbye".into(),
        Outcome::Rejected(why) => format!("rejected: {why}"),
    }
}

impl App for ServerApp {
    fn on_connected(&mut self, _now: SimTime) {
        self.take_events();
    }

    fn pending(&self, now: SimTime) -> &[u8] {
        self.session.pending(now.as_duration())
    }

    fn consume(&mut self, now: SimTime, n: usize) {
        self.session.consume(now.as_duration(), n);
    }

    fn read_size(&self) -> usize {
        match (self.session.wants_read(), self.session.dialect()) {
            (false, _) => 0,
            (true, Some(Dialect::Framed)) => FRAMED_READ,
            // The original server's `recv(1024)`, also while auto-detecting.
            (true, _) => original::RECV_SIZE,
        }
    }

    fn handle_read(&mut self, now: SimTime, data: &[u8]) {
        self.notes
            .push_back(format!("server read {}", preview(data)));
        self.session.handle_read(now.as_duration(), data, &self.ctx);
        self.take_events();
    }

    fn handle_eof(&mut self, _now: SimTime) {
        self.notes.push_back("server read end of stream".into());
        self.session.handle_eof();
    }

    fn poll_timeout(&self) -> Option<SimTime> {
        self.session.poll_timeout().map(SimTime::from)
    }

    fn wants_close(&self, now: SimTime) -> bool {
        self.session.is_finished(now.as_duration())
    }

    fn poll_note(&mut self) -> Option<String> {
        self.notes.pop_front()
    }

    fn describe(&self) -> String {
        format!(
            "server session: dialect {:?}, wants_read {}, {} B queued",
            self.session.dialect(),
            self.session.wants_read(),
            self.session.queued_bytes()
        )
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

// ---- the client ----------------------------------------------------------

/// The protocol crate's [`ClientSession`] running a list of requests.
///
/// All requests are handed to the session when the connection is up (the
/// session itself sends them one at a time in the original dialect, and
/// all at once in the framed one). Every [`ClientEvent`] is kept, in
/// order. After the goodbye, or when the session closes, the app closes
/// its socket.
#[derive(Debug)]
pub struct ClientApp {
    session: ClientSession,
    requests: Vec<Request>,
    events: Vec<ClientEvent>,
    notes: VecDeque<String>,
}

impl ClientApp {
    pub fn new(dialect: Dialect, requests: Vec<Request>) -> Self {
        ClientApp {
            session: ClientSession::new(ClientConfig::new(dialect)),
            requests,
            events: Vec::new(),
            notes: VecDeque::new(),
        }
    }

    /// Every event the session reported, in order.
    pub fn events(&self) -> &[ClientEvent] {
        &self.events
    }

    fn take_events(&mut self) {
        while let Some(e) = self.session.poll_event() {
            self.notes
                .push_back(format!("client got {}", event_text(&e)));
            self.events.push(e);
        }
    }
}

/// A client event as one short line, without the audio itself.
pub fn event_text(e: &ClientEvent) -> String {
    match e {
        ClientEvent::Ready(s) => format!("Ready {}", preview(s.as_bytes())),
        ClientEvent::Songs(names) => format!("Songs[{}]", names.join(", ")),
        ClientEvent::TrackStart { name, bytes, .. } => match bytes {
            Some(b) => format!("TrackStart {name} ({b} B)"),
            None => format!("TrackStart {name}"),
        },
        ClientEvent::TrackData { name, data } => format!("TrackData {name} {} B", data.len()),
        ClientEvent::TrackEnd { name, bytes } => format!("TrackEnd {name} ({bytes} B)"),
        ClientEvent::Devices(ds) => {
            let mut s = String::from("Devices[");
            for (i, d) in ds.iter().enumerate() {
                let sep = if i == 0 { "" } else { ", " };
                let _ = write!(s, "{sep}{}:{} {}", d.ip, d.port, d.state.as_str());
            }
            s + "]"
        }
        ClientEvent::Recorded => "Recorded".into(),
        ClientEvent::NotFound { name, .. } => format!("NotFound {name}"),
        ClientEvent::ServerError { code, message } => match code {
            Some(c) => format!("ServerError {c} {}", preview(message.as_bytes())),
            None => format!("ServerError {}", preview(message.as_bytes())),
        },
        ClientEvent::Goodbye => "Goodbye".into(),
        ClientEvent::Closed { reason: None } => "Closed".into(),
        ClientEvent::Closed { reason: Some(r) } => format!("Closed ({r})"),
    }
}

impl App for ClientApp {
    fn on_connected(&mut self, now: SimTime) {
        for req in std::mem::take(&mut self.requests) {
            self.session.send(now.as_duration(), req);
        }
        self.take_events();
    }

    fn pending(&self, now: SimTime) -> &[u8] {
        self.session.pending(now.as_duration())
    }

    fn consume(&mut self, now: SimTime, n: usize) {
        self.session.consume(now.as_duration(), n);
    }

    fn read_size(&self) -> usize {
        if self.session.is_closed() {
            0
        } else {
            FRAMED_READ
        }
    }

    fn handle_read(&mut self, now: SimTime, data: &[u8]) {
        self.session.handle_input(now.as_duration(), data);
        self.take_events();
    }

    fn handle_eof(&mut self, now: SimTime) {
        self.session.handle_eof(now.as_duration());
        self.take_events();
    }

    fn poll_timeout(&self) -> Option<SimTime> {
        self.session.poll_timeout().map(SimTime::from)
    }

    fn handle_timeout(&mut self, now: SimTime) {
        self.session.handle_timeout(now.as_duration());
        self.take_events();
    }

    fn wants_close(&self, _now: SimTime) -> bool {
        self.session.is_closed() || self.events.contains(&ClientEvent::Goodbye)
    }

    fn poll_note(&mut self) -> Option<String> {
        self.notes.pop_front()
    }

    fn describe(&self) -> String {
        format!(
            "client session: {} requests outstanding, idle {}, closed {}, {} events",
            self.session.outstanding(),
            self.session.is_idle(),
            self.session.is_closed(),
            self.events.len()
        )
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

// ---- the scripted peer ---------------------------------------------------

/// A peer that writes given bytes at given (virtual) times and keeps
/// everything it reads — to act like the original Python client, whose
/// `send("lista")` and `send("quit")` could leave in one segment.
///
/// Writes due at the same time go to TCP one after the other, before TCP
/// sends anything, so they share a segment. The peer closes its socket
/// after its last write if told to ([`ScriptedPeer::close_at`]), or when
/// the other side closes.
#[derive(Debug)]
pub struct ScriptedPeer {
    /// (when, bytes not yet written), in time order.
    script: VecDeque<(SimTime, Vec<u8>)>,
    close_at: Option<SimTime>,
    received: Vec<u8>,
    eof: bool,
    notes: VecDeque<String>,
}

impl ScriptedPeer {
    /// `script` lists (time, bytes) writes; they are sorted by time (a
    /// stable sort: writes at one instant keep their order).
    pub fn new(script: Vec<(SimTime, Vec<u8>)>) -> Self {
        let mut script = script;
        script.sort_by_key(|(t, _)| *t);
        ScriptedPeer {
            script: script.into(),
            close_at: None,
            received: Vec::new(),
            eof: false,
            notes: VecDeque::new(),
        }
    }

    /// Closes the socket at `t` (once every write is done).
    pub fn close_at(mut self, t: SimTime) -> Self {
        self.close_at = Some(t);
        self
    }

    /// Everything read so far.
    pub fn received(&self) -> &[u8] {
        &self.received
    }
}

impl App for ScriptedPeer {
    fn pending(&self, now: SimTime) -> &[u8] {
        match self.script.front() {
            Some((t, bytes)) if *t <= now => bytes,
            _ => &[],
        }
    }

    fn consume(&mut self, _now: SimTime, n: usize) {
        if let Some((_, bytes)) = self.script.front_mut() {
            bytes.drain(..n.min(bytes.len()));
            if bytes.is_empty() {
                self.script.pop_front();
            }
        }
    }

    fn read_size(&self) -> usize {
        FRAMED_READ
    }

    fn handle_read(&mut self, _now: SimTime, data: &[u8]) {
        self.notes.push_back(format!("peer read {}", preview(data)));
        self.received.extend_from_slice(data);
    }

    fn handle_eof(&mut self, _now: SimTime) {
        self.notes.push_back("peer read end of stream".into());
        self.eof = true;
    }

    fn poll_timeout(&self) -> Option<SimTime> {
        let next_write = self.script.front().map(|(t, _)| *t);
        match (next_write, self.close_at) {
            (Some(w), _) => Some(w),
            (None, c) => c,
        }
    }

    fn wants_close(&self, now: SimTime) -> bool {
        self.script.is_empty() && (self.eof || self.close_at.is_some_and(|t| t <= now))
    }

    fn poll_note(&mut self) -> Option<String> {
        self.notes.pop_front()
    }

    fn describe(&self) -> String {
        format!(
            "scripted peer: {} writes left, {} B read, eof {}",
            self.script.len(),
            self.received.len(),
            self.eof
        )
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scripted_peer_offers_its_writes_when_they_are_due() {
        let ms = SimTime::from_millis;
        let mut p = ScriptedPeer::new(vec![(ms(5), b"quit".to_vec()), (ms(0), b"lista".to_vec())]);
        assert_eq!(p.pending(ms(0)), b"lista");
        p.consume(ms(0), 2);
        assert_eq!(p.pending(ms(0)), b"sta");
        p.consume(ms(0), 3);
        assert_eq!(p.pending(ms(1)), b"");
        assert_eq!(p.poll_timeout(), Some(ms(5)));
        assert_eq!(p.pending(ms(5)), b"quit");
        p.consume(ms(5), 4);
        assert!(!p.wants_close(ms(6)), "no close time and no end of stream");
        p.handle_eof(ms(7));
        assert!(p.wants_close(ms(7)));
    }
}
