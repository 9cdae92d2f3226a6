//! A small, deterministic TCP: one endpoint of one connection, sans-IO.
//!
//! The simulator needs a TCP that behaves like the real one in every way an
//! application can notice — a byte stream cut into segments, small writes
//! glued together, reads that return part of what was sent, a slow reader
//! that stalls the sender, losses repaired by retransmission — and that
//! shows all of it in a capture. [`TcpEndpoint`] is that TCP, written to be
//! read: it has no socket and no clock. Segments come in through
//! [`handle_segment`](TcpEndpoint::handle_segment) and go out through
//! [`poll_segment`](TcpEndpoint::poll_segment); time is passed in as a
//! [`SimTime`] on every call, and the ISN comes from the caller, so the same
//! inputs always give the same segments.
//!
//! # The run loop
//!
//! The methods come in four groups, as in quinn-proto: getters, `handle_*`
//! (input from the network and the clock), mutators (the application's
//! calls) and `poll_*` (output). A driver keeps one rule: **after any
//! `handle_*` or mutator call, drain `poll_segment` and `poll_event`, then
//! ask `poll_timeout`**. (Polling after each arriving segment also gives
//! each data segment its own ACK; segments handed in together share one.)
//!
//! ```text
//! loop {
//!     now = the earlier of (next segment arrival, endpoint.poll_timeout())
//!     endpoint.handle_segment(now, &seg)    or    endpoint.handle_timeout(now)
//!     application calls send / recv / close as it likes
//!     while let Some(seg) = endpoint.poll_segment(now) { put seg on the wire }
//!     while let Some(ev) = endpoint.poll_event() { write ev in the trace }
//! }
//! ```
//!
//! # Three models
//!
//! [`TcpConfig`] picks one ([`TcpFlavor`]): `linux`, a model of Linux
//! 6.x's defaults and the default (docs/fidelity.md measures it against
//! the kernel); `newreno`; and `gbn`, the first teaching model, kept as a
//! contrast. Each mechanism is a switch of its own (`sack`,
//! `delayed_ack`, `congestion`, ...), so a lab can take one away.
//!
//! ```text
//! file           what it holds
//! rtt.rs         RFC 6298 estimator, Linux's rto_min rule
//! cc.rs          slow start (IW10), Reno, CUBIC
//! scoreboard.rs  segments in flight, SACKed / lost / resent, pipe
//! recovery.rs    fast retransmit, NewReno partial ACKs, SACK recovery,
//!                timeouts, tail-loss probes
//! ooo.rs         the receiver's out-of-order queue and SACK blocks
//! negotiate.rs   SYN options, timestamps, delayed ACKs, autotuning
//! ```
//!
//! # What is left out, on purpose
//!
//! This is a teaching TCP. Each simplification below is one a reader of a
//! capture could notice, so each is listed.
//!
//! In the `gbn` model:
//!
//! * **No congestion control.** The sender fills the peer's window at once
//!   (no slow start, no congestion window), except right after a timeout,
//!   when it sends one segment and waits for its ACK.
//! * **Go-back-N, no SACK, no fast retransmit.** The receiver keeps only
//!   in-order data and drops a segment that arrives after a hole, answering
//!   with a duplicate ACK. The sender ignores duplicate ACKs and repairs a
//!   loss only when its retransmission timer fires, then resends everything
//!   from the oldest unacknowledged byte.
//! * **A fixed RTO, no RTT measurement.** The retransmission timeout is
//!   `initial_rto`, doubling on each timeout up to `max_rto` and back to
//!   `initial_rto` on the next new ACK.
//! * **Every data segment is acknowledged at once** — no delayed ACK, so
//!   each segment's ACK is visible in Wireshark. An ACK owed when data is
//!   ready rides on the data.
//! * **No window scaling, no timestamps**: the only option is MSS on the
//!   SYN (536 assumed when the peer sends none). Windows are at most 65535
//!   bytes, and window probes carry one byte.
//!
//! In the `linux` model, what Linux does that is still simplified here:
//!
//! * **PRR is built but off** (`prr`): by default cwnd drops to ssthresh
//!   at once in recovery and RFC 6675's pipe rule paces the
//!   retransmissions. Linux uses PRR; with it on, the model's 1 ms × 5%
//!   downloads came further from the kernel's (1 ms/100M/5%: 0.72 of the
//!   kernel's time, against 0.75 without, measured with the model of
//!   2026-12-05; docs/fidelity.md), so some other difference still
//!   compensates. No cwnd undo (F-RTO, DSACK, Eifel): the kernel's
//!   `tcp_probe` trace of one 1 ms, 100 Mbit/s, 5% download shows 9.
//!   HyStart is modelled (delay and ACK-train tests, `cc.rs`).
//! * **Timers tick as Linux's do** (`timer_tick`, 4 ms for `HZ=250`):
//!   deadlines fall on the timer wheel's ticks and slots, and the loss
//!   probe and RACK wait two ticks more. CUBIC computes in Linux's
//!   integers and keeps its growth step for HZ/32 while cwnd is
//!   unchanged, as a kernel `tcp_probe` trace shows it doing
//!   (`cc.rs`, docs/fidelity.md).
//! * **RACK without a reordering estimate**: losses are found by three
//!   SACKed segments above a hole (RFC 6675) and by RACK's time rule,
//!   lost retransmissions included, with a tail-loss probe (RFC 8985) at
//!   2 × SRTT or in the RTO's place. No D-SACK, so RACK's reordering
//!   window never widens; a link that reorders (`--reorder`) gets more
//!   spurious retransmissions than Linux would send.
//! * **No restart after idle**: when the application queues new data
//!   while nothing is in flight and the last data left more than one RTO
//!   ago (a paused application), Linux shrinks cwnd towards the initial
//!   window (`tcp_slow_start_after_idle_check` → `tcp_cwnd_restart`,
//!   `net.ipv4.tcp_slow_start_after_idle`); the model keeps the cwnd it
//!   had. A zero window does not trigger it while the data waits queued.
//! * **No pacing, no TSO/GRO**: segments go out back to back, each at
//!   most one MSS; Linux sends bursts of up to 64 KB to its NIC and paces
//!   them. No ECN.
//! * **Buffer autotuning** is a model: the window grows by two segments
//!   per segment received up to 158/256 of the receive buffer (Linux's
//!   `scaling_ratio`, measured on the testbed), then once per RTT from
//!   what the application read (about `tcp_rcv_space_adjust`, timed by
//!   the sender's SRTT, where Linux times it with the receiver's own
//!   estimate from timestamps: built and measured on the fidelity grid,
//!   that rule let the 1 Mbit/s windows outgrow the 1 s queue well before
//!   the kernel's did, 3–9 drops per download where the kernel has 0–2,
//!   so it is left out); the send buffer grows to 2 × cwnd × MSS.
//!   Linux counts per-packet memory (`truesize`), not bytes, and rounds
//!   the advertised window up to its scale unit where the model rounds
//!   down (so the model's right edge can step back by < 128 bytes).
//! * **Delayed ACKs** as `__tcp_ack_snd_check`: two full segments earn an
//!   ACK only if the window would not shrink; otherwise the timer (40 ms,
//!   or sooner if due within 10 ms). 16 quick ACKs at the start and after
//!   a silence longer than the RTO, unless the connection is interactive
//!   (Linux's pingpong mode: data sent within 40 ms of data received
//!   turns quick ACKs off until a delayed ACK has to fire; a FIN in
//!   ESTABLISHED waits to ride on our own FIN). Linux's `ato` adapts up
//!   to 200 ms; the model's stays at 40 ms.
//! * **The retransmission timer** is Linux's (`linux_rto`): its estimator
//!   adds the round's largest deviation (`mdev_max`, `rtt.rs`), SACKs of
//!   segments sent once give samples, and resending the oldest segment
//!   starts the timer again. RTT samples otherwise come from segments
//!   sent once (Karn), from the handshake and from timestamp echoes. No
//!   PAWS check, and no cwnd undo after a spurious timeout.
//!
//! In every model:
//!
//! * **No Nagle.** Whatever is in the send buffer when `poll_segment` runs
//!   is sent; two `send` calls before a poll share one segment.
//! * **Window probes forever.** The persist timer (starting at the RTO,
//!   as Linux's `tcp_probe_timer`) backs off up to `max_rto`
//!   but never gives up on a zero window (RFC 9293 says a sender must keep
//!   probing while the receiver answers).
//! * **No urgent data.**
//! * **No LISTEN state.** The simulator hands a SYN to
//!   [`TcpEndpoint::accept`]. A closed endpoint answers segments that carry
//!   an ACK with an RST, as RFC 9293 says; others it ignores.
//! * **TIME-WAIT is [`TcpConfig::time_wait`]** (60 s by default, as Linux,
//!   where the RFC's 2 × MSL would be 4 minutes), and it ignores RSTs
//!   (RFC 1337). There is no FIN-WAIT-2 timeout: a peer that never sends
//!   its FIN leaves this side in FIN-WAIT-2.
//! * **ACKs are believed** even on segments whose sequence number is out of
//!   the window (an old retransmission still carries a fresh ACK). RFC 9293
//!   drops those to defeat blind attacks; the simulator has no attacker.

mod cc;
mod config;
mod event;
mod input;
mod negotiate;
mod ooo;
mod output;
pub mod pair;
mod recovery;
mod recv;
mod rtt;
mod scoreboard;
mod send;
mod seq;
mod stats;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_linux;
mod timer;

use std::collections::VecDeque;
use std::net::SocketAddrV4;

pub use config::{Congestion, Recovery, TcpConfig, TcpFlavor, UnknownFlavor, WindowProbe};
pub use event::{RetransmitReason, TcpError, TcpEvent, TcpState};
pub use seq::SeqNum;
pub use stats::TcpStats;

use crate::time::SimTime;
use crate::wire::{TcpFlags, TcpRepr};
use negotiate::{AckState, Negotiated, TIMESTAMP_LEN};
use recovery::LossState;
use recv::RecvState;
use send::SendState;
use timer::Timers;

/// The MSS to assume when the peer's SYN has no MSS option (RFC 9293).
const DEFAULT_PEER_MSS: u16 = 536;

/// One end of one TCP connection.
///
/// Create it with [`connect`](Self::connect) (active open: it will send a
/// SYN) or [`accept`](Self::accept) (passive open, from a received SYN),
/// then run it as the [module documentation](self) describes.
#[derive(Debug)]
pub struct TcpEndpoint {
    local: SocketAddrV4,
    remote: SocketAddrV4,
    config: TcpConfig,
    state: TcpState,
    error: Option<TcpError>,
    snd: SendState,
    rcv: RecvState,
    timers: Timers,
    /// The largest payload we send: our MSS or the peer's, the smaller.
    send_mss: usize,
    /// Something arrived that must be acknowledged.
    ack_owed: bool,
    /// The persist timer fired: a window probe is due.
    probe_owed: bool,
    /// A timeout happened and no new ACK has come since: send one segment
    /// at a time.
    in_recovery: bool,
    /// An RST to send, with this sequence number.
    rst_owed: Option<SeqNum>,
    events: VecDeque<TcpEvent>,
    /// RTT, congestion window and scoreboard (the selective model).
    loss: LossState,
    /// What the SYNs agreed on.
    neg: Negotiated,
    /// Delayed ACKs and receive autotuning.
    acks: AckState,
    /// The latest time passed in (for `recv`, which takes none).
    clock: SimTime,
    /// When our SYN went out, if only once (an RTT sample, Karn's rule).
    syn_sent: Option<(SimTime, bool)>,
    stats: TcpStats,
}

impl TcpEndpoint {
    /// Opens a connection from `local` to `remote`: the first
    /// [`poll_segment`](Self::poll_segment) returns a SYN numbered `isn`,
    /// carrying our MSS. Its retransmission timer starts at `now`.
    pub fn connect(
        local: SocketAddrV4,
        remote: SocketAddrV4,
        isn: u32,
        config: TcpConfig,
        now: SimTime,
    ) -> Self {
        let mut ep = Self::new(local, remote, isn, config, TcpState::SynSent);
        ep.timers.arm_retransmit(now);
        ep.clock = now;
        ep
    }

    /// Answers a SYN that arrived for `local` from `remote`: the first
    /// [`poll_segment`](Self::poll_segment) returns the SYN-ACK, numbered
    /// `isn`. `None` if `syn` is not a plain SYN for this pair of ports.
    pub fn accept(
        syn: &TcpRepr,
        local: SocketAddrV4,
        remote: SocketAddrV4,
        isn: u32,
        config: TcpConfig,
        now: SimTime,
    ) -> Option<Self> {
        let plain_syn = syn.flags.contains(TcpFlags::SYN)
            && !syn.flags.contains(TcpFlags::ACK)
            && !syn.flags.contains(TcpFlags::RST);
        if !plain_syn || syn.src_port != remote.port() || syn.dst_port != local.port() {
            return None;
        }
        let mut ep = Self::new(local, remote, isn, config, TcpState::SynReceived);
        ep.clock = now;
        ep.take_peer_syn(syn);
        ep.timers.arm_retransmit(now);
        Some(ep)
    }

    fn new(
        local: SocketAddrV4,
        remote: SocketAddrV4,
        isn: u32,
        config: TcpConfig,
        state: TcpState,
    ) -> Self {
        let mut rcv = RecvState::new(Self::initial_window(&config), usize::from(config.mss));
        if config.out_of_order_queue {
            rcv.keep_out_of_order();
        }
        let mut snd = SendState::new(SeqNum(isn), config.send_buffer);
        snd.whole_segments = config.whole_segments;
        TcpEndpoint {
            local,
            remote,
            snd,
            rcv,
            timers: Timers::new(config.initial_rto, config.max_rto, config.timer_tick),
            loss: LossState::new(&config),
            neg: Negotiated {
                ts_offset: isn,
                ..Negotiated::default()
            },
            acks: AckState::new(usize::from(config.mss)),
            clock: SimTime::ZERO,
            syn_sent: None,
            stats: TcpStats::default(),
            send_mss: usize::from(config.mss.max(1)),
            config,
            state,
            error: None,
            ack_owed: false,
            probe_owed: false,
            in_recovery: false,
            rst_owed: None,
            events: VecDeque::new(),
        }
    }

    /// The window we start with: the receive buffer (capped at 65535
    /// until the SYNs agree on scaling), or with autotuning half of it
    /// (Linux's `tcp_adv_win_scale`), cut to whole segments as Linux does
    /// (64,240 bytes for a 1460-byte MSS).
    fn initial_window(config: &TcpConfig) -> usize {
        if !config.buffer_autotuning {
            return config.recv_capacity();
        }
        let seg = usize::from(config.mss).saturating_sub(if config.timestamps {
            TIMESTAMP_LEN
        } else {
            0
        });
        let space = config.recv_buffer / 2;
        let space = if config.window_scale {
            space
        } else {
            space.min(TcpConfig::MAX_WINDOW)
        };
        space.min(TcpConfig::MAX_WINDOW) / seg.max(1) * seg.max(1)
    }

    // ---- getters -------------------------------------------------------

    pub fn state(&self) -> TcpState {
        self.state
    }

    /// True in ESTABLISHED: the handshake is done and neither side has
    /// closed.
    pub fn is_established(&self) -> bool {
        self.state == TcpState::Established
    }

    /// True once the peer's FIN arrived and every byte before it was read:
    /// the end of the stream.
    pub fn peer_closed(&self) -> bool {
        self.rcv.fin && self.rcv.available() == 0
    }

    pub fn is_closed(&self) -> bool {
        self.state == TcpState::Closed
    }

    /// Why the connection ended, if it did not end cleanly.
    pub fn error(&self) -> Option<&TcpError> {
        self.error.as_ref()
    }

    /// Sequence space sent and not yet acknowledged (a SYN or FIN counts 1).
    pub fn bytes_in_flight(&self) -> usize {
        self.snd.in_flight()
    }

    /// Bytes the application wrote that the peer has not acknowledged yet,
    /// sent or still waiting: what Linux's `ioctl(SIOCOUTQ)` reports. Zero
    /// means the peer's TCP holds everything written.
    pub fn send_queue(&self) -> usize {
        self.snd.queued()
    }

    /// How many bytes [`send`](Self::send) would take now.
    pub fn send_space(&self) -> usize {
        if self.accepts_writes() {
            self.snd.space()
        } else {
            0
        }
    }

    /// Bytes received and waiting for [`recv`](Self::recv).
    pub fn recv_available(&self) -> usize {
        self.rcv.available()
    }

    /// The window the peer last advertised, in bytes (scaled).
    pub fn peer_window(&self) -> usize {
        self.snd.wnd
    }

    /// What this endpoint counted: retransmissions, recoveries, timeouts,
    /// probes.
    pub fn stats(&self) -> TcpStats {
        self.stats
    }

    /// The congestion window in segments (`u32::MAX` without congestion
    /// control).
    pub fn cwnd(&self) -> u32 {
        self.loss.cc.cwnd
    }

    /// The smoothed RTT, once measured.
    pub fn srtt(&self) -> Option<std::time::Duration> {
        self.loss.rtt.srtt()
    }

    /// The current retransmission timeout, backoff included.
    pub fn rto(&self) -> std::time::Duration {
        self.timers.rto
    }

    /// Bytes the receive window may grow to now (autotuning moves it).
    pub fn recv_window_capacity(&self) -> usize {
        self.rcv.capacity()
    }

    /// The largest payload this endpoint puts in a segment.
    pub fn send_mss(&self) -> usize {
        self.send_mss
    }

    /// The initial sequence number this end chose (its SYN's).
    pub fn iss(&self) -> u32 {
        self.snd.iss.get()
    }

    pub fn local(&self) -> SocketAddrV4 {
        self.local
    }

    pub fn remote(&self) -> SocketAddrV4 {
        self.remote
    }

    pub fn config(&self) -> &TcpConfig {
        &self.config
    }

    // ---- mutators: the application's side -------------------------------

    /// Copies as much of `data` as the send buffer has room for and returns
    /// how much that was — possibly less than `data.len()`, possibly 0.
    /// Nothing is sent before [`poll_segment`](Self::poll_segment), so
    /// several small writes may leave in one segment.
    pub fn send(&mut self, data: &[u8]) -> usize {
        if self.accepts_writes() {
            self.snd.write(data)
        } else {
            0
        }
    }

    /// Moves up to `buf.len()` received bytes into `buf` and returns how
    /// many (0 if none are waiting; see [`peer_closed`](Self::peer_closed)
    /// for the end of the stream). Reading frees window space, and a reader
    /// that reopens a (nearly) closed window makes the endpoint send a
    /// window update.
    pub fn recv(&mut self, buf: &mut [u8]) -> usize {
        let (n, update) = self.rcv.read(buf);
        if update && self.state != TcpState::Closed {
            self.ack_owed = true;
        }
        if n > 0 {
            self.rcv_space_adjust(n);
        }
        n
    }

    /// Closes our direction: a FIN follows the data already in the send
    /// buffer, and `send` takes nothing more. Receiving goes on until the
    /// peer's FIN. Closing a connection whose SYN got no answer just drops
    /// it.
    pub fn close(&mut self) {
        match self.state {
            TcpState::SynSent => self.enter_closed(),
            // The FIN goes out once the handshake is done (see `establish`).
            TcpState::SynReceived => self.snd.fin_queued = true,
            TcpState::Established => {
                self.snd.fin_queued = true;
                self.state = TcpState::FinWait1;
            }
            TcpState::CloseWait => {
                self.snd.fin_queued = true;
                self.state = TcpState::LastAck;
            }
            _ => {} // already closing or closed
        }
    }

    /// Drops the connection at once: unsent and unacknowledged data is
    /// thrown away and an RST tells the peer (unless it never answered our
    /// SYN).
    pub fn abort(&mut self) {
        if self.state == TcpState::Closed {
            return;
        }
        if self.state != TcpState::SynSent {
            self.rst_owed = Some(self.snd.max);
        }
        self.fail(TcpError::LocalAbort);
        self.events.push_back(TcpEvent::Aborted {
            reason: TcpError::LocalAbort,
        });
    }

    // ---- poll: events (segments are in output.rs) -----------------------

    /// The next event for the trace, oldest first.
    pub fn poll_event(&mut self) -> Option<TcpEvent> {
        self.events.pop_front()
    }

    // ---- shared helpers --------------------------------------------------

    /// States in which `send` still takes data.
    fn accepts_writes(&self) -> bool {
        !self.snd.fin_queued
            && matches!(
                self.state,
                TcpState::SynSent
                    | TcpState::SynReceived
                    | TcpState::Established
                    | TcpState::CloseWait
            )
    }

    /// States in which data (new or retransmitted) and our FIN may go out:
    /// after the handshake, until the end.
    fn can_send_data(&self) -> bool {
        !matches!(
            self.state,
            TcpState::SynSent | TcpState::SynReceived | TcpState::TimeWait | TcpState::Closed
        )
    }

    /// Takes what the peer's SYN tells: its ISN, its MSS, its window and
    /// the options both sides will use.
    fn take_peer_syn(&mut self, syn: &TcpRepr) {
        self.take_peer_options(syn);
        self.rcv.sync(SeqNum(syn.seq));
        let peer_mss = syn.mss.unwrap_or(DEFAULT_PEER_MSS);
        let mut mss = usize::from(self.config.mss.min(peer_mss));
        if self.neg.timestamps {
            mss = mss.saturating_sub(TIMESTAMP_LEN);
        }
        self.send_mss = mss.max(1);
        self.snd
            .init_window(SeqNum(syn.seq), usize::from(syn.window));
    }

    /// The handshake is done.
    fn establish(&mut self) {
        if let Some((sent, false)) = self.syn_sent.take() {
            // The SYN went once: its round trip is the first RTT sample.
            let (una, nxt) = (self.snd.una, self.snd.nxt);
            self.loss.rtt.sample(self.clock.since(sent), una, nxt);
            if self.config.rtt_estimation {
                self.timers.set_base_rto(self.loss.rtt.rto());
                self.timers.on_progress();
            }
        }
        self.state = if self.snd.fin_queued {
            TcpState::FinWait1
        } else {
            TcpState::Established
        };
        self.events.push_back(TcpEvent::Connected);
    }

    fn enter_time_wait(&mut self, now: SimTime) {
        self.state = TcpState::TimeWait;
        self.timers.clear();
        self.timers.start_time_wait(now, self.config.time_wait);
    }

    fn enter_closed(&mut self) {
        self.state = TcpState::Closed;
        self.timers.clear();
        self.ack_owed = false;
        self.probe_owed = false;
    }

    /// Ends the connection with `error`.
    fn fail(&mut self, error: TcpError) {
        self.error = Some(error);
        self.enter_closed();
    }
}
