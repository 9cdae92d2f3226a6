//! One run's figures, in the shape the simulator reports them, so a kernel
//! run and a simulated one can sit side by side in one table.
//!
//! The field names are those of the simulator's `--json` output (issue 9);
//! once netsim's own figures struct lands, this one gives way to it.

use serde::Serialize;

/// The version of this JSON shape.
pub const SCHEMA: u32 = 1;

/// The link both ways, as configured (the downlink's settings; the
/// testbed's links are symmetric unless the caller says otherwise).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Network {
    pub latency_s: f64,
    pub jitter_s: f64,
    /// `None`: no limit.
    pub bandwidth_bps: Option<u64>,
    pub loss: f64,
    /// The router queue: the longest a packet may wait for the link.
    pub queue_s: f64,
    /// The MSS the MTU allows (1500 − 40); Linux puts 12 bytes of
    /// timestamp option in each segment, so 1448 bytes of data ride in it.
    pub mss: u32,
}

/// The figures of one run. See the crate docs for how each is measured.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunFigures {
    pub schema: u32,
    /// `"kernel"` here; `"sim"` for the simulator.
    pub engine: String,
    /// The TCP: `"linux-cubic"` here.
    pub tcp: String,
    pub scenario: String,
    pub dialect: String,
    pub seed: u64,
    pub song: String,
    pub song_bytes: u64,
    pub network: Network,
    /// Request leaving the client → last track byte in order at the client.
    pub download_s: Option<f64>,
    pub first_audio_s: Option<f64>,
    pub stalls: u64,
    pub stalled_s: f64,
    /// Frames the emulated links dropped, both ways.
    pub dropped: u64,
    /// Segments sent again, both ways (`Tcp:RetransSegs`).
    pub retransmitted: u64,
    pub fast_retransmits: u64,
    pub timeouts: u64,
    pub loss_probes: u64,
    pub zero_window_probes: u64,
    pub bit_exact: bool,
}
