//! A server session and a client session talking in memory: the harness
//! for tests of anything built on this crate (the shape of quinn-proto's
//! `Pair`).
//!
//! Bytes move in steps. Each step, the client's pending output and then
//! the server's are handed across, as much of it as the `cut` function
//! says (at least one byte): that is how a test makes TCP's segment
//! boundaries fall where it likes. Every piece that moved is kept, so the
//! conversation can be fed to an [`Observer`](crate::observe::Observer)
//! afterwards, and a test that fails can print it ([`Pair::dump`]). The
//! clock is virtual: when nothing can move, it jumps to the sessions' next
//! timer. Server output counts as acknowledged as soon as it moves, so a
//! drain barrier passes at once.
//!
//! ```
//! use streamlab_proto::pair::{Catalogue, Pair};
//! use streamlab_proto::{ClientConfig, ClientEvent, ClientSession, Dialect, Request};
//! use streamlab_proto::{ServerConfig, ServerSession};
//! use std::time::Duration;
//!
//! let songs = Catalogue::default();
//! let mut client = ClientSession::new(ClientConfig::new(Dialect::Framed));
//! client.send(Duration::ZERO, Request::List);
//! let mut pair = Pair::new(ServerSession::new(1, ServerConfig::default()), client);
//! // Three bytes per segment, both ways.
//! pair.drive(&songs, &mut |_, _| 3).unwrap();
//! assert!(pair.client_events.contains(&ClientEvent::Songs(vec![])));
//! assert!(pair.pieces.iter().all(|(_, p)| p.len() <= 3));
//! ```

use std::fmt::{self, Write as _};
use std::time::Duration;

use crate::escape::escape;
use crate::observe::Side;
use crate::{
    find_track, ClientEvent, ClientSession, Device, PlayState, ServerContext, ServerEvent,
    ServerSession, Track, TrackUnavailable,
};

/// The most steps [`Pair::drive`] takes before it calls the pair stuck.
pub const MAX_STEPS: usize = 1_000_000;

/// How many of `pending` bytes of `side`'s output move in one step (the
/// answer is clamped to 1..=pending).
pub type Cut<'a> = dyn FnMut(Side, usize) -> usize + 'a;

/// Two sessions and the wire between them.
#[derive(Debug)]
pub struct Pair {
    pub server: ServerSession,
    pub client: ClientSession,
    /// The virtual clock.
    pub now: Duration,
    /// Each piece that moved, in order, with the side that sent it.
    pub pieces: Vec<(Side, Vec<u8>)>,
    /// Everything each session reported, in order.
    pub server_events: Vec<ServerEvent>,
    pub client_events: Vec<ClientEvent>,
}

/// The pair stopped before the conversation ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stuck {
    pub why: String,
    /// The end of the conversation, as [`Pair::dump`] shows it.
    pub dump: String,
}

impl fmt::Display for Stuck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the pair is stuck: {}\n{}", self.why, self.dump)
    }
}

impl std::error::Error for Stuck {}

impl Pair {
    pub fn new(server: ServerSession, client: ClientSession) -> Pair {
        Pair {
            server,
            client,
            now: Duration::ZERO,
            pieces: Vec::new(),
            server_events: Vec::new(),
            client_events: Vec::new(),
        }
    }

    /// One step: the client's output (if the server reads), a drain
    /// barrier, the server's output, then the events. Returns whether
    /// anything moved.
    pub fn step(&mut self, ctx: &dyn ServerContext, cut: &mut Cut<'_>) -> bool {
        let now = self.now;
        let mut moved = false;
        let out = self.client.pending(now);
        if !out.is_empty() && self.server.wants_read() {
            let n = cut(Side::Client, out.len()).clamp(1, out.len());
            let piece = out[..n].to_vec();
            self.client.consume(now, n);
            self.server.handle_read(now, &piece, ctx);
            self.pieces.push((Side::Client, piece));
            moved = true;
        }
        if self.server.wants_drain() {
            self.server.handle_drained(now);
            moved = true;
        }
        let out = self.server.pending(now);
        if !out.is_empty() {
            let n = cut(Side::Server, out.len()).clamp(1, out.len());
            let piece = out[..n].to_vec();
            self.server.consume(now, n);
            self.client.handle_input(now, &piece);
            self.pieces.push((Side::Server, piece));
            moved = true;
        }
        self.collect();
        moved
    }

    /// Steps until the client has closed, or has nothing left to ask and
    /// the server nothing left to say. The server's close reaches the
    /// client as an end of file.
    pub fn drive(&mut self, ctx: &dyn ServerContext, cut: &mut Cut<'_>) -> Result<(), Stuck> {
        for _ in 0..MAX_STEPS {
            let moved = self.step(ctx, cut);
            if self.server.is_finished(self.now) && !self.client.is_closed() {
                self.client.handle_eof(self.now);
                self.collect();
                continue;
            }
            let quiet = self.client.is_idle() && self.server.pending(self.now).is_empty();
            if self.client.is_closed() || quiet {
                return Ok(());
            }
            if !moved {
                self.wait()?;
            }
        }
        Err(self.stuck(format!("no end after {MAX_STEPS} steps")))
    }

    /// Moves the clock to the next timer of either session.
    fn wait(&mut self) -> Result<(), Stuck> {
        let next = [self.client.poll_timeout(), self.server.poll_timeout()]
            .into_iter()
            .flatten()
            .min();
        let Some(next) = next else {
            return Err(self.stuck("nothing to move and no timer".into()));
        };
        self.client.handle_timeout(next.max(self.now));
        self.now = next.max(self.now + Duration::from_micros(1));
        self.collect();
        Ok(())
    }

    fn collect(&mut self) {
        self.server_events
            .extend(std::iter::from_fn(|| self.server.poll_event()));
        self.client_events
            .extend(std::iter::from_fn(|| self.client.poll_event()));
    }

    fn stuck(&self, why: String) -> Stuck {
        Stuck {
            why,
            dump: self.dump(),
        }
    }

    /// The last pieces that moved, one line each, for a failing test.
    pub fn dump(&self) -> String {
        const SHOWN: usize = 20;
        let skip = self.pieces.len().saturating_sub(SHOWN);
        let mut s = format!("at {:?}, {} piece(s) moved", self.now, self.pieces.len());
        if skip > 0 {
            let _ = write!(s, " (the first {skip} left out)");
        }
        for (side, piece) in &self.pieces[skip..] {
            let arrow = match side {
                Side::Client => "client → server",
                Side::Server => "server → client",
            };
            let _ = write!(s, "\n  {arrow} {} B: {}", piece.len(), escape(piece, 60));
        }
        s
    }

    /// All the bytes `side` sent.
    pub fn stream(&self, side: Side) -> Vec<u8> {
        let pieces = self.pieces.iter().filter(|(s, _)| *s == side);
        pieces.flat_map(|(_, p)| p.iter().copied()).collect()
    }
}

/// The simplest server context: fixed songs and a fixed device list;
/// status reports are ignored.
#[derive(Debug, Clone, Default)]
pub struct Catalogue {
    pub songs: Vec<Track>,
    pub devices: Vec<Device>,
}

impl ServerContext for Catalogue {
    fn song_names(&self) -> Vec<String> {
        self.songs.iter().map(|t| t.name.clone()).collect()
    }
    fn track(&self, name: &str) -> Result<Track, TrackUnavailable> {
        find_track(&self.songs, name)
            .cloned()
            .ok_or(TrackUnavailable::NotFound)
    }
    fn devices(&self) -> Vec<Device> {
        self.devices.clone()
    }
    fn report(&self, _conn: u64, _state: PlayState, _song: Option<String>, _at: Option<u64>) {}
}
