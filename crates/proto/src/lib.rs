//! The streamlab wire protocol, with no sockets and no clock.
//!
//! This crate knows every byte the kit's server and client exchange, in both
//! dialects, and nothing about how the bytes travel:
//!
//! * the **original** dialect ([`original`]) is the student project's
//!   protocol, byte for byte: commands with no delimiter, one `recv()` per
//!   command, `track_data_start` / raw PCM / `track_data_end`;
//! * the **framed** dialect ([`framed`]) keeps those words but cuts commands
//!   at line ends and announces a track's length, so it survives whatever
//!   TCP does to the bytes.
//!
//! The two sides of a conversation are *sans-IO* state machines:
//! [`ServerSession`] and [`ClientSession`]. The real server and client drive
//! them over `std::net`; the simulator drives the very same code over a
//! simulated TCP. Both drivers follow one contract.
//!
//! Tools that only *watch* a conversation (the analyzer, the simulator's
//! summary, the conformance checker) read it with [`observe::Observer`],
//! which owns the same rules (dialect, lines, counted bodies, markers
//! across any split) once; [`pair::Pair`] runs two sessions against each
//! other in memory for tests.
//!
//! # The run loop
//!
//! A session is fed input and polled for output; time is a [`Duration`]
//! since any start the driver chooses, always passed in.
//!
//! 1. **Write**: while [`pending(now)`](ServerSession::pending) is not empty,
//!    write it and call [`consume(now, n)`](ServerSession::consume) with the
//!    count written.
//! 2. **Drain** (server, when [`wants_drain`](ServerSession::wants_drain)):
//!    the next bytes wait until the peer has acknowledged everything
//!    written. Wait until the socket's send queue is empty (on Linux,
//!    `ioctl(SIOCOUTQ)` returns 0), then call
//!    [`handle_drained(now)`](ServerSession::handle_drained). A driver that
//!    cannot see its send queue calls it at once.
//! 3. **Read** (when [`wants_read`](ServerSession::wants_read)): hand each
//!    read to `handle_read` / `handle_input`; hand end-of-stream to
//!    `handle_eof`.
//! 4. **Wait**: if `poll_timeout()` names a time, wake up then (calling
//!    `handle_timeout` on a client) even if nothing was read.
//! 5. **Look**: drain `poll_event()` for what happened.
//!
//! A blocking driver for one server connection fits in a few lines:
//!
//! ```no_run
//! use std::io::{Read, Write};
//! use std::time::{Duration, Instant};
//! use streamlab_proto::{ServerConfig, ServerContext, ServerSession};
//!
//! fn serve(mut sock: std::net::TcpStream, ctx: &dyn ServerContext) -> std::io::Result<()> {
//!     let start = Instant::now();
//!     let mut session = ServerSession::new(1, ServerConfig::default());
//!     let mut buf = [0u8; 1024]; // one recv(1024) = one original command
//!     loop {
//!         let now = start.elapsed();
//!         let out = session.pending(now);
//!         if !out.is_empty() {
//!             let n = sock.write(out)?;
//!             session.consume(now, n);
//!             continue;
//!         }
//!         if session.is_finished(now) {
//!             return Ok(());
//!         }
//!         if session.wants_drain() {
//!             // std cannot see the send queue: go on at once (the real
//!             // server polls SIOCOUTQ until it reads 0).
//!             session.handle_drained(start.elapsed());
//!             continue;
//!         }
//!         if let Some(t) = session.poll_timeout() {
//!             std::thread::sleep(t.saturating_sub(now));
//!             continue;
//!         }
//!         match sock.read(&mut buf)? {
//!             0 => session.handle_eof(),
//!             n => session.handle_read(start.elapsed(), &buf[..n], ctx),
//!         }
//!     }
//! }
//! ```

#![forbid(unsafe_code)]

pub mod client;
pub mod escape;
pub mod format;
pub mod framed;
pub mod observe;
pub mod original;
pub mod outbox;
pub mod pair;
pub mod request;
pub mod server;

pub use client::{ClientConfig, ClientEvent, ClientSession};
pub use format::{PcmFormat, SampleFormat};
pub use request::{CommandError, Device, PlayState, Request};
pub use server::{
    address_busy_message, busy_message, find_track, DialectChoice, Outcome, ServerConfig,
    ServerContext, ServerEvent, ServerSession, Track,
};
pub use server::{same_song_name, TrackUnavailable};
pub use std::time::Duration;

/// The two ways of speaking the protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dialect {
    /// The student project's protocol, exactly.
    Original,
    /// Line-based commands and length-framed tracks.
    Framed,
}

impl Dialect {
    /// Tells the dialect from a client's first bytes, as the server does
    /// when it is left to choose: [`framed::HELLO_PREFIX`] (`hello `, in
    /// any case) means framed; anything that can no longer become it means
    /// original; `None` while it still can (`he`, `HELL`).
    ///
    /// ```
    /// use streamlab_proto::Dialect;
    /// assert_eq!(Dialect::detect(b"HELLO streamlab/1 x\n"), Some(Dialect::Framed));
    /// assert_eq!(Dialect::detect(b"hel"), None);
    /// assert_eq!(Dialect::detect(b"help"), Some(Dialect::Original));
    /// assert_eq!(Dialect::detect(b"lista"), Some(Dialect::Original));
    /// ```
    pub fn detect(first_bytes: &[u8]) -> Option<Dialect> {
        let prefix = framed::HELLO_PREFIX;
        let n = first_bytes.len().min(prefix.len());
        if !first_bytes[..n].eq_ignore_ascii_case(&prefix[..n]) {
            Some(Dialect::Original)
        } else if n == prefix.len() {
            Some(Dialect::Framed)
        } else {
            None
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Dialect::Original => "original",
            Dialect::Framed => "framed",
        }
    }
}

impl std::fmt::Display for Dialect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
