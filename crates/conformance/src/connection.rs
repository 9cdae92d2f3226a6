//! One checker connection: writes that are remembered (for the diagnosis's
//! `sent:`) and reads that never hang.
//!
//! The checker never assumes that one `recv` is one message. It accumulates
//! bytes and decides where a reply ends by one of three rules:
//!
//! * **framed**: a line ends at `\n`, a body after a count of bytes;
//! * **original text replies**: the reply is complete when it equals the
//!   text expected, or when nothing more arrives for the *settle* time
//!   (a reply that is the start of the expected text waits longer: the full
//!   timeout, as the rest may be late);
//! * **original tracks**: the stream ends in `track_data_end` and then
//!   falls silent for the settle time.
//!
//! Every wait is bounded twice: by the read timeout (the longest silence
//! allowed, 3 s by default) and by the check's deadline.

use std::io::{ErrorKind, Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, SocketAddrV4, TcpStream};
use std::time::{Duration, Instant};

use streamlab_proto::framed::{self, Line};

use crate::diagnosis::{show, Diagnosis};
use crate::Limits;

/// The most bytes one reply may grow to before the checker gives up.
pub const MAX_REPLY: usize = 256 << 20;
/// The longest framed line the checker accepts: a client's limit.
pub const MAX_LINE: usize = framed::MAX_REPLY_LINE;
/// How many of the last writes `sent:` shows.
const SENT_SHOWN: usize = 4;

/// How a read ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadEnd {
    /// The bytes make a complete reply by the rule in use.
    Complete,
    /// Bytes came, then nothing for the settle time.
    Quiet,
    /// Nothing came for the read timeout.
    TimedOut,
    /// The server closed the connection (FIN).
    Closed,
    /// A read failed, usually a reset (RST).
    Failed(String),
    /// The check's deadline passed.
    OutOfTime,
    /// More than [`MAX_REPLY`] bytes (or [`MAX_LINE`] for a line).
    TooLong,
}

/// What a read gathered, and why it stopped.
#[derive(Debug, Clone)]
pub struct Reply {
    pub bytes: Vec<u8>,
    pub end: ReadEnd,
}

impl Reply {
    /// The `got:` of a diagnosis: the bytes, then how the reading ended.
    pub fn describe(&self, limits: &Limits) -> String {
        let how = self.how(limits);
        match (self.bytes.is_empty(), &self.end) {
            (_, ReadEnd::Complete | ReadEnd::Quiet) => show(&self.bytes),
            (true, ReadEnd::TimedOut) => {
                format!("nothing within {} ms", limits.timeout.as_millis())
            }
            (true, _) => how,
            (false, _) => format!("{}, then {how}", show(&self.bytes)),
        }
    }

    /// How the reading ended, as the tail of a sentence.
    pub fn how(&self, limits: &Limits) -> String {
        match &self.end {
            ReadEnd::Complete | ReadEnd::Quiet => "silence".to_string(),
            ReadEnd::TimedOut => format!("nothing for {} ms", limits.timeout.as_millis()),
            ReadEnd::Closed => "the connection closed".to_string(),
            ReadEnd::Failed(e) => format!("the connection failed ({e})"),
            ReadEnd::OutOfTime => format!(
                "the check's time ran out ({} ms)",
                limits.check_budget().as_millis()
            ),
            ReadEnd::TooLong => "a reply that would not end".to_string(),
        }
    }
}

/// A connection to the server under test.
pub struct Conn {
    stream: TcpStream,
    limits: Limits,
    deadline: Instant,
    /// Bytes received and not yet taken by a reply.
    pending: Vec<u8>,
    closed: bool,
    sent: Vec<String>,
}

impl Conn {
    /// Connects within the read timeout; `deadline` bounds everything after.
    pub fn open(addr: SocketAddr, limits: Limits, deadline: Instant) -> Result<Conn, Diagnosis> {
        let stream = TcpStream::connect_timeout(&addr, limits.timeout).map_err(|e| {
            let expected = match e.kind() {
                ErrorKind::ConnectionReset => "the server keeps the connection open",
                _ => "the server accepts the connection",
            };
            Diagnosis::new(
                format!("(a TCP connection to {addr})"),
                expected,
                connect_error(&e),
            )
        })?;
        Ok(Conn::over(stream, limits, deadline))
    }

    /// Connects from the loopback address `source` (see [`crate::source`]).
    /// An error is returned as it is: the caller falls back to [`Conn::open`].
    pub fn open_from(
        source: Ipv4Addr,
        addr: SocketAddrV4,
        limits: Limits,
        deadline: Instant,
    ) -> std::io::Result<Conn> {
        let stream = crate::source::connect_from(source, addr, limits.timeout)?;
        Ok(Conn::over(stream, limits, deadline))
    }

    fn over(stream: TcpStream, limits: Limits, deadline: Instant) -> Conn {
        let _ = stream.set_nodelay(true);
        Conn {
            stream,
            limits,
            deadline,
            pending: Vec::new(),
            closed: false,
            sent: Vec::new(),
        }
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Our end's address, as the server sees it (no NAT on a lab network).
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.stream.local_addr().ok()
    }

    /// What was written so far, for `sent:` (the last few writes).
    pub fn sent(&self) -> String {
        let skip = self.sent.len().saturating_sub(SENT_SHOWN);
        let mut parts: Vec<String> = self.sent[skip..].to_vec();
        if skip > 0 {
            parts.insert(0, format!("({skip} earlier)"));
        }
        match parts.is_empty() {
            true => "(nothing: only the TCP handshake)".to_string(),
            false => parts.join(", then "),
        }
    }

    /// A diagnosis for this connection: `sent:` filled in.
    pub fn fail(&self, expected: impl Into<String>, got: impl Into<String>) -> Diagnosis {
        Diagnosis::new(self.sent(), expected, got)
    }

    /// Writes all of `bytes`, bounded by the read timeout.
    pub fn send(&mut self, bytes: &[u8]) -> Result<(), Diagnosis> {
        self.sent.push(show(bytes));
        let _ = self.stream.set_write_timeout(Some(self.limits.timeout));
        self.stream.write_all(bytes).map_err(|e| {
            self.fail(
                "the server reads the command",
                format!("writing failed ({})", io_text(&e)),
            )
        })
    }

    /// Notes a pause in `sent:` and sleeps it.
    pub fn pause(&mut self, d: Duration) {
        self.sent.push(format!("(pause {} ms)", d.as_millis()));
        std::thread::sleep(d);
    }

    /// Closes both directions at once, as a client that vanishes.
    pub fn vanish(self) {
        let _ = self.stream.shutdown(Shutdown::Both);
    }

    /// One read of up to 64 KiB, waiting at most `wait`. `Ok(true)` when
    /// bytes came, `Ok(false)` after silence, `Err` for how it ended.
    fn fill(&mut self, wait: Duration) -> Result<bool, ReadEnd> {
        if self.closed {
            return Err(ReadEnd::Closed);
        }
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(ReadEnd::OutOfTime);
        }
        let wait = wait.min(left).max(Duration::from_millis(1));
        let _ = self.stream.set_read_timeout(Some(wait));
        let mut buf = [0u8; 64 * 1024];
        match self.stream.read(&mut buf) {
            Ok(0) => {
                self.closed = true;
                Err(ReadEnd::Closed)
            }
            Ok(n) => {
                self.pending.extend_from_slice(&buf[..n]);
                Ok(true)
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                match Instant::now() >= self.deadline {
                    true => Err(ReadEnd::OutOfTime),
                    false => Ok(false),
                }
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => Ok(false),
            Err(e) => {
                self.closed = true;
                Err(ReadEnd::Failed(io_text(&e)))
            }
        }
    }

    fn take(&mut self, end: ReadEnd) -> Reply {
        Reply {
            bytes: std::mem::take(&mut self.pending),
            end,
        }
    }

    /// An original-dialect text reply: complete when it equals `expected`
    /// (if given), else when the server falls silent for the settle time.
    pub fn reply(&mut self, expected: Option<&[u8]>) -> Reply {
        loop {
            let whole = expected.is_some_and(|e| self.pending == e);
            if whole {
                return self.take(ReadEnd::Complete);
            }
            let partial = expected.is_some_and(|e| e.starts_with(&self.pending));
            let wait = match self.pending.is_empty() || partial {
                true => self.limits.timeout,
                false => self.limits.settle,
            };
            match self.fill(wait) {
                Ok(true) if self.pending.len() > MAX_REPLY => return self.take(ReadEnd::TooLong),
                Ok(true) => {}
                Ok(false) if self.pending.is_empty() => return self.take(ReadEnd::TimedOut),
                Ok(false) if partial => return self.take(ReadEnd::TimedOut),
                Ok(false) => return self.take(ReadEnd::Quiet),
                Err(end) => return self.take(end),
            }
        }
    }

    /// An original-dialect track: everything until the stream ends in
    /// `end_marker` and then stays silent for the settle time. A reply that
    /// does not begin like `start_marker` is read as a text reply.
    pub fn track(&mut self, start_marker: &[u8], end_marker: &[u8]) -> Reply {
        loop {
            let n = self.pending.len().min(start_marker.len());
            if !self.pending.is_empty() && self.pending[..n] != start_marker[..n] {
                return self.reply(None);
            }
            let at_end =
                self.pending.len() > start_marker.len() && self.pending.ends_with(end_marker);
            let wait = match at_end {
                true => self.limits.settle,
                false => self.limits.timeout,
            };
            match self.fill(wait) {
                Ok(true) if self.pending.len() > MAX_REPLY => return self.take(ReadEnd::TooLong),
                Ok(true) => {}
                Ok(false) if at_end => return self.take(ReadEnd::Complete),
                Ok(false) => return self.take(ReadEnd::TimedOut),
                Err(end) => return self.take(end),
            }
        }
    }

    /// A framed line, without its `\n` (or `\r\n`). On failure, the reply
    /// says what came instead.
    pub fn line(&mut self) -> Result<String, Reply> {
        loop {
            match framed::cut_line(&mut self.pending, MAX_LINE) {
                Line::Complete(line) => {
                    return String::from_utf8(line).map_err(|e| Reply {
                        bytes: e.into_bytes(),
                        end: ReadEnd::Complete,
                    })
                }
                Line::TooLong => return Err(self.take(ReadEnd::TooLong)),
                Line::Incomplete => {}
            }
            match self.fill(self.limits.timeout) {
                Ok(true) => {}
                Ok(false) => return Err(self.take(ReadEnd::TimedOut)),
                Err(end) => return Err(self.take(end)),
            }
        }
    }

    /// Exactly `n` bytes (a framed track's audio).
    pub fn exact(&mut self, n: usize) -> Result<Vec<u8>, Reply> {
        while self.pending.len() < n {
            match self.fill(self.limits.timeout) {
                Ok(true) => {}
                Ok(false) => return Err(self.take(ReadEnd::TimedOut)),
                Err(end) => return Err(self.take(end)),
            }
        }
        Ok(self.pending.drain(..n).collect())
    }

    /// Whatever arrives within `wait` (for "nothing more should come").
    pub fn extra(&mut self, wait: Duration) -> Reply {
        let start = Instant::now();
        while start.elapsed() < wait {
            match self.fill(wait.saturating_sub(start.elapsed())) {
                Ok(true) if self.pending.len() > MAX_LINE => return self.take(ReadEnd::TooLong),
                Ok(true) => {}
                Ok(false) => break,
                Err(end) => return self.take(end),
            }
        }
        self.take(ReadEnd::Quiet)
    }

    /// Reads until the server closes: `Closed` (or a reset after the reply,
    /// which is a close too) is what a quit expects.
    pub fn until_close(&mut self) -> Reply {
        loop {
            match self.fill(self.limits.timeout) {
                Ok(true) if self.pending.len() > MAX_LINE => return self.take(ReadEnd::TooLong),
                Ok(true) => {}
                Ok(false) => return self.take(ReadEnd::TimedOut),
                Err(end) => return self.take(end),
            }
        }
    }
}

/// What a server that accepts a connection and resets it at once does to
/// us, whether the reset reaches `connect` or the first read.
const RESET_AT_ONCE: &str = "the server accepted the connection, then reset it";

fn io_text(e: &std::io::Error) -> String {
    match e.kind() {
        ErrorKind::ConnectionReset => "connection reset by the server".into(),
        ErrorKind::BrokenPipe => "the server closed its side".into(),
        _ => e.to_string(),
    }
}

/// Why a connection could not be opened, in words a student can act on.
pub(crate) fn connect_error(e: &std::io::Error) -> String {
    match e.kind() {
        ErrorKind::ConnectionRefused => {
            "connection refused (is the server running? did it die?)".into()
        }
        // The SYN was answered, so something listens: it took the
        // connection and reset it before `connect` returned.
        ErrorKind::ConnectionReset => RESET_AT_ONCE.into(),
        ErrorKind::TimedOut | ErrorKind::WouldBlock => "no answer to the TCP handshake".into(),
        _ => format!("cannot connect ({e})"),
    }
}
