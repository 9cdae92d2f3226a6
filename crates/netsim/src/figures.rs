//! The figures of one download run, as one JSON object: what
//! `streamlab sim SCENARIO --json` prints, for the simulator and for the
//! same scenario run on the machine's own TCP (`--kernel`), so the two can
//! be put side by side. docs/run-json.md is the schema, field by field.
//!
//! ```
//! # use streamlab_netsim::figures::{Engine, RunFigures};
//! let json = r#"{"schema":"streamlab-run/1","engine":"kernel","tcp":"cubic",
//!   "scenario":"lossy","dialect":"framed","seed":1,"song":"ode_to_joy",
//!   "song_bytes":846720,"network":{"latency_s":0.001,"jitter_s":0.0,
//!   "bandwidth_bps":10000000,"loss":0.05,"queue_s":1.0,"mss":1460},
//!   "download_s":1.13,"first_audio_s":0.012,"stalls":0,"stalled_s":0.0,
//!   "dropped":40,"retransmitted":41,"fast_retransmits":30,"timeouts":1,
//!   "loss_probes":3,"zero_window_probes":0,"bit_exact":true}"#;
//! let run: RunFigures = serde_json::from_str(json).unwrap();
//! assert_eq!(run.engine, Engine::Kernel);
//! assert_eq!(run.download_s, Some(1.13));
//! ```

use std::fmt;

use serde::{Deserialize, Serialize};

/// The value of [`RunFigures::schema`]: bumped when a field changes meaning.
pub const SCHEMA: &str = "streamlab-run/1";

/// Which TCP carried the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    /// The simulator's own TCP model.
    Sim,
    /// The machine's Linux TCP, in network namespaces.
    Kernel,
}

/// The network a run crossed (the same both ways).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Network {
    /// One-way delay of each link.
    pub latency_s: f64,
    /// Up to this much extra delay per frame.
    pub jitter_s: f64,
    /// Bits per second; `null`: no limit.
    pub bandwidth_bps: Option<u64>,
    /// Probability that a link loses a frame, each way.
    pub loss: f64,
    /// The longest a frame may wait in the router queue before a link.
    pub queue_s: f64,
    /// The MSS both ends announce.
    pub mss: u16,
}

/// One run's figures. Times are seconds; `null` where the run had no
/// such thing (no download, or no audio ever played).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunFigures {
    /// Always [`SCHEMA`].
    pub schema: String,
    pub engine: Engine,
    /// The TCP model (`gbn`, `newreno`, `linux`) or, on the kernel, its
    /// congestion control (`cubic`).
    pub tcp: String,
    pub scenario: String,
    pub dialect: String,
    pub seed: u64,
    /// The song downloaded, and its audio bytes.
    pub song: Option<String>,
    pub song_bytes: Option<u64>,
    pub network: Network,
    /// From the client's `download` request leaving to the last track byte
    /// delivered in order.
    pub download_s: Option<f64>,
    /// From the request to the first sound of a player with a 200 ms
    /// prebuffer.
    pub first_audio_s: Option<f64>,
    /// Times the player's buffer ran dry, and how long it was silent.
    pub stalls: Option<u32>,
    pub stalled_s: Option<f64>,
    /// Frames the links dropped, both ways.
    pub dropped: u64,
    /// Data segments sent again, both ways.
    pub retransmitted: u64,
    /// Segments resent in fast recovery, without waiting for a timeout (as
    /// Linux counts `TCPFastRetrans`: per segment, not per episode).
    pub fast_retransmits: u64,
    /// Retransmission timeouts.
    pub timeouts: u64,
    /// Tail-loss probes.
    pub loss_probes: u64,
    /// Probes of a zero window.
    pub zero_window_probes: u64,
    /// The client got exactly the served song's audio.
    pub bit_exact: Option<bool>,
}

/// The figures in words, a few lines: what `streamlab sim --kernel`
/// prints, and what a reader compares with the simulator's summary.
impl fmt::Display for RunFigures {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = |s: Option<f64>| s.map_or("-".to_string(), |s| format!("{s:.3} s"));
        writeln!(
            f,
            "download: {} from the request to the last byte in order; first audio after {}; \
             {} stall(s), {} silent",
            secs(self.download_s),
            secs(self.first_audio_s),
            self.stalls.map_or("-".to_string(), |n| n.to_string()),
            secs(self.stalled_s),
        )?;
        writeln!(
            f,
            "wire: {} dropped, {} retransmitted ({} in fast recovery, {} timeout(s), \
             {} loss probe(s)), {} zero-window probe(s)",
            self.dropped,
            self.retransmitted,
            self.fast_retransmits,
            self.timeouts,
            self.loss_probes,
            self.zero_window_probes
        )?;
        if let (Some(song), Some(bytes)) = (&self.song, self.song_bytes) {
            let verdict = match self.bit_exact {
                Some(true) => "identical to the served song",
                Some(false) => "NOT identical to the served song",
                None => "not compared",
            };
            writeln!(f, "track {song}: {bytes} B, {verdict}")?;
        }
        Ok(())
    }
}

/// Seconds as a JSON number, rounded to the microsecond so the output
/// reads well and stays the same on every machine.
pub fn seconds(d: std::time::Duration) -> f64 {
    (d.as_micros() as f64) / 1e6
}
