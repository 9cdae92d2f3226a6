//! What an endpoint tells the outside world: its state, the events of note
//! for the simulator's trace, and why a connection ended badly.

use std::fmt;
use std::time::Duration;

/// The connection states of RFC 9293 that this endpoint goes through.
///
/// ```text
///  connect()                                  accept(SYN)
///     |                                            |
///  SynSent --SYN,ACK in / ACK out--+   +-- SynReceived (SYN,ACK out)
///                                  v   v  (ACK in)
///                               Established
///          close() / FIN out  /           \  FIN in / ACK out
///                   FinWait1                CloseWait
///    ACK of FIN in /       \ FIN in              | close() / FIN out
///           FinWait2        Closing            LastAck
///     FIN in  \              / ACK of FIN in     | ACK of FIN in
///              TimeWait ----+                  Closed
///                 | config.time_wait later
///               Closed
/// ```
///
/// There is no LISTEN: a listening socket is the simulator's job, which
/// hands the first SYN to [`TcpEndpoint::accept`](super::TcpEndpoint::accept).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TcpState {
    SynSent,
    SynReceived,
    Established,
    FinWait1,
    FinWait2,
    CloseWait,
    Closing,
    LastAck,
    TimeWait,
    Closed,
}

impl fmt::Display for TcpState {
    /// The names netstat and the RFC use: `ESTABLISHED`, `FIN-WAIT-1`, …
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TcpState::SynSent => "SYN-SENT",
            TcpState::SynReceived => "SYN-RECEIVED",
            TcpState::Established => "ESTABLISHED",
            TcpState::FinWait1 => "FIN-WAIT-1",
            TcpState::FinWait2 => "FIN-WAIT-2",
            TcpState::CloseWait => "CLOSE-WAIT",
            TcpState::Closing => "CLOSING",
            TcpState::LastAck => "LAST-ACK",
            TcpState::TimeWait => "TIME-WAIT",
            TcpState::Closed => "CLOSED",
        })
    }
}

/// Why a connection ended without a clean close.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TcpError {
    /// The peer answered our SYN with an RST: nobody listens there.
    #[error("connection refused")]
    Refused,
    /// The peer sent an RST on an open connection.
    #[error("connection reset by peer")]
    Reset,
    /// A segment went unacknowledged through every retransmission.
    #[error("connection timed out after {retries} retransmissions")]
    TimedOut { retries: u32 },
    /// The application called [`abort`](super::TcpEndpoint::abort).
    #[error("connection aborted by the application")]
    LocalAbort,
}

/// Why a segment was sent again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RetransmitReason {
    /// The retransmission timer fired (and, in the go-back-N model, every
    /// segment after the first one it resends).
    Rto,
    /// Three duplicate ACKs: fast retransmit (RFC 5681).
    DupAcks,
    /// Three SACKed segments above it (RFC 6675).
    SackHole,
    /// A partial ACK during NewReno recovery (RFC 6582).
    PartialAck,
    /// The last segment, sent again because no ACK came for 2 × SRTT
    /// (RFC 8985).
    TailLossProbe,
    /// RFC 6675's rescue retransmission: the highest hole, once per recovery.
    Rescue,
    /// RACK (RFC 8985): a segment sent later has arrived, and this one is
    /// more than a round trip old.
    Rack,
}

impl fmt::Display for RetransmitReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RetransmitReason::Rto => "rto",
            RetransmitReason::DupAcks => "3 dup acks",
            RetransmitReason::SackHole => "sack hole",
            RetransmitReason::PartialAck => "partial ack",
            RetransmitReason::TailLossProbe => "tail loss probe",
            RetransmitReason::Rescue => "rescue",
            RetransmitReason::Rack => "rack",
        })
    }
}

/// Something worth a line in the simulator's trace, from
/// [`TcpEndpoint::poll_event`](super::TcpEndpoint::poll_event).
///
/// Sequence numbers are the absolute ones from the header (Wireshark shows
/// them relative to the ISN by default).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TcpEvent {
    /// The three-way handshake finished: the state is now ESTABLISHED.
    Connected,
    /// A segment was sent again, for `why`. `len` counts payload bytes (0
    /// for a bare SYN or FIN). `attempt` is how many timeouts in a row led
    /// to it; the segments resent after the first one is acknowledged
    /// (go-back-N) count as attempt 1.
    Retransmit {
        seq: u32,
        len: usize,
        attempt: u32,
        why: RetransmitReason,
    },
    /// Loss recovery started (`why`: 3 dup ACKs or a SACK hole): the
    /// congestion window drops to `cwnd` segments.
    Recovery { cwnd: u32, why: RetransmitReason },
    /// Every segment judged lost was repaired; `cwnd` segments from now.
    RecoveryDone { cwnd: u32 },
    /// After a timeout the congestion window is 1 segment, and slow start
    /// runs again up to `ssthresh`.
    LossWindow { ssthresh: u32 },
    /// A tail-loss probe carried new data (none was left to resend).
    TailLossProbe { seq: u32 },
    /// The retransmission timer expired after waiting `rto`; the next wait
    /// is twice as long, up to `max_rto`.
    RtoFired { rto: Duration },
    /// The peer advertised a window of 0: its receive buffer is full.
    ZeroWindow,
    /// A probe went out to ask a zero-window peer for news: one byte at
    /// `seq`, or (Linux) no byte at SND.UNA − 1.
    WindowProbe { seq: u32 },
    /// The peer's window is open again after being 0.
    WindowOpened { window: usize },
    /// The peer sent its FIN: it will send no more data.
    PeerFin,
    /// The peer reset the connection.
    Reset,
    /// This endpoint gave up on the connection and sent an RST.
    Aborted { reason: TcpError },
}

impl TcpEvent {
    /// The event with its sequence number counted from `iss`, the
    /// sender's initial sequence number, as Wireshark shows them by
    /// default (the SYN is 0, the first byte of data 1).
    pub fn relative_to(self, iss: u32) -> TcpEvent {
        match self {
            TcpEvent::Retransmit {
                seq,
                len,
                attempt,
                why,
            } => TcpEvent::Retransmit {
                seq: seq.wrapping_sub(iss),
                len,
                attempt,
                why,
            },
            TcpEvent::TailLossProbe { seq } => TcpEvent::TailLossProbe {
                seq: seq.wrapping_sub(iss),
            },
            other => other,
        }
    }
}

impl fmt::Display for TcpEvent {
    /// One short line for a trace table: `retransmit seq=1461 len=1460 #2`.
    /// (The simulator's trace shows sequence numbers relative to the ISN,
    /// as Wireshark does: see [`TcpEvent::relative_to`].)
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TcpEvent::Connected => f.write_str("connected"),
            TcpEvent::Retransmit {
                seq,
                len,
                attempt,
                why: RetransmitReason::Rto,
            } => write!(f, "retransmit seq={seq} len={len} #{attempt}"),
            TcpEvent::Retransmit { seq, len, why, .. } => {
                write!(f, "retransmit seq={seq} len={len} ({why})")
            }
            TcpEvent::Recovery { cwnd, why } => write!(f, "fast recovery cwnd={cwnd} ({why})"),
            TcpEvent::RecoveryDone { cwnd } => write!(f, "recovery done cwnd={cwnd}"),
            TcpEvent::LossWindow { ssthresh } => write!(f, "cwnd=1 ssthresh={ssthresh}"),
            TcpEvent::TailLossProbe { seq } => write!(f, "tail loss probe seq={seq}"),
            TcpEvent::RtoFired { rto } => write!(f, "rto fired after {rto:?}"),
            TcpEvent::ZeroWindow => f.write_str("zero window"),
            TcpEvent::WindowProbe { seq } => write!(f, "window probe seq={seq}"),
            TcpEvent::WindowOpened { window } => write!(f, "window opened win={window}"),
            TcpEvent::PeerFin => f.write_str("peer sent FIN"),
            TcpEvent::Reset => f.write_str("reset by peer"),
            TcpEvent::Aborted { reason } => write!(f, "aborted: {reason}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequence_numbers_count_from_the_isn_as_wiresharks_do() {
        let e = TcpEvent::Retransmit {
            seq: 2_235_377_818,
            len: 1448,
            attempt: 1,
            why: RetransmitReason::SackHole,
        };
        // An ISN near the top of the space: the count wraps, as TCP's does.
        let iss = 2_235_377_818u32.wrapping_sub(119_556);
        assert_eq!(
            e.relative_to(iss).to_string(),
            "retransmit seq=119556 len=1448 (sack hole)"
        );
        let probe = TcpEvent::TailLossProbe { seq: 5 };
        assert_eq!(
            probe.relative_to(u32::MAX).to_string(),
            "tail loss probe seq=6"
        );
        assert_eq!(TcpEvent::Connected.relative_to(7), TcpEvent::Connected);
    }

    #[test]
    fn events_render_as_short_trace_lines() {
        let lines: Vec<String> = [
            TcpEvent::Retransmit {
                seq: 1461,
                len: 1460,
                attempt: 2,
                why: RetransmitReason::Rto,
            },
            TcpEvent::Retransmit {
                seq: 2921,
                len: 1448,
                attempt: 1,
                why: RetransmitReason::SackHole,
            },
            TcpEvent::Recovery {
                cwnd: 14,
                why: RetransmitReason::DupAcks,
            },
            TcpEvent::RtoFired {
                rto: Duration::from_millis(400),
            },
            TcpEvent::Aborted {
                reason: TcpError::TimedOut { retries: 8 },
            },
        ]
        .iter()
        .map(ToString::to_string)
        .collect();
        assert_eq!(
            lines,
            [
                "retransmit seq=1461 len=1460 #2",
                "retransmit seq=2921 len=1448 (sack hole)",
                "fast recovery cwnd=14 (3 dup acks)",
                "rto fired after 400ms",
                "aborted: connection timed out after 8 retransmissions",
            ]
        );
    }

    #[test]
    fn states_use_the_rfc_names() {
        assert_eq!(TcpState::FinWait1.to_string(), "FIN-WAIT-1");
        assert_eq!(TcpState::Established.to_string(), "ESTABLISHED");
    }
}
