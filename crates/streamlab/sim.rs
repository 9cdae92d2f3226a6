//! `streamlab sim`: run a named simulated scenario, print what happened,
//! and write the capture for Wireshark.
//!
//! Only the first scenarios exist yet (the simulator is being built, see
//! crates/netsim): `report` replays the original report's capture, and the
//! two `coalesced-*` ones show two commands sharing one segment.

use std::path::PathBuf;

use anyhow::{Context, Result};
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
}

/// The most events one run may take before it counts as stuck.
const MAX_EVENTS: usize = 1_000_000;

pub fn run(args: SimArgs) -> Result<()> {
    let mut sim = build(args.scenario, args.seed);
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

fn build(scenario: Scenario, seed: u64) -> Sim {
    match scenario {
        Scenario::Report => sim::report(seed),
        Scenario::CoalescedOriginal => sim::coalesced(seed, Coalesced::Original),
        Scenario::CoalescedFramed => sim::coalesced(seed, Coalesced::Framed),
    }
}

fn name(scenario: Scenario) -> &'static str {
    match scenario {
        Scenario::Report => "report",
        Scenario::CoalescedOriginal => "coalesced-original",
        Scenario::CoalescedFramed => "coalesced-framed",
    }
}
