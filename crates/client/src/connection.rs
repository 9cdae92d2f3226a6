//! The client's connection: a socket, a [`ClientSession`], and a reader
//! thread that turns replies into song buffers and answers.
//!
//! The application thread sends requests (writing them itself, under the
//! session's lock) and waits for answers on a channel. The reader thread
//! does everything else: it reads the socket, feeds the session, writes any
//! request the session released (the original dialect holds requests back,
//! see [`streamlab_proto::client`]), appends audio to the song's
//! [`TrackBuffer`] in the cache, and forwards every other event.
//!
//! Audio never passes through the application thread, so a song keeps
//! downloading while the user pauses, lists or changes songs.

use std::collections::HashMap;
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use streamlab_audio::buffer::TrackBuffer;
use streamlab_proto::{ClientConfig, ClientEvent, ClientSession, Dialect, Request};

use crate::ClientError;

/// Songs downloaded (or downloading) in this session, by lowercase name.
pub type Cache = Arc<Mutex<HashMap<String, Arc<TrackBuffer>>>>;

/// An answer to a request, as the application sees it.
pub type Reply = ClientEvent;

struct Shared {
    session: Mutex<ClientSession>,
    writer: Mutex<TcpStream>,
    start: Instant,
    /// Why the connection ended, once it has.
    closed: Mutex<Option<String>>,
}

impl Shared {
    fn session(&self) -> MutexGuard<'_, ClientSession> {
        self.session.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn now(&self) -> Duration {
        self.start.elapsed()
    }

    /// Writes whatever the session has pending. Called with the session
    /// locked so writes stay in order.
    fn flush(&self, session: &mut ClientSession) -> std::io::Result<()> {
        let mut w = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            let now = self.now();
            let out = session.pending(now);
            if out.is_empty() {
                return Ok(());
            }
            let n = w.write(out)?;
            session.consume(now, n);
        }
    }
}

/// A live connection to a server.
pub struct Connection {
    shared: Arc<Shared>,
    replies: Receiver<Reply>,
    cache: Cache,
    reader: Option<JoinHandle<()>>,
    peer: SocketAddr,
    local: SocketAddr,
}

impl Connection {
    /// Connects and starts the reader thread. A framed session greets the
    /// server at once; its answer is the first reply.
    pub fn connect(addr: SocketAddr, config: ClientConfig) -> Result<Connection, ClientError> {
        let connect_err = |error| ClientError::Connect { addr, error };
        let stream =
            TcpStream::connect_timeout(&addr, Duration::from_secs(5)).map_err(connect_err)?;
        let _ = stream.set_nodelay(true);
        let local = stream.local_addr().map_err(connect_err)?;
        let writer = stream.try_clone().map_err(connect_err)?;
        let shared = Arc::new(Shared {
            session: Mutex::new(ClientSession::new(config)),
            writer: Mutex::new(writer),
            start: Instant::now(),
            closed: Mutex::new(None),
        });
        {
            let mut s = shared.session();
            shared.flush(&mut s).map_err(connect_err)?;
        }
        let cache: Cache = Arc::default();
        let (tx, replies) = mpsc::channel();
        let reader = {
            let (shared, cache) = (Arc::clone(&shared), Arc::clone(&cache));
            std::thread::Builder::new()
                .name("client-reader".into())
                .spawn(move || read_loop(stream, &shared, &cache, &tx))
                .map_err(connect_err)?
        };
        Ok(Connection {
            shared,
            replies,
            cache,
            reader: Some(reader),
            peer: addr,
            local,
        })
    }

    pub fn dialect(&self) -> Dialect {
        self.shared.session().dialect()
    }

    pub fn peer(&self) -> SocketAddr {
        self.peer
    }

    pub fn local(&self) -> SocketAddr {
        self.local
    }

    pub fn cache(&self) -> &Cache {
        &self.cache
    }

    /// Sends a request (the session may hold it until earlier replies end).
    pub fn send(&self, req: Request) -> Result<(), ClientError> {
        let mut s = self.shared.session();
        if s.is_closed() {
            return Err(ClientError::Closed("the connection is closed".into()));
        }
        s.send(self.shared.now(), req);
        let io = |e: std::io::Error| ClientError::Io(format!("sending to {}: {e}", self.peer));
        self.shared.flush(&mut s).map_err(io)?;
        // The original dialect may hold the request for its pause; the reader
        // thread sleeps in read() and would not notice, so wait here.
        while s.is_held() {
            let wait = s
                .poll_timeout()
                .map(|t| t.saturating_sub(self.shared.now()));
            drop(s);
            std::thread::sleep(wait.unwrap_or(Duration::from_millis(1)));
            s = self.shared.session();
            s.handle_timeout(self.shared.now());
            self.shared.flush(&mut s).map_err(io)?;
        }
        Ok(())
    }

    /// Waits for the next reply. Replies left over from an earlier request
    /// that timed out are skipped by the caller's matching.
    pub fn reply(&self, timeout: Duration) -> Result<Reply, ClientError> {
        match self.replies.recv_timeout(timeout) {
            Ok(r) => Ok(r),
            Err(RecvTimeoutError::Timeout) => Err(ClientError::Timeout(timeout)),
            Err(RecvTimeoutError::Disconnected) => {
                Err(ClientError::Closed("the connection is closed".into()))
            }
        }
    }

    /// Why the connection is closed, or `None` while it is open.
    pub fn closed_reason(&self) -> Option<String> {
        self.shared
            .closed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Throws away replies nobody waited for.
    pub fn drain_replies(&self) {
        while self.replies.try_recv().is_ok() {}
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        if let Ok(w) = self.shared.writer.lock() {
            let _ = w.shutdown(std::net::Shutdown::Both);
        }
        if let Some(t) = self.reader.take() {
            let _ = t.join();
        }
    }
}

/// The reader thread: socket → session → cache and replies.
fn read_loop(mut stream: TcpStream, shared: &Shared, cache: &Cache, tx: &mpsc::Sender<Reply>) {
    let mut buf = vec![0u8; 64 * 1024];
    let mut current: Option<Arc<TrackBuffer>> = None;
    loop {
        let wait = {
            let s = shared.session();
            s.poll_timeout().map(|t| t.saturating_sub(shared.now()))
        };
        let wait = wait
            .unwrap_or(Duration::from_secs(3600))
            .max(Duration::from_millis(1));
        let _ = stream.set_read_timeout(Some(wait));
        let read = stream.read(&mut buf);
        let mut s = shared.session();
        let now = shared.now();
        match read {
            Ok(0) => s.handle_eof(now),
            Ok(n) => s.handle_input(now, &buf[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                s.handle_timeout(now)
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => {
                s.handle_eof(now);
                tracing::debug!("read error: {e}");
            }
        }
        if let Err(e) = shared.flush(&mut s) {
            tracing::debug!("write error: {e}");
        }
        let closed = s.is_closed();
        let events: Vec<ClientEvent> = std::iter::from_fn(|| s.poll_event()).collect();
        drop(s);
        for e in events {
            if let ClientEvent::Closed { reason } = &e {
                let why = reason
                    .clone()
                    .unwrap_or_else(|| "the server closed the connection".into());
                *shared.closed.lock().unwrap_or_else(|p| p.into_inner()) = Some(why);
            }
            dispatch(e, &mut current, cache, tx);
        }
        if closed {
            return;
        }
    }
}

/// Routes one event: audio to its buffer, everything else to the app.
fn dispatch(
    event: ClientEvent,
    current: &mut Option<Arc<TrackBuffer>>,
    cache: &Cache,
    tx: &mpsc::Sender<Reply>,
) {
    match event {
        ClientEvent::TrackStart {
            ref name,
            format,
            bytes,
        } => {
            let buffer = Arc::new(TrackBuffer::new(name, format, bytes));
            let mut c = cache.lock().unwrap_or_else(|p| p.into_inner());
            c.insert(name.to_lowercase(), Arc::clone(&buffer));
            *current = Some(buffer);
            let _ = tx.send(event);
        }
        ClientEvent::TrackData { data, .. } => {
            if let Some(b) = current {
                b.append(&data);
            }
        }
        ClientEvent::TrackEnd { .. } => {
            if let Some(b) = current.take() {
                b.finish();
            }
        }
        ClientEvent::Recorded => {}
        ClientEvent::Closed { ref reason } => {
            if let Some(b) = current.take() {
                let why = reason.clone().unwrap_or_else(|| "connection closed".into());
                b.fail(&why);
            }
            let _ = tx.send(event);
        }
        other => {
            let _ = tx.send(other);
        }
    }
}
