//! The client's connection: a socket, a [`ClientSession`], and a reader
//! thread that turns replies into song buffers and answers.
//!
//! The application thread sends requests (writing them itself, under the
//! session's lock) and waits for *its* answer: every request gets an id
//! from the session, and every answer carries the id of the request it
//! answers, so a late answer to an abandoned request is never mistaken for
//! the next one. The reader thread does everything else: it reads the
//! socket, feeds the session, writes any request the session released (the
//! original dialect holds requests back, see [`streamlab_proto::client`]),
//! appends audio to the song's [`TrackBuffer`] in the cache, and forwards
//! every other event.
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
use streamlab_proto::client::RequestId;
use streamlab_proto::{ClientConfig, ClientEvent, ClientSession, Dialect, Request};

use crate::render::shown;
use crate::ClientError;

/// Songs downloaded (or downloading) in this session, by lowercase name.
pub type Cache = Arc<Mutex<HashMap<String, Arc<TrackBuffer>>>>;

/// An event for the application, with the id of the request it answers.
type Answer = (Option<RequestId>, ClientEvent);

/// A request's write may block this long before the server counts as gone.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// In the original dialect the reader wakes at least this often. The
/// session's timers (the pause that holds a request back, the quiet period
/// that ends a list) may be set by the application thread while the reader
/// sleeps in `read`; waking on a tick is the one mechanism that serves them
/// all, at the cost of 20 idle wake-ups a second. (The framed dialect's
/// one timer, a track's stall, moves only when the reader itself feeds the
/// session, so the reader always sleeps to the right time.)
const ORIGINAL_TICK: Duration = Duration::from_millis(50);

struct ConnState {
    session: Mutex<ClientSession>,
    /// The socket; reads happen on the reader thread's own handle.
    stream: TcpStream,
    start: Instant,
    /// When bytes last arrived: a reply is late only when nothing moves.
    last_input: Mutex<Instant>,
    /// Why the connection ended, once it has.
    closed: Mutex<Option<String>>,
    /// A pause in reading, since `start`: from, until.
    pause: Mutex<Option<(Duration, Duration)>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // The data behind these locks stays consistent even if a holder
    // panicked, so keep going with it.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl ConnState {
    fn session(&self) -> MutexGuard<'_, ClientSession> {
        lock(&self.session)
    }

    fn now(&self) -> Duration {
        self.start.elapsed()
    }

    /// Writes whatever the session has pending. Called with the session
    /// locked so writes stay in order.
    fn flush(&self, session: &mut ClientSession) -> std::io::Result<()> {
        loop {
            let now = self.now();
            let out = session.pending(now);
            if out.is_empty() {
                return Ok(());
            }
            let n = (&self.stream).write(out)?;
            session.consume(now, n);
        }
    }
}

/// A live connection to a server.
pub struct Connection {
    shared: Arc<ConnState>,
    answers: Receiver<Answer>,
    cache: Cache,
    reader: Option<JoinHandle<()>>,
    peer: SocketAddr,
    local: SocketAddr,
}

impl Connection {
    /// Connects and starts the reader thread. A framed session greets the
    /// server at once; the answer carries [`ClientSession::HELLO_ID`].
    pub fn connect(addr: SocketAddr, config: ClientConfig) -> Result<Connection, ClientError> {
        let connect_err = |error| ClientError::Connect { addr, error };
        let stream =
            TcpStream::connect_timeout(&addr, Duration::from_secs(5)).map_err(connect_err)?;
        let _ = stream.set_nodelay(true);
        let _ = stream.set_write_timeout(Some(WRITE_TIMEOUT));
        let local = stream.local_addr().map_err(connect_err)?;
        let reader_stream = stream.try_clone().map_err(connect_err)?;
        let shared = Arc::new(ConnState {
            session: Mutex::new(ClientSession::new(config)),
            stream,
            start: Instant::now(),
            last_input: Mutex::new(Instant::now()),
            closed: Mutex::new(None),
            pause: Mutex::new(None),
        });
        {
            let mut s = shared.session();
            shared.flush(&mut s).map_err(connect_err)?;
        }
        let cache: Cache = Arc::default();
        let (tx, answers) = mpsc::channel();
        let reader = {
            let (shared, cache) = (Arc::clone(&shared), Arc::clone(&cache));
            std::thread::Builder::new()
                .name("client-reader".into())
                .spawn(move || read_loop(reader_stream, &shared, &cache, &tx))
                .map_err(connect_err)?
        };
        Ok(Connection {
            shared,
            answers,
            cache,
            reader: Some(reader),
            peer: addr,
            local,
        })
    }

    /// Makes the reader stop reading the socket `at` after the connection
    /// was made, for `len`: the bytes wait in the kernel's receive buffer,
    /// and once it is full the window advertised to the server is zero.
    pub fn stop_reading(&self, at: Duration, len: Duration) {
        *lock(&self.shared.pause) = Some((at, at + len));
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

    /// Why the connection is closed, or `None` while it is open.
    pub fn closed_reason(&self) -> Option<String> {
        lock(&self.shared.closed).clone()
    }

    /// Sends a request (the session may hold it until earlier replies end)
    /// and returns its id, for [`answer`](Self::answer).
    pub fn send(&self, req: Request) -> Result<RequestId, ClientError> {
        let mut s = self.shared.session();
        if s.is_closed() {
            let why = self
                .closed_reason()
                .unwrap_or_else(|| "it is closed".into());
            return Err(ClientError::Closed(why));
        }
        let id = s.send(self.shared.now(), req);
        // A request the original dialect holds back for its pause is
        // released by the reader thread's next tick (see ORIGINAL_TICK).
        self.shared
            .flush(&mut s)
            .map_err(|e| ClientError::Io(format!("sending to {}: {e}", self.peer)))?;
        Ok(id)
    }

    /// Waits for the answer to request `id`. The wait ends `patience` after
    /// the server last sent anything, so a reply queued behind a long
    /// download does not time out while the download flows. Answers to
    /// other (abandoned) requests are skipped; bytes nobody asked for are
    /// logged.
    pub fn answer(&self, id: RequestId, patience: Duration) -> Result<ClientEvent, ClientError> {
        let asked = Instant::now();
        loop {
            let since = (*lock(&self.shared.last_input)).max(asked);
            let left = patience.saturating_sub(since.elapsed());
            if left.is_zero() {
                return Err(ClientError::Timeout {
                    what: format!("request {id}"),
                    secs: patience.as_secs(),
                });
            }
            match self
                .answers
                .recv_timeout(left.min(Duration::from_millis(250)))
            {
                Ok((Some(n), event)) if n == id => return Ok(event),
                Ok((_, ClientEvent::Closed { reason })) => {
                    let why = reason.unwrap_or_else(|| "the server closed the connection".into());
                    return Err(ClientError::Closed(why));
                }
                Ok((n, event)) => tracing::debug!("skipping an old answer ({n:?}): {event:?}"),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => {
                    let why = self
                        .closed_reason()
                        .unwrap_or_else(|| "it is closed".into());
                    return Err(ClientError::Closed(why));
                }
            }
        }
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        // No lock taken: the reader (or a blocked write) may hold the
        // session; shutting the socket down wakes both.
        let _ = self.shared.stream.shutdown(std::net::Shutdown::Both);
        if let Some(t) = self.reader.take() {
            let _ = t.join();
        }
    }
}

/// The reader thread: socket → session → cache and answers.
fn read_loop(mut stream: TcpStream, shared: &ConnState, cache: &Cache, tx: &mpsc::Sender<Answer>) {
    let mut buf = vec![0u8; 64 * 1024];
    let mut current: Option<Arc<TrackBuffer>> = None;
    loop {
        pause_if_asked(shared);
        let _ = stream.set_read_timeout(Some(read_wait(shared)));
        let read = stream.read(&mut buf);
        let mut s = shared.session();
        let now = shared.now();
        match read {
            Ok(0) => s.handle_eof(now),
            Ok(n) => {
                *lock(&shared.last_input) = Instant::now();
                s.handle_input(now, &buf[..n]);
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                s.handle_timeout(now)
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => {
                tracing::debug!("read error: {e}");
                s.handle_eof(now);
            }
        }
        if let Err(e) = shared.flush(&mut s) {
            tracing::debug!("write error: {e}");
        }
        let closed = s.is_closed();
        let events: Vec<Answer> = std::iter::from_fn(|| s.poll_answer()).collect();
        drop(s);
        for (id, e) in events {
            if let ClientEvent::Closed { reason } = &e {
                let why = reason
                    .clone()
                    .unwrap_or_else(|| "the server closed the connection".into());
                *lock(&shared.closed) = Some(why);
            }
            dispatch(id, e, &mut current, cache, tx);
        }
        if closed {
            // The session may have ended on its own (a track too long or
            // stalled): end the connection too, so the server stops sending.
            let _ = stream.shutdown(std::net::Shutdown::Both);
            return;
        }
    }
}

/// Sleeps through an asked-for pause in reading (`--stop-reading`), once
/// its time has come.
fn pause_if_asked(shared: &ConnState) {
    let mut pause = lock(&shared.pause);
    let Some((from, until)) = *pause else { return };
    let now = shared.now();
    if now < from {
        return;
    }
    *pause = None;
    drop(pause);
    tracing::debug!("not reading until {until:?} (--stop-reading)");
    std::thread::sleep(until.saturating_sub(now));
}

/// How long the reader may block in `read`: until the session's next
/// timer, and in the original dialect never longer than a tick.
fn read_wait(shared: &ConnState) -> Duration {
    let s = shared.session();
    let mut wait = s
        .poll_timeout()
        .map(|t| t.saturating_sub(shared.now()))
        .unwrap_or(Duration::from_secs(3600));
    if s.dialect() == Dialect::Original {
        wait = wait.min(ORIGINAL_TICK);
    }
    drop(s);
    if let Some((from, _)) = *lock(&shared.pause) {
        wait = wait.min(from.saturating_sub(shared.now()));
    }
    wait.max(Duration::from_millis(1))
}

/// Routes one event: audio to its buffer, everything else to the app.
fn dispatch(
    id: Option<RequestId>,
    event: ClientEvent,
    current: &mut Option<Arc<TrackBuffer>>,
    cache: &Cache,
    tx: &mpsc::Sender<Answer>,
) {
    match event {
        ClientEvent::TrackStart {
            ref name,
            format,
            bytes,
        } => {
            let buffer = Arc::new(TrackBuffer::new(name, format, bytes));
            lock(cache).insert(name.to_lowercase(), Arc::clone(&buffer));
            *current = Some(buffer);
            let _ = tx.send((id, event));
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
        ClientEvent::Closed { ref reason } => {
            if let Some(b) = current.take() {
                let why = reason.clone().unwrap_or_else(|| "connection closed".into());
                b.fail(&why);
            }
            let _ = tx.send((id, event));
        }
        // Nobody waits for it: logged here rather than queued, so that a
        // server sending such lines without end cannot fill the channel
        // while the app is busy elsewhere (in a long `wait`, say).
        ClientEvent::ServerError { message, .. } if id.is_none() => {
            tracing::warn!("the server said, unasked: {}", shown(&message));
        }
        other => {
            let _ = tx.send((id, other));
        }
    }
}
