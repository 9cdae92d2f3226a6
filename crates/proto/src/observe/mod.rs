//! Watching a conversation from outside: a sans-IO decoder that reads both
//! directions of one connection, as a capture or a simulator sees them,
//! and says what each byte was.
//!
//! The sessions ([`crate::ServerSession`], [`crate::ClientSession`]) *take
//! part* in a conversation; the [`Observer`] only watches one. It is fed
//! each direction's bytes with their stream offsets (0 = the direction's
//! first byte) and the gaps a capture has, and it emits [`Event`]s that
//! name the offsets where each thing begins:
//!
//! ```text
//!  client  "hello streamlab/1 x\n"   → Dialect(Framed), Message(Text)
//!          "download RV\n"           → Message(Text)
//!  server  "track_data_start 8 …\n"  → TrackStart, TrackHeader, Message(TrackStart), AudioStart
//!          <8 bytes of PCM>          → Audio { at, len } …, AudioEnd, Message(Audio)
//!          "track_data_end RV\n"     → TrackEnd, Message(TrackEnd)
//! ```
//!
//! It owns, once for the whole kit, the rules an outside reader needs:
//!
//! * **the dialect**, from the client's first bytes, by the server's own
//!   rule ([`Dialect::detect`]): `hello ` in any case, however the bytes
//!   were split;
//! * **what a message is**: a framed command is one line; an original
//!   command is one piece (one `recv()`, which is how the original server
//!   reads: feed one piece per segment or per read); a reply is what the
//!   server sent before the client spoke again, cut at the markers;
//! * **tracks**: a framed track's audio is counted by its header; an
//!   original one runs to `track_data_end`, found across any split
//!   ([`MarkerSearch`]), with the last [`HOLD`] audio bytes held back until
//!   the next piece shows whether they begin the marker;
//! * **gaps**: bytes a capture lacks are counted as missing, never
//!   invented, and a marker is never joined across a gap.
//!
//! Audio is never copied: [`Event::Audio`] names a range. A driver that
//! wants the bytes (to extract a track) keeps the last [`LOOKBEHIND`] bytes
//! of each direction: every event emitted while a piece is fed names only
//! bytes of that piece or of the `LOOKBEHIND` bytes before it, except a
//! [`Message`]'s start, which was announced by an [`Event::Begin`] when its
//! first byte arrived.

mod client;
mod markers;
mod server;

use std::collections::VecDeque;

use crate::framed::TrackHeader;
use crate::Dialect;

pub use markers::{Marker, MarkerSearch, HOLD, KEEP};

/// The most bytes of one message's text kept; the rest are only counted.
pub const MAX_TEXT: usize = 1_024;

/// How far back from the piece being fed an event may reach (see the
/// module docs): the longest marker, which may have begun in earlier
/// pieces.
pub const LOOKBEHIND: usize = KEEP + 1;

/// Who sent the bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Side {
    Client,
    Server,
}

impl Side {
    /// 0 for the client's bytes, 1 for the server's.
    pub fn index(self) -> usize {
        match self {
            Side::Client => 0,
            Side::Server => 1,
        }
    }

    /// The other end.
    pub fn peer(self) -> Side {
        match self {
            Side::Client => Side::Server,
            Side::Server => Side::Client,
        }
    }
}

/// What a message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// A command or a reply.
    Text,
    /// `track_data_start`, with the framed header line if any.
    TrackStart,
    /// A run of a track's audio: only its length is kept.
    Audio,
    /// `track_data_end`, with the rest of its framed line if any.
    TrackEnd,
}

/// One message of one direction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub side: Side,
    pub kind: Kind,
    /// Where it begins in its direction's stream.
    pub offset: u64,
    /// Its length, missing bytes included.
    pub len: u64,
    /// Its first [`MAX_TEXT`] bytes; empty for audio.
    pub text: Vec<u8>,
    /// Bytes inside it that the capture does not have.
    pub missing: u64,
}

impl Message {
    fn new(side: Side, kind: Kind, offset: u64) -> Message {
        Message {
            side,
            kind,
            offset,
            len: 0,
            text: Vec::new(),
            missing: 0,
        }
    }

    /// Adds `data`, keeping at most [`MAX_TEXT`] bytes of it.
    fn append(&mut self, data: &[u8]) {
        self.len += data.len() as u64;
        let room = MAX_TEXT.saturating_sub(self.text.len());
        self.text.extend_from_slice(&data[..data.len().min(room)]);
    }

    fn lose(&mut self, len: u64) {
        self.missing += len;
        self.len += len;
    }

    /// The command a client message carries, as the server would parse
    /// it (without its line ending). `None` for server messages, and for
    /// a message the capture lacks bytes of or that is not UTF-8.
    pub fn request(&self) -> Option<Result<crate::Request, crate::CommandError>> {
        if self.side != Side::Client || self.missing > 0 || self.len > self.text.len() as u64 {
            return None;
        }
        let text = std::str::from_utf8(&self.text).ok()?;
        Some(crate::Request::parse(text.trim_end_matches(['\r', '\n'])))
    }
}

/// What the observer found, in stream order per direction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The dialect, told from the client's first bytes.
    Dialect(Dialect),
    /// A message's first byte is at `at` (it is emitted whole later, as
    /// [`Event::Message`], unless it turns out to be empty).
    Begin { side: Side, at: u64 },
    /// A message is complete.
    Message(Message),
    /// `track_data_start` at `at` (its last byte is `at + 15`). `name` is
    /// the song an original `download` asked for; a framed track's comes
    /// with its header.
    TrackStart { at: u64, name: Option<String> },
    /// The framed header line that followed the start marker.
    TrackHeader(TrackHeader),
    /// The track's audio begins (after the marker, or after its header).
    AudioStart,
    /// `len` audio bytes of the open track, from `at`.
    Audio { at: u64, len: u64 },
    /// `len` audio bytes of the open track that the capture does not have.
    AudioMissing { len: u64 },
    /// The track's audio is over (counted out, at its end marker, at a gap
    /// in a header, or at the end of the capture).
    AudioEnd,
    /// An end marker with no track open: the capture began during a
    /// track. The server's text before the marker was its audio (`audio`
    /// bytes seen, `missing` not; `from` is where that text began).
    TrackBegunBefore {
        name: Option<String>,
        audio: u64,
        missing: u64,
        from: Option<u64>,
    },
    /// `track_data_end` at `at`: it ends the open track.
    TrackEnd { at: u64 },
    /// Bytes that break the protocol (a framed line too long, a framed
    /// header that does not parse), from `at`.
    Malformed { side: Side, at: u64, why: String },
}

/// The observer of one connection. See the module docs.
#[derive(Debug, Default)]
pub struct Observer {
    dialect: Option<Dialect>,
    client: client::ClientStream,
    server: server::ServerStream,
    found: Found,
}

/// What both directions' readers share.
#[derive(Debug, Default)]
struct Found {
    events: VecDeque<Event>,
    /// Songs asked for by original `download`s, oldest first.
    asked: VecDeque<String>,
    /// A track has started and its end marker has not come.
    awaiting_end: bool,
}

impl Found {
    fn push(&mut self, e: Event) {
        self.events.push_back(e);
    }
}

impl Observer {
    pub fn new() -> Observer {
        Observer::default()
    }

    /// An observer of a conversation whose dialect is known beforehand (a
    /// checker that speaks one dialect, or a server forced to one): the
    /// client's first bytes are read in it, whatever they look like.
    pub fn with_dialect(dialect: Dialect) -> Observer {
        let mut o = Observer::default();
        o.decide(dialect);
        o
    }

    /// The dialect, once the client's first bytes have told it.
    pub fn dialect(&self) -> Option<Dialect> {
        self.dialect
    }

    /// The next bytes of `side`'s stream, from `offset`. In the original
    /// dialect each call on the client's side is one command, as one
    /// `recv()` is to the original server.
    pub fn data(&mut self, side: Side, offset: u64, data: &[u8]) {
        if data.is_empty() {
            return;
        }
        match side {
            Side::Client => {
                // The client spoke: the server's reply is complete. (A
                // client's command ends by its own rule, whatever the
                // server sends meanwhile.)
                self.server.close_text(&mut self.found);
                let mut told = self.dialect;
                self.client.data(offset, data, &mut told, &mut self.found);
                if let (None, Some(d)) = (self.dialect, told) {
                    self.decide(d);
                }
            }
            Side::Server => self.server.data(offset, data, &mut self.found),
        }
    }

    /// `len` bytes of `side`'s stream are not in the capture; the stream
    /// goes on after them.
    pub fn gap(&mut self, side: Side, len: u64) {
        match side {
            Side::Client => {
                if self.client.gap() {
                    self.decide(Dialect::Original);
                }
                self.client.lose(len);
            }
            Side::Server => self.server.gap(len, &mut self.found),
        }
    }

    /// The capture is over: whatever is open ends here.
    pub fn finish(&mut self) {
        if self.dialect.is_none() && self.client.gap() {
            // A greeting cut short (`hel`, then nothing): one original read.
            self.decide(Dialect::Original);
        }
        self.client.close(&mut self.found);
        self.server.finish(&mut self.found);
    }

    /// The next event, oldest first.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.found.events.pop_front()
    }

    fn decide(&mut self, d: Dialect) {
        self.dialect = Some(d);
        self.server.dialect = Some(d);
        self.found.push(Event::Dialect(d));
        self.client.decided(d, &mut self.found);
    }
}

/// Opens `open` as a `kind` message at `at` if nothing is open, saying so.
fn open_message<'a>(
    open: &'a mut Option<Message>,
    side: Side,
    kind: Kind,
    at: u64,
    found: &mut Found,
) -> &'a mut Message {
    open.get_or_insert_with(|| {
        found.push(Event::Begin { side, at });
        Message::new(side, kind, at)
    })
}

/// Emits the open message, if any.
fn emit(open: &mut Option<Message>, found: &mut Found) {
    if let Some(m) = open.take() {
        found.push(Event::Message(m));
    }
}

#[cfg(test)]
mod tests;
