//! The cells and seeds the testbed's programs take on their command lines
//! (`examples/cell.rs`, `examples/fidelity.rs`): `LATENCY,BANDWIDTH,LOSS[,QUEUE]`
//! and `N` or `A-B`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use streamlab_netsim::figures::RunFigures;
use streamlab_netsim::link::LinkConfig;
use streamlab_netsim::scenario::{lossy_with, Options};
use streamlab_netsim::sim::SimError;
use streamlab_netsim::tcp::TcpFlavor;
use streamlab_proto::Track;

/// The `streamlab` binary and the music folder a program uses unless told
/// otherwise: the workspace's release build and its `music/`.
pub fn workspace_paths(binary: Option<PathBuf>, music: Option<PathBuf>) -> (PathBuf, PathBuf) {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let binary = binary.unwrap_or_else(|| root.join("target/release/streamlab"));
    let music = music.unwrap_or_else(|| root.join("music"));
    (binary, music)
}

/// A program's exit: success, or its error on one line after its name.
pub fn exit_code(program: &str, result: Result<(), Box<dyn std::error::Error>>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{program}: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The most events one simulated cell may take (a 1 Mbit/s, 5% loss
/// go-back-N download needs about a million).
const MAX_EVENTS: usize = 5_000_000;

/// The simulator's side of a cell: the `lossy` scenario downloading `song`
/// over `link` (both ways) with the TCP model `tcp`, as the kernel side
/// downloads it (`KernelConfig` with the same link and seed).
pub fn simulate(
    link: &LinkConfig,
    seed: u64,
    tcp: TcpFlavor,
    song: &Track,
) -> Result<RunFigures, SimError> {
    let options = Options {
        seed,
        latency: Some(link.latency),
        jitter: Some(link.jitter),
        bandwidth: link.bandwidth,
        loss: Some(link.loss),
        queue: Some(link.queue_limit),
        tcp: Some(tcp),
        ..Options::default()
    };
    let mut run = lossy_with(&options, song.clone());
    run.sim.run_until_idle(MAX_EVENTS)?;
    Ok(run.figures())
}

/// The router queue of a cell that names none.
pub const DEFAULT_QUEUE: Duration = Duration::from_secs(1);

/// `1ms,10M,5%[,1s]`: latency, bandwidth (bits per second, K/M/G), loss
/// (`5%` or `0.05`) and the router queue, the same both ways.
pub fn parse_cell(text: &str) -> Result<LinkConfig, String> {
    let bad = |what: &str| format!("bad cell {text:?}: {what} (expected e.g. 1ms,10M,5%,1s)");
    let parts: Vec<&str> = text.split(',').collect();
    if !(3..=4).contains(&parts.len()) {
        return Err(bad("expected LATENCY,BANDWIDTH,LOSS[,QUEUE]"));
    }
    let latency = parse_duration(parts[0]).ok_or_else(|| bad("latency"))?;
    let bandwidth = parse_rate(parts[1]).ok_or_else(|| bad("bandwidth"))?;
    let loss = match parts[2].strip_suffix('%') {
        Some(p) => p.parse::<f64>().map(|p| p / 100.0),
        None => parts[2].parse::<f64>(),
    }
    .ok()
    .filter(|p| (0.0..1.0).contains(p))
    .ok_or_else(|| bad("loss"))?;
    let queue_limit = match parts.get(3) {
        Some(q) => parse_duration(q).ok_or_else(|| bad("queue"))?,
        None => DEFAULT_QUEUE,
    };
    Ok(LinkConfig {
        latency,
        bandwidth: Some(bandwidth),
        loss,
        queue_limit,
        ..LinkConfig::default()
    })
}

/// A cell in words: `10 ms, 1 Mbit/s, 5%`.
pub fn cell_label(link: &LinkConfig) -> String {
    format!(
        "{} ms, {} Mbit/s, {}%",
        link.latency.as_secs_f64() * 1e3,
        link.bandwidth.unwrap_or(0) as f64 / 1e6,
        link.loss * 100.0
    )
}

/// `N` or `A-B`.
pub fn parse_seeds(text: &str) -> Result<Vec<u64>, String> {
    let bad = || format!("bad seeds {text:?}: expected N or A-B");
    match text.split_once('-') {
        Some((a, b)) => {
            let a: u64 = a.parse().map_err(|_| bad())?;
            let b: u64 = b.parse().map_err(|_| bad())?;
            if a > b {
                return Err(bad());
            }
            Ok((a..=b).collect())
        }
        None => Ok(vec![text.parse().map_err(|_| bad())?]),
    }
}

fn parse_duration(text: &str) -> Option<Duration> {
    let secs = match text.strip_suffix("ms") {
        Some(ms) => ms.parse::<f64>().ok()? / 1000.0,
        None => text.strip_suffix('s')?.parse::<f64>().ok()?,
    };
    Duration::try_from_secs_f64(secs).ok()
}

fn parse_rate(text: &str) -> Option<u64> {
    let (num, scale) = match text.chars().last()? {
        'K' | 'k' => (&text[..text.len() - 1], 1e3),
        'M' | 'm' => (&text[..text.len() - 1], 1e6),
        'G' | 'g' => (&text[..text.len() - 1], 1e9),
        _ => (text, 1.0),
    };
    let bits = num.parse::<f64>().ok()? * scale;
    (bits >= 1.0 && bits.is_finite()).then_some(bits as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_read_like_the_docs_write_them() {
        let c = parse_cell("1ms,10M,5%").expect("a cell");
        assert_eq!(c.latency, Duration::from_millis(1));
        assert_eq!(c.bandwidth, Some(10_000_000));
        assert!((c.loss - 0.05).abs() < 1e-12);
        assert_eq!(c.queue_limit, DEFAULT_QUEUE);
        let c = parse_cell("50ms,1M,0.01,200ms").expect("a cell");
        assert_eq!(c.queue_limit, Duration::from_millis(200));
        assert_eq!(cell_label(&c), "50 ms, 1 Mbit/s, 1%");
        for bad in [
            "1ms,10M",
            "x,10M,5%",
            "1ms,fast,5%",
            "1ms,10M,150%",
            "1ms,0,1%",
        ] {
            assert!(parse_cell(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_seeds("1-3"), Ok(vec![1, 2, 3]));
        assert_eq!(parse_seeds("7"), Ok(vec![7]));
        assert!(parse_seeds("3-1").is_err());
        assert!(parse_seeds("a").is_err());
    }
}
