//! `streamlab sim SCENARIO --kernel`: the scenario's download on the
//! machine's own Linux TCP, through `streamlab_testbed`.
//!
//! The network is the one the simulated run would cross (the scenario's
//! links with the user's knobs on top, taken from the built [`Run`]), so the
//! two engines see the same link model and the same seed. What differs is
//! only the TCP, and the fact that the emulator runs in real time.

use anyhow::{Context, Result};
use streamlab_netsim::scenario::{link_text, Run, Scenario};
use streamlab_testbed::{KernelConfig, KernelOutcome, KernelRun, TestbedError};

use crate::exit::Exit;

use super::SimArgs;

/// The scenarios the kernel can run: one download, by a client that reads
/// as fast as it can or (`slow-reader`) stops reading for a while.
/// (`report` and `framing` are stories of the protocol, not of TCP.)
fn runs_on_kernel(scenario: Scenario) -> bool {
    matches!(
        scenario,
        Scenario::Lossy | Scenario::Starved | Scenario::SlowReader
    )
}

/// The flags that mean nothing to a kernel run, by name.
fn simulator_only(args: &SimArgs) -> Option<&'static str> {
    if args.tcp.is_some() {
        Some("--tcp (the kernel runs its own TCP: Linux's, with CUBIC)")
    } else if args.mss.is_some() {
        Some("--mss (the kernel's MSS follows the 1500-byte MTU)")
    } else if args.pause_ms.is_some() {
        Some("--pause-ms (the kernel runs download scenarios, whose server keeps its 50 ms)")
    } else if args.trace {
        Some("--trace (the kernel keeps no trace; use --pcap)")
    } else if args.capture_at != super::CaptureAtArg::Client {
        Some("--capture-at (the kernel run captures at the client)")
    } else {
        None
    }
}

/// Runs `run`'s download on the kernel and prints its figures (JSON with
/// `--json`, else a summary); writes the client-side capture to `--pcap`.
pub fn run_on_kernel(args: &SimArgs, scenario: Scenario, run: &Run) -> Result<()> {
    if !runs_on_kernel(scenario) {
        anyhow::bail!(
            "{scenario} cannot run on the kernel: --kernel runs the download scenarios \
             lossy, slow-reader and starved"
        );
    }
    if let Some(flag) = simulator_only(args) {
        anyhow::bail!("--kernel does not take {flag}");
    }
    let Some(song) = &run.song else {
        anyhow::bail!("{scenario} has no song to download");
    };
    // The server serves WAV files from a folder: the user's song from its
    // own, or the scenario's own bytes written to a temporary one.
    let _scratch;
    let music = match &args.song {
        Some(_) => crate::music::load_library(args.music.as_deref())?
            .dir()
            .to_path_buf(),
        None => {
            let dir = tempfile::tempdir().context("making a folder for the scenario's song")?;
            let path = dir.path().join(format!("{}.wav", song.name));
            streamlab_audio::write_wav(&path, song.format, &song.pcm)
                .with_context(|| format!("writing {}", path.display()))?;
            let music = dir.path().to_path_buf();
            _scratch = dir;
            music
        }
    };
    let binary = std::env::current_exe().context("finding the streamlab binary to run")?;
    let sim_config = run.sim.config();
    let mut config = KernelConfig::new(binary, music, song.name.clone());
    config.uplink = sim_config.uplink.clone();
    config.downlink = sim_config.downlink.clone();
    config.seed = args.seed;
    config.dialect = run.dialect;
    config.scenario = scenario.name().to_string();
    config.capture = args.pcap.clone();
    if scenario == Scenario::SlowReader {
        config.stop_reading = Some(streamlab_netsim::scenario::SLOW_READER_PAUSE);
    }
    if !args.json {
        eprintln!(
            "running {scenario} on this machine's Linux TCP (namespaces, real server and \
             client; up to {} s)…",
            config.timeout.as_secs()
        );
    }
    let outcome = match KernelRun::new(config).run() {
        Ok(outcome) => outcome,
        // Ctrl-C: the handler has removed everything; end as it does.
        Err(TestbedError::Interrupted) => {
            return Err(Exit::new(130, "interrupted; namespaces and processes removed").into())
        }
        Err(e) => {
            return Err(anyhow::Error::new(e).context(format!(
                "running {scenario} on the kernel (seed {})",
                args.seed
            )))
        }
    };
    if args.json {
        println!("{}", serde_json::to_string(&outcome.figures)?);
    } else {
        print!("{}", summary(scenario, run, &outcome));
        if let Some(path) = &args.pcap {
            println!(
                "capture written to {} (open it in Wireshark)",
                path.display()
            );
        }
    }
    Ok(())
}

/// The kernel run in words, shaped like the simulator's summary.
fn summary(scenario: Scenario, run: &Run, outcome: &KernelOutcome) -> String {
    let f = &outcome.figures;
    let tcp = &outcome.server_tcp;
    let lateness = &outcome.lateness;
    format!(
        "{scenario} on the kernel, {} dialect, seed {}\n\
         network: {}, queue {} s (emulated in user space: packets left p50 {:.0} µs, \
         p99 {:.0} µs after their due time)\n\
         tcp: Linux, {} (SACK {}, timestamps {}, window scaling {}), both ends\n\
         {f}",
        run.dialect,
        f.seed,
        link_text(&run.sim.config().downlink),
        f.network.queue_s,
        lateness.p50_us,
        lateness.p99_us,
        tcp.congestion_control,
        on(tcp.sack),
        on(tcp.timestamps),
        on(tcp.window_scaling),
    )
}

fn on(b: bool) -> &'static str {
    if b {
        "on"
    } else {
        "off"
    }
}
