//! Runs a list of cells on the kernel and prints one JSON line per run.
//!
//! ```text
//! cargo build --release
//! sudo target/release/examples/cell --song ode_to_joy --seeds 1-3 \
//!     --cell 1ms,10M,5% --cell 10ms,100M,0% --cell 50ms,1M,1%
//! ```
//!
//! A cell is `LATENCY,BANDWIDTH,LOSS[,QUEUE]`: `1ms`, `10M` (bits per
//! second, K/M/G), `5%` or `0.05`, and the router queue (default `1s`).
//! The link is the same both ways. stdout gets the JSON lines (the whole
//! outcome; `--figures` for the figures alone), stderr a short table.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use streamlab_proto::Dialect;
use streamlab_testbed::cells::{exit_code, parse_cell, parse_seeds, workspace_paths};
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
    /// LATENCY,BANDWIDTH,LOSS[,QUEUE], e.g. 1ms,10M,5%,1s (repeatable).
    #[arg(long = "cell", required = true)]
    cells: Vec<String>,
    /// Seeds: N or A-B.
    #[arg(long, default_value = "1")]
    seeds: String,
    /// Speak the original dialect instead of the framed one.
    #[arg(long)]
    original: bool,
    /// Write each run's client-side capture into this folder.
    #[arg(long)]
    captures: Option<PathBuf>,
    /// Print only the figures (the simulator's JSON shape).
    #[arg(long)]
    figures: bool,
}

fn main() -> ExitCode {
    exit_code("cell", run(&Args::parse()))
}

fn run(args: &Args) -> Result<(), Box<dyn std::error::Error>> {
    let (binary, music) = workspace_paths(args.binary.clone(), args.music.clone());
    let seeds = parse_seeds(&args.seeds)?;
    eprintln!("cell                  seed  download_s  retrans  dropped  fast  rto  tlp  bit_exact  late p50/p99 us");
    for cell in &args.cells {
        let link = parse_cell(cell)?;
        for &seed in &seeds {
            let mut config = KernelConfig::new(&binary, &music, &args.song);
            config.uplink = link.clone();
            config.downlink = link.clone();
            config.seed = seed;
            if args.original {
                config.dialect = Dialect::Original;
            }
            if let Some(dir) = &args.captures {
                let name = format!("{}-seed{seed}.pcapng", cell.replace(['%', ','], "_"));
                config.capture = Some(dir.join(name));
            }
            let out = KernelRun::new(config).run()?;
            let f = &out.figures;
            eprintln!(
                "{cell:<20}  {seed:>4}  {:>10}  {:>7}  {:>7}  {:>4}  {:>3}  {:>3}  {:>9}  {:.0}/{:.0}",
                f.download_s.map_or("-".into(), |d| format!("{d:.3}")),
                f.retransmitted,
                f.dropped,
                f.fast_retransmits,
                f.timeouts,
                f.loss_probes,
                f.bit_exact.unwrap_or(false),
                out.lateness.p50_us,
                out.lateness.p99_us
            );
            if args.figures {
                println!("{}", serde_json::to_string(&out.figures)?);
            } else {
                println!("{}", serde_json::to_string(&out)?);
            }
        }
    }
    Ok(())
}
