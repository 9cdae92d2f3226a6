//! Named scenarios: simulations set up to tell one story each, as
//! `streamlab sim SCENARIO` runs them and the labs use them.
//!
//! | scenario      | the story |
//! |---------------|-----------|
//! | `report`      | the original report's capture: `lista`, `RV\nVL\n`, `quit`, `goodbye` |
//! | `framing`     | TCP glues and splits messages: the original dialect breaks, the framed one holds |
//! | `lossy`       | a song over links that lose frames: retransmissions deliver it bit-exact |
//! | `slow-reader` | the client stops reading: zero window, window probes, recovery |
//! | `starved`     | less bandwidth than the song's bitrate: playback stalls |
//!
//! Each scenario has its own network; [`Options`] overrides any of its
//! knobs (latency, jitter, bandwidth, loss, duplication, reordering, MSS,
//! dialect, router queue, song, TCP model), and the seed
//! decides everything random. [`Scenario::build`] gives one [`Run`] per
//! dialect the scenario compares; [`Run::summary`] says what happened.

mod experiment;
mod figures;
mod stories;
mod summary;

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use streamlab_proto::{Dialect, PcmFormat, Track};

use crate::sim::{Sim, SimConfig};
use crate::tcp::TcpFlavor;

pub use experiment::{
    experiment, experiment_csv, experiment_runs, experiment_table, mathis_runs, mathis_table,
};
pub use summary::{link_text, marker_frames, stream_bytes, MarkerFrames};

/// `slow-reader`: when the client stops reading, and when it reads again
/// (from the start of the run). The kernel testbed's client pauses alike.
pub const SLOW_READER_PAUSE: (Duration, Duration) =
    (Duration::from_millis(50), Duration::from_millis(1_500));

/// The scenarios, in the order `streamlab sim --help` lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Scenario {
    Report,
    Framing,
    Lossy,
    SlowReader,
    Starved,
}

impl Scenario {
    pub const ALL: [Scenario; 5] = [
        Scenario::Report,
        Scenario::Framing,
        Scenario::Lossy,
        Scenario::SlowReader,
        Scenario::Starved,
    ];

    /// The name on the command line and in file names.
    pub fn name(self) -> &'static str {
        match self {
            Scenario::Report => "report",
            Scenario::Framing => "framing",
            Scenario::Lossy => "lossy",
            Scenario::SlowReader => "slow-reader",
            Scenario::Starved => "starved",
        }
    }

    /// One line on what it shows.
    pub fn about(self) -> &'static str {
        match self {
            Scenario::Report => "the original report's capture: lista, RV/VL, quit, goodbye",
            Scenario::Framing => {
                "TCP glues and splits messages: the original dialect breaks, the framed one holds"
            }
            Scenario::Lossy => "a song over lossy links, delivered bit-exact by retransmissions",
            Scenario::SlowReader => "a client that stops reading: zero window, probes, recovery",
            Scenario::Starved => "less bandwidth than the song's bitrate: playback stalls",
        }
    }

    /// The dialects it runs when none is asked for.
    pub fn default_dialects(self) -> &'static [Dialect] {
        match self {
            Scenario::Report => &[Dialect::Original],
            Scenario::Framing => &[Dialect::Original, Dialect::Framed],
            Scenario::Lossy | Scenario::SlowReader | Scenario::Starved => &[Dialect::Framed],
        }
    }

    /// True for the scenarios whose story is one download, which may be
    /// any song ([`Options::song`]). `report` has no download and
    /// `framing` sizes its song so that the end marker splits.
    pub fn takes_song(self) -> bool {
        matches!(
            self,
            Scenario::Lossy | Scenario::SlowReader | Scenario::Starved
        )
    }

    /// The runs of this scenario: one per dialect ([`Options::dialect`],
    /// or [`Scenario::default_dialects`]).
    pub fn build(self, options: &Options) -> Vec<Run> {
        let dialects = match options.dialect {
            Some(d) => vec![d],
            None => self.default_dialects().to_vec(),
        };
        dialects
            .into_iter()
            .map(|dialect| stories::build(self, dialect, options))
            .collect()
    }
}

impl fmt::Display for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Scenario {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Scenario::ALL
            .into_iter()
            .find(|sc| sc.name() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = Scenario::ALL.iter().map(|sc| sc.name()).collect();
                format!("no scenario '{s}' (try one of: {})", names.join(", "))
            })
    }
}

/// The knobs a user may turn; `None` keeps the scenario's own value.
/// Link settings apply to both directions.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub seed: u64,
    pub latency: Option<Duration>,
    pub jitter: Option<Duration>,
    /// Bits per second.
    pub bandwidth: Option<u64>,
    /// Probability of losing a frame, 0 to 1.
    pub loss: Option<f64>,
    /// Probability that a frame arrives twice.
    pub duplicate: Option<f64>,
    /// Probability that a frame is held back (5 ms) and overtaken.
    pub reorder: Option<f64>,
    pub mss: Option<u16>,
    pub dialect: Option<Dialect>,
    /// The longest a frame may wait in the router queue in front of each
    /// link before it is dropped.
    pub queue: Option<Duration>,
    /// The song to download, in place of the scenario's own (a pattern of
    /// bytes sized for its story). Only the download scenarios (`lossy`,
    /// `slow-reader`, `starved`) take one: see [`Scenario::takes_song`].
    pub song: Option<Track>,
    /// The TCP model both ends run; `None` keeps the default
    /// ([`TcpFlavor::Linux`]).
    pub tcp: Option<TcpFlavor>,
    /// The server's silence after each control message in the original
    /// dialect (`streamlab server --pause-ms`); `None` keeps the
    /// scenario's own (50 ms, or none in `framing`, whose server writes
    /// back to back).
    pub pause: Option<Duration>,
}

impl Options {
    pub fn new(seed: u64) -> Self {
        Options {
            seed,
            ..Options::default()
        }
    }

    /// Puts the user's knobs over a scenario's network.
    fn apply(&self, config: &mut SimConfig) {
        for link in [&mut config.uplink, &mut config.downlink] {
            if let Some(l) = self.latency {
                link.latency = l;
            }
            if let Some(j) = self.jitter {
                link.jitter = j;
            }
            if let Some(b) = self.bandwidth {
                link.bandwidth = Some(b);
            }
            if let Some(p) = self.loss {
                link.loss = p;
            }
            if let Some(p) = self.duplicate {
                link.duplicate = p;
            }
            if let Some(p) = self.reorder {
                link.reorder = p;
            }
            if let Some(q) = self.queue {
                link.queue_limit = q;
            }
        }
        if let Some(flavor) = self.tcp {
            config.client_tcp = flavor.config();
            config.server_tcp = flavor.config();
        }
        if let Some(mss) = self.mss {
            config.client_tcp.mss = mss;
            config.server_tcp.mss = mss;
        }
    }
}

/// One simulation of a scenario, with what it needs to judge the outcome.
pub struct Run {
    pub scenario: Scenario,
    pub dialect: Dialect,
    pub sim: Sim,
    /// The song the client asks for, as the server holds it.
    pub song: Option<Track>,
}

impl Run {
    /// A name for this run's files: `framing-original`, or just the
    /// scenario's name when it runs one dialect by default.
    pub fn label(&self) -> String {
        if self.scenario.default_dialects().len() > 1 {
            format!("{}-{}", self.scenario.name(), self.dialect)
        } else {
            self.scenario.name().to_string()
        }
    }
}

/// The `lossy` scenario with a song of your own (the demo uses a bundled
/// one), in the framed dialect unless the options say otherwise.
pub fn lossy_with(options: &Options, song: Track) -> Run {
    let dialect = options.dialect.unwrap_or(Dialect::Framed);
    let sim = stories::lossy(SimConfig::new(options.seed), options, &song, dialect);
    Run {
        scenario: Scenario::Lossy,
        dialect,
        sim,
        song: Some(song),
    }
}

/// A tiny CD-format track of silence: only its name matters.
pub fn synthetic_track(name: &str) -> Track {
    Track {
        name: name.to_string(),
        format: PcmFormat::CD,
        // 16 frames of 4 bytes (stereo, 16-bit).
        pcm: Arc::from(vec![0u8; 64]),
    }
}

/// A CD-format track of `len` bytes of a pattern that no shifted or
/// repeated piece matches, so a misplaced byte shows.
pub fn patterned_track(name: &str, len: usize) -> Track {
    let pcm: Vec<u8> = (0..len)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761).rotate_left(7) as u8)
        .collect();
    Track {
        name: name.to_string(),
        format: PcmFormat::CD,
        pcm: Arc::from(pcm),
    }
}
