//! The streamlab reference client.
//!
//! It connects to a server, downloads songs on a reader thread while a
//! player thread plays them (see [`connection`]), and takes the original
//! menu's commands from a person ([`menu::run_interactive`]) or a script
//! ([`menu::run_script`]). [`app`] turns each command into requests and
//! playback controls; [`commands`] parses what the user typed.
//!
//! ```no_run
//! use streamlab_client::{connect, ClientOptions, menu};
//! let opts = ClientOptions::new("127.0.0.1:2635".parse().unwrap());
//! let sink = Box::new(streamlab_audio::sink::NullSink::default());
//! let mut app = connect(&opts, sink, std::io::stdout())?;
//! menu::run_script(&mut app, "list; play ode_to_joy; wait; devices; quit")?;
//! # Ok::<(), streamlab_client::ClientError>(())
//! ```

#![forbid(unsafe_code)]

pub mod app;
pub mod commands;
pub mod connection;
pub mod menu;
pub mod render;

use std::io::Write;
use std::net::SocketAddr;
use std::time::Duration;

use streamlab_audio::player::Player;
use streamlab_audio::sink::Sink;
use streamlab_proto::{ClientConfig, ClientEvent, ClientSession, Dialect};

pub use app::{App, Flow};
pub use connection::Connection;
pub use streamlab_proto::client::{DEFAULT_MAX_TRACK_BYTES, DEFAULT_TRACK_STALL};

/// What can go wrong for the client as a whole.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot connect to {addr}: {error}")]
    Connect {
        addr: SocketAddr,
        error: std::io::Error,
    },
    #[error("{0}")]
    Io(String),
    #[error("no answer to '{what}' within {secs} s (the server sent nothing meanwhile)")]
    Timeout { what: String, secs: u64 },
    #[error("connection closed: {0}")]
    Closed(String),
    #[error("the server refused us: {0}")]
    Refused(String),
    #[error("script error: {0}")]
    Script(String),
    #[error("audio output: {0}")]
    Audio(String),
}

/// Client settings.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    pub addr: SocketAddr,
    pub dialect: Dialect,
    /// Original dialect: pause after a request that has no reply.
    pub pause: Duration,
    /// Original dialect: silence that ends a list reply.
    pub settle: Duration,
    /// The most bytes one downloaded song may hold (see
    /// [`DEFAULT_MAX_TRACK_BYTES`]); a server that announces or sends more
    /// is cut off.
    pub max_track_bytes: u64,
    /// A download that gets no byte for this long fails, and with it the
    /// connection (see [`DEFAULT_TRACK_STALL`]).
    pub track_stall: Duration,
    /// Stop reading the socket this long after connecting, for this long:
    /// a slow reader, so TCP's flow control shows (the receive window
    /// closes, the server probes it). `None`: read as fast as possible.
    pub stop_reading: Option<(Duration, Duration)>,
}

impl ClientOptions {
    pub fn new(addr: SocketAddr) -> Self {
        ClientOptions {
            addr,
            dialect: Dialect::Framed,
            pause: Duration::from_millis(50),
            settle: Duration::from_millis(100),
            max_track_bytes: DEFAULT_MAX_TRACK_BYTES,
            track_stall: DEFAULT_TRACK_STALL,
            stop_reading: None,
        }
    }
}

/// Connects, greets (framed), opens the output and returns a ready app.
/// Connects, greets (framed) and returns an app that plays into `sink`.
pub fn connect<W: Write>(
    opts: &ClientOptions,
    sink: Box<dyn Sink>,
    out: W,
) -> Result<App<W>, ClientError> {
    let conn = open_connection(opts)?;
    start(conn, sink, out)
}

/// Starts the player on `sink` and returns the app around `conn`.
pub fn start<W: Write>(
    conn: Connection,
    sink: Box<dyn Sink>,
    out: W,
) -> Result<App<W>, ClientError> {
    let player = Player::new(sink).map_err(|e| ClientError::Audio(e.to_string()))?;
    Ok(App::new(conn, player, out))
}

/// Connects and, in the framed dialect, waits for the greeting's answer
/// (a full server answers `ERR 503` instead).
pub fn open_connection(opts: &ClientOptions) -> Result<Connection, ClientError> {
    let mut config = ClientConfig::new(opts.dialect);
    config.pause = opts.pause;
    config.settle = opts.settle;
    config.max_track_bytes = opts.max_track_bytes;
    config.track_stall = opts.track_stall;
    config.agent = agent_name();
    let conn = Connection::connect(opts.addr, config)?;
    if let Some((at, len)) = opts.stop_reading {
        conn.stop_reading(at, len);
    }
    if opts.dialect == Dialect::Framed {
        let greeting = conn.answer(ClientSession::HELLO_ID, Duration::from_secs(10));
        let greeting = greeting.map_err(|e| match e {
            ClientError::Timeout { secs, .. } => ClientError::Refused(format!(
                "no answer to 'hello' from {} within {secs} s: if it speaks the original dialect, use --dialect original",
                opts.addr
            )),
            e => e,
        })?;
        match greeting {
            ClientEvent::Ready(_) => {}
            ClientEvent::ServerError { message, .. } => {
                return Err(ClientError::Refused(render::shown(&message)))
            }
            ClientEvent::Closed { reason } => {
                return Err(ClientError::Closed(
                    reason.unwrap_or_else(|| "at once".into()),
                ))
            }
            other => {
                return Err(ClientError::Refused(format!(
                    "unexpected greeting {other:?}"
                )))
            }
        }
    }
    Ok(conn)
}

/// A name for the greeting: the host name when the system says it.
fn agent_name() -> String {
    std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty() && !h.contains(char::is_whitespace))
        .unwrap_or_else(|| "streamlab-client".into())
}
