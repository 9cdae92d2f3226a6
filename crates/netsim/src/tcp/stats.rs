//! What an endpoint counted over its life, for reports and the kernel
//! comparison: [`TcpEndpoint::stats`](super::TcpEndpoint::stats).

/// Counters of one endpoint, all from its own point of view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TcpStats {
    /// Data segments (and FINs) sent that had been sent before, for any
    /// reason: what Linux counts as `TCPRetransSegs`. SYNs count too.
    pub retransmitted: u64,
    /// Entries into fast recovery (three duplicate ACKs or SACK holes).
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
