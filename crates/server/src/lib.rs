//! The streamlab reference server.
//!
//! It accepts TCP connections with `std::net`, gives each its own thread,
//! and runs a [`streamlab_proto::ServerSession`] in it (see [`conn`]). The
//! threads share the song catalogue and the device registry
//! ([`registry`]). Who gets a place, and who makes room for a newcomer
//! when the server is full, is [`admission`]'s policy (it also lists the
//! timeouts that keep idle and slow sockets from locking clients out). A
//! client refused gets a busy reply, and a failed `accept` a pause before
//! the next (both in `accept.rs`). A [`ShutdownHandle`] stops everything
//! cleanly ([`shutdown`]).
//!
//! ```no_run
//! use streamlab_audio::Library;
//! use streamlab_server::{Server, ServerOptions};
//! let songs = Library::scan("music").expect("the songs");
//! let server = Server::bind("127.0.0.1:2635".parse().unwrap(), songs, ServerOptions::default())?;
//! let stop = server.shutdown_handle();
//! // elsewhere: stop.shutdown();
//! server.run();
//! # Ok::<(), streamlab_server::ServerError>(())
//! ```

mod accept;
pub mod admission;
pub mod conn;
pub mod limits;
pub mod pace;
pub mod registry;
pub mod shutdown;

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::AtomicUsize;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use admission::{Admission, Decision};
use streamlab_audio::Library;
use streamlab_proto::{address_busy_message, busy_message, ServerConfig};
use tracing::{debug, info, warn};

pub use limits::raise_fd_limit;
pub use registry::{Registry, ServerState};
pub use shutdown::ShutdownHandle;

/// What can stop a server from starting.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    // The cause is in the message, not a `#[source]`, so that it is
    // printed once whatever prints the error.
    #[error("cannot listen on {addr}: {error}{}", bind_hint(error))]
    Bind {
        addr: SocketAddr,
        error: std::io::Error,
    },
    #[error("no songs to serve")]
    NoSongs,
}

fn bind_hint(e: &std::io::Error) -> &'static str {
    match e.kind() {
        std::io::ErrorKind::AddrInUse => " (is another server running? try another --port)",
        _ => "",
    }
}

/// `1 client`, `2 clients`.
fn plural(n: usize, noun: &str) -> String {
    match n {
        1 => format!("1 {noun}"),
        n => format!("{n} {noun}s"),
    }
}

/// Server settings beyond the protocol's.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// Protocol settings for every session (dialect, pause, line bound).
    pub session: ServerConfig,
    /// Connections held at once. At the limit, a newcomer takes the place
    /// of a connection that has not greeted yet, or gets a busy reply.
    pub max_clients: usize,
    /// Connections one address may hold; over it, a busy reply. `None`:
    /// [`admission::REMOTE_PER_ADDRESS`] for remote peers, no cap on
    /// loopback. `Some(n)`: `n` for every address, loopback included.
    pub max_per_address: Option<usize>,
    /// How long a new connection has to send its first valid command.
    pub greeting_timeout: Duration,
    /// How long a command may stay incomplete after its first byte.
    pub command_timeout: Duration,
    /// The stall rule's window: a client that goes this long without
    /// taking another [`conn::MIN_PROGRESS`] (64 KiB), while the server
    /// has data for it, is dropped, give or take [`conn::WRITE_POLL`].
    /// Time with nothing to send does not count.
    pub write_timeout: Duration,
    /// Pace every connection's writes to this many bits per second
    /// (`streamlab server --rate`); `None`: as fast as TCP takes them.
    pub rate: Option<u64>,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            session: ServerConfig::default(),
            max_clients: 64,
            max_per_address: None,
            greeting_timeout: admission::GREETING_TIMEOUT,
            command_timeout: admission::COMMAND_TIMEOUT,
            write_timeout: Duration::from_secs(30),
            rate: None,
        }
    }
}

/// A bound, not yet running server.
pub struct Server {
    listener: TcpListener,
    shared: Arc<ServerState>,
    options: ServerOptions,
    stop: ShutdownHandle,
    admission: Arc<Admission>,
    local: SocketAddr,
    /// Refused clients whose close is still lingering (`accept::refuse`).
    lingering: Arc<AtomicUsize>,
}

impl Server {
    /// Binds `addr` (port 0 picks a free port) to serve `songs`: a
    /// scanned [`Library`], whose songs are read on first download, or
    /// tracks already in memory (a `Vec<Track>`).
    pub fn bind(
        addr: SocketAddr,
        songs: impl Into<Library>,
        options: ServerOptions,
    ) -> Result<Server, ServerError> {
        let library = songs.into();
        if library.is_empty() {
            return Err(ServerError::NoSongs);
        }
        let bind_err = |error| ServerError::Bind { addr, error };
        let listener = TcpListener::bind(addr).map_err(bind_err)?;
        let local = listener.local_addr().map_err(bind_err)?;
        Ok(Server {
            listener,
            shared: Arc::new(ServerState {
                library,
                registry: Registry::default(),
            }),
            admission: Arc::new(Admission::new(options.max_clients, options.max_per_address)),
            options,
            stop: ShutdownHandle::new(local),
            local,
            lingering: Arc::new(AtomicUsize::new(0)),
        })
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    pub fn shutdown_handle(&self) -> ShutdownHandle {
        self.stop.clone()
    }

    /// The catalogue and registry, for tests and status displays.
    pub fn shared(&self) -> Arc<ServerState> {
        Arc::clone(&self.shared)
    }

    /// Accepts and serves clients until shut down, then waits for every
    /// connection thread to end. (The short-lived threads that close on
    /// refused clients are not waited for: each ends within a second.)
    pub fn run(self) {
        let mut threads: Vec<JoinHandle<()>> = Vec::new();
        let mut next_id = 1u64;
        let mut backoff = accept::Backoff::default();
        info!(
            "listening on {} ({}, up to {})",
            self.local_addr(),
            plural(self.shared.library.songs().len(), "song"),
            plural(self.options.max_clients, "client")
        );
        for incoming in self.listener.incoming() {
            if self.stop.is_stopping() {
                break;
            }
            let stream = match incoming {
                Ok(s) => s,
                Err(e) => match self.stop.sleep(backoff.failed(&e)) {
                    true => break,
                    false => continue,
                },
            };
            backoff.succeeded();
            threads.retain(|t| !t.is_finished());
            if let Some(t) = self.start_connection(next_id, stream) {
                threads.push(t);
            }
            next_id += 1;
        }
        threads.retain(|t| !t.is_finished());
        info!(
            "shutting down: waiting for {}",
            plural(threads.len(), "connection thread")
        );
        for t in threads {
            let _ = t.join();
        }
        info!("server stopped");
    }

    /// Runs the server on a thread of its own (tests, the demo).
    pub fn spawn(self) -> RunningServer {
        let addr = self.local_addr();
        let stop = self.shutdown_handle();
        let shared = self.shared();
        let thread = std::thread::spawn(move || self.run());
        RunningServer {
            addr,
            stop,
            shared,
            thread: Some(thread),
        }
    }

    /// Registers a new connection and starts its thread; a client over
    /// the limit is refused instead. Returns the thread, if one started.
    fn start_connection(&self, id: u64, stream: TcpStream) -> Option<JoinHandle<()>> {
        let peer = match stream.peer_addr() {
            Ok(peer) => peer,
            Err(e) => {
                // Most likely the client reset the connection before it
                // was accepted; there is nobody to serve.
                debug!(conn = id, "dropped at once: no peer address ({e})");
                return None;
            }
        };
        let stream = Arc::new(stream);
        let limit = self.options.max_clients;
        match self.admission.admit(id, peer, &stream) {
            Decision::Admit { evicted: None } => {}
            Decision::Admit { evicted: Some(e) } => info!(
                conn = e.id, peer = %e.peer,
                "making room for a newcomer: no valid command in {:.1} s",
                e.waited.as_secs_f64()
            ),
            Decision::Full => {
                let why = format!("already serving {limit} clients");
                accept::refuse(stream, peer, &why, busy_message(limit), &self.lingering);
                return None;
            }
            Decision::AddressFull(cap) => {
                let why = format!("its address already holds {cap} connections");
                let reply = address_busy_message(cap);
                accept::refuse(stream, peer, &why, reply, &self.lingering);
                return None;
            }
        }
        let registration = Registration::new(id, peer, &stream, self);
        let count = self.admission.placed();
        info!(conn = id, %peer, "connected ({} now)", plural(count, "client"));
        let options = self.options.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("conn-{id}"))
            .stack_size(256 * 1024)
            .spawn(move || {
                let Registration {
                    shared,
                    stop,
                    admission,
                    ..
                } = &registration;
                let end = conn::serve(id, &stream, peer, shared, &options, stop, admission);
                drop(registration);
                match end {
                    conn::ConnEnd::Error(e) => warn!(conn = id, %peer, "disconnected: {e}"),
                    conn::ConnEnd::TimedOut(e) => info!(conn = id, %peer, "disconnected: {e}"),
                    _ => info!(conn = id, %peer, "disconnected"),
                }
            });
        match spawned {
            Ok(t) => Some(t),
            Err(e) => {
                // The unrun closure is dropped, and the registration in it
                // with it: nothing is left registered.
                warn!(conn = id, %peer, "cannot start a thread: {e}");
                None
            }
        }
    }
}

/// A connection's entry in the registry, in the shutdown handle and in
/// admission (whose place [`Admission::admit`] gave it), all removed when
/// this drops: after `serve` returns, but also when it panics (unwinding
/// drops it) or when the thread never starts (the closure that owns it is
/// dropped). So no ghost device stays in the list, no place stays taken,
/// and the shutdown handle keeps no socket of a thread that is gone.
struct Registration {
    id: u64,
    shared: Arc<ServerState>,
    stop: ShutdownHandle,
    admission: Arc<Admission>,
}

impl Registration {
    fn new(id: u64, peer: SocketAddr, stream: &Arc<TcpStream>, server: &Server) -> Registration {
        server.shared.registry.add(id, peer);
        server.stop.track(id, stream);
        Registration {
            id,
            shared: Arc::clone(&server.shared),
            stop: server.stop.clone(),
            admission: Arc::clone(&server.admission),
        }
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.shared.registry.remove(self.id);
        self.stop.forget(self.id);
        self.admission.leave(self.id);
    }
}

/// A server running on its own thread; dropping it shuts it down.
pub struct RunningServer {
    pub addr: SocketAddr,
    pub stop: ShutdownHandle,
    pub shared: Arc<ServerState>,
    thread: Option<JoinHandle<()>>,
}

impl RunningServer {
    /// Stops the server and waits for it.
    pub fn shutdown(mut self) {
        self.stop_and_join();
    }

    fn stop_and_join(&mut self) {
        self.stop.shutdown();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        self.stop_and_join();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};

    #[test]
    fn a_panicking_connection_leaves_no_ghost_device_no_place_and_no_open_socket() {
        let track = streamlab_proto::Track {
            name: "tone".into(),
            format: streamlab_proto::PcmFormat::CD,
            pcm: vec![0u8; 4].into(),
        };
        let options = ServerOptions {
            max_clients: 1,
            ..ServerOptions::default()
        };
        let bind = "127.0.0.1:0".parse().unwrap();
        let server = Server::bind(bind, vec![track], options).unwrap();
        let _client = TcpStream::connect(server.local_addr()).unwrap();
        let (stream, peer) = server.listener.accept().unwrap();
        let stream = Arc::new(stream);
        let admitted = server.admission.admit(7, peer, &stream);
        assert_eq!(admitted, Decision::Admit { evicted: None });
        let registration = Registration::new(7, peer, &stream, &server);
        assert_eq!(server.shared.registry.len(), 1);
        assert!(server.stop.is_tracking(7));
        // A bug in a session, as a connection thread would meet it
        // (resume_unwind: a panic without the panic message on stderr).
        let crashed = catch_unwind(AssertUnwindSafe(move || {
            let _registration = registration;
            resume_unwind(Box::new("a bug in a session"));
        }));
        assert!(crashed.is_err());
        assert!(server.shared.registry.is_empty(), "no ghost device");
        assert!(!server.stop.is_tracking(7));
        assert_eq!(
            server.admission.admit(8, peer, &stream),
            Decision::Admit { evicted: None },
            "its place is free, no one had to make room"
        );
        server.admission.leave(8);
        assert_eq!(
            Arc::strong_count(&stream),
            1,
            "only this test holds the socket"
        );
    }
}
