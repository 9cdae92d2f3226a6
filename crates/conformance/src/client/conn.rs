//! What the fake server saw on one connection ([`ConnLog`]), and how it
//! reads commands ([`Reader`]): in the original dialect each read is one
//! command, as the original server's `recv(1024)`; in the framed dialect a
//! command is a line.

use std::io::{ErrorKind, Read};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use streamlab_proto::framed::{self, Line, LineBuffer};
use streamlab_proto::observe::{self, Observer};
use streamlab_proto::{original, Dialect};

use crate::diagnosis::show;

/// One thing that happened on a connection, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// One read's bytes, from the client.
    Received(Vec<u8>),
    /// One write by the fake server, as a readable label.
    Wrote(String),
    /// A write that failed (the client had gone).
    WriteFailed(String, String),
    /// The fake server wrote nothing for this long, on purpose.
    Paused(Duration),
    /// The goodbye (`goodbye` / `OK goodbye`) has just been written.
    Goodbye,
    /// A whole track, end marker included, has just been written.
    TrackSent,
    /// The client closed its side (a read returned 0).
    ClientClosed,
    /// A read failed: the client reset the connection.
    ClientReset(String),
    /// The fake server closed the connection.
    ServerClosed,
}

/// Everything one connection saw.
#[derive(Debug, Clone, Default)]
pub struct ConnLog {
    pub events: Vec<Event>,
}

impl ConnLog {
    /// The client's commands as the fake server read them (original: one
    /// per read; framed: one per line without its line end, a last
    /// unfinished line included), cut by the protocol's observer.
    pub fn commands(&self, dialect: Dialect) -> Vec<String> {
        self.command_bytes(dialect)
            .iter()
            .map(|c| {
                let c = match dialect {
                    Dialect::Original => &c[..],
                    Dialect::Framed => {
                        let c = c.strip_suffix(b"\n").unwrap_or(c);
                        c.strip_suffix(b"\r").unwrap_or(c)
                    }
                };
                String::from_utf8_lossy(c).into_owned()
            })
            .collect()
    }

    /// The client's commands quoted as they came (framed lines with `\n`).
    pub fn shown_commands(&self, dialect: Dialect) -> Vec<String> {
        self.command_bytes(dialect)
            .iter()
            .map(|c| show(c))
            .collect()
    }

    /// Each command's bytes as they came (their first
    /// [`observe::MAX_TEXT`] bytes).
    fn command_bytes(&self, dialect: Dialect) -> Vec<Vec<u8>> {
        let mut o = Observer::with_dialect(dialect);
        let mut at = 0u64;
        for e in &self.events {
            if let Event::Received(b) = e {
                o.data(observe::Side::Client, at, b);
                at += b.len() as u64;
            }
        }
        o.finish();
        std::iter::from_fn(|| o.poll_event())
            .filter_map(|e| match e {
                observe::Event::Message(m) if m.side == observe::Side::Client => Some(m.text),
                _ => None,
            })
            .collect()
    }

    fn position(&self, wanted: impl Fn(&Event) -> bool) -> Option<usize> {
        self.events.iter().position(wanted)
    }

    /// Whether the client closed (or reset) before the goodbye was written.
    pub fn closed_before_goodbye(&self) -> bool {
        let closed = self.position(|e| matches!(e, Event::ClientClosed | Event::ClientReset(_)));
        let goodbye = self.position(|e| *e == Event::Goodbye);
        match (closed, goodbye) {
            (Some(c), Some(g)) => c < g,
            (Some(_), None) => true,
            _ => false,
        }
    }

    /// Whether the client reset the connection before any goodbye: it
    /// closed with bytes it had not read (part of a song, say).
    pub fn reset_before_goodbye(&self) -> bool {
        self.events
            .iter()
            .take_while(|e| **e != Event::Goodbye)
            .any(|e| matches!(e, Event::ClientReset(_)))
    }

    pub fn track_sent(&self) -> bool {
        self.events.contains(&Event::TrackSent)
    }

    /// What the fake server wrote, as `a, then b, then (pause 50 ms)`; at
    /// most the last `keep` items, with a count of the ones left out.
    pub fn sent(&self, keep: usize) -> String {
        let items: Vec<String> = self
            .events
            .iter()
            .filter_map(|e| match e {
                Event::Wrote(label) => Some(label.clone()),
                Event::WriteFailed(label, why) => Some(format!("{label} (failed: {why})")),
                Event::Paused(d) => Some(format!("(pause {} ms)", d.as_millis())),
                Event::ServerClosed if !self.events.contains(&Event::Goodbye) => {
                    Some("(the server closed)".into())
                }
                _ => None,
            })
            .collect();
        let skipped = items.len().saturating_sub(keep);
        let shown = items[skipped..].join(", then ");
        match skipped {
            0 if shown.is_empty() => "nothing".into(),
            0 => shown,
            n => format!("… ({n} earlier), then {shown}"),
        }
    }

    /// What the fake server wrote between the first read holding `command`
    /// and the next read: the reply to that command, as `sent` shows it.
    pub fn reply_to(&self, command: &[u8]) -> Option<String> {
        let holds = |b: &[u8]| b.windows(command.len()).any(|w| w == command);
        let at = self
            .events
            .iter()
            .position(|e| matches!(e, Event::Received(b) if holds(b)))?;
        let reply: Vec<Event> = self.events[at + 1..]
            .iter()
            .take_while(|e| !matches!(e, Event::Received(_)))
            .cloned()
            .collect();
        Some(ConnLog { events: reply }.sent(usize::MAX))
    }
}

/// Reads commands, bounded by a stop flag and a deadline.
pub struct Reader {
    dialect: Dialect,
    stop: Arc<AtomicBool>,
    deadline: Instant,
    /// Framed: the bytes read and not yet cut into lines (the server's
    /// bound, [`framed::MAX_LINE`], ends the connection).
    lines: LineBuffer,
    closed: bool,
}

impl Reader {
    pub fn new(dialect: Dialect, stop: Arc<AtomicBool>, deadline: Instant) -> Reader {
        Reader {
            dialect,
            stop,
            deadline,
            lines: LineBuffer::new(framed::MAX_LINE),
            closed: false,
        }
    }

    pub fn stopped(&self) -> bool {
        self.stop.load(Ordering::SeqCst) || Instant::now() > self.deadline
    }

    /// The next command, or `None` once the client closed or time is up.
    /// The stream's read timeout (20 ms) is how often the stop flag is seen.
    pub fn next(&mut self, stream: &mut TcpStream, log: &mut ConnLog) -> Option<Vec<u8>> {
        loop {
            if self.dialect == Dialect::Framed {
                match self.lines.next_line() {
                    Line::Complete(line) => return Some(line),
                    Line::TooLong => return None,
                    Line::Incomplete => {}
                }
            }
            if self.closed || self.stopped() {
                return None;
            }
            match (self.read_once(stream, log), self.dialect) {
                (Some(bytes), Dialect::Original) => return Some(bytes),
                (Some(bytes), Dialect::Framed) => self.lines.extend(&bytes),
                (None, _) => {}
            }
        }
    }

    /// Reads (and logs) for up to `window`, ending early at the client's
    /// close: how the fake server learns whether the client closed first.
    pub fn watch_for_close(&mut self, stream: &mut TcpStream, log: &mut ConnLog, window: Duration) {
        let until = Instant::now() + window;
        while !self.closed && Instant::now() < until && !self.stopped() {
            let _ = self.read_once(stream, log);
        }
    }

    /// One read of at most 1024 bytes (the original's `recv(1024)`), logged;
    /// `None` when nothing came within the read timeout or the client
    /// closed (then `closed` is set).
    fn read_once(&mut self, stream: &mut TcpStream, log: &mut ConnLog) -> Option<Vec<u8>> {
        let mut buf = [0u8; original::RECV_SIZE];
        match stream.read(&mut buf) {
            Ok(0) => {
                log.events.push(Event::ClientClosed);
                self.closed = true;
                None
            }
            Ok(n) => {
                log.events.push(Event::Received(buf[..n].to_vec()));
                Some(buf[..n].to_vec())
            }
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
                ) =>
            {
                None
            }
            Err(e) => {
                log.events.push(Event::ClientReset(e.to_string()));
                self.closed = true;
                None
            }
        }
    }
}
