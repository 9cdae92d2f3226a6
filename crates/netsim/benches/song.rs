//! How fast the simulator runs a whole song: a 5-minute CD-quality track
//! (52,920,000 bytes) over 100 Mbit/s links with 10 ms latency and 1%
//! loss each way, framed dialect, capture and trace on, as `streamlab sim`
//! runs. Reports wall time, simulated segments and events per second, and
//! the process's peak memory.
//!
//! ```sh
//! cargo bench -p streamlab-netsim --bench song
//! STREAMLAB_TCP=linux cargo bench -p streamlab-netsim --bench song
//! ```
//!
//! `STREAMLAB_TCP` picks the TCP model (`linux`, the default, `newreno`,
//! `gbn`). The run is the `lossy` scenario with these knobs.
//!
//! The goal (issue 3): under 1 s of wall time on the 2-core reference
//! machine. Nothing here asserts it: the figures are printed.

use std::time::{Duration, Instant};

use streamlab_netsim::apps::ClientApp;
use streamlab_netsim::scenario::{lossy_with, patterned_track, Options};
use streamlab_netsim::sim::Side;
use streamlab_netsim::tcp::TcpFlavor;

/// Five minutes of 44.1 kHz stereo 16-bit audio.
const SONG: usize = 300 * 44_100 * 4;
const RUNS: usize = 3;

fn main() {
    let flavor: TcpFlavor = match std::env::var("STREAMLAB_TCP") {
        Ok(name) => name.parse().unwrap_or_else(|e| {
            eprintln!("song: STREAMLAB_TCP: {e}");
            std::process::exit(2);
        }),
        Err(_) => TcpFlavor::default(),
    };
    let song = patterned_track("song", SONG);
    println!("TCP model: {flavor}");
    println!(
        "simulating a {:.1} MB song, 100 Mbit/s, 10 ms latency, 1% loss each way ({RUNS} runs)",
        SONG as f64 / 1e6
    );
    let mut walls = Vec::new();
    for seed in 1..=RUNS as u64 {
        let options = Options {
            latency: Some(Duration::from_millis(10)),
            bandwidth: Some(100_000_000),
            loss: Some(0.01),
            tcp: Some(flavor),
            ..Options::new(seed)
        };
        let mut sim = lossy_with(&options, song.clone()).sim;

        let start = Instant::now();
        if let Err(e) = sim.run_until_idle(50_000_000) {
            eprintln!("seed {seed}: {e}");
            std::process::exit(1);
        }
        let wall = start.elapsed();
        let client = sim.app::<ClientApp>(Side::Client).expect("the client");
        let exact = client.audio()[..] == song.pcm[..];
        let segments = sim.frames().len();
        let secs = wall.as_secs_f64();
        println!(
            "seed {seed}: wall {:.3} s | virtual {} s | {segments} segments ({:.2} M/s) | \
             {} events ({:.2} M/s) | {} trace rows | bit-exact {exact}",
            secs,
            sim.now(),
            segments as f64 / secs / 1e6,
            sim.events(),
            sim.events() as f64 / secs / 1e6,
            sim.trace().rows().len(),
        );
        walls.push(secs);
    }
    walls.sort_by(f64::total_cmp);
    println!(
        "median wall time {:.3} s; peak memory (VmHWM) {}",
        walls[walls.len() / 2],
        peak_memory()
    );
}

/// The process's peak resident memory, from /proc (Linux).
fn peak_memory() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(|l| l.trim_start_matches("VmHWM:").trim().to_string())
        })
        .unwrap_or_else(|| "unknown (no /proc)".to_string())
}
