//! Grading a class: `streamlab conformance server --exec` on 100 copies of
//! lab 5's starter server, each in a folder of its own, as a teacher's
//! grading script would run it.
//!
//! ```sh
//! cargo bench --bench grade_starters                   # 100 servers, one at a time
//! cargo bench --bench grade_starters -- --count 20     # fewer
//! cargo bench --bench grade_starters -- --jobs 10      # ten at once
//! ```
//!
//! Each run is the release `streamlab` with
//! `--exec "python3 DIR/server.py --port {port} --music MUSIC" --dialect
//! original --json`: the checker starts the copy, checks it, stops it. The
//! bench prints the total wall time, the time per server (min, median,
//! max), the exit codes, and how many copies passed and failed each check.
//! A measurement, not a test: nothing is asserted.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// What one graded copy gave.
struct Graded {
    elapsed: Duration,
    exit: Option<i32>,
    /// Check name and "pass" or "fail", in run order.
    checks: Vec<(String, String)>,
}

fn main() {
    let count = flag("--count").unwrap_or(100);
    let jobs = flag("--jobs").unwrap_or(1).max(1);
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let starter = repo.join("labs/05-build-your-own/server.py");
    let music = repo.join("music");
    let class = tempfile::tempdir().expect("a temporary directory");
    let folders: Vec<PathBuf> = (0..count)
        .map(|i| {
            let dir = class.path().join(format!("student-{i:03}"));
            std::fs::create_dir(&dir).expect("a student's folder");
            std::fs::copy(&starter, dir.join("server.py")).expect("copying the starter");
            dir
        })
        .collect();
    println!(
        "grading {count} copies of labs/05-build-your-own/server.py, {jobs} at a time:\n  \
         streamlab conformance server --exec \"python3 DIR/server.py --port {{port}} --music MUSIC\" \
         --dialect original --json\n"
    );
    let next = AtomicUsize::new(0);
    let graded = Mutex::new(Vec::with_capacity(count));
    let start = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..jobs {
            s.spawn(|| {
                while let Some(dir) = folders.get(next.fetch_add(1, Ordering::SeqCst)) {
                    let one = grade(dir, &music);
                    graded.lock().unwrap_or_else(|p| p.into_inner()).push(one);
                }
            });
        }
    });
    let total = start.elapsed();
    let graded = graded.into_inner().unwrap_or_else(|p| p.into_inner());
    print_summary(&graded, total);
}

/// `--NAME N` from the command line (cargo bench adds `--bench`).
fn flag(name: &str) -> Option<usize> {
    let args: Vec<String> = std::env::args().collect();
    let at = args.iter().position(|a| a == name)?;
    args.get(at + 1)?.parse().ok()
}

/// One copy, checked by the release checker, which starts and stops it.
fn grade(dir: &Path, music: &Path) -> Graded {
    let exec = format!(
        "python3 '{}' --port {{port}} --music '{}'",
        dir.join("server.py").display(),
        music.display()
    );
    let start = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_streamlab"))
        .args(["conformance", "server", "--dialect", "original", "--json"])
        .args(["--exec", &exec])
        .output()
        .expect("running streamlab");
    let elapsed = start.elapsed();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    let checks = json["checks"]
        .as_array()
        .map(|checks| {
            checks
                .iter()
                .map(|c| {
                    let text = |v: &serde_json::Value| v.as_str().unwrap_or("?").to_string();
                    (text(&c["name"]), text(&c["result"]))
                })
                .collect()
        })
        .unwrap_or_default();
    Graded {
        elapsed,
        exit: out.status.code(),
        checks,
    }
}

fn print_summary(graded: &[Graded], total: Duration) {
    let mut times: Vec<Duration> = graded.iter().map(|g| g.elapsed).collect();
    times.sort();
    let secs = |d: Duration| format!("{:.2} s", d.as_secs_f64());
    println!("total wall time  {}", secs(total));
    if let (Some(min), Some(max)) = (times.first(), times.last()) {
        println!(
            "per server       min {}, median {}, max {}",
            secs(*min),
            secs(times[times.len() / 2]),
            secs(*max)
        );
    }
    let mut exits: BTreeMap<String, usize> = BTreeMap::new();
    for g in graded {
        let code = g.exit.map_or("a signal".into(), |c| c.to_string());
        *exits.entry(code).or_default() += 1;
    }
    let exits: Vec<String> = exits.iter().map(|(c, n)| format!("{c} ×{n}")).collect();
    println!("exit codes       {}\n", exits.join(", "));
    // Check name → (passed, failed), in the order the checks ran.
    let mut tally: Vec<(String, usize, usize)> = Vec::new();
    for (name, result) in graded.iter().flat_map(|g| &g.checks) {
        let at = match tally.iter().position(|(n, _, _)| n == name) {
            Some(at) => at,
            None => {
                tally.push((name.clone(), 0, 0));
                tally.len() - 1
            }
        };
        match result.as_str() {
            "pass" => tally[at].1 += 1,
            _ => tally[at].2 += 1,
        }
    }
    println!("{:<20} {:>6} {:>6}", "check", "passed", "failed");
    for (name, passed, failed) in &tally {
        println!("{name:<20} {passed:>6} {failed:>6}");
    }
}
