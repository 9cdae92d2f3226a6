//! The simulator's download, run on the machine's own Linux TCP.
//!
//! The simulator (`streamlab-netsim`) claims its TCP behaves like Linux's.
//! This crate is how the project checks that claim: it runs the same
//! download with the real `streamlab server` and `streamlab client`, each
//! in a network namespace of its own, joined by a link emulator in user
//! space that applies netsim's own link model. One link model exists, not
//! two: [`Link::transmit`](streamlab_netsim::link::Link::transmit) decides
//! each packet's fate, driven with real elapsed time as its `SimTime` and
//! netsim's `SimRng` seeded with the run's seed. (This kernel has no netem,
//! and netem would be a second model anyway.)
//!
//! ```text
//!  namespace sl-<pid>-<n>-srv               namespace sl-<pid>-<n>-cli
//!  streamlab server 10.99.0.1:2635          streamlab client → 10.99.0.1:2635
//!          │ Linux TCP (CUBIC)                        │ Linux TCP (CUBIC)
//!        tun0 ─ fd ──┐                      ┌── fd ─ tun0
//!                    └─ emulator thread ────┘
//!                       Link per direction: queue, bandwidth, latency,
//!                       jitter, loss; capture and figures at the client side
//! ```
//!
//! # Use
//!
//! ```no_run
//! use std::time::Duration;
//! use streamlab_netsim::link::LinkConfig;
//! use streamlab_testbed::{KernelConfig, KernelRun};
//!
//! let mut config = KernelConfig::new("target/release/streamlab", "music", "ode_to_joy");
//! let link = LinkConfig {
//!     latency: Duration::from_millis(1),
//!     bandwidth: Some(10_000_000),
//!     loss: 0.05,
//!     queue_limit: Duration::from_secs(1),
//!     ..LinkConfig::default()
//! };
//! config.uplink = link.clone();
//! config.downlink = link;
//! config.seed = 1;
//! let outcome = KernelRun::new(config).run()?;
//! println!("{}", serde_json::to_string(&outcome.figures)?);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # What a run does
//!
//! 1. Needs root (namespaces and TUN devices); otherwise
//!    [`TestbedError::NotPermitted`], and nothing is made.
//! 2. Removes `sl-<pid>-*` namespaces whose process is dead, makes two new
//!    ones, and in each: `lo` up, a TUN device `tun0` (MTU 1500, no
//!    offloads), 10.99.0.1/24 (server) or 10.99.0.2/24 (client).
//! 3. Congestion control CUBIC, whatever the host's default: a namespace
//!    other than the first may only default to an algorithm in the host's
//!    `tcp_allowed_congestion_control`, so CUBIC is set on the subnet's
//!    route (`congctl cubic`), which applies to every connection on it.
//!    Everything else keeps Linux's defaults (SACK, timestamps, window
//!    scaling, buffer sizes); [`KernelOutcome`] records them.
//! 4. Starts the emulator thread, the server, waits until it listens, then
//!    the client with `play SONG; wait; quit` and null output.
//! 5. When the client has ended and the link has been quiet for 300 ms,
//!    reads each namespace's `/proc/net/snmp` and `/proc/net/netstat`,
//!    stops everything and removes the namespaces, on every path
//!    (errors, timeouts, panics unwinding, and Ctrl-C through a handler).
//!
//! # The figures ([`RunFigures`], netsim's, the same JSON as `streamlab sim --json`)
//!
//! * `download_s`: the client's `download` request leaving the client, to
//!   the last track byte delivered in order at the client;
//! * `first_audio_s`, `stalls`, `stalled_s`: that in-order progress fed to
//!   netsim's `PlayerModel` with its default settings;
//! * `dropped`: packets the emulated links dropped, both ways;
//! * `retransmitted` (`Tcp:RetransSegs`), `fast_retransmits`
//!   (`TCPFastRetrans`), `timeouts` (`TCPTimeouts`), `loss_probes`
//!   (`TCPLossProbes`), `zero_window_probes` (`TCPWinProbe`): the kernel's
//!   own counters, both namespaces summed;
//! * `bit_exact`: the track reassembled at the client equals the song's PCM.
//!
//! The emulator is a user-space program on a shared machine: it writes
//! each packet a little after its due time. [`KernelOutcome::lateness`]
//! says by how much (p50, p99), so a reader can judge a cell's figures.

#[cfg(target_os = "linux")]
pub mod capture;
pub mod cells;
#[cfg(target_os = "linux")]
pub mod cleanup;
pub mod counters;
pub mod emulator;
pub mod error;
#[cfg(target_os = "linux")]
pub mod netns;
#[cfg(target_os = "linux")]
mod procs;
#[cfg(target_os = "linux")]
mod pump;
#[cfg(target_os = "linux")]
mod run;
#[cfg(target_os = "linux")]
mod tun;
pub mod watch;

use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;
use streamlab_netsim::link::LinkConfig;
use streamlab_proto::Dialect;

#[cfg(target_os = "linux")]
pub use cleanup::cleanup_now;
pub use counters::TcpCounters;
pub use error::TestbedError;
pub use streamlab_netsim::figures::{Engine, Network, RunFigures};

/// Everything a kernel run needs.
#[derive(Debug, Clone)]
pub struct KernelConfig {
    /// Client → server.
    pub uplink: LinkConfig,
    /// Server → client.
    pub downlink: LinkConfig,
    /// Seeds the links' random draws (loss, jitter).
    pub seed: u64,
    /// The song to download, by name (as the server matches names).
    pub song: String,
    /// The folder the server serves.
    pub music: PathBuf,
    pub dialect: Dialect,
    /// The `streamlab` binary (from the CLI: `std::env::current_exe()`).
    pub binary: PathBuf,
    /// Where to write the client-side pcapng, if anywhere.
    pub capture: Option<PathBuf>,
    /// The whole run's bound; past it everything is stopped and removed.
    pub timeout: Duration,
    /// The scenario's name, for the figures (`lossy`: a song over a
    /// link that may lose frames, as `streamlab sim lossy` downloads it).
    pub scenario: String,
    /// The client stops reading at the first time (after connecting) and
    /// reads again at the second, as `slow-reader`'s does.
    pub stop_reading: Option<(Duration, Duration)>,
}

impl KernelConfig {
    /// A run of `song` from `music`, framed dialect, seed 1, netsim's
    /// default link both ways, no capture, a 120 s bound.
    pub fn new(
        binary: impl Into<PathBuf>,
        music: impl Into<PathBuf>,
        song: impl Into<String>,
    ) -> Self {
        KernelConfig {
            uplink: LinkConfig::default(),
            downlink: LinkConfig::default(),
            seed: 1,
            song: song.into(),
            music: music.into(),
            dialect: Dialect::Framed,
            binary: binary.into(),
            capture: None,
            timeout: Duration::from_secs(120),
            scenario: "lossy".into(),
            stop_reading: None,
        }
    }
}

/// One namespace's TCP settings, as the run used them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NamespaceTcp {
    /// What the connections used.
    pub congestion_control: String,
    /// How it was set: `route congctl`, or `sysctl and route`.
    pub congestion_control_by: String,
    /// `net.ipv4.tcp_congestion_control` in the namespace.
    pub namespace_default: String,
    pub sack: bool,
    pub timestamps: bool,
    pub window_scaling: bool,
    /// `net.ipv4.tcp_rmem` / `tcp_wmem`: min, default, max bytes.
    pub rmem: String,
    pub wmem: String,
}

/// How late the emulator wrote packets against their due times.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Lateness {
    pub packets: usize,
    pub p50_us: f64,
    pub p99_us: f64,
    pub max_us: f64,
}

impl Lateness {
    pub(crate) fn of(samples: &emulator::Lateness) -> Lateness {
        let us = |d: Duration| d.as_secs_f64() * 1e6;
        Lateness {
            packets: samples.count(),
            p50_us: us(samples.percentile(50.0)),
            p99_us: us(samples.percentile(99.0)),
            max_us: us(samples.percentile(100.0)),
        }
    }
}

/// What a kernel run measured.
#[derive(Debug, Clone, Serialize)]
pub struct KernelOutcome {
    pub figures: RunFigures,
    pub server_tcp: NamespaceTcp,
    pub client_tcp: NamespaceTcp,
    pub server_counters: TcpCounters,
    pub client_counters: TcpCounters,
    pub lateness: Lateness,
    /// Packets the client → server link dropped: the only drops a capture
    /// at the client shows (each with a comment).
    pub dropped_uplink: u64,
    /// Packets in the capture (0 without one).
    pub captured: u64,
    /// Packets the kernel refused from the emulator (should be 0).
    pub write_errors: u64,
}

/// A kernel run, ready to go. See the [crate docs](crate).
#[derive(Debug, Clone)]
pub struct KernelRun {
    config: KernelConfig,
}

impl KernelRun {
    pub fn new(config: KernelConfig) -> Self {
        KernelRun { config }
    }

    pub fn config(&self) -> &KernelConfig {
        &self.config
    }

    /// Runs the download and returns its figures; removes everything it
    /// made before returning, whatever happened.
    pub fn run(&self) -> Result<KernelOutcome, TestbedError> {
        #[cfg(target_os = "linux")]
        {
            // A run cut short by Ctrl-C fails in whatever step it was in
            // (its children were killed): say why, once the handler is done.
            run::run(&self.config).map_err(|e| {
                if cleanup::interrupted() {
                    TestbedError::Interrupted
                } else {
                    e
                }
            })
        }
        #[cfg(not(target_os = "linux"))]
        {
            Err(TestbedError::Unsupported)
        }
    }
}

/// True if this process may make namespaces and TUN devices.
pub fn permitted() -> bool {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: geteuid cannot fail and touches no memory.
        unsafe { libc::geteuid() == 0 }
    }
    #[cfg(not(target_os = "linux"))]
    {
        false
    }
}
