//! The protocol crate's client session as a simulated application.

use std::any::Any;
use std::collections::VecDeque;

use streamlab_proto::{ClientConfig, ClientEvent, ClientSession, Dialect, PlayState, Request};

use super::{SimApp, FRAMED_READ};
use crate::player::{Arrivals, PlayerConfig, PlayerModel};
use crate::time::SimTime;
use crate::trace::preview;

/// The protocol crate's [`ClientSession`] running a list of requests.
///
/// All requests are handed to the session when the connection is up (the
/// session itself sends them one at a time in the original dialect, and
/// all at once in the framed one). Every [`ClientEvent`] is kept, in
/// order. After the goodbye, or when the session closes, the app closes
/// its socket.
///
/// Two optional habits make it a listener rather than a downloader:
/// [`ClientApp::with_player`] plays each track in virtual real time (time
/// to first audio, stalls), and [`ClientApp::stop_reading`] leaves the
/// socket unread for a while, so the receive window fills up.
#[derive(Debug)]
pub struct ClientApp {
    session: ClientSession,
    requests: Vec<Request>,
    events: Vec<ClientEvent>,
    notes: VecDeque<String>,
    player: Option<PlayerModel>,
    /// No reads from `.0` until `.1`.
    reading_pause: Option<(SimTime, SimTime)>,
    /// How far the reading pause has got: 0 before, 1 during, 2 after.
    pause_phase: u8,
    /// The server said goodbye.
    goodbye: bool,
    /// The first track as it was read: when it began (and its format),
    /// each read's audio bytes, and when it ended.
    arrivals: Arrivals,
    /// Send the requests one at a time, as the kit's client does
    /// ([`ClientApp::like_the_kits_client`]).
    one_at_a_time: bool,
}

impl ClientApp {
    pub fn new(dialect: Dialect, requests: Vec<Request>) -> Self {
        ClientApp {
            session: ClientSession::new(ClientConfig::new(dialect)),
            requests,
            events: Vec::new(),
            notes: VecDeque::new(),
            player: None,
            reading_pause: None,
            pause_phase: 0,
            goodbye: false,
            arrivals: Arrivals::default(),
            one_at_a_time: false,
        }
    }

    /// Talks as the kit's own client does (`streamlab client` running
    /// `play NAME; wait; quit`, which is what `sim --kernel` runs): in the
    /// framed dialect it waits for the greeting's answer before its first
    /// request; each request goes when the one before is answered; and when
    /// a framed track starts it reports `status playing @0.000 NAME`. So a
    /// simulated download makes the same conversation, segment for segment,
    /// as a run on the kernel. Without it, all requests go at once.
    pub fn like_the_kits_client(mut self) -> Self {
        self.one_at_a_time = true;
        self
    }

    /// Hands the session the next request.
    fn send_next(&mut self, now: SimTime) {
        if self.requests.is_empty() {
            return;
        }
        let req = self.requests.remove(0);
        if let Request::Download { .. } = &req {
            self.arrivals.requested.get_or_insert(now);
            if let Some(p) = &mut self.player {
                p.requested(now);
            }
        }
        self.session.send(now.as_duration(), req);
    }

    /// One at a time: what an event asks the app to send.
    fn answer_event(&mut self, now: SimTime, e: &ClientEvent) {
        if !self.one_at_a_time {
            return;
        }
        match e {
            ClientEvent::TrackStart { name, .. } if self.session.dialect() == Dialect::Framed => {
                let status = Request::Status {
                    state: PlayState::Playing,
                    song: Some(name.clone()),
                    position_ms: Some(0),
                };
                self.session.send(now.as_duration(), status);
            }
            ClientEvent::Ready(_)
            | ClientEvent::Songs(_)
            | ClientEvent::TrackEnd { .. }
            | ClientEvent::Devices(_)
            | ClientEvent::NotFound { .. }
            | ClientEvent::ServerError { .. } => self.send_next(now),
            _ => {}
        }
    }

    /// Plays what arrives, as a listener would (see [`crate::player`]).
    pub fn with_player(mut self, config: PlayerConfig) -> Self {
        self.player = Some(PlayerModel::new(config));
        self
    }

    /// Reads nothing from `from` until `until`: the application is busy,
    /// the data waits in the receive buffer and the window closes.
    pub fn stop_reading(mut self, from: SimTime, until: SimTime) -> Self {
        self.reading_pause = Some((from, until));
        self
    }

    /// Every event the session reported, in order.
    pub fn events(&self) -> &[ClientEvent] {
        &self.events
    }

    /// Every byte of audio received, in order, whatever the track.
    pub fn audio(&self) -> Vec<u8> {
        let mut audio = Vec::new();
        for e in &self.events {
            if let ClientEvent::TrackData { data, .. } = e {
                audio.extend_from_slice(data);
            }
        }
        audio
    }

    /// From the first download request to the last audio byte read: how
    /// long the download took, as the application saw it. `None` before
    /// any audio has arrived.
    pub fn download_time(&self) -> Option<std::time::Duration> {
        let sent = self.arrivals.requested?;
        let (last, _) = self.arrivals.data.last()?;
        Some(last.since(sent))
    }

    /// The first track as it arrived, for [`crate::player::replay`].
    pub fn arrivals(&self) -> &Arrivals {
        &self.arrivals
    }

    /// The simulated player, if there is one.
    pub fn player(&self) -> Option<&PlayerModel> {
        self.player.as_ref()
    }

    fn take_events(&mut self, now: SimTime) {
        while let Some(e) = self.session.poll_event() {
            self.answer_event(now, &e);
            self.arrivals.record(now, &e);
            if let Some(p) = &mut self.player {
                match &e {
                    ClientEvent::TrackStart { format, .. } => p.start(now, *format),
                    ClientEvent::TrackData { data, .. } => p.data(now, data.len()),
                    ClientEvent::TrackEnd { .. } => p.end(now),
                    _ => {}
                }
            }
            self.goodbye |= e == ClientEvent::Goodbye;
            self.notes
                .push_back(format!("client got {}", event_text(&e)));
            self.events.push(e);
        }
        self.take_player_notes();
    }

    fn take_player_notes(&mut self) {
        let Some(p) = &mut self.player else { return };
        // The player is woken when its buffer runs dry, so a note is taken
        // at the time it happened.
        while let Some((_, note)) = p.poll_note() {
            self.notes.push_back(note);
        }
    }
}

/// A client event as one short line, without the audio itself.
pub fn event_text(e: &ClientEvent) -> String {
    let list = |what: &str, items: Vec<String>| match items.is_empty() {
        true => format!("an empty {what} list"),
        false => format!("the {what} list: {}", items.join(", ")),
    };
    match e {
        ClientEvent::Ready(s) => format!("the server's greeting: {}", preview(s.as_bytes())),
        ClientEvent::Songs(names) => list("song", names.clone()),
        ClientEvent::TrackStart { name, bytes, .. } => match bytes {
            Some(b) => format!("the start of track {name} ({b} B announced)"),
            None => format!("the start of track {name}"),
        },
        ClientEvent::TrackData { name, data } => format!("{} B of track {name}", data.len()),
        ClientEvent::TrackEnd { name, bytes } => format!("the end of track {name} ({bytes} B)"),
        ClientEvent::Devices(ds) => {
            let items = ds
                .iter()
                .map(|d| format!("{}:{} {}", d.ip, d.port, d.state.as_str()))
                .collect();
            list("device", items)
        }
        ClientEvent::Recorded => "its status recorded".into(),
        ClientEvent::NotFound { name, .. } => format!("no song {name} on the server"),
        ClientEvent::ServerError { code, message } => match code {
            Some(c) => format!("error {c}: {}", preview(message.as_bytes())),
            None => format!("an error reply: {}", preview(message.as_bytes())),
        },
        ClientEvent::Goodbye => "goodbye".into(),
        ClientEvent::Closed { reason: None } => "the connection closed".into(),
        ClientEvent::Closed { reason: Some(r) } => format!("the connection closed ({r})"),
    }
}

impl SimApp for ClientApp {
    fn on_connected(&mut self, now: SimTime) {
        if !self.one_at_a_time {
            while !self.requests.is_empty() {
                self.send_next(now);
            }
        } else if self.session.dialect() == Dialect::Original {
            // No greeting to wait for.
            self.send_next(now);
        }
        self.take_events(now);
    }

    fn pending(&self, now: SimTime) -> &[u8] {
        self.session.pending(now.as_duration())
    }

    fn consume(&mut self, now: SimTime, n: usize) {
        self.session.consume(now.as_duration(), n);
    }

    fn read_size(&self, now: SimTime) -> usize {
        let paused = self
            .reading_pause
            .is_some_and(|(from, until)| from <= now && now < until);
        if self.session.is_closed() || paused {
            0
        } else {
            FRAMED_READ
        }
    }

    fn handle_read(&mut self, now: SimTime, data: &[u8]) {
        self.session.handle_input(now.as_duration(), data);
        self.take_events(now);
    }

    fn handle_eof(&mut self, now: SimTime) {
        self.session.handle_eof(now.as_duration());
        self.take_events(now);
    }

    fn poll_timeout(&self) -> Option<SimTime> {
        let pause = self
            .reading_pause
            .and_then(|(from, until)| match self.pause_phase {
                0 => Some(from),
                1 => Some(until),
                _ => None,
            });
        let session = self.session.poll_timeout().map(SimTime::from);
        let player = self.player.as_ref().and_then(PlayerModel::poll_timeout);
        [session, player, pause].into_iter().flatten().min()
    }

    fn handle_timeout(&mut self, now: SimTime) {
        if let Some((from, until)) = self.reading_pause {
            if self.pause_phase == 0 && from <= now {
                self.pause_phase = 1;
                self.notes.push_back("client stops reading".into());
            }
            if self.pause_phase == 1 && until <= now {
                self.pause_phase = 2;
                self.notes.push_back("client reads again".into());
            }
        }
        if let Some(p) = &mut self.player {
            p.advance(now);
        }
        self.session.handle_timeout(now.as_duration());
        self.take_events(now);
    }

    fn wants_close(&self, _now: SimTime) -> bool {
        self.session.is_closed() || self.goodbye
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
