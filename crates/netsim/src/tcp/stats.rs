//! What an endpoint counted over its life, for reports and the kernel
//! comparison: [`TcpEndpoint::stats`](super::TcpEndpoint::stats).

/// Counters of one endpoint, all from its own point of view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TcpStats {
    /// Data segments (and FINs) sent that had been sent before, for any
    /// reason: what Linux counts as `TCPRetransSegs`. SYNs count too.
    pub retransmitted: u64,
    /// Segments resent in fast recovery (entered on three duplicate ACKs
    /// or a SACK hole), as Linux counts `TCPFastRetrans`: one per segment,
    /// not one per recovery episode.
    pub fast_retransmits: u64,
    /// Retransmission timeouts that fired.
    pub timeouts: u64,
    /// Tail-loss probes sent.
    pub tail_loss_probes: u64,
    /// Zero-window probes sent.
    pub zero_window_probes: u64,
    /// Segments sent, of any kind.
    pub segments_sent: u64,
    /// Data bytes sent, first copies and retransmissions.
    pub bytes_sent: u64,
}

/// Both endpoints' counters together, as the kernel testbed sums its two
/// namespaces'.
impl std::ops::Add for TcpStats {
    type Output = TcpStats;

    fn add(self, o: TcpStats) -> TcpStats {
        TcpStats {
            retransmitted: self.retransmitted + o.retransmitted,
            fast_retransmits: self.fast_retransmits + o.fast_retransmits,
            timeouts: self.timeouts + o.timeouts,
            tail_loss_probes: self.tail_loss_probes + o.tail_loss_probes,
            zero_window_probes: self.zero_window_probes + o.zero_window_probes,
            segments_sent: self.segments_sent + o.segments_sent,
            bytes_sent: self.bytes_sent + o.bytes_sent,
        }
    }
}
