//! `streamlab sim`: run a named simulated scenario, print what happened,
//! and write the capture for Wireshark.
//!
//! The scenarios live in `streamlab_netsim::scenario`; this file turns the
//! command line into their [`Options`] and prints their summaries.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use streamlab_course::{Student, Variant};
use streamlab_netsim::pcapng::PcapngError;
use streamlab_netsim::scenario::{self, Options, Run, Scenario};
use streamlab_netsim::sim::{CapturePoint, SimError};
use streamlab_netsim::tcp::TcpFlavor;
use streamlab_proto::Dialect;

use crate::values::{bandwidth, duration};

mod kernel;
mod plot;

/// The scenarios `streamlab sim` knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ScenarioArg {
    /// The original report's capture: lista, RV/VL, quit, goodbye.
    Report,
    /// TCP glues and splits messages: the original dialect breaks, the
    /// framed one holds (runs both unless --dialect).
    Framing,
    /// A 60 kB song over links losing 5% of frames (see --loss),
    /// delivered bit-exact by retransmissions.
    Lossy,
    /// The client stops reading for 1.45 s: zero window, window probes,
    /// recovery.
    SlowReader,
    /// 1 Mbit/s for a 1.4 Mbit/s song: playback stalls, counted and timed.
    Starved,
    /// Lab 4's table: the starved download over a grid of bandwidths and
    /// loss rates (only --seed and --tcp apply).
    Experiment,
}

impl From<ScenarioArg> for Scenario {
    fn from(s: ScenarioArg) -> Self {
        match s {
            ScenarioArg::Report => Scenario::Report,
            ScenarioArg::Framing => Scenario::Framing,
            ScenarioArg::Lossy => Scenario::Lossy,
            ScenarioArg::SlowReader => Scenario::SlowReader,
            ScenarioArg::Starved => Scenario::Starved,
            // Not a scenario of its own: `run` handles it first.
            ScenarioArg::Experiment => Scenario::Starved,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CaptureAtArg {
    Client,
    Server,
    Both,
}

impl From<CaptureAtArg> for CapturePoint {
    fn from(c: CaptureAtArg) -> Self {
        match c {
            CaptureAtArg::Client => CapturePoint::Client,
            CaptureAtArg::Server => CapturePoint::Server,
            CaptureAtArg::Both => CapturePoint::Both,
        }
    }
}

/// The experiment's grids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GridArg {
    /// Lab 4's table: the starved download over 0.5–10 Mbit/s × 0/1/5%
    /// loss, 10 ms.
    Bandwidth,
    /// A 4 MB download over 100 Mbit/s, RTT 10–100 ms × loss 0.5–5%: fit
    /// the Mathis relation (throughput against loss and round trip).
    Mathis,
}

/// The simulator's TCP models.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TcpArg {
    /// Go-back-N after a fixed 200 ms timeout, no congestion control: the
    /// first teaching model, kept as a contrast.
    Gbn,
    /// RFC 6298 timers, slow start from 10 segments, NewReno recovery on
    /// three duplicate ACKs, no SACK.
    Newreno,
    /// Linux's defaults (the default): CUBIC, SACK, delayed ACKs, window
    /// scaling, timestamps, tail-loss probes, 0-byte window probes.
    Linux,
}

impl From<TcpArg> for TcpFlavor {
    fn from(t: TcpArg) -> Self {
        match t {
            TcpArg::Gbn => TcpFlavor::Gbn,
            TcpArg::Newreno => TcpFlavor::NewReno,
            TcpArg::Linux => TcpFlavor::Linux,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DialectArg {
    Original,
    Framed,
}

#[derive(Debug, Args)]
// `--seed -1` is a value out of range, not an unknown flag `-1` (and
// the knobs with units take values starting with `-` for the same reason).
#[command(allow_negative_numbers = true)]
pub struct SimArgs {
    /// Which story to run.
    #[arg(value_enum)]
    pub scenario: ScenarioArg,
    /// The seed: the same seed gives the same run, byte for byte.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// A student's ID (a matriculation number): run that student's variant
    /// of the lab — their own seed, and the lab's knob (starved's
    /// bandwidth, lossy's loss, framing's MSS) unless set by hand — so two
    /// students get different numbers and one always the same.
    #[arg(long, value_name = "ID", conflicts_with = "seed")]
    pub student: Option<String>,
    /// One-way delay of each link, e.g. 10ms, 0.5s, 250us [scenario's own].
    #[arg(long, value_parser = duration, allow_hyphen_values = true)]
    pub latency: Option<Duration>,
    /// Up to this much extra random delay per frame (frames may overtake).
    #[arg(long, value_parser = duration, allow_hyphen_values = true)]
    pub jitter: Option<Duration>,
    /// Link speed in bits per second, e.g. 1M, 512k, 100M.
    #[arg(long, value_parser = bandwidth, allow_hyphen_values = true)]
    pub bandwidth: Option<u64>,
    /// The probability that a link loses a frame, each way: 0.05 or 5% (at
    /// most 0.9).
    #[arg(long, value_parser = probability, allow_hyphen_values = true)]
    pub loss: Option<f64>,
    /// The probability that a frame arrives twice (0 to 0.9).
    #[arg(long, value_parser = probability, allow_hyphen_values = true)]
    pub duplicate: Option<f64>,
    /// The probability that a frame is held back 5 ms, so later ones
    /// overtake it (0 to 0.9).
    #[arg(long, value_parser = probability, allow_hyphen_values = true)]
    pub reorder: Option<f64>,
    /// Maximum segment size, both ends (48 to 9000 bytes; 48 is the least
    /// Linux accepts).
    #[arg(long, value_parser = clap::value_parser!(u16).range(48..=9000))]
    pub mss: Option<u16>,
    /// Original dialect: the server's milliseconds of silence after each
    /// control message, as `streamlab server --pause-ms` [scenario's own:
    /// 50, or 0 in framing].
    #[arg(long, value_parser = clap::value_parser!(u64).range(0..=10_000))]
    pub pause_ms: Option<u64>,
    /// Run in this dialect only.
    #[arg(long, value_enum)]
    pub dialect: Option<DialectArg>,
    /// The longest a frame may wait in the router queue before each link,
    /// e.g. 1s, 200ms; a frame that would wait longer is dropped
    /// [scenario's own].
    #[arg(long, value_parser = duration, allow_hyphen_values = true)]
    pub queue: Option<Duration>,
    /// Download this song (lossy, slow-reader, starved), from --music or
    /// the bundled music/ folder, instead of the scenario's own bytes.
    #[arg(long)]
    pub song: Option<String>,
    /// The folder --song is read from [default: the bundled music/].
    #[arg(long, requires = "song")]
    pub music: Option<PathBuf>,
    /// Print each run's figures as one JSON object per line (schema:
    /// docs/run-json.md) instead of the summary.
    #[arg(long, conflicts_with = "csv")]
    pub json: bool,
    /// The experiment only: print its rows as CSV.
    #[arg(long)]
    pub csv: bool,
    /// Write the capture here (pcapng, opens in Wireshark); a scenario with
    /// two runs writes NAME-original.pcapng and NAME-framed.pcapng.
    #[arg(long)]
    pub pcap: Option<PathBuf>,
    /// Draw the run as SVG: for a scenario, PATH is a folder that gets one
    /// panel per run (LABEL.svg: the time-sequence graph, the congestion
    /// window, the receive window and the player's buffer on one time
    /// axis); for the experiment, PATH is the file for its two graphs
    /// (stall time and download time against bandwidth, a line per loss).
    #[arg(long, value_name = "PATH")]
    pub plot: Option<PathBuf>,
    /// Print the trace table (every segment, drop and application event).
    #[arg(long)]
    pub trace: bool,
    /// Where the capture is taken: the client's interface (where a
    /// student's Wireshark runs), the server's, or both as two interfaces
    /// of one file.
    #[arg(long, value_enum, default_value_t = CaptureAtArg::Client)]
    pub capture_at: CaptureAtArg,
    /// The simulator's TCP model, both ends [default: linux].
    #[arg(long, value_enum)]
    pub tcp: Option<TcpArg>,
    /// The experiment only: which grid to run.
    #[arg(long, value_enum)]
    pub grid: Option<GridArg>,
    /// Run the download (lossy, starved, slow-reader) on this machine's own Linux TCP
    /// instead: the real server and client in network namespaces, joined by
    /// the same link model in user space. Needs root; see docs/kernel.md.
    #[arg(long)]
    pub kernel: bool,
}

/// The most events one run may take. The scenarios need a few thousand;
/// a tiny MSS with heavy loss can need millions (the gbn model resends a
/// whole window after each timeout), and every segment is kept for the trace and
/// the capture, so the bound also bounds memory (about 300 MB).
const MAX_EVENTS: usize = 1_000_000;

pub fn run(args: SimArgs) -> Result<()> {
    if args.scenario == ScenarioArg::Experiment {
        return experiment(&args);
    }
    let scenario = Scenario::from(args.scenario);
    if args.csv || args.grid.is_some() {
        anyhow::bail!("--csv and --grid are for the experiment; a scenario takes --json");
    }
    if args.song.is_some() && !scenario.takes_song() {
        anyhow::bail!(
            "{scenario} has no song to replace (--song is for lossy, slow-reader and starved)"
        );
    }
    let mut options = options(&args)?;
    if let Some(v) = student(&args)? {
        options = v.sim_options(scenario, options);
        if args.json {
            eprintln!("{}", v.describe(scenario));
        } else {
            println!("{}", v.describe(scenario));
        }
    }
    let mut runs = scenario.build(&options);
    if let Some(dir) = &args.plot {
        if args.kernel {
            anyhow::bail!("--plot draws simulated runs; for a --kernel run, give its --pcap to `streamlab analyze --plot`");
        }
        crate::graphs::make_dir(dir)?;
        for run in &mut runs {
            run.sim.record_windows();
        }
    }
    if args.kernel {
        return match runs.first() {
            Some(run) => kernel::run_on_kernel(&args, scenario, run),
            None => anyhow::bail!("{scenario} has no run to put on the kernel"),
        };
    }
    // Every capture file is created before anything runs: a path that
    // cannot be written fails at once, not after the whole simulation.
    let mut captures = Captures::create(args.pcap.as_deref(), &runs)?;
    for (i, mut run) in runs.into_iter().enumerate() {
        if let Err(e) = run.sim.run_until_idle(MAX_EVENTS) {
            tracing::debug!("{e}");
            let why = match e {
                SimError::Bound { .. } => format!(
                    "more than {MAX_EVENTS} events: this network needs too many segments \
                     (a small --mss with loss resends whole windows); try a larger --mss or \
                     less --loss"
                ),
                SimError::Stuck { .. } => "the connection never finished: one side gave up \
                     after 15 retransmissions in a row (try less --loss); -v shows both \
                     endpoints"
                    .to_string(),
                other => other.to_string(),
            };
            captures.discard();
            anyhow::bail!(
                "simulating {scenario} in the {} dialect: {why} (replay: {})",
                run.dialect,
                replay(&args)
            );
        }
        if args.json {
            println!("{}", serde_json::to_string(&run.figures())?);
        } else {
            if i > 0 {
                println!();
            }
            if args.trace {
                print!("{}", run.sim.trace_numbered(args.capture_at.into()));
            }
            print!("{}", run.summary());
        }
        if let Some(dir) = &args.plot {
            let path =
                plot::draw_run(&run, dir).with_context(|| format!("drawing {}", run.label()))?;
            if args.json {
                eprintln!("plot written to {} (open it in a browser)", path.display());
            } else {
                println!("plot written to {} (open it in a browser)", path.display());
            }
        }
        if let Some((path, file)) = captures.take(i) {
            let written = run
                .sim
                .write_pcapng_at(args.capture_at.into(), std::io::BufWriter::new(file))
                .and_then(|w| {
                    w.into_inner()
                        .map_err(|e| PcapngError::Io(e.into_error()).into())
                });
            if let Err(e) = written {
                captures.discard();
                let _ = std::fs::remove_file(&path);
                return Err(e).with_context(|| format!("writing {}", path.display()));
            }
            if !args.json {
                println!(
                    "capture written to {} (open it in Wireshark)",
                    path.display()
                );
            }
        }
    }
    Ok(())
}

/// The capture files of a run of `streamlab sim`, created (empty) before
/// the simulation starts, one per dialect run.
struct Captures {
    files: Vec<Option<(PathBuf, File)>>,
}

impl Captures {
    /// Creates the file for each run, or none without `--pcap`. A file that
    /// cannot be created is an error naming it; those created before it are
    /// removed again.
    fn create(pcap: Option<&Path>, runs: &[Run]) -> Result<Captures> {
        let mut captures = Captures { files: Vec::new() };
        let Some(pcap) = pcap else {
            return Ok(captures);
        };
        let several = runs.len() > 1;
        for run in runs {
            let path = capture_path(pcap, run, several);
            match File::create(&path) {
                Ok(file) => captures.files.push(Some((path, file))),
                Err(e) => {
                    captures.discard();
                    anyhow::bail!("cannot write the capture {}: {e}", path.display());
                }
            }
        }
        Ok(captures)
    }

    /// The file for run `i`, to be written now.
    fn take(&mut self, i: usize) -> Option<(PathBuf, File)> {
        self.files.get_mut(i).and_then(Option::take)
    }

    /// Removes the files not yet written: a failed run leaves no empty
    /// capture behind.
    fn discard(&mut self) {
        for (path, file) in self.files.drain(..).flatten() {
            drop(file);
            let _ = std::fs::remove_file(path);
        }
    }
}

/// `streamlab sim experiment`: the grid of lab 4.
fn experiment(args: &SimArgs) -> Result<()> {
    let knobs = [
        args.latency.is_some(),
        args.jitter.is_some(),
        args.bandwidth.is_some(),
        args.loss.is_some(),
        args.duplicate.is_some(),
        args.reorder.is_some(),
        args.mss.is_some(),
        args.pause_ms.is_some(),
        args.dialect.is_some(),
        args.pcap.is_some(),
        args.trace,
        args.queue.is_some(),
        args.song.is_some(),
        args.capture_at != CaptureAtArg::Client,
        args.kernel,
    ];
    if knobs.iter().any(|&k| k) {
        anyhow::bail!(
            "the experiment sets its own networks: only --seed (or --student), --tcp, --grid, --json, \
             --csv and --plot apply to it"
        );
    }
    let tcp = args.tcp.map(TcpFlavor::from).unwrap_or_default();
    let grid = args.grid.unwrap_or(GridArg::Bandwidth);
    let seed = match student(args)? {
        Some(v) => {
            let seed = v.seed("experiment");
            eprintln!("student {}: seed {seed}", v.student);
            seed
        }
        None => args.seed,
    };
    if args.plot.is_some() && grid == GridArg::Mathis {
        anyhow::bail!("--plot draws the bandwidth grid; the Mathis grid is a table (try --csv)");
    }
    let runs = match grid {
        GridArg::Bandwidth => scenario::experiment_runs(seed, tcp),
        GridArg::Mathis => scenario::mathis_runs(seed, tcp),
    }
    .with_context(|| {
        format!(
            "running the experiment (replay: streamlab sim experiment --seed {seed} --tcp {tcp})"
        )
    })?;
    if args.json {
        for run in &runs {
            println!("{}", serde_json::to_string(run)?);
        }
    } else if args.csv {
        print!("{}", scenario::experiment_csv(&runs));
    } else if grid == GridArg::Mathis {
        print!("{}", scenario::mathis_table(seed, &runs));
    } else {
        print!("{}", scenario::experiment_table(seed, &runs));
    }
    if let Some(path) = &args.plot {
        plot::draw_experiment(&runs, seed, path)
            .with_context(|| format!("drawing the experiment into {}", path.display()))?;
        eprintln!("plot written to {} (open it in a browser)", path.display());
    }
    Ok(())
}

/// The student's variant, if `--student` names one.
fn student(args: &SimArgs) -> Result<Option<Variant>> {
    Ok(args
        .student
        .as_deref()
        .map(Student::new)
        .transpose()?
        .map(Variant::new))
}

fn options(args: &SimArgs) -> Result<Options> {
    let song = match &args.song {
        Some(name) => {
            let library = crate::music::load_library(args.music.as_deref())?;
            let song = library.find(name).with_context(|| {
                format!(
                    "no song named '{name}' in {} (it has: {})",
                    library.dir().display(),
                    library.names().join(", ")
                )
            })?;
            Some(song.track()?)
        }
        None => None,
    };
    Ok(Options {
        seed: args.seed,
        latency: args.latency,
        jitter: args.jitter,
        bandwidth: args.bandwidth,
        loss: args.loss,
        duplicate: args.duplicate,
        reorder: args.reorder,
        mss: args.mss,
        dialect: args.dialect.map(|d| match d {
            DialectArg::Original => Dialect::Original,
            DialectArg::Framed => Dialect::Framed,
        }),
        queue: args.queue,
        song,
        tcp: args.tcp.map(TcpFlavor::from),
        pause: args.pause_ms.map(Duration::from_millis),
    })
}

/// `out.pcapng`, or `out-original.pcapng` when a scenario runs twice.
fn capture_path(path: &Path, run: &Run, several: bool) -> PathBuf {
    if !several {
        return path.to_path_buf();
    }
    let stem = path.file_stem().unwrap_or_default().to_string_lossy();
    let name = match path.extension() {
        Some(ext) => format!("{stem}-{}.{}", run.dialect, ext.to_string_lossy()),
        None => format!("{stem}-{}", run.dialect),
    };
    path.with_file_name(name)
}

/// The command that replays a run: the same scenario, seed and knobs.
fn replay(args: &SimArgs) -> String {
    let mut cmd = match &args.student {
        Some(id) => format!(
            "streamlab sim {} --student {id}",
            Scenario::from(args.scenario)
        ),
        None => format!(
            "streamlab sim {} --seed {}",
            Scenario::from(args.scenario),
            args.seed
        ),
    };
    if args.capture_at != CaptureAtArg::Client {
        cmd += &format!(" --capture-at {}", CapturePoint::from(args.capture_at));
    }
    let mut flag = |name: &str, value: Option<String>| {
        if let Some(v) = value {
            cmd += &format!(" --{name} {v}");
        }
    };
    flag(
        "latency",
        args.latency.map(|d| format!("{}us", d.as_micros())),
    );
    flag(
        "jitter",
        args.jitter.map(|d| format!("{}us", d.as_micros())),
    );
    flag("bandwidth", args.bandwidth.map(|b| b.to_string()));
    flag("loss", args.loss.map(|p| p.to_string()));
    flag("duplicate", args.duplicate.map(|p| p.to_string()));
    flag("reorder", args.reorder.map(|p| p.to_string()));
    flag("mss", args.mss.map(|m| m.to_string()));
    flag("pause-ms", args.pause_ms.map(|m| m.to_string()));
    flag("queue", args.queue.map(|d| format!("{}us", d.as_micros())));
    flag(
        "tcp",
        args.tcp
            .and_then(|t| t.to_possible_value())
            .map(|v| v.get_name().to_string()),
    );
    flag("song", args.song.clone());
    flag(
        "music",
        args.music.as_ref().map(|p| p.display().to_string()),
    );
    flag(
        "dialect",
        args.dialect
            .and_then(|d| d.to_possible_value())
            .map(|v| v.get_name().to_string()),
    );
    cmd
}

/// `0.05` or `5%`: at most 0.9 (90%).
fn probability(text: &str) -> Result<f64, String> {
    let t = text.trim();
    let parsed = match t.strip_suffix('%') {
        Some(percent) => percent.trim().parse::<f64>().map(|p| p / 100.0),
        None => t.parse::<f64>(),
    };
    match parsed {
        Ok(p) if (0.0..=0.9).contains(&p) => Ok(p),
        _ => Err(format!(
            "'{text}' is not a probability between 0 and 0.9 (like 0.05 or 5%)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probabilities_take_a_fraction_or_a_percentage() {
        assert_eq!(probability("0.05"), Ok(0.05));
        assert_eq!(probability("5%"), Ok(0.05));
        assert_eq!(probability("0%"), Ok(0.0));
        assert_eq!(probability("90%"), Ok(0.9));
        for bad in ["", "5", "91%", "-1%", "%", "five%", "NaN"] {
            assert!(probability(bad).is_err(), "{bad:?}");
        }
    }
}
