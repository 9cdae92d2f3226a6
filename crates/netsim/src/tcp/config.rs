//! The knobs of one TCP endpoint: segment size, buffer sizes, timers, and
//! which of Linux's mechanisms are switched on.
//!
//! Each field is a lesson of its own: the MSS decides how a stream is cut
//! into segments, the send buffer decides when `send` takes only part of a
//! write, the receive buffer is the window a slow reader shrinks to zero, and
//! the timer fields shape what a lossy link looks like in a capture.
//!
//! Three presets name whole models ([`TcpFlavor`]):
//!
//! ```text
//! linux    what Linux 6.x does by default: CUBIC, SACK, delayed ACKs,
//!          window scaling, timestamps, tail-loss probes, 0-byte probes
//!          (the default)
//! newreno  RFC 6298 RTO, slow start, NewReno, dup-ACK fast retransmit
//! gbn      go-back-N, fixed 200 ms RTO, no congestion control: the first
//!          teaching model, kept as a contrast
//! ```
//!
//! Start from a preset and switch one mechanism off to see what it buys:
//!
//! ```
//! # use streamlab_netsim::tcp::TcpConfig;
//! let no_sack = TcpConfig { sack: false, ..TcpConfig::linux() };
//! assert_eq!(no_sack.flavor.name(), "linux");
//! ```

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// A named preset: where a [`TcpConfig`]'s switches started from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum TcpFlavor {
    /// The first teaching model: go-back-N after a fixed timeout.
    Gbn,
    /// RFC 5681/6582 NewReno with RFC 6298 timers, no SACK.
    NewReno,
    /// Linux's defaults: CUBIC, SACK, delayed ACKs and the rest. The
    /// default, since it is what a student's own capture shows.
    #[default]
    Linux,
}

impl TcpFlavor {
    pub const ALL: [TcpFlavor; 3] = [TcpFlavor::Gbn, TcpFlavor::NewReno, TcpFlavor::Linux];

    /// The name the CLI takes: `gbn`, `newreno`, `linux`.
    pub fn name(self) -> &'static str {
        match self {
            TcpFlavor::Gbn => "gbn",
            TcpFlavor::NewReno => "newreno",
            TcpFlavor::Linux => "linux",
        }
    }

    /// The preset's configuration.
    pub fn config(self) -> TcpConfig {
        match self {
            TcpFlavor::Gbn => TcpConfig::gbn(),
            TcpFlavor::NewReno => TcpConfig::newreno(),
            TcpFlavor::Linux => TcpConfig::linux(),
        }
    }
}

impl fmt::Display for TcpFlavor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A TCP model's name that is none of `gbn`, `newreno`, `linux`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown TCP model '{0}' (expected gbn, newreno or linux)")]
pub struct UnknownFlavor(pub String);

impl FromStr for TcpFlavor {
    type Err = UnknownFlavor;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        TcpFlavor::ALL
            .into_iter()
            .find(|f| f.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| UnknownFlavor(s.to_string()))
    }
}

/// How the congestion window grows and shrinks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Congestion {
    /// No congestion window: the peer's window is the only limit.
    None,
    /// Slow start, then one segment more per round trip (RFC 5681);
    /// halves on a loss.
    Reno,
    /// Slow start, then CUBIC's cubic curve (RFC 9438); 0.7× on a loss.
    Cubic,
}

/// How the sender repairs losses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Recovery {
    /// Wait for the timer, then resend everything from the oldest
    /// unacknowledged byte.
    GoBackN,
    /// Keep a record of every segment in flight (the *scoreboard*) and
    /// resend only those judged lost: after three duplicate ACKs, SACK
    /// holes, a timeout or a tail-loss probe.
    Selective,
}

/// What a sender puts on the wire to ask a zero-window peer for news.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WindowProbe {
    /// One new byte beyond the window (BSD's way; the receiver drops it).
    OneByte,
    /// No data, numbered SND.UNA − 1: an old number the receiver must
    /// answer with an ACK (Linux's way; Wireshark calls it a keep-alive).
    /// A receiver with this setting also answers such segments.
    ZeroByte,
}

/// How one TCP endpoint behaves. Start from a preset ([`TcpConfig::linux`],
/// the default, [`TcpConfig::newreno`] or [`TcpConfig::gbn`]) and change
/// the fields a scenario is about:
///
/// ```
/// # use streamlab_netsim::tcp::TcpConfig;
/// let slow_reader = TcpConfig {
///     recv_buffer: 8 * 1024,
///     ..TcpConfig::default()
/// };
/// assert_eq!(slow_reader.mss, 1460);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcpConfig {
    /// The preset these switches started from; only a name for reports.
    pub flavor: TcpFlavor,
    /// The largest payload this endpoint accepts in one segment, announced
    /// in the MSS option of its SYN. It also caps what it sends: segments
    /// carry at most the smaller of this and the peer's MSS (12 bytes less
    /// when both use timestamps). 1460 is what an Ethernet MTU of 1500
    /// leaves after 20 bytes of IPv4 and 20 of TCP.
    pub mss: u16,
    /// Bytes `send` may hold that the peer has not acknowledged yet. A full
    /// buffer makes `send` take less than it was given (a partial write).
    /// With `buffer_autotuning` this is the starting size (Linux's
    /// `tcp_wmem` default, 16 KiB) and it grows to about twice the
    /// congestion window, up to `send_buffer_max`.
    pub send_buffer: usize,
    /// The send buffer's ceiling under autotuning (`tcp_wmem` max, 4 MiB).
    pub send_buffer_max: usize,
    /// Bytes received but not yet read by the application. Without window
    /// scaling the window is the free space, capped at 65535. With
    /// `buffer_autotuning` it is Linux's `tcp_rmem` default, 128 KiB, of
    /// which half is window (the rest stands for the kernel's overhead per
    /// packet, `tcp_adv_win_scale` = 1), and it grows as the application
    /// reads faster, up to `recv_buffer_max`.
    pub recv_buffer: usize,
    /// The receive buffer's ceiling (`tcp_rmem` max, 6 MiB). It also sets
    /// the window-scale shift announced on the SYN.
    pub recv_buffer_max: usize,
    /// Grow the buffers as Linux does (`tcp_rcv_space_adjust`, and the send
    /// buffer to 2 × cwnd). Off: both keep their size.
    pub buffer_autotuning: bool,
    /// The retransmission timeout before any RTT sample (RFC 6298: 1 s;
    /// the go-back-N model uses 200 ms and never measures).
    pub initial_rto: Duration,
    /// The floor of the computed RTO, Linux's `rto_min` (200 ms): RTO =
    /// SRTT + max(4 × RTTVAR, rto_min). Used only with `rtt_estimation`.
    pub rto_min: Duration,
    /// Measure the round-trip time and compute the RTO from it (RFC 6298,
    /// Karn's rule). Off: the RTO is `initial_rto`, doubled per timeout.
    pub rtt_estimation: bool,
    /// Linux's retransmission timer. Its RTT estimator
    /// (`tcp_rtt_estimator`, `tcp_ack_update_rtt`): the RTO adds the
    /// largest deviation of the last round trip (at least `rto_min`) and
    /// lets it fall a quarter per round, and newly SACKed segments sent
    /// once give samples too (`tcp/rtt.rs`). And the timer starts again
    /// whenever the oldest segment in flight is sent again
    /// (`tcp_xmit_retransmit_queue`), so a fast retransmission has a whole
    /// RTO to come back. Off: RFC 6298's RTTVAR, samples from cumulative
    /// ACKs only, and the timer restarted only by new ACKs.
    pub linux_rto: bool,
    /// The ceiling for the doubling retransmission and persist timers.
    pub max_rto: Duration,
    /// How many retransmissions in a row may go unanswered. The next timeout
    /// aborts the connection with [`TcpError::TimedOut`](super::TcpError)
    /// and sends an RST. The default, 15, is Linux's `tcp_retries2`: with
    /// 8, a link losing 20% of segments both ways (so 36% of tries fail)
    /// gives up on about one long transfer in fifty.
    pub max_retries: u32,
    /// How long the side that closed first stays in TIME-WAIT, ready to
    /// acknowledge the peer's FIN again should our last ACK be lost. The
    /// RFC says 2 × MSL; Linux waits 60 s, and so does the default. It must
    /// outlast the peer's longest retransmission gap, or the peer's repeated
    /// FIN meets a closed endpoint and an RST. Zero closes at once.
    pub time_wait: Duration,
    /// The congestion control.
    pub congestion: Congestion,
    /// The congestion window at the start, in segments (RFC 6928: 10).
    pub initial_window: u32,
    /// How losses are repaired.
    pub recovery: Recovery,
    /// Keep segments that arrive after a hole (every real stack does);
    /// off, they are dropped and the sender must send them again.
    pub out_of_order_queue: bool,
    /// Offer and use SACK (RFC 2018, recovery per RFC 6675).
    pub sack: bool,
    /// Send a tail-loss probe 2 × SRTT after the last segment when no ACK
    /// comes (RFC 8985's TLP), instead of waiting for the RTO; when the RTO
    /// would come sooner, the probe goes at the RTO's time in its place.
    pub tail_loss_probe: bool,
    /// RACK loss detection (RFC 8985, with SACK): a segment is lost once
    /// one sent after it has arrived and a round trip has passed since it
    /// was sent; a lost retransmission is found the same way.
    pub rack: bool,
    /// Proportional rate reduction in fast recovery (RFC 6937, as Linux's
    /// `tcp_cwnd_reduction`): cwnd comes down to ssthresh step by step
    /// with the ACKs, instead of at once on entering recovery. Linux does
    /// this, but the linux model leaves it off: with it on, the model's
    /// 1 ms × 5% downloads fall further from the kernel's (docs/fidelity.md).
    pub prr: bool,
    /// Delay ACKs as Linux does: every second full segment, else after
    /// 40 ms; quick ACKs for the first segments and for out-of-order data.
    pub delayed_ack: bool,
    /// Offer and use window scaling (RFC 7323).
    pub window_scale: bool,
    /// Offer and use timestamps (RFC 7323): 12 bytes per segment.
    pub timestamps: bool,
    /// The shape of a zero-window probe.
    pub window_probe: WindowProbe,
    /// Sender-side silly window avoidance as Linux does it: a data segment
    /// goes out only if the peer's window takes all of it (a full MSS, or
    /// all that is left to send). When the window is open but smaller, the
    /// sender waits for the persist timer, which then sends what fits (a
    /// short data segment, not a probe). Off: every byte of window is used
    /// at once, so the window closes exactly.
    pub whole_segments: bool,
    /// The kernel's clock tick, which its TCP timers count in (a jiffy:
    /// 4 ms with `HZ=250`, Debian's and this kit's testbed kernel; 1 ms
    /// with `HZ=1000`). Deadlines then fall on ticks as Linux's timer
    /// wheel places them, and the loss probe and RACK wait two ticks more
    /// (TCP_TIMEOUT_MIN). Zero: every deadline exact.
    pub timer_tick: Duration,
}

impl TcpConfig {
    /// The largest window the 16-bit header field can advertise.
    pub const MAX_WINDOW: usize = u16::MAX as usize;

    /// The first teaching model, kept as a contrast: go-back-N after a fixed
    /// 200 ms timeout, every segment ACKed at once, a 64 KiB window,
    /// one-byte window probes, no congestion control.
    pub fn gbn() -> Self {
        TcpConfig {
            flavor: TcpFlavor::Gbn,
            mss: 1460,
            send_buffer: 64 * 1024,
            send_buffer_max: 64 * 1024,
            recv_buffer: 64 * 1024,
            recv_buffer_max: 64 * 1024,
            buffer_autotuning: false,
            initial_rto: Duration::from_millis(200),
            rto_min: Duration::from_millis(200),
            rtt_estimation: false,
            linux_rto: false,
            max_rto: Duration::from_secs(60),
            max_retries: 15,
            time_wait: Duration::from_secs(60),
            congestion: Congestion::None,
            initial_window: 10,
            recovery: Recovery::GoBackN,
            out_of_order_queue: false,
            sack: false,
            tail_loss_probe: false,
            rack: false,
            prr: false,
            delayed_ack: false,
            window_scale: false,
            timestamps: false,
            window_probe: WindowProbe::OneByte,
            whole_segments: false,
            timer_tick: Duration::ZERO,
        }
    }

    /// NewReno (RFC 5681, 6582) with RFC 6298's timers and IW10; no SACK,
    /// every segment ACKed, Linux's buffers and window scaling so the
    /// window is not what limits it.
    pub fn newreno() -> Self {
        TcpConfig {
            flavor: TcpFlavor::NewReno,
            congestion: Congestion::Reno,
            recovery: Recovery::Selective,
            out_of_order_queue: true,
            rtt_estimation: true,
            initial_rto: Duration::from_secs(1),
            max_rto: Duration::from_secs(120),
            window_scale: true,
            whole_segments: true,
            ..Self::linux_buffers(Self::gbn())
        }
    }

    /// Linux 6.x's defaults: CUBIC, SACK, RFC 6298 timers with a 200 ms
    /// floor, IW10, delayed ACKs, window scaling, timestamps, tail-loss
    /// probes, 0-byte window probes, autotuned buffers, timers on a 4 ms
    /// tick (`HZ=250`).
    pub fn linux() -> Self {
        TcpConfig {
            flavor: TcpFlavor::Linux,
            congestion: Congestion::Cubic,
            sack: true,
            tail_loss_probe: true,
            rack: true,
            linux_rto: true,
            prr: false,
            delayed_ack: true,
            timestamps: true,
            window_probe: WindowProbe::ZeroByte,
            timer_tick: Duration::from_millis(4),
            ..Self::newreno()
        }
    }

    /// Linux's `tcp_rmem` and `tcp_wmem` defaults, autotuned.
    fn linux_buffers(base: Self) -> Self {
        TcpConfig {
            send_buffer: 16 * 1024,
            send_buffer_max: 4 * 1024 * 1024,
            recv_buffer: 128 * 1024,
            recv_buffer_max: 6 * 1024 * 1024,
            buffer_autotuning: true,
            ..base
        }
    }

    /// The window-scale shift this endpoint announces: the smallest that
    /// lets `recv_buffer_max` be advertised (Linux gives 7 for 6 MiB).
    pub fn window_scale_shift(&self) -> u8 {
        let mut shift = 0;
        while shift < 14 && (self.recv_buffer_max >> shift) > Self::MAX_WINDOW {
            shift += 1;
        }
        shift
    }

    /// The receive buffer actually used without scaling: `recv_buffer`,
    /// capped at [`TcpConfig::MAX_WINDOW`].
    pub fn recv_capacity(&self) -> usize {
        self.recv_buffer.min(Self::MAX_WINDOW)
    }
}

impl Default for TcpConfig {
    /// The Linux model ([`TcpConfig::linux`]).
    fn default() -> Self {
        Self::linux()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_an_ethernet_host() {
        let c = TcpConfig::default();
        assert_eq!(c.mss, 1460);
        assert_eq!(c.initial_rto, Duration::from_secs(1));
        assert_eq!(c.rto_min, Duration::from_millis(200));
        assert_eq!(c.max_retries, 15);
        assert_eq!(c.time_wait, Duration::from_secs(60));
        assert_eq!(c, TcpConfig::linux());
    }

    #[test]
    fn the_receive_buffer_is_capped_at_the_largest_window() {
        // Without window scaling (the gbn model), 65535 is the most a
        // window can say.
        let c = TcpConfig::gbn();
        assert_eq!(c.recv_capacity(), 65535);
        let small = TcpConfig {
            recv_buffer: 1000,
            ..c
        };
        assert_eq!(small.recv_capacity(), 1000);
    }

    #[test]
    fn flavors_parse_from_their_names() {
        for f in TcpFlavor::ALL {
            assert_eq!(f.name().parse::<TcpFlavor>(), Ok(f));
            assert_eq!(f.config().flavor, f);
        }
        assert_eq!("Linux".parse::<TcpFlavor>(), Ok(TcpFlavor::Linux));
        let err = "cubic".parse::<TcpFlavor>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown TCP model 'cubic' (expected gbn, newreno or linux)"
        );
    }

    #[test]
    fn linux_scales_its_6_mib_buffer_by_7() {
        assert_eq!(TcpConfig::linux().window_scale_shift(), 7);
        assert_eq!(TcpConfig::newreno().window_scale_shift(), 7);
        let l = TcpConfig::linux();
        assert_eq!(
            (l.congestion, l.sack, l.delayed_ack),
            (Congestion::Cubic, true, true)
        );
        let n = TcpConfig::newreno();
        assert_eq!(
            (n.congestion, n.sack, n.delayed_ack),
            (Congestion::Reno, false, false)
        );
    }
}
