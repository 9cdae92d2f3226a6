//! The streamlab reference server.
//!
//! It accepts TCP connections with `std::net`, gives each its own thread,
//! and runs a [`streamlab_proto::ServerSession`] in it (see [`conn`]). The
//! threads share the song catalogue and the device registry
//! ([`registry`]). A [`ShutdownHandle`] stops everything cleanly
//! ([`shutdown`]).
//!
//! ```no_run
//! use streamlab_server::{Server, ServerOptions};
//! # fn tracks() -> Vec<streamlab_proto::Track> { Vec::new() }
//! let server = Server::bind("127.0.0.1:2635".parse().unwrap(), tracks(), ServerOptions::default())?;
//! let stop = server.shutdown_handle();
//! // elsewhere: stop.shutdown();
//! server.run();
//! # Ok::<(), streamlab_server::ServerError>(())
//! ```

pub mod conn;
pub mod limits;
pub mod registry;
pub mod shutdown;

use std::io::Write;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use streamlab_proto::{busy_message, ServerConfig, Track};
use tracing::{info, warn};

pub use limits::raise_fd_limit;
pub use registry::{Registry, Shared};
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
    /// Clients served at once; the next one gets a busy reply.
    pub max_clients: usize,
    /// A client that accepts no byte for this long is dropped.
    pub write_timeout: Duration,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            session: ServerConfig::default(),
            max_clients: 64,
            write_timeout: Duration::from_secs(30),
        }
    }
}

/// A bound, not yet running server.
pub struct Server {
    listener: TcpListener,
    shared: Arc<Shared>,
    options: ServerOptions,
    stop: ShutdownHandle,
    local: SocketAddr,
}

impl Server {
    /// Binds `addr` (port 0 picks a free port) to serve `tracks`.
    pub fn bind(
        addr: SocketAddr,
        tracks: Vec<Track>,
        options: ServerOptions,
    ) -> Result<Server, ServerError> {
        if tracks.is_empty() {
            return Err(ServerError::NoSongs);
        }
        let bind_err = |error| ServerError::Bind { addr, error };
        let listener = TcpListener::bind(addr).map_err(bind_err)?;
        let local = listener.local_addr().map_err(bind_err)?;
        Ok(Server {
            listener,
            shared: Arc::new(Shared {
                tracks,
                registry: Registry::default(),
            }),
            options,
            stop: ShutdownHandle::new(local),
            local,
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
    pub fn shared(&self) -> Arc<Shared> {
        Arc::clone(&self.shared)
    }

    /// Accepts and serves clients until shut down, then waits for every
    /// connection thread to end.
    pub fn run(self) {
        let mut threads: Vec<JoinHandle<()>> = Vec::new();
        let mut next_id = 1u64;
        info!(
            "listening on {} ({}, up to {})",
            self.local_addr(),
            plural(self.shared.tracks.len(), "song"),
            plural(self.options.max_clients, "client")
        );
        for incoming in self.listener.incoming() {
            if self.stop.is_stopping() {
                break;
            }
            let stream = match incoming {
                Ok(s) => s,
                Err(e) => {
                    warn!("accept failed: {e}");
                    std::thread::sleep(Duration::from_millis(10));
                    continue;
                }
            };
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

    fn start_connection(&self, id: u64, mut stream: TcpStream) -> Option<JoinHandle<()>> {
        let peer = stream.peer_addr().ok()?;
        let limit = self.options.max_clients;
        if self.shared.registry.len() >= limit {
            warn!(%peer, "refused: already serving {limit} clients");
            let _ = stream.set_write_timeout(Some(Duration::from_secs(1)));
            let _ = stream.write_all(&busy_message(limit));
            let _ = stream.shutdown(std::net::Shutdown::Both);
            return None;
        }
        let count = self.shared.registry.add(id, peer);
        info!(conn = id, %peer, "connected ({} now)", plural(count, "client"));
        let stream = Arc::new(stream);
        self.stop.track(id, &stream);
        let shared = Arc::clone(&self.shared);
        let config = self.options.session.clone();
        let timeout = self.options.write_timeout;
        let stop = self.stop.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("conn-{id}"))
            .stack_size(256 * 1024)
            .spawn(move || {
                let end = conn::serve(id, stream, peer, Arc::clone(&shared), config, timeout);
                shared.registry.remove(id);
                stop.forget(id);
                match end {
                    conn::End::Error(e) if !stop.is_stopping() => {
                        warn!(conn = id, %peer, "disconnected: {e}")
                    }
                    _ => info!(conn = id, %peer, "disconnected"),
                }
            });
        match spawned {
            Ok(t) => Some(t),
            Err(e) => {
                warn!(conn = id, %peer, "cannot start a thread: {e}");
                self.shared.registry.remove(id);
                self.stop.forget(id);
                None
            }
        }
    }
}

/// A server running on its own thread; dropping it shuts it down.
pub struct RunningServer {
    pub addr: SocketAddr,
    pub stop: ShutdownHandle,
    pub shared: Arc<Shared>,
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
