//! The knobs of one TCP endpoint: segment size, buffer sizes and timers.
//!
//! Each field is a lesson of its own: the MSS decides how a stream is cut
//! into segments, the send buffer decides when `send` takes only part of a
//! write, the receive buffer is the window a slow reader shrinks to zero, and
//! the timer fields shape what a lossy link looks like in a capture.

use std::time::Duration;

/// How one TCP endpoint behaves. Start from [`TcpConfig::default`] and change
/// the fields a scenario is about:
///
/// ```
/// # use std::time::Duration;
/// # use streamlab_netsim::tcp::TcpConfig;
/// let slow_reader = TcpConfig {
///     recv_buffer: 8 * 1024,
///     ..TcpConfig::default()
/// };
/// assert_eq!(slow_reader.mss, 1460);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcpConfig {
    /// The largest payload this endpoint accepts in one segment, announced
    /// in the MSS option of its SYN. It also caps what it sends: segments
    /// carry at most the smaller of this and the peer's MSS. 1460 is what an
    /// Ethernet MTU of 1500 leaves after 20 bytes of IPv4 and 20 of TCP.
    pub mss: u16,
    /// Bytes `send` may hold that the peer has not acknowledged yet. A full
    /// buffer makes `send` take less than it was given (a partial write).
    pub send_buffer: usize,
    /// Bytes received but not yet read by the application. Free space here
    /// is the window advertised to the peer; without window scaling the
    /// header field has 16 bits, so anything above 65535 is not used.
    pub recv_buffer: usize,
    /// The retransmission timeout before any backoff.
    pub initial_rto: Duration,
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
}

impl TcpConfig {
    /// The largest window the 16-bit header field can advertise.
    pub const MAX_WINDOW: usize = u16::MAX as usize;

    /// The receive buffer actually used: `recv_buffer`, capped at
    /// [`TcpConfig::MAX_WINDOW`] (there is no window scaling).
    pub fn recv_capacity(&self) -> usize {
        self.recv_buffer.min(Self::MAX_WINDOW)
    }
}

impl Default for TcpConfig {
    fn default() -> Self {
        TcpConfig {
            mss: 1460,
            send_buffer: 64 * 1024,
            recv_buffer: 64 * 1024,
            initial_rto: Duration::from_millis(200),
            max_rto: Duration::from_secs(60),
            max_retries: 15,
            time_wait: Duration::from_secs(60),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_an_ethernet_host() {
        let c = TcpConfig::default();
        assert_eq!(c.mss, 1460);
        assert_eq!(c.initial_rto, Duration::from_millis(200));
        assert_eq!(c.max_retries, 15);
        assert_eq!(c.time_wait, Duration::from_secs(60));
    }

    #[test]
    fn the_receive_buffer_is_capped_at_the_largest_window() {
        let c = TcpConfig::default();
        assert_eq!(c.recv_capacity(), 65535);
        let small = TcpConfig {
            recv_buffer: 1000,
            ..c
        };
        assert_eq!(small.recv_capacity(), 1000);
    }
}
