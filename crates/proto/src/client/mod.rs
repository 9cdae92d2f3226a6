//! The client side of a connection, as a sans-IO state machine.
//!
//! The application calls [`ClientSession::send`] with [`Request`]s and reads
//! [`ClientEvent`]s back; the driver moves bytes between the session and the
//! socket exactly as for the server (see the crate docs), and also calls
//! [`handle_timeout`](ClientSession::handle_timeout) when
//! [`poll_timeout`](ClientSession::poll_timeout) says so.
//!
//! # Reading the original dialect robustly
//!
//! The original server's replies carry no length and no terminator, so this
//! session decides where each one ends from what it asked:
//!
//! * it keeps **one request in flight** and queues the rest, so two replies
//!   never share the wire and two commands never share the server's `recv`;
//! * after a request that has no reply (`att_status`) it waits
//!   [`ClientConfig::pause`] before sending again;
//! * a track starts with the bytes `track_data_start` — whether or not they
//!   arrived alone — and ends when the received stream *ends with*
//!   `track_data_end`, however the marker was split;
//! * the song and device lists end when the server has been quiet for
//!   [`ClientConfig::settle`] (nothing else can tell), and a list that gets
//!   no byte at all in [`ClientConfig::reply_timeout`] is empty;
//! * a reply that grows past [`MAX_ORIGINAL_REPLY`] without ending closes
//!   the session rather than filling memory.
//!
//! The framed dialect needs none of this: replies are counted or
//! length-prefixed, so requests are pipelined.
//!
//! # What a hostile server cannot do
//!
//! Whatever the server sends, the session holds a bounded amount and never
//! waits forever ([`limits`] owns these rules):
//!
//! * a track may hold at most [`ClientConfig::max_track_bytes`]: a framed
//!   header that announces more, or original audio that runs past it
//!   without `track_data_end`, closes the session with the reason;
//! * a track that gets no byte for [`ClientConfig::track_stall`] closes the
//!   session too, so a player waiting for the rest is told why;
//! * a counted framed body may hold at most [`MAX_BODY_LINES`] lines and
//!   [`MAX_BODY_BYTES`] bytes;
//! * the reasons it gives quote the server's bytes through
//!   [`escape`](crate::escape::escape), so they are safe to print.

mod framed_reader;
pub mod limits;
mod original_reader;

use std::collections::VecDeque;
use std::time::Duration;

use crate::format::PcmFormat;
use crate::framed::{self, LineBuffer, Status};
use crate::original;
use crate::outbox::Outbox;
use crate::request::{Device, Request};
use crate::Dialect;

use limits::shown;
pub use limits::{DEFAULT_MAX_TRACK_BYTES, DEFAULT_TRACK_STALL, MAX_BODY_BYTES};

/// Original dialect: the most bytes a reply other than a track may pile up
/// before the client gives up on it. Nothing in the dialect ends a list but
/// silence, so a server that never pauses would otherwise fill memory.
pub const MAX_ORIGINAL_REPLY: usize = 1024 * 1024;

/// Client settings.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    pub dialect: Dialect,
    /// Sent in the framed greeting (`hello streamlab/1 <agent>`).
    pub agent: String,
    /// Original dialect: quiet time after a request with no reply.
    pub pause: Duration,
    /// Original dialect: a list reply is over after this much silence.
    pub settle: Duration,
    /// Original dialect: a list (songs or devices) that gets no byte at all
    /// in this time is empty.
    pub reply_timeout: Duration,
    /// The most audio bytes one track may hold (default
    /// [`DEFAULT_MAX_TRACK_BYTES`]). A server that announces or sends more
    /// ends the session.
    pub max_track_bytes: u64,
    /// A track that gets no byte for this long ends the session (default
    /// [`DEFAULT_TRACK_STALL`]).
    pub track_stall: Duration,
}

impl ClientConfig {
    pub fn new(dialect: Dialect) -> Self {
        ClientConfig {
            dialect,
            agent: "streamlab-client".into(),
            pause: Duration::from_millis(50),
            settle: Duration::from_millis(100),
            reply_timeout: Duration::from_secs(3),
            max_track_bytes: DEFAULT_MAX_TRACK_BYTES,
            track_stall: DEFAULT_TRACK_STALL,
        }
    }
}

/// What the client learned from the server.
#[derive(Debug, Clone, PartialEq)]
pub enum ClientEvent {
    /// The framed greeting was answered.
    Ready(String),
    Songs(Vec<String>),
    /// Audio follows. `bytes` is known in the framed dialect only; the
    /// original dialect's format is assumed to be CD audio.
    TrackStart {
        name: String,
        format: PcmFormat,
        bytes: Option<u64>,
    },
    TrackData {
        name: String,
        data: Vec<u8>,
    },
    TrackEnd {
        name: String,
        bytes: u64,
    },
    Devices(Vec<Device>),
    /// A `status` was acknowledged (framed only).
    Recorded,
    NotFound {
        name: String,
        message: String,
    },
    /// The server refused a request or said something unexpected.
    ServerError {
        code: Option<u16>,
        message: String,
    },
    Goodbye,
    /// The connection is over; `reason` says why when it was not a goodbye.
    Closed {
        reason: Option<String>,
    },
}

/// Identifies a request, so that its answer can be told from others.
pub type RequestId = u64;

/// The most lines a counted framed body may announce.
pub const MAX_BODY_LINES: usize = 100_000;

/// A request in flight: its id, and the reply it waits for.
#[derive(Debug, Clone, PartialEq)]
struct Awaited {
    id: RequestId,
    expect: Expect,
}

/// What reply a sent request waits for.
#[derive(Debug, Clone, PartialEq)]
enum Expect {
    Hello,
    List,
    Download(String),
    Devices,
    Status,
    Quit,
    Help,
}

/// Where the framed decoder is.
#[derive(Debug)]
enum Framed {
    /// Waiting for a status line (or a track header).
    Line,
    /// Reading the body of a counted reply; `bytes` counts the lines' bytes.
    Body {
        left: usize,
        items: Vec<String>,
        bytes: usize,
    },
    /// Reading a track's audio, then its end line.
    Track { name: String, left: u64, total: u64 },
}

/// Where the original decoder is.
#[derive(Debug, PartialEq)]
enum Original {
    /// Collecting a reply's first bytes.
    Head,
    /// Inside a track's audio; `acc` holds the last bytes, which may be the
    /// start of `track_data_end`.
    Track { name: String, total: u64 },
}

/// One connection's client-side protocol state. See the module docs.
#[derive(Debug)]
pub struct ClientSession {
    config: ClientConfig,
    out: Outbox,
    /// Original: requests not yet sent (one in flight at a time), with the
    /// id [`send`](Self::send) gave each.
    queue: VecDeque<(RequestId, Request)>,
    /// Requests sent whose replies are awaited, oldest first.
    waiting: VecDeque<Awaited>,
    /// The id the next request gets.
    next_id: RequestId,
    /// Events, each tagged with the request it answers (if it answers one).
    events: VecDeque<(Option<RequestId>, ClientEvent)>,
    lines: LineBuffer,
    framed: Framed,
    original: Original,
    /// Original: the reply bytes gathered so far (or a track's held-back tail).
    acc: Vec<u8>,
    /// Original: when the request in flight was sent.
    sent_at: Duration,
    /// Original: when the last byte of the reply in progress arrived.
    last_input: Option<Duration>,
    /// When the last byte of all arrived (either dialect): a track stalls
    /// [`ClientConfig::track_stall`] after it.
    last_byte: Duration,
    /// Original: no request leaves before this time.
    gate: Duration,
    closed: bool,
}

impl ClientSession {
    /// A new session. A framed session queues its greeting at once.
    pub fn new(config: ClientConfig) -> Self {
        let mut s = ClientSession {
            out: Outbox::default(),
            queue: VecDeque::new(),
            waiting: VecDeque::new(),
            next_id: 0,
            events: VecDeque::new(),
            lines: LineBuffer::new(framed::MAX_REPLY_LINE),
            framed: Framed::Line,
            original: Original::Head,
            acc: Vec::new(),
            sent_at: Duration::ZERO,
            last_input: None,
            last_byte: Duration::ZERO,
            gate: Duration::ZERO,
            closed: false,
            config,
        };
        if s.config.dialect == Dialect::Framed {
            let agent = s.config.agent.clone();
            let line = framed::hello(&agent);
            s.out.push(line.into_bytes(), Duration::ZERO);
            let id = s.new_id();
            s.push_waiting(id, Expect::Hello);
        }
        s
    }

    /// The id of the greeting a framed session sends by itself (always 0).
    pub const HELLO_ID: RequestId = 0;

    // ----- getters -----

    pub fn dialect(&self) -> Dialect {
        self.config.dialect
    }

    /// Bytes to write now.
    pub fn pending(&self, now: Duration) -> &[u8] {
        self.out.pending(now)
    }

    /// When [`handle_timeout`](Self::handle_timeout) should next be called.
    pub fn poll_timeout(&self) -> Option<Duration> {
        if self.closed {
            return None;
        }
        let stall = self.stall_deadline();
        if self.config.dialect == Dialect::Framed {
            return stall;
        }
        let mut t = stall;
        if self.waiting.is_empty() && !self.queue.is_empty() {
            t = Some(self.gate);
        }
        if self.waiting.is_empty() && !self.acc.is_empty() {
            t = min_opt(t, self.last_input.map(|l| l + self.config.settle));
        }
        if let Some(e) = self.expected() {
            let quiet = match (e, self.last_input) {
                (_, Some(last)) if self.is_start_of_known_reply() => {
                    Some(last + self.config.reply_timeout)
                }
                (Expect::List | Expect::Devices, Some(last)) => Some(last + self.config.settle),
                (Expect::List | Expect::Devices, None) => {
                    Some(self.sent_at + self.config.reply_timeout)
                }
                (_, Some(last)) if self.original == Original::Head => {
                    Some(last + self.config.settle)
                }
                _ => None,
            };
            t = min_opt(t, quiet);
        }
        min_opt(t, self.out.wakeup())
    }

    /// True when nothing is queued, in flight or unwritten.
    pub fn is_idle(&self) -> bool {
        self.queue.is_empty() && self.waiting.is_empty() && self.out.is_empty()
    }

    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// Requests sent or queued that have not been answered yet.
    pub fn outstanding(&self) -> usize {
        self.queue.len() + self.waiting.len()
    }

    // ----- inputs -----

    /// Asks the server something and returns the request's id: the events
    /// that answer it carry that id (see [`poll_answer`](Self::poll_answer)).
    /// In the original dialect, requests it cannot express (`help`, a status
    /// other than playing a song) are silently dropped.
    pub fn send(&mut self, now: Duration, req: Request) -> RequestId {
        let id = self.new_id();
        if self.closed {
            return id;
        }
        match self.config.dialect {
            Dialect::Framed => {
                let line = framed_line(&req);
                self.out.push(line.into_bytes(), Duration::ZERO);
                self.push_waiting(id, expect_for(&req));
            }
            Dialect::Original => {
                if original::encode_request(&req).is_some() {
                    self.queue.push_back((id, req));
                    self.flush_queue(now);
                }
            }
        }
        id
    }

    /// `n` bytes of [`pending`](Self::pending) were written.
    pub fn consume(&mut self, now: Duration, n: usize) {
        self.out.consume(now, n);
    }

    /// Bytes read from the socket.
    pub fn handle_input(&mut self, now: Duration, data: &[u8]) {
        if self.closed || data.is_empty() {
            return;
        }
        self.last_byte = now;
        match self.config.dialect {
            Dialect::Framed => self.framed_input(data),
            Dialect::Original => {
                self.last_input = Some(now);
                self.original_input(now, data);
            }
        }
    }

    /// Time passed: ends a stalled track, ends quiet-terminated replies and
    /// releases queued requests.
    pub fn handle_timeout(&mut self, now: Duration) {
        if self.closed {
            return;
        }
        if let Some(why) = self.stalled(now) {
            return self.close(Some(why));
        }
        if self.config.dialect == Dialect::Framed {
            return;
        }
        match self.expected().cloned() {
            Some(e) => self.original_quiet(now, &e),
            None => self.unsolicited(now),
        }
        self.flush_queue(now);
    }

    /// The server closed the connection.
    pub fn handle_eof(&mut self, now: Duration) {
        if self.closed {
            return;
        }
        if self.config.dialect == Dialect::Original {
            // A reply that ends by silence also ends by the close.
            if let Some(e @ (Expect::List | Expect::Devices | Expect::Quit)) =
                self.expected().cloned()
            {
                self.original_quiet(now + self.config.settle, &e);
            }
        }
        let reason = match (self.expected(), &self.framed, &self.original) {
            // Bytes nobody asked for, then the close: a busy reply, say.
            (None, _, _) if !self.acc.is_empty() => Some(shown(self.acc.trim_ascii_end())),
            (None, _, _) if self.queue.is_empty() => None,
            (_, Framed::Track { name, left, .. }, _) => Some(format!(
                "the server closed the connection {left} bytes before the end of '{}'",
                shown(name.as_bytes())
            )),
            (_, _, Original::Track { name, total }) => Some(format!(
                "the server closed the connection after {total} bytes of '{}', before track_data_end",
                shown(name.as_bytes())
            )),
            _ => Some("the server closed the connection before answering".to_string()),
        };
        self.close(reason);
    }

    /// Next event, oldest first.
    pub fn poll_event(&mut self) -> Option<ClientEvent> {
        self.events.pop_front().map(|(_, e)| e)
    }

    /// Next event with the id of the request it answers: a reply (or a
    /// track's start) carries its request's id; audio, the end of a track,
    /// the close and bytes nobody asked for carry `None`.
    pub fn poll_answer(&mut self) -> Option<(Option<RequestId>, ClientEvent)> {
        self.events.pop_front()
    }

    // ----- internals -----

    fn close(&mut self, reason: Option<String>) {
        self.closed = true;
        self.queue.clear();
        self.waiting.clear();
        self.out.clear();
        self.events
            .push_back((None, ClientEvent::Closed { reason }));
    }

    fn new_id(&mut self) -> RequestId {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    fn push_waiting(&mut self, id: RequestId, expect: Expect) {
        self.waiting.push_back(Awaited { id, expect });
    }

    fn pop_waiting(&mut self) -> Option<Expect> {
        self.waiting.pop_front().map(|a| a.expect)
    }

    /// The reply the oldest request in flight waits for.
    fn expected(&self) -> Option<&Expect> {
        self.waiting.front().map(|a| &a.expect)
    }

    /// Queues an event. Replies are tagged with the request at the head of
    /// `waiting`, so call this *before* popping the request it answers.
    fn emit(&mut self, e: ClientEvent) {
        let answers = !matches!(
            e,
            ClientEvent::TrackData { .. }
                | ClientEvent::TrackEnd { .. }
                | ClientEvent::Closed { .. }
        );
        let id = answers
            .then(|| self.waiting.front().map(|a| a.id))
            .flatten();
        self.events.push_back((id, e));
    }

    fn flush_queue(&mut self, now: Duration) {
        while self.waiting.is_empty() && now >= self.gate {
            let Some((id, req)) = self.queue.pop_front() else {
                return;
            };
            let Some(bytes) = original::encode_request(&req) else {
                continue;
            };
            self.out.push(bytes, Duration::ZERO);
            self.sent_at = now;
            self.last_input = None;
            self.acc.clear();
            match expect_for(&req) {
                Expect::Status => self.gate = now + self.config.pause,
                e => self.push_waiting(id, e),
            }
        }
    }
}

fn server_text(bytes: &[u8]) -> ClientEvent {
    let message = String::from_utf8_lossy(bytes).into_owned();
    let code = framed::Status::parse(message.trim_end()).and_then(|s| match s {
        Status::Err { code, .. } => Some(code),
        Status::Ok(_) => None,
    });
    ClientEvent::ServerError { code, message }
}

fn expect_for(req: &Request) -> Expect {
    match req {
        Request::Hello { .. } => Expect::Hello,
        Request::List => Expect::List,
        Request::Download { name } => Expect::Download(name.clone()),
        Request::Devices => Expect::Devices,
        Request::Status { .. } => Expect::Status,
        Request::Quit => Expect::Quit,
        Request::Help => Expect::Help,
    }
}

/// The framed wire form of a request, with its `\n`.
pub fn framed_line(req: &Request) -> String {
    match req {
        Request::Hello { agent } => format!("hello {agent}\n"),
        Request::List => "list\n".into(),
        Request::Download { name } => format!("download {name}\n"),
        Request::Devices => "devices\n".into(),
        Request::Status {
            state,
            song,
            position_ms,
        } => {
            let mut line = format!("status {state}");
            if let Some(ms) = position_ms {
                line.push(' ');
                line.push_str(&crate::request::position_token(*ms));
            }
            if let Some(s) = song {
                line.push(' ');
                line.push_str(s);
            }
            line.push('\n');
            line
        }
        Request::Quit => "quit\n".into(),
        Request::Help => "help\n".into(),
    }
}

fn min_opt(a: Option<Duration>, b: Option<Duration>) -> Option<Duration> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, None) => x,
        (None, y) => y,
    }
}
