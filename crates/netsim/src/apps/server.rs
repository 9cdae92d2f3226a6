//! The protocol crate's server session as a simulated application, with an
//! in-memory catalogue of songs and devices.
use std::any::Any;
use std::cell::RefCell;
use std::collections::VecDeque;

use streamlab_proto::{
    original, Device, Dialect, Outcome, PlayState, ServerConfig, ServerContext, ServerEvent,
    ServerSession, Track, TrackUnavailable,
};

use super::{SimApp, FRAMED_READ};
use crate::time::SimTime;
use crate::trace::preview;

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

    fn track(&self, name: &str) -> Result<Track, TrackUnavailable> {
        streamlab_proto::find_track(&self.tracks, name)
            .cloned()
            .ok_or(TrackUnavailable::NotFound)
    }

    fn devices(&self) -> Vec<Device> {
        self.devices.borrow().clone()
    }

    fn report(&self, _conn: u64, state: PlayState, song: Option<String>, at: Option<u64>) {
        // One connection per simulation: the first device is its client.
        if let Some(d) = self.devices.borrow_mut().first_mut() {
            d.state = state;
            d.song = song;
            d.position_ms = at;
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

impl SimApp for ServerApp {
    fn on_connected(&mut self, _now: SimTime) {
        self.take_events();
    }

    fn pending(&self, now: SimTime) -> &[u8] {
        self.session.pending(now.as_duration())
    }

    fn consume(&mut self, now: SimTime, n: usize) {
        self.session.consume(now.as_duration(), n);
    }

    fn wants_drain(&self) -> bool {
        self.session.wants_drain()
    }

    fn handle_drained(&mut self, now: SimTime) {
        self.notes.push_back(
            "server: the client acknowledged every byte written; drain barrier passed".into(),
        );
        self.session.handle_drained(now.as_duration());
    }

    fn read_size(&self, _now: SimTime) -> usize {
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
            "server session: dialect {:?}, wants_read {}, wants_drain {}, {} B queued",
            self.session.dialect(),
            self.session.wants_read(),
            self.session.wants_drain(),
            self.session.queued_bytes()
        )
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
