//! The applications the simulator runs on its TCP:
//!
//! * [`ServerApp`] and [`ClientApp`]: the protocol crate's own server and
//!   client sessions (not copies of them); the client can play what it
//!   downloads in virtual real time ([`crate::player`]) and can stop
//!   reading for a while (a slow reader);
//! * [`ScriptedPeer`]: writes given bytes at given times;
//! * [`NaiveClient`]: reads as the original Python client did — one
//!   `recv(1024)` per reply, compared with what it expects — so the
//!   original dialect's framing defects show in a run.
//!
//! Each application is a [`SimApp`]: the same sans-IO shape as the sessions
//! themselves — bytes to write ([`SimApp::pending`] / [`SimApp::consume`]), reads
//! handed in ([`SimApp::handle_read`], [`SimApp::handle_eof`]), a timer
//! ([`SimApp::poll_timeout`] / [`SimApp::handle_timeout`]), a drain barrier
//! ([`SimApp::wants_drain`] / [`SimApp::handle_drained`]) — plus what the
//! simulator needs to drive a socket for it: how much one read may take,
//! and when to close.

use std::any::Any;

use crate::time::SimTime;

mod client;
mod naive;
mod peer;
mod server;

pub use client::{event_text, ClientApp};
pub(crate) use naive::played_text;
pub use naive::{Expect, NaiveClient, NaiveOutcome, NaiveStep};
pub use peer::ScriptedPeer;
pub use server::{Catalogue, ServerApp};

/// The most a framed reader takes in one read.
const FRAMED_READ: usize = 64 * 1024;

/// An application on one end of the simulated connection.
///
/// The simulator calls it only once its TCP connection is established.
/// Notes ([`SimApp::poll_note`]) become rows of the trace.
pub trait SimApp: Any {
    /// Called once, when the connection is established.
    fn on_connected(&mut self, _now: SimTime) {}
    /// Bytes to write now.
    fn pending(&self, now: SimTime) -> &[u8];
    /// `n` bytes of [`pending`](SimApp::pending) were taken by TCP.
    fn consume(&mut self, now: SimTime, n: usize);
    /// True while the next bytes wait until the peer has acknowledged
    /// everything written so far (a server session's drain barrier).
    fn wants_drain(&self) -> bool {
        false
    }
    /// Every byte written has been acknowledged (the endpoint's
    /// [`send_queue`](crate::tcp::TcpEndpoint::send_queue) is empty).
    fn handle_drained(&mut self, _now: SimTime) {}
    /// The most bytes one read may take now; 0 when not reading.
    fn read_size(&self, now: SimTime) -> usize;
    /// One read's bytes.
    fn handle_read(&mut self, now: SimTime, data: &[u8]);
    /// The peer closed its side and everything before it was read.
    fn handle_eof(&mut self, now: SimTime);
    /// When [`handle_timeout`](SimApp::handle_timeout) is due, if ever.
    fn poll_timeout(&self) -> Option<SimTime>;
    fn handle_timeout(&mut self, _now: SimTime) {}
    /// True when the application is done and its socket should be closed.
    fn wants_close(&self, now: SimTime) -> bool;
    /// The next line for the trace.
    fn poll_note(&mut self) -> Option<String>;
    /// One line of state for a stuck run's dump.
    fn describe(&self) -> String;
    /// For [`Sim::app`](crate::sim::Sim::app), to get the concrete type back.
    fn as_any(&self) -> &dyn Any;
}
