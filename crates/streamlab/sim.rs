//! `streamlab sim`: run a named simulated scenario, print what happened,
//! and write the capture for Wireshark.
//!
//! Only the first scenarios exist yet (the simulator is being built, see
//! crates/netsim): `report` replays the original report's capture, and the
//! two `coalesced-*` ones show two commands sharing one segment.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use streamlab_netsim::sim::{self, Coalesced, Sim};

/// The scenarios `streamlab sim` knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Scenario {
    /// The original report: lista, RV/VL, quit, goodbye (original dialect).
    Report,
    /// `lista` and `quit` written at once: the original server reads one
    /// unknown command.
    CoalescedOriginal,
    /// The same haste in the framed dialect: every command is answered.
    CoalescedFramed,
    /// A 100 kB song over links that lose frames (--loss): TCP resends
    /// until every byte arrives.
    Lossy,
}

#[derive(Debug, Args)]
pub struct SimArgs {
    /// Which story to run.
    #[arg(value_enum)]
    pub scenario: Scenario,
    /// The seed: the same seed gives the same run, byte for byte.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Write the capture here (pcapng, opens in Wireshark).
    #[arg(long)]
    pub pcap: Option<PathBuf>,
    /// Print the trace table (every segment, drop and application event).
    #[arg(long)]
    pub trace: bool,
    /// Lossy only: the probability that a link loses a frame, each way
    /// [default: 0.05].
    #[arg(long, value_parser = probability)]
    pub loss: Option<f64>,
}

fn probability(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(p) if (0.0..=0.9).contains(&p) => Ok(p),
        _ => Err(format!(
            "'{text}' is not a loss probability between 0 and 0.9"
        )),
    }
}

/// The most events one run may take before it counts as stuck.
const MAX_EVENTS: usize = 1_000_000;

pub fn run(args: SimArgs) -> Result<()> {
    if args.loss.is_some() && args.scenario != Scenario::Lossy {
        bail!(
            "--loss applies to the lossy scenario only, not {}",
            name(args.scenario)
        );
    }
    let mut sim = build(&args);
    sim.run_until_idle(MAX_EVENTS).with_context(|| {
        format!(
            "simulating {:?} (replay: streamlab sim {} --seed {})",
            args.scenario,
            name(args.scenario),
            args.seed
        )
    })?;
    if args.trace {
        println!("{}", sim.trace());
    }
    let frames = sim.frames().len();
    let dropped = sim
        .frames()
        .iter()
        .filter(|(_, _, note)| note.is_some())
        .count();
    println!(
        "scenario {} (seed {}): {frames} segments on the wire, {dropped} dropped",
        name(args.scenario),
        args.seed
    );
    if let Some(path) = &args.pcap {
        sim.save_pcapng(path)
            .with_context(|| format!("writing {}", path.display()))?;
        println!(
            "capture written to {} (open it in Wireshark)",
            path.display()
        );
    }
    Ok(())
}

fn build(args: &SimArgs) -> Sim {
    let seed = args.seed;
    match args.scenario {
        Scenario::Report => sim::report(seed),
        Scenario::CoalescedOriginal => sim::coalesced(seed, Coalesced::Original),
        Scenario::CoalescedFramed => sim::coalesced(seed, Coalesced::Framed),
        Scenario::Lossy => sim::lossy(seed, args.loss.unwrap_or(0.05), 100_000),
    }
}

fn name(scenario: Scenario) -> &'static str {
    match scenario {
        Scenario::Report => "report",
        Scenario::CoalescedOriginal => "coalesced-original",
        Scenario::CoalescedFramed => "coalesced-framed",
        Scenario::Lossy => "lossy",
    }
}
