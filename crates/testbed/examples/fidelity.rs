//! The fidelity grid: the same download on the simulator's TCP models and
//! on the machine's own Linux TCP, cell by cell, and a Markdown table of
//! the means (docs/fidelity.md holds one).
//!
//! ```text
//! cargo build --release --workspace --bins --examples
//! sudo target/release/examples/fidelity --seeds 1-3 --json grid.jsonl > table.md
//! ```
//!
//! The grid is latency 1/10/50 ms × bandwidth 1M/10M/100M × loss 0/1/5%,
//! a 1 s router queue, both ways alike, unless `--cell` names cells
//! (`LATENCY,BANDWIDTH,LOSS[,QUEUE]`, e.g. `1ms,10M,5%`). Without root the kernel
//! column is left out and the table says so.

use std::fmt::Write as _;
use std::fs::File;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use streamlab_audio::Library;
use streamlab_netsim::figures::RunFigures;
use streamlab_netsim::link::LinkConfig;
use streamlab_netsim::tcp::TcpFlavor;
use streamlab_testbed::cells::{
    cell_label, exit_code, parse_cell, parse_seeds, simulate, workspace_paths, DEFAULT_QUEUE,
};
use streamlab_testbed::{KernelConfig, KernelRun};

#[derive(Parser)]
struct Args {
    /// The streamlab binary [default: target/release/streamlab].
    #[arg(long)]
    binary: Option<PathBuf>,
    /// The music folder [default: the workspace's music/].
    #[arg(long)]
    music: Option<PathBuf>,
    #[arg(long, default_value = "ode_to_joy")]
    song: String,
    /// LATENCY,BANDWIDTH,LOSS[,QUEUE] (repeatable) [default: the 27-cell grid].
    #[arg(long = "cell")]
    cells: Vec<String>,
    /// Seeds: N or A-B.
    #[arg(long, default_value = "1-3")]
    seeds: String,
    /// Also write every run's figures here, one JSON object per line.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Leave out the kernel runs (the simulator's columns only).
    #[arg(long)]
    no_kernel: bool,
}

fn main() -> ExitCode {
    exit_code("fidelity", run(&Args::parse()))
}

fn run(args: &Args) -> Result<(), Box<dyn std::error::Error>> {
    let (binary, music) = workspace_paths(args.binary.clone(), args.music.clone());
    let library = Library::scan(&music)?;
    let song = library
        .find(&args.song)
        .ok_or_else(|| format!("no song {:?} in {}", args.song, music.display()))?
        .track()?;
    let seeds = parse_seeds(&args.seeds)?;
    let cells = if args.cells.is_empty() {
        grid()
    } else {
        args.cells
            .iter()
            .map(|c| parse_cell(c))
            .collect::<Result<_, _>>()?
    };
    let kernel = !args.no_kernel && streamlab_testbed::permitted();
    if !args.no_kernel && !kernel {
        eprintln!("fidelity: not root, so no kernel runs (the simulator's columns only)");
    }
    let mut json = match &args.json {
        Some(p) => Some(File::create(p).map_err(|e| format!("{}: {e}", p.display()))?),
        None => None,
    };
    let mut table = String::new();
    let _ = writeln!(
        table,
        "| cell | download s: linux sim | kernel | gbn sim | linux/kernel | \
         retransmitted: linux sim | kernel | gbn sim | dropped: sim | kernel |"
    );
    let _ = writeln!(table, "|---|---|---|---|---|---|---|---|---|---|");
    for (n, cell) in cells.iter().enumerate() {
        eprintln!("[{}/{}] {}", n + 1, cells.len(), cell_label(cell));
        let mut linux = Vec::new();
        let mut gbn = Vec::new();
        let mut kern = Vec::new();
        for &seed in &seeds {
            let sim = |tcp| {
                simulate(cell, seed, tcp, &song)
                    .map_err(|e| format!("{} seed {seed} tcp {tcp}: {e}", cell_label(cell)))
            };
            linux.push(sim(TcpFlavor::Linux)?);
            gbn.push(sim(TcpFlavor::Gbn)?);
            if kernel {
                let mut config = KernelConfig::new(&binary, &music, &args.song);
                config.uplink = cell.clone();
                config.downlink = cell.clone();
                config.seed = seed;
                kern.push(KernelRun::new(config).run()?.figures);
            }
        }
        if let Some(out) = json.as_mut() {
            for f in linux.iter().chain(&gbn).chain(&kern) {
                writeln!(out, "{}", serde_json::to_string(f)?)?;
            }
        }
        let dl = |runs: &[RunFigures]| mean(runs, |f| f.download_s.unwrap_or(f64::NAN));
        let rtx = |runs: &[RunFigures]| mean(runs, |f| f.retransmitted as f64);
        let drop = |runs: &[RunFigures]| mean(runs, |f| f.dropped as f64);
        let _ = writeln!(
            table,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            cell_label(cell),
            num(dl(&linux), 3),
            num(dl(&kern), 3),
            num(dl(&gbn), 3),
            num(dl(&linux) / dl(&kern), 2),
            num(rtx(&linux), 1),
            num(rtx(&kern), 1),
            num(rtx(&gbn), 1),
            num(drop(&linux), 1),
            num(drop(&kern), 1),
        );
    }
    print!("{table}");
    Ok(())
}

fn grid() -> Vec<LinkConfig> {
    let mut cells = Vec::new();
    for latency in [1, 10, 50] {
        for bandwidth in [1_000_000, 10_000_000, 100_000_000] {
            for loss in [0.0, 0.01, 0.05] {
                cells.push(LinkConfig {
                    latency: Duration::from_millis(latency),
                    bandwidth: Some(bandwidth),
                    loss,
                    queue_limit: DEFAULT_QUEUE,
                    ..LinkConfig::default()
                });
            }
        }
    }
    cells
}

fn mean(runs: &[RunFigures], f: impl Fn(&RunFigures) -> f64) -> f64 {
    if runs.is_empty() {
        return f64::NAN;
    }
    runs.iter().map(f).sum::<f64>() / runs.len() as f64
}

fn num(x: f64, places: usize) -> String {
    if x.is_finite() {
        format!("{x:.places$}")
    } else {
        "-".to_string()
    }
}
