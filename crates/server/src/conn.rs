//! One connection: a blocking driver for a [`ServerSession`].
//!
//! Each accepted socket gets a thread running `serve`. The thread writes
//! whatever the session has pending, waits out the session's pauses (a wait
//! that shutdown cuts short), and reads when it has nothing to write and no
//! pause runs. A client that stops reading blocks only this thread, and
//! only until the write timeout (see `Progress`). Before the original
//! dialect's `track_data_end` it also waits until the client has
//! acknowledged every audio byte (the session's drain barrier; see
//! [`unacked_bytes`]), so the marker arrives in a `recv` of its own.
//!
//! A read waits for ever once the peer has greeted and no command is half
//! sent: a client may listen to a song for an hour without a word. Before
//! the greeting, and while a command is incomplete, the read has a deadline
//! (the greeting and command timeouts; see [`crate::admission`]).
//!
//! How the socket is closed depends on why the connection ended: after the
//! session's own last word (`goodbye`, or an error reply such as
//! `ERR 413 … closing`) it is a [`linger_close`], so that the last word
//! arrives (the client stays in the device list for that second at most);
//! otherwise the socket is simply shut down.

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use streamlab_proto::{original, Dialect, Outcome, ServerEvent, ServerSession};
use tracing::{debug, info, warn};

use crate::admission::Admission;
use crate::pace::Pacer;
use crate::registry::ServerState;
use crate::{ServerOptions, ShutdownHandle};

/// Why a connection ended.
#[derive(Debug, PartialEq, Eq)]
pub enum ConnEnd {
    /// The session finished (goodbye, or an error reply then close).
    Finished,
    /// The client closed its side.
    PeerClosed,
    /// The server is shutting down.
    Stopped,
    /// A socket error (reset, timeout), or a client too slow to keep.
    Error(String),
    /// No greeting, or a command left incomplete, in time.
    TimedOut(String),
}

/// Runs one connection to its end, then closes `stream` as that end calls
/// for (the caller still owns it and drops it). The connection tells
/// `admission` when it greets.
pub(crate) fn serve(
    id: u64,
    stream: &TcpStream,
    peer: SocketAddr,
    shared: &ServerState,
    options: &ServerOptions,
    stop: &ShutdownHandle,
    admission: &Admission,
) -> ConnEnd {
    let _ = stream.set_nodelay(true);
    let progress = Progress::new(options.write_timeout);
    let _ = stream.set_write_timeout(Some(progress.poll()));
    let mut driver = Driver {
        id,
        peer,
        stream,
        shared,
        stop,
        admission,
        options,
        start: Instant::now(),
        session: ServerSession::new(id, options.session.clone()),
        buf: vec![0u8; 16 * 1024],
        progress,
        greeted: false,
        read_timeout: None,
        pacer: options.rate.map(|rate| Pacer::new(rate, Instant::now())),
    };
    let end = loop {
        if let Err(end) = driver.step() {
            break end;
        }
    };
    driver.log_events();
    if stop.is_stopping() {
        // Shutdown closes every socket (or is about to), so whatever ended
        // the loop came from that; there is nobody left to linger for.
        let _ = stream.shutdown(Shutdown::Both);
        return ConnEnd::Stopped;
    }
    match end {
        ConnEnd::Finished => linger_close(stream),
        _ => {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }
    end
}

/// One connection's loop state: the session and what drives it.
struct Driver<'a> {
    id: u64,
    peer: SocketAddr,
    stream: &'a TcpStream,
    shared: &'a ServerState,
    stop: &'a ShutdownHandle,
    admission: &'a Admission,
    options: &'a ServerOptions,
    /// Session time is measured from here, the moment of accepting.
    start: Instant,
    session: ServerSession,
    buf: Vec<u8>,
    progress: Progress,
    /// Whether `admission` has heard that the session greeted.
    greeted: bool,
    /// The socket's read timeout as last set (`None`: none).
    read_timeout: Option<Duration>,
    /// `--rate`: when the next write may go, and how big it may be.
    pacer: Option<Pacer>,
}

impl Driver<'_> {
    /// One turn of the run loop (see `streamlab_proto`): write if there is
    /// something to write, else close if the session is over, else wait out
    /// a pause, else read. `Err` says how the connection ended.
    fn step(&mut self) -> Result<(), ConnEnd> {
        self.log_events();
        let now = self.start.elapsed();
        if !self.session.pending(now).is_empty() {
            return self.write_step(now);
        }
        if self.session.wants_drain() {
            return self.drain_step();
        }
        self.progress.idle();
        if self.session.is_finished(now) {
            return Err(ConnEnd::Finished);
        }
        if let Some(until) = self.session.poll_timeout() {
            return match self.stop.sleep(until.saturating_sub(now)) {
                true => Err(ConnEnd::Stopped),
                false => Ok(()),
            };
        }
        self.read_step()
    }

    /// One write of what the session has pending; the socket may take
    /// only part of it, or (after the write timeout) nothing.
    fn write_step(&mut self, now: Duration) -> Result<(), ConnEnd> {
        let mut most = usize::MAX;
        if let Some(pacer) = &self.pacer {
            let wait = pacer.wait(Instant::now());
            if !wait.is_zero() {
                return match self.stop.sleep(wait) {
                    true => Err(ConnEnd::Stopped),
                    false => Ok(()),
                };
            }
            most = pacer.slice();
        }
        let began = Instant::now();
        self.progress.writing(began);
        let mut stream = self.stream;
        let pending = self.session.pending(now);
        let written = match stream.write(&pending[..pending.len().min(most)]) {
            Ok(n) => n,
            // A write that timed out took nothing; `Progress` decides
            // whether the client is slow or stuck.
            Err(e) if e.kind() == ErrorKind::Interrupted || is_timeout(&e) => 0,
            Err(e) => return Err(ConnEnd::Error(e.to_string())),
        };
        self.session.consume(self.start.elapsed(), written);
        if let Some(pacer) = &mut self.pacer {
            pacer.sent(Instant::now(), written);
        }
        self.progress.wrote(began, written).map_err(ConnEnd::Error)
    }

    /// Waits until the client has acknowledged every byte written (the
    /// session's drain barrier), polling the socket every [`DRAIN_POLL`]
    /// with a sleep that shutdown cuts short, then tells the session. The
    /// wait counts as writing for `Progress`: a client that acknowledges
    /// too little in a write timeout is dropped as stuck. Where the system
    /// cannot tell, the barrier passes at once and the pause is all that
    /// is left.
    fn drain_step(&mut self) -> Result<(), ConnEnd> {
        // Each poll is one "write": what was acknowledged since the last
        // poll went in between that poll and this one.
        let mut began = Instant::now();
        self.progress.writing(began);
        let mut before = None;
        while let Some(left) = unacked_bytes(self.stream).filter(|&n| n > 0) {
            let acked = before.map_or(0, |b: usize| b.saturating_sub(left));
            self.progress.wrote(began, acked).map_err(ConnEnd::Error)?;
            before = Some(left);
            began = Instant::now();
            if self.stop.sleep(DRAIN_POLL) {
                return Err(ConnEnd::Stopped);
            }
        }
        self.session.handle_drained(self.start.elapsed());
        Ok(())
    }

    /// One read, handed to the session whole: in the original dialect one
    /// read is one command, as it was for the original server. A read that
    /// times out comes back here, to find its deadline passed.
    fn read_step(&mut self) -> Result<(), ConnEnd> {
        let wait = self.read_wait()?;
        if wait != self.read_timeout {
            // Cannot fail: `read_wait` never gives a zero timeout.
            let _ = self.stream.set_read_timeout(wait);
            self.read_timeout = wait;
        }
        // The original server reads at most 1024 bytes per command.
        let max = match self.session.dialect() {
            Some(Dialect::Framed) => self.buf.len(),
            _ => original::RECV_SIZE,
        };
        let mut stream = self.stream;
        match stream.read(&mut self.buf[..max]) {
            Ok(0) => {
                self.session.handle_eof();
                Err(ConnEnd::PeerClosed)
            }
            Ok(n) => {
                let now = self.start.elapsed();
                self.session.handle_read(now, &self.buf[..n], self.shared);
                if self.session.greeted() && !self.greeted {
                    self.greeted = true;
                    self.admission.greeted(self.id);
                }
                Ok(())
            }
            Err(e) if e.kind() == ErrorKind::Interrupted || is_timeout(&e) => Ok(()),
            Err(e) => Err(ConnEnd::Error(e.to_string())),
        }
    }

    /// How long the next read may wait: until the greeting deadline while
    /// the peer has not greeted, until the command deadline while a command
    /// is incomplete (the sooner, if both), else for ever (`None`). A
    /// deadline already passed ends the connection.
    fn read_wait(&self) -> Result<Option<Duration>, ConnEnd> {
        let (greeting, command) = (self.options.greeting_timeout, self.options.command_timeout);
        let greeting_due = (!self.session.greeted()).then_some((greeting, Due::Greeting));
        let command_due = self
            .session
            .incomplete_since()
            .map(|t| (t.saturating_add(command), Due::Command));
        let Some((at, due)) = [greeting_due, command_due]
            .into_iter()
            .flatten()
            .min_by_key(|&(at, _)| at)
        else {
            return Ok(None);
        };
        let left = at.saturating_sub(self.start.elapsed());
        if !left.is_zero() {
            return Ok(Some(left));
        }
        Err(ConnEnd::TimedOut(match due {
            Due::Greeting => format!("no valid command within {greeting:?} of connecting"),
            Due::Command => format!("a command still incomplete {command:?} after its first byte"),
        }))
    }

    fn log_events(&mut self) {
        let (id, peer) = (self.id, self.peer);
        while let Some(event) = self.session.poll_event() {
            match event {
                ServerEvent::Dialect(d) => debug!(conn = id, %peer, "speaking the {d} dialect"),
                ServerEvent::Command { text, outcome } => match outcome {
                    Outcome::Goodbye => {
                        // A client that said goodbye is no longer a device,
                        // though its socket lingers for the goodbye to land.
                        self.shared.registry.remove(id);
                        info!(conn = id, %peer, "{text:?}: {}", describe(&Outcome::Goodbye));
                    }
                    Outcome::Track { name, bytes } => {
                        info!(conn = id, %peer, "{text:?}: sending '{name}' ({bytes} bytes)")
                    }
                    Outcome::Rejected(why) => warn!(conn = id, %peer, "{text:?}: {why}"),
                    other => info!(conn = id, %peer, "{text:?}: {}", describe(&other)),
                },
                ServerEvent::BadInput { detail } => warn!(conn = id, %peer, "bad input: {detail}"),
            }
        }
    }
}

/// Which deadline a read waits under.
#[derive(Debug, Clone, Copy)]
enum Due {
    Greeting,
    Command,
}

/// How often the drain barrier asks the kernel whether the client has
/// acknowledged everything: the barrier passes at most this long after the
/// last ACK. (The wait as a whole is bounded by the write timeout.)
pub const DRAIN_POLL: Duration = Duration::from_millis(1);

/// Bytes written to `stream` that the peer has not acknowledged yet, sent
/// or still queued: `ioctl(SIOCOUTQ)` (spelled `TIOCOUTQ` in libc, the
/// same request). `None` if the kernel cannot say.
#[cfg(target_os = "linux")]
pub fn unacked_bytes(stream: &TcpStream) -> Option<usize> {
    use std::os::fd::AsRawFd;
    let mut queued: libc::c_int = 0;
    // SAFETY: SIOCOUTQ writes one int through a pointer to a live one; the
    // descriptor is borrowed from `stream`, so it stays open for the call.
    let rc = unsafe { libc::ioctl(stream.as_raw_fd(), libc::TIOCOUTQ, &mut queued) };
    (rc == 0).then(|| usize::try_from(queued).unwrap_or(0))
}

/// Bytes written to `stream` that the peer has not acknowledged yet: this
/// system has no `SIOCOUTQ`, so `None` (cannot tell).
#[cfg(not(target_os = "linux"))]
pub fn unacked_bytes(_stream: &TcpStream) -> Option<usize> {
    None
}

/// How long [`linger_close`] waits for the peer to close its side.
pub const LINGER: Duration = Duration::from_secs(1);

/// Closes after a last reply without losing it (a "lingering close").
///
/// Closing a socket that still has unread input makes the kernel send RST
/// instead of FIN, and a peer that gets the RST may throw away the reply
/// it has not read yet: exactly the `ERR 413 … closing` sent while the
/// over-long line is still arriving, or the busy reply sent before the
/// client's greeting arrives. So: send FIN (`shutdown(Write)`), then read
/// and discard until the peer closes too, for at most [`LINGER`]. The
/// caller then drops the socket.
pub fn linger_close(stream: &TcpStream) {
    let _ = stream.shutdown(Shutdown::Write);
    let deadline = Instant::now() + LINGER;
    let mut scratch = [0u8; 4096];
    let mut reader = stream;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        // (A zero read timeout is an error, not "no wait".)
        if left.is_zero() || stream.set_read_timeout(Some(left)).is_err() {
            return;
        }
        match reader.read(&mut scratch) {
            Ok(0) => return,
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            // Timed out, reset, or shut down by the server's shutdown.
            Err(_) => return,
        }
    }
}

/// Tells a slow reader from a dead one.
///
/// A client that stops reading still lets the kernel take a few bytes now
/// and then (its buffers grow), so one blocked write proves nothing. The
/// rule: while the server has data for the client, every [`MIN_PROGRESS`]
/// bytes must be taken within `window` (the write timeout) of the previous
/// ones, or of the moment the data became pending. Time with nothing to
/// write does not count: a quiet client is not a stuck one.
///
/// The socket's own write timeout is only [`WRITE_POLL`], so a blocked
/// write comes back that often to let this rule look at the clock: a
/// stuck client is dropped `window` after its last progress, give or take
/// one poll. (A write timeout of the whole window, checked when the write
/// returns, dropped it only after about three windows: one spent filling
/// the socket buffers, one in which the kernel grew them and took a few
/// hundred KiB more, and the one that finally saw nothing.)
struct Progress {
    window: Duration,
    /// When the last [`MIN_PROGRESS`] bytes were complete (or the data
    /// became pending), and the bytes written since.
    since: Option<(Instant, u64)>,
}

/// Less than this many bytes in a whole window means the client is stuck.
pub const MIN_PROGRESS: u64 = 64 * 1024;

/// The longest one blocked write lasts before the stall rule looks at the
/// clock: the precision with which a stuck client is dropped.
pub const WRITE_POLL: Duration = Duration::from_millis(100);

impl Progress {
    fn new(window: Duration) -> Self {
        Progress {
            window,
            since: None,
        }
    }

    /// The socket write timeout that lets [`wrote`](Self::wrote) run at
    /// least every [`WRITE_POLL`] (never zero: that means "no timeout").
    fn poll(&self) -> Duration {
        self.window.min(WRITE_POLL).max(Duration::from_millis(1))
    }

    /// Nothing to write: the window closes, whatever it counted.
    fn idle(&mut self) {
        self.since = None;
    }

    /// A write begins at `began`: the window opens then if it is not open.
    fn writing(&mut self, began: Instant) {
        self.since.get_or_insert((began, 0));
    }

    /// The write that began at `began` took `n` bytes. Enough since the
    /// window opened starts a new window, dated from that write's start
    /// (the bytes went in somewhere between its start and its end; the
    /// start errs by at most one poll, the same as the check itself). A
    /// window that ran out before that is an error.
    fn wrote(&mut self, began: Instant, n: usize) -> Result<(), String> {
        let (start, bytes) = self.since.get_or_insert((began, 0));
        *bytes += n as u64;
        if *bytes >= MIN_PROGRESS {
            self.since = Some((began, 0));
            return Ok(());
        }
        let waited = start.elapsed();
        if waited < self.window {
            return Ok(());
        }
        Err(format!(
            "the client took only {bytes} bytes in {:.1} s (the least is {} KiB in {:?}); dropping it",
            waited.as_secs_f64(),
            MIN_PROGRESS / 1024,
            self.window
        ))
    }
}

/// A write timeout: `WouldBlock` on Unix, `TimedOut` on Windows.
fn is_timeout(e: &std::io::Error) -> bool {
    matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut)
}

fn describe(o: &Outcome) -> &'static str {
    match o {
        Outcome::Replied => "answered",
        Outcome::Track { .. } => "track sent",
        Outcome::NotFound => "no such song",
        Outcome::Recorded => "status recorded",
        Outcome::Goodbye => "goodbye",
        Outcome::Rejected(_) => "rejected",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An instant `secs` seconds ago.
    fn ago(secs: f64) -> Instant {
        Instant::now() - Duration::from_secs_f64(secs)
    }

    #[test]
    fn a_window_without_64_kib_drops_the_client_and_64_kib_restarts_it() {
        let mut p = Progress::new(Duration::from_secs(1));
        p.writing(ago(0.5));
        assert!(p.wrote(Instant::now(), 1000).is_ok(), "within the window");
        // 64 KiB taken by a write that began 1.5 s ago: the window
        // restarts from there, and has run out since.
        assert!(p.wrote(ago(1.5), 64 * 1024).is_ok());
        let err = p.wrote(Instant::now(), 1000).unwrap_err();
        assert!(
            err.starts_with("the client took only 1000 bytes in 1.5 s"),
            "{err}"
        );
        // Nothing to send closes the window: quiet time never counts.
        p.idle();
        p.writing(Instant::now());
        assert!(p.wrote(Instant::now(), 0).is_ok());
    }
}
