//! One connection: a blocking driver for a [`ServerSession`].
//!
//! Each accepted socket gets a thread running [`serve`]. The thread writes
//! whatever the session has pending, sleeps through the session's pauses,
//! and reads only when the session wants input. A client that stops reading
//! blocks only this thread, and only until the write timeout.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use streamlab_proto::{original, Dialect, Outcome, ServerConfig, ServerEvent, ServerSession};
use tracing::{debug, info, warn};

use crate::registry::Shared;

/// Why a connection ended.
#[derive(Debug, PartialEq, Eq)]
pub enum End {
    /// The session finished (goodbye, or an error reply then close).
    Finished,
    /// The client closed its side.
    PeerClosed,
    /// A socket error (reset, timeout, shutdown).
    Error(String),
}

/// Runs one connection to its end.
pub fn serve(
    id: u64,
    stream: Arc<TcpStream>,
    peer: SocketAddr,
    shared: Arc<Shared>,
    config: ServerConfig,
    write_timeout: Duration,
) -> End {
    let start = Instant::now();
    let _ = stream.set_nodelay(true);
    let _ = stream.set_write_timeout(Some(write_timeout));
    let mut session = ServerSession::new(id, config);
    let mut buf = vec![0u8; 16 * 1024];
    let mut progress = Progress::new(write_timeout);
    let end = loop {
        log_events(id, peer, &mut session);
        let now = start.elapsed();
        let out = session.pending(now);
        if !out.is_empty() {
            progress.writing();
            let written = match (&*stream).write(out) {
                Ok(n) => n,
                Err(e) if e.kind() == ErrorKind::Interrupted => 0,
                Err(e) if is_timeout(&e) => 0,
                Err(e) => break End::Error(e.to_string()),
            };
            session.consume(start.elapsed(), written);
            if let Err(stalled) = progress.wrote(written) {
                break End::Error(stalled);
            }
            continue;
        }
        progress.idle();
        if session.is_finished(now) {
            break End::Finished;
        }
        if let Some(t) = session.poll_timeout() {
            std::thread::sleep(t.saturating_sub(now));
            continue;
        }
        // The original server reads at most 1024 bytes per command.
        let max = match session.dialect() {
            Some(Dialect::Framed) => buf.len(),
            _ => original::RECV_SIZE,
        };
        match (&*stream).read(&mut buf[..max]) {
            Ok(0) => {
                session.handle_eof();
                break End::PeerClosed;
            }
            Ok(n) => session.handle_read(start.elapsed(), &buf[..n], &*shared),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => break End::Error(e.to_string()),
        }
    };
    log_events(id, peer, &mut session);
    let _ = stream.shutdown(std::net::Shutdown::Both);
    end
}

/// Tells a slow reader from a dead one. A client that stops reading still
/// lets the kernel take a few bytes now and then (its buffers grow), so
/// one blocked write proves nothing; what counts is how much it took over
/// a whole `window`.
struct Progress {
    window: Duration,
    since: Option<(Instant, u64)>,
}

/// Less than this many bytes in a whole window means the client is stuck.
const MIN_PROGRESS: u64 = 64 * 1024;

impl Progress {
    fn new(window: Duration) -> Self {
        Progress {
            window,
            since: None,
        }
    }

    /// Nothing to write: a quiet client is not a stuck one.
    fn idle(&mut self) {
        self.since = None;
    }

    /// A write is about to start: the window opens now if it is not open.
    fn writing(&mut self) {
        self.since.get_or_insert((Instant::now(), 0));
    }

    fn wrote(&mut self, n: usize) -> Result<(), String> {
        let (start, bytes) = self.since.get_or_insert((Instant::now(), 0));
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

fn is_timeout(e: &std::io::Error) -> bool {
    matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut)
}

fn log_events(id: u64, peer: SocketAddr, session: &mut ServerSession) {
    while let Some(event) = session.poll_event() {
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
