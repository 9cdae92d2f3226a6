//! One connection: a blocking driver for a [`ServerSession`].
//!
//! Each accepted socket gets a thread running [`serve`]. The thread writes
//! whatever the session has pending, waits out the session's pauses (a wait
//! that shutdown cuts short), and reads when it has nothing to write and no
//! pause runs. A client that stops reading blocks only this thread, and
//! only until the write timeout (see `Progress`). Before the original
//! dialect's `track_data_end` it also waits until the client has
//! acknowledged every audio byte (the session's drain barrier; see
//! [`unacked_bytes`]), so the marker arrives in a `recv` of its own.
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

use crate::registry::Shared;
use crate::{ServerOptions, ShutdownHandle};

/// Why a connection ended.
#[derive(Debug, PartialEq, Eq)]
pub enum End {
    /// The session finished (goodbye, or an error reply then close).
    Finished,
    /// The client closed its side.
    PeerClosed,
    /// The server is shutting down.
    Stopped,
    /// A socket error (reset, timeout), or a client too slow to keep.
    Error(String),
}

/// Runs one connection to its end, then closes `stream` as that end calls
/// for (the caller still owns it and drops it).
pub fn serve(
    id: u64,
    stream: &TcpStream,
    peer: SocketAddr,
    shared: &Shared,
    options: &ServerOptions,
    stop: &ShutdownHandle,
) -> End {
    let _ = stream.set_nodelay(true);
    let _ = stream.set_write_timeout(Some(options.write_timeout));
    let mut driver = Driver {
        id,
        peer,
        stream,
        shared,
        stop,
        start: Instant::now(),
        session: ServerSession::new(id, options.session.clone()),
        buf: vec![0u8; 16 * 1024],
        progress: Progress::new(options.write_timeout),
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
        return End::Stopped;
    }
    match end {
        End::Finished => linger_close(stream),
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
    shared: &'a Shared,
    stop: &'a ShutdownHandle,
    /// Session time is measured from here.
    start: Instant,
    session: ServerSession,
    buf: Vec<u8>,
    progress: Progress,
}

impl Driver<'_> {
    /// One turn of the run loop (see `streamlab_proto`): write if there is
    /// something to write, else close if the session is over, else wait out
    /// a pause, else read. `Err` says how the connection ended.
    fn step(&mut self) -> Result<(), End> {
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
            return Err(End::Finished);
        }
        if let Some(until) = self.session.poll_timeout() {
            return match self.stop.sleep(until.saturating_sub(now)) {
                true => Err(End::Stopped),
                false => Ok(()),
            };
        }
        self.read_step()
    }

    /// One write of what the session has pending; the socket may take
    /// only part of it, or (after the write timeout) nothing.
    fn write_step(&mut self, now: Duration) -> Result<(), End> {
        self.progress.writing();
        let mut stream = self.stream;
        let written = match stream.write(self.session.pending(now)) {
            Ok(n) => n,
            // A write that timed out took nothing; `Progress` decides
            // whether the client is slow or stuck.
            Err(e) if e.kind() == ErrorKind::Interrupted || is_timeout(&e) => 0,
            Err(e) => return Err(End::Error(e.to_string())),
        };
        self.session.consume(self.start.elapsed(), written);
        self.progress.wrote(written).map_err(End::Error)
    }

    /// Waits until the client has acknowledged every byte written (the
    /// session's drain barrier), polling the socket every [`DRAIN_POLL`]
    /// with a sleep that shutdown cuts short, then tells the session. The
    /// wait counts as writing for `Progress`: a client that acknowledges
    /// too little in a write timeout is dropped as stuck. Where the system
    /// cannot tell, the barrier passes at once and the pause is all that
    /// is left.
    fn drain_step(&mut self) -> Result<(), End> {
        self.progress.writing();
        let mut before = None;
        while let Some(left) = unacked_bytes(self.stream).filter(|&n| n > 0) {
            let acked = before.map_or(0, |b: usize| b.saturating_sub(left));
            self.progress.wrote(acked).map_err(End::Error)?;
            before = Some(left);
            if self.stop.sleep(DRAIN_POLL) {
                return Err(End::Stopped);
            }
        }
        self.session.handle_drained(self.start.elapsed());
        Ok(())
    }

    /// One read, handed to the session whole: in the original dialect one
    /// read is one command, as it was for the original server.
    fn read_step(&mut self) -> Result<(), End> {
        // The original server reads at most 1024 bytes per command.
        let max = match self.session.dialect() {
            Some(Dialect::Framed) => self.buf.len(),
            _ => original::RECV_SIZE,
        };
        let mut stream = self.stream;
        match stream.read(&mut self.buf[..max]) {
            Ok(0) => {
                self.session.handle_eof();
                Err(End::PeerClosed)
            }
            Ok(n) => {
                let now = self.start.elapsed();
                self.session.handle_read(now, &self.buf[..n], self.shared);
                Ok(())
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => Ok(()),
            Err(e) => Err(End::Error(e.to_string())),
        }
    }

    fn log_events(&mut self) {
        let (id, peer) = (self.id, self.peer);
        while let Some(event) = self.session.poll_event() {
            match event {
                ServerEvent::Dialect(d) => debug!(conn = id, %peer, "speaking the {d} dialect"),
                ServerEvent::Command { text, outcome } => match outcome {
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

/// Tells a slow reader from a dead one. A client that stops reading still
/// lets the kernel take a few bytes now and then (its buffers grow), so
/// one blocked write proves nothing; what counts is how much it took over
/// a whole `window` (the write timeout) while there was data for it. Less
/// than [`MIN_PROGRESS`] drops the client. Time with nothing to write does
/// not count: a quiet client is not a stuck one.
struct Progress {
    window: Duration,
    /// When the current window opened, and the bytes written since.
    since: Option<(Instant, u64)>,
}

/// Less than this many bytes in a whole window means the client is stuck.
pub const MIN_PROGRESS: u64 = 64 * 1024;

impl Progress {
    fn new(window: Duration) -> Self {
        Progress {
            window,
            since: None,
        }
    }

    /// Nothing to write: the window closes, whatever it counted.
    fn idle(&mut self) {
        self.since = None;
    }

    /// A write is about to start: the window opens now if it is not open.
    fn writing(&mut self) {
        self.since.get_or_insert_with(|| (Instant::now(), 0));
    }

    /// `n` bytes were written. At the end of a window, too few is an error;
    /// enough starts a new window.
    fn wrote(&mut self, n: usize) -> Result<(), String> {
        let (start, bytes) = self.since.get_or_insert_with(|| (Instant::now(), 0));
        *bytes += n as u64;
        if start.elapsed() < self.window {
            return Ok(());
        }
        if *bytes < MIN_PROGRESS {
            return Err(format!(
                "the client took only {bytes} bytes in {}s; dropping it",
                self.window.as_secs()
            ));
        }
        self.since = None;
        Ok(())
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
