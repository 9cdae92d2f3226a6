//! The server side of a connection, as a sans-IO state machine.
//!
//! A [`ServerSession`] is fed what the socket read ([`handle_read`]) and
//! offers what should be written ([`pending`] / [`consume`]). It never
//! blocks and never looks at a clock: `now` is passed in, as a [`Duration`]
//! since any fixed start the driver likes. The server's shared state (the
//! song catalogue and the device registry) is reached through the
//! [`ServerContext`] trait, so the same session runs in the real server and
//! in the simulator.
//!
//! # The driver's loop
//!
//! ```text
//! loop {
//!     write session.pending(now) until empty (session.consume(now, n) after each write)
//!     if session.is_finished(now)   -> close the socket, stop
//!     if session.wants_drain()      -> wait until the socket's send queue is empty
//!                                      (every byte written is acknowledged), then
//!                                      session.handle_drained(now), continue
//!     if session.poll_timeout()     -> sleep until then, continue
//!     if session.wants_read()       -> read; 0 bytes -> session.handle_eof(); else session.handle_read(now, bytes, ctx)
//! }
//! ```
//!
//! # The drain barrier before `track_data_end`
//!
//! The original client (`SpotClient.py`) gathers a song with large reads
//! and stops at the read whose bytes end in `track_data_end`, and it never
//! plays that read (protocol.md, defect 8). If the marker travels with
//! the last of the audio, that audio is lost; on loopback one read can hold
//! most of the song. So in the original dialect, with the pause trick on
//! (`pause` > 0), the end marker waits behind a *drain barrier*: it is
//! written only once the client has acknowledged every audio byte, and a
//! pause after that, so the client has read the audio before the marker
//! arrives on its own. Acknowledgments are invisible to a sans-IO session,
//! so [`wants_drain`] asks the driver to watch its socket, and
//! [`handle_drained`] is its answer. A driver that cannot tell (no
//! `SIOCOUTQ`) may answer at once; the pause is then all that is left.
//! With `pause` 0 there is no barrier either: the server writes its
//! messages back to back, as the original does on a fast machine.
//!
//! # One read, one command
//!
//! In the original dialect every call to [`handle_read`] is one command,
//! exactly as the original server treats every `recv(1024)`: two commands
//! that arrive together are read as one (and answered `Comando
//! Inexistente.`), and one split in two is read as two. That is the flaw the
//! kit teaches; drivers must read at most [`original::RECV_SIZE`] bytes at a
//! time to reproduce it. The framed dialect has no such flaw: it buffers
//! bytes and cuts them at line ends.
//!
//! [`handle_read`]: ServerSession::handle_read
//! [`wants_drain`]: ServerSession::wants_drain
//! [`handle_drained`]: ServerSession::handle_drained
//! [`pending`]: ServerSession::pending
//! [`consume`]: ServerSession::consume

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use crate::format::PcmFormat;
use crate::framed::{self, code, Line, LineBuffer, TrackHeader};
use crate::original;
use crate::outbox::Outbox;
use crate::request::{CommandError, Device, PlayState, Request};
use crate::Dialect;

/// One song, ready to send: its raw PCM frames and how to read them.
#[derive(Debug, Clone)]
pub struct Track {
    pub name: String,
    pub format: PcmFormat,
    /// The PCM frames exactly as stored in the WAV's `data` chunk.
    pub pcm: Arc<[u8]>,
}

/// The track named `name`, ignoring case (Unicode, not only ASCII): the
/// one rule every catalogue uses, so the real server, the simulator and the
/// library all find the same song for the same request.
pub fn find_track<'a>(tracks: &'a [Track], name: &str) -> Option<&'a Track> {
    tracks.iter().find(|t| same_song_name(&t.name, name))
}

/// True when `a` and `b` name the same song: equal ignoring case (Unicode).
/// The rule [`find_track`] applies, for catalogues that hold something else
/// than [`Track`]s.
pub fn same_song_name(a: &str, b: &str) -> bool {
    a == b || a.to_lowercase() == b.to_lowercase()
}

/// Why [`ServerContext::track`] has no track to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrackUnavailable {
    /// No song has that name: `404` (framed), the not-found text (original).
    NotFound,
    /// The song is listed but its audio cannot be read now (its file
    /// vanished or changed). The context logs why; the client is told
    /// only that, with `ERR 500` in either dialect, and may go on.
    Unreadable,
}

/// What a session needs from the server around it.
pub trait ServerContext {
    /// The song names, in the order `list` shows them.
    fn song_names(&self) -> Vec<String>;
    /// The song whose name matches `name` ignoring case. The context may
    /// read its audio from disk here (the real server reads a song on its
    /// first download), so the session stays free of IO.
    fn track(&self, name: &str) -> Result<Track, TrackUnavailable>;
    /// Every connected client, in connection order.
    fn devices(&self) -> Vec<Device>;
    /// Records what connection `conn` says it is doing, and where in the
    /// song it is (milliseconds), if it said.
    fn report(&self, conn: u64, state: PlayState, song: Option<String>, position_ms: Option<u64>);
}

/// Which dialect a server speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DialectChoice {
    /// Tell from the client's first bytes: `hello ` means framed.
    #[default]
    Auto,
    Original,
    Framed,
}

/// Settings for every session of a server.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub dialect: DialectChoice,
    /// Original dialect: quiet time after each control message, so that the
    /// original client's `recv()` sees it alone, and before `track_data_end`
    /// once the client has acknowledged the audio (the drain barrier, see
    /// the module docs). Zero turns the trick off, barrier included.
    pub pause: Duration,
    /// Framed dialect: the longest command line accepted.
    pub max_line: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            dialect: DialectChoice::Auto,
            pause: Duration::from_millis(50),
            max_line: framed::MAX_LINE,
        }
    }
}

/// Something worth logging that a session did.
#[derive(Debug, Clone, PartialEq)]
pub enum ServerEvent {
    /// The dialect was chosen (from the first bytes, or by configuration).
    Dialect(Dialect),
    /// A command was read and answered.
    Command { text: String, outcome: Outcome },
    /// The peer sent something that is not a valid command.
    BadInput { detail: String },
}

/// How a command was answered, for logs and traces.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Replied,
    Track { name: String, bytes: u64 },
    NotFound,
    Recorded,
    Goodbye,
    Rejected(String),
}

/// The busy reply sent (in any dialect) to a client over the limit.
pub fn busy_message(limit: usize) -> Vec<u8> {
    framed::err(
        code::BUSY,
        &format!("busy: the server already serves {limit} clients; try again later"),
    )
}

/// The busy reply sent (in any dialect) to a client whose address already
/// holds `limit` connections.
pub fn address_busy_message(limit: usize) -> Vec<u8> {
    framed::err(
        code::BUSY,
        &format!("busy: your address already holds {limit} connections; try again later"),
    )
}

/// One connection's server-side protocol state. See the module docs.
#[derive(Debug)]
pub struct ServerSession {
    conn: u64,
    config: ServerConfig,
    dialect: Option<Dialect>,
    /// Auto-detection: bytes seen before the dialect is known.
    first_bytes: Vec<u8>,
    lines: LineBuffer,
    /// Whether a valid command has been read (see [`Self::greeted`]).
    greeted: bool,
    /// When the command still incomplete began (see [`Self::incomplete_since`]).
    incomplete_since: Option<Duration>,
    out: Outbox,
    closing: bool,
    events: VecDeque<ServerEvent>,
}

impl ServerSession {
    /// A session for connection number `conn` (the id the context's
    /// [`ServerContext::report`] receives).
    pub fn new(conn: u64, config: ServerConfig) -> Self {
        let dialect = match config.dialect {
            DialectChoice::Auto => None,
            DialectChoice::Original => Some(Dialect::Original),
            DialectChoice::Framed => Some(Dialect::Framed),
        };
        let mut events = VecDeque::new();
        if let Some(d) = dialect {
            events.push_back(ServerEvent::Dialect(d));
        }
        ServerSession {
            conn,
            lines: LineBuffer::new(config.max_line),
            config,
            dialect,
            first_bytes: Vec::new(),
            greeted: false,
            incomplete_since: None,
            out: Outbox::default(),
            closing: false,
            events,
        }
    }

    // ----- getters -----

    pub fn dialect(&self) -> Option<Dialect> {
        self.dialect
    }

    /// True once the peer has sent one valid command: in the framed
    /// dialect normally its `hello`, in the original one its first known
    /// command (`lista`, `download x`, …). Bytes that make no command, or
    /// only part of one, do not count. A server short of room may treat a
    /// peer that has not greeted as a stranger (the reference server does).
    pub fn greeted(&self) -> bool {
        self.greeted
    }

    /// When the command still incomplete began to arrive: the `now` of the
    /// read that brought its first byte, or `None` if no partial command is
    /// buffered. Only the framed dialect (a line still without its `\n`)
    /// and auto-detection (`hel`, which may become `hello `) have partial
    /// commands; in the original dialect every read is a whole command.
    /// A driver may bound how long a command may stay incomplete.
    pub fn incomplete_since(&self) -> Option<Duration> {
        self.incomplete_since
    }

    /// True when the driver should read: not closing, and (original) the
    /// previous answer is fully written, or (framed) little is queued. A
    /// blocking driver that writes everything before it reads (the real
    /// server) always finds it true; a driver that reads and writes at
    /// once (the simulator) must respect it.
    pub fn wants_read(&self) -> bool {
        if self.closing {
            return false;
        }
        match self.dialect {
            Some(Dialect::Original) => self.out.is_empty(),
            _ => self.out.queued_bytes() < 64 * 1024,
        }
    }

    /// True when the session is over and everything is written: close now.
    pub fn is_finished(&self, now: Duration) -> bool {
        self.closing && self.out.is_idle(now)
    }

    /// Bytes to write now (empty while paused or idle).
    pub fn pending(&self, now: Duration) -> &[u8] {
        self.out.pending(now)
    }

    /// True when the next bytes wait until the peer has acknowledged every
    /// byte written so far (the drain barrier before the original
    /// dialect's `track_data_end`, see the module docs). [`pending`] is
    /// empty and [`poll_timeout`] is `None` meanwhile: the driver watches
    /// its socket's send queue and calls [`handle_drained`] when it is
    /// empty.
    ///
    /// [`pending`]: Self::pending
    /// [`poll_timeout`]: Self::poll_timeout
    /// [`handle_drained`]: Self::handle_drained
    pub fn wants_drain(&self) -> bool {
        self.out.wants_drain()
    }

    /// When a pause ends, if one holds bytes back (or holds the close back).
    pub fn poll_timeout(&self) -> Option<Duration> {
        if self.closing {
            self.out.pause_end()
        } else {
            self.out.wakeup()
        }
    }

    /// Bytes queued and not yet written.
    pub fn queued_bytes(&self) -> u64 {
        self.out.queued_bytes()
    }

    // ----- inputs -----

    /// `n` bytes of [`pending`](Self::pending) were written at `now`.
    pub fn consume(&mut self, now: Duration, n: usize) {
        self.out.consume(now, n);
    }

    /// Every byte written so far has been acknowledged by the peer, as of
    /// `now`: the drain barrier passes and its pause starts. Harmless when
    /// [`wants_drain`](Self::wants_drain) is false.
    pub fn handle_drained(&mut self, now: Duration) {
        self.out.drained(now);
    }

    /// The peer closed its side: nothing more will be read or written.
    pub fn handle_eof(&mut self) {
        self.closing = true;
        self.out.clear();
    }

    /// One read from the socket, read at `now`.
    ///
    /// No reply depends on the time; `now` only dates the start of a
    /// command that is still incomplete ([`incomplete_since`](Self::incomplete_since)).
    pub fn handle_read(&mut self, now: Duration, data: &[u8], ctx: &dyn ServerContext) {
        if self.closing || data.is_empty() {
            return;
        }
        self.take_read(data, ctx);
        let incomplete = match self.dialect {
            None => !self.first_bytes.is_empty(),
            Some(Dialect::Framed) => !self.lines.is_empty(),
            Some(Dialect::Original) => false,
        };
        // A command completed in this read cleared the date, so a partial
        // one after it is dated from this read.
        self.incomplete_since = match incomplete {
            true => Some(self.incomplete_since.unwrap_or(now)),
            false => None,
        };
    }

    /// Next thing worth logging.
    pub fn poll_event(&mut self) -> Option<ServerEvent> {
        self.events.pop_front()
    }

    // ----- internals -----

    /// Hands one read to the dialect, detecting it first if need be.
    fn take_read(&mut self, data: &[u8], ctx: &dyn ServerContext) {
        let dialect = match self.dialect {
            Some(d) => d,
            None => match self.detect(data) {
                Some(d) => d,
                None => return,
            },
        };
        match dialect {
            Dialect::Original => {
                let first = std::mem::take(&mut self.first_bytes);
                let read = if first.is_empty() { data } else { &first };
                self.original_command(read, ctx);
            }
            Dialect::Framed => {
                let first = std::mem::take(&mut self.first_bytes);
                self.lines
                    .extend(if first.is_empty() { data } else { &first });
                self.framed_lines(ctx);
            }
        }
    }

    /// Auto-detection by [`Dialect::detect`]: the first bytes are kept
    /// until they tell.
    fn detect(&mut self, data: &[u8]) -> Option<Dialect> {
        self.first_bytes.extend_from_slice(data);
        if let Some(d) = Dialect::detect(&self.first_bytes) {
            self.set_dialect(d);
        }
        self.dialect
    }

    fn set_dialect(&mut self, d: Dialect) {
        self.dialect = Some(d);
        self.events.push_back(ServerEvent::Dialect(d));
    }

    fn log(&mut self, text: &str, outcome: Outcome) {
        self.events.push_back(ServerEvent::Command {
            text: text.to_string(),
            outcome,
        });
    }

    fn original_command(&mut self, read: &[u8], ctx: &dyn ServerContext) {
        let pause = self.config.pause;
        let text = match std::str::from_utf8(read) {
            Ok(t) => t.trim_end_matches(['\r', '\n']),
            Err(_) => {
                self.events.push_back(ServerEvent::BadInput {
                    detail: format!("invalid UTF-8 in {:?}", String::from_utf8_lossy(read)),
                });
                self.out.push(original::UNKNOWN_COMMAND.into(), pause);
                return;
            }
        };
        let request = Request::parse(text);
        // `hello` and `help` are framed words: unknown here.
        self.greeted |=
            matches!(&request, Ok(r) if !matches!(r, Request::Hello { .. } | Request::Help));
        let outcome = match request {
            Ok(Request::List) => {
                let names = ctx.song_names();
                self.out.push(original::encode_song_list(&names), pause);
                Outcome::Replied
            }
            Ok(Request::Download { name }) => self.queue_track(&name, ctx, Dialect::Original),
            Ok(Request::Devices) => {
                self.out
                    .push(original::encode_devices(&ctx.devices()), pause);
                Outcome::Replied
            }
            Ok(Request::Status { state, song, .. }) => {
                // The original dialect has no position to report.
                ctx.report(self.conn, state, song, None);
                Outcome::Recorded
            }
            Ok(Request::Quit) => {
                self.out.push(original::GOODBYE.to_vec(), pause);
                self.closing = true;
                Outcome::Goodbye
            }
            Err(CommandError::InvalidName {
                command: "download",
                name,
            }) => {
                self.out.push(original::not_found(&name), pause);
                Outcome::Rejected("invalid song name".into())
            }
            // `att_status` is never answered, not even when refused: a reply
            // the client does not expect would land in its next `recv`.
            Err(e @ CommandError::InvalidName { .. }) => Outcome::Rejected(e.to_string()),
            Ok(Request::Hello { .. } | Request::Help) | Err(_) => {
                self.out.push(original::UNKNOWN_COMMAND.into(), pause);
                Outcome::Rejected(original::UNKNOWN_COMMAND.into())
            }
        };
        self.log(text, outcome);
    }

    fn queue_track(&mut self, name: &str, ctx: &dyn ServerContext, d: Dialect) -> Outcome {
        let pause = match d {
            Dialect::Original => self.config.pause,
            Dialect::Framed => Duration::ZERO,
        };
        let track = match ctx.track(name) {
            Ok(track) => track,
            Err(TrackUnavailable::NotFound) => {
                let reply = match d {
                    Dialect::Original => original::not_found(name),
                    Dialect::Framed => framed::err(
                        code::NOT_FOUND,
                        &format!("no song named '{name}'; send 'list' to see the songs"),
                    ),
                };
                self.out.push(reply, pause);
                return Outcome::NotFound;
            }
            Err(TrackUnavailable::Unreadable) => {
                // The original dialect has no error reply; the busy reply
                // set the precedent of sending the framed line to both.
                let msg = format!("song '{name}' cannot be read on the server; try again later");
                self.out.push(framed::err(code::UNREADABLE, &msg), pause);
                return Outcome::Rejected("the song's file cannot be read".into());
            }
        };
        let bytes = track.pcm.len();
        match d {
            Dialect::Original => {
                self.out.push(original::TRACK_START.to_vec(), pause);
                self.out.push_shared(track.pcm, 0, bytes);
                let end = original::TRACK_END.to_vec();
                if pause.is_zero() {
                    self.out.push(end, pause);
                } else {
                    self.out.push_after_drain(end, pause, pause);
                }
            }
            Dialect::Framed => {
                let header = TrackHeader {
                    bytes: bytes as u64,
                    format: track.format,
                    name: track.name.clone(),
                };
                self.out.push(header.emit(), Duration::ZERO);
                self.out.push_shared(track.pcm, 0, bytes);
                self.out
                    .push(framed::track_end(&track.name), Duration::ZERO);
            }
        }
        Outcome::Track {
            name: track.name,
            bytes: bytes as u64,
        }
    }

    fn framed_lines(&mut self, ctx: &dyn ServerContext) {
        while !self.closing {
            match self.lines.next_line() {
                Line::Incomplete => break,
                Line::TooLong => {
                    let limit = self.config.max_line;
                    self.events.push_back(ServerEvent::BadInput {
                        detail: format!("line longer than {limit} bytes; closing"),
                    });
                    let msg = format!("line too long (the limit is {limit} bytes); closing");
                    self.out
                        .push(framed::err(code::TOO_LONG, &msg), Duration::ZERO);
                    self.closing = true;
                }
                Line::Complete(line) => {
                    self.incomplete_since = None;
                    self.framed_line(&line, ctx)
                }
            }
        }
    }

    fn framed_line(&mut self, line: &[u8], ctx: &dyn ServerContext) {
        let Ok(text) = std::str::from_utf8(line) else {
            let detail = format!("invalid UTF-8 in {:?}", String::from_utf8_lossy(line));
            self.events.push_back(ServerEvent::BadInput {
                detail: detail.clone(),
            });
            self.out.push(
                framed::err(code::BAD_REQUEST, "invalid UTF-8 in command"),
                Duration::ZERO,
            );
            return;
        };
        if text.trim().is_empty() {
            return;
        }
        let z = Duration::ZERO;
        let request = Request::parse(text);
        self.greeted |= request.is_ok();
        let outcome = match request {
            Ok(Request::Hello { .. }) => {
                self.out
                    .push(framed::ok(&format!("{} ready", framed::VERSION)), z);
                Outcome::Replied
            }
            Ok(Request::List) => {
                self.out
                    .push(framed::counted_list("songs", &ctx.song_names()), z);
                Outcome::Replied
            }
            Ok(Request::Download { name }) => self.queue_track(&name, ctx, Dialect::Framed),
            Ok(Request::Devices) => {
                let lines: Vec<String> = ctx
                    .devices()
                    .iter()
                    .enumerate()
                    .map(|(i, d)| framed::device_line(i + 1, d))
                    .collect();
                self.out.push(framed::counted_list("devices", &lines), z);
                Outcome::Replied
            }
            Ok(Request::Status {
                state,
                song,
                position_ms,
            }) => {
                ctx.report(self.conn, state, song, position_ms);
                self.out.push(framed::ok(""), z);
                Outcome::Recorded
            }
            Ok(Request::Quit) => {
                self.out.push(framed::ok("goodbye"), z);
                self.closing = true;
                Outcome::Goodbye
            }
            Ok(Request::Help) => {
                let help: Vec<String> = HELP.iter().map(|s| s.to_string()).collect();
                self.out.push(framed::counted_list("commands", &help), z);
                Outcome::Replied
            }
            Err(e) => {
                let msg = match &e {
                    CommandError::Unknown(_) => format!("{e}; send 'help' for the commands"),
                    _ => e.to_string(),
                };
                self.out.push(framed::err(code::BAD_REQUEST, &msg), z);
                Outcome::Rejected(e.to_string())
            }
        };
        self.log(text, outcome);
    }
}

/// `help`'s lines: one per command of [`framed::COMMAND_WORDS`], in order.
const HELP: [&str; 7] = [
    "hello <agent>              greet the server (first line)",
    "list                       the song names (aliases: lista, 7)",
    "download <name>            a song's audio between track_data_start and track_data_end",
    "devices                    connected clients (aliases: lista_dispositivos, 10)",
    "status <state> [<name>]    report idle|playing|paused|stopped (alias: att_status <name>)",
    "quit                       say goodbye and close (alias: 9)",
    "help                       this list",
];

#[cfg(test)]
mod help_tests {
    use super::*;

    #[test]
    fn help_names_every_command_in_order() {
        let words: Vec<&str> = HELP
            .iter()
            .filter_map(|l| l.split_whitespace().next())
            .collect();
        assert_eq!(words, framed::COMMAND_WORDS);
    }
}
