//! Loopback benchmarks: how fast the kit starts a song, how fast it
//! downloads one, and what an idle client costs the server.
//!
//! ```sh
//! cargo bench --bench loopback              # everything, under a minute
//! cargo bench --bench loopback -- memory    # only sections whose name matches
//! ```
//!
//! Everything runs on 127.0.0.1 and every loop is bounded. These are
//! measurements, not tests: the tables print what was measured and nothing
//! checks a timing. The sections (`first_audio`, `throughput`, `memory`):
//!
//! 1. [`first_audio`]: time to first audio, from just before the app runs
//!    `play <song>` on a fresh greeted connection to the first PCM bytes the
//!    player hands its sink, in both dialects.
//! 2. [`throughput`]: aggregate download speed of 1, 10 and 100 clients at
//!    once through the real client connection, beside a plain TCP copy of
//!    the same bytes.
//! 3. [`memory`]: the release `streamlab server` in a process of its own,
//!    its memory before and after 1,000 greeted idle clients.

// The sections live in benches/loopback/ (beside a crate root, `mod`
// would look in benches/, where Cargo would take them for benches).
#[path = "loopback/first_audio.rs"]
mod first_audio;
#[cfg(target_os = "linux")]
#[path = "loopback/memory.rs"]
mod memory;
#[path = "loopback/throughput.rs"]
mod throughput;

/// Reading a process's memory needs Linux's `/proc`.
#[cfg(not(target_os = "linux"))]
mod memory {
    pub fn run() -> anyhow::Result<()> {
        println!("3. server memory: skipped (it reads Linux's /proc)");
        Ok(())
    }
}

use std::time::Instant;

use anyhow::Result;

type Section = (&'static str, fn() -> Result<()>);

const SECTIONS: [Section; 3] = [
    ("first_audio", first_audio::run),
    ("throughput", throughput::run),
    ("memory", memory::run),
];

fn main() {
    // `cargo bench` passes `--bench`; any other word picks sections.
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    match streamlab_server::raise_fd_limit() {
        Ok(limit) => println!(
            "streamlab loopback benchmarks: {} CPUs, open-file limit {}",
            cpus(),
            limit.map_or("unknown".into(), |n| n.to_string())
        ),
        Err(e) => println!("streamlab loopback benchmarks (open-file limit unchanged: {e})"),
    }
    let started = Instant::now();
    for (name, run) in SECTIONS {
        if !filters.is_empty() && !filters.iter().any(|f| name.contains(f.as_str())) {
            continue;
        }
        println!();
        if let Err(e) = run() {
            println!("{name}: failed: {e:#}");
        }
    }
    println!("\ntotal time {:.1} s", started.elapsed().as_secs_f64());
}

fn cpus() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Min, median, 95th percentile and max of a sample.
pub struct Summary {
    pub min: f64,
    pub median: f64,
    pub p95: f64,
    pub max: f64,
}

impl Summary {
    /// Summarises `values` (nearest-rank percentiles); `None` when empty.
    pub fn of(mut values: Vec<f64>) -> Option<Summary> {
        if values.is_empty() {
            return None;
        }
        values.sort_by(f64::total_cmp);
        let rank = |p: f64| {
            let i = (p * values.len() as f64).ceil() as usize;
            values[i.clamp(1, values.len()) - 1]
        };
        Some(Summary {
            min: rank(0.0),
            median: rank(0.5),
            p95: rank(0.95),
            max: rank(1.0),
        })
    }
}
