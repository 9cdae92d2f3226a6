//! The experiment table of lab 4: the `starved` download (two seconds of CD
//! audio, a listener with a 200 ms prebuffer) over a grid of networks, one
//! row per network, so students can explain what bandwidth and loss do to
//! the music.
//!
//! ```text
//!  bandwidth  loss  first audio  stalls   stalled  downloaded  dropped  retransmitted
//!   1 Mbit/s    0%      0.324 s       3   0.735 s     2.970 s        0              0
//! ```

use std::fmt::Write as _;
use std::time::Duration;

use super::{Options, Scenario};
use crate::figures::RunFigures;
use crate::player::secs;
use crate::tcp::TcpFlavor;

/// Bandwidths (bits per second) and loss rates of the grid.
const BANDWIDTHS: [u64; 4] = [500_000, 1_000_000, 2_000_000, 10_000_000];
const LOSSES: [f64; 3] = [0.0, 0.01, 0.05];
/// One-way latency of every row.
const LATENCY: Duration = Duration::from_millis(10);

/// Runs the grid with `seed` and the TCP model `tcp`, and renders the
/// table.
pub fn experiment(seed: u64, tcp: TcpFlavor) -> Result<String, crate::sim::SimError> {
    Ok(experiment_table(seed, &experiment_runs(seed, tcp)?))
}

/// Runs the grid with `seed` and the TCP model `tcp`: one run's figures
/// per network, bandwidth by bandwidth, each with every loss rate.
pub fn experiment_runs(seed: u64, tcp: TcpFlavor) -> Result<Vec<RunFigures>, crate::sim::SimError> {
    let mut runs = Vec::new();
    for bandwidth in BANDWIDTHS {
        for loss in LOSSES {
            let options = Options {
                latency: Some(LATENCY),
                bandwidth: Some(bandwidth),
                loss: Some(loss),
                tcp: Some(tcp),
                ..Options::new(seed)
            };
            let mut run = Scenario::Starved.build(&options).remove(0);
            run.sim.run_until_idle(2_000_000)?;
            runs.push(run.figures());
        }
    }
    Ok(runs)
}

/// The table of lab 4, from [`experiment_runs`].
pub fn experiment_table(seed: u64, runs: &[RunFigures]) -> String {
    let mut s = format!(
        "the starved download (2 s of CD audio = 1.41 Mbit/s, 200 ms prebuffer), \
         latency {} ms each way, seed {seed}, TCP {}\n\n",
        LATENCY.as_millis(),
        runs.first().map_or("-", |r| r.tcp.as_str())
    );
    let _ = writeln!(
        s,
        "{:>10}  {:>4}  {:>11}  {:>6}  {:>8}  {:>10}  {:>7}  {:>13}",
        "bandwidth",
        "loss",
        "first audio",
        "stalls",
        "stalled",
        "downloaded",
        "dropped",
        "retransmitted"
    );
    let time = |t: Option<f64>| t.map_or("never".to_string(), |t| secs(Duration::from_secs_f64(t)));
    for run in runs {
        let bandwidth = run.network.bandwidth_bps.unwrap_or(0);
        let _ = writeln!(
            s,
            "{:>10}  {:>3}%  {:>11}  {:>6}  {:>8}  {:>10}  {:>7}  {:>13}",
            format!("{} Mbit/s", bandwidth as f64 / 1e6),
            run.network.loss * 100.0,
            time(run.first_audio_s),
            run.stalls.unwrap_or(0),
            time(run.stalled_s),
            time(run.download_s),
            run.dropped,
            run.retransmitted
        );
    }
    s
}

/// The same rows as CSV, one header line and one line per run, for a
/// spreadsheet or a script: times in seconds, empty where there is none.
pub fn experiment_csv(runs: &[RunFigures]) -> String {
    let mut s = String::from(
        "bandwidth_bps,loss,latency_s,first_audio_s,stalls,stalled_s,download_s,dropped,\
         retransmitted,fast_retransmits,timeouts,bit_exact,song_bytes,throughput_bps\n",
    );
    let opt = |v: Option<f64>| v.map_or(String::new(), |v| v.to_string());
    for r in runs {
        let _ = writeln!(
            s,
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
            r.network.bandwidth_bps.unwrap_or(0),
            r.network.loss,
            r.network.latency_s,
            opt(r.first_audio_s),
            r.stalls.map_or(String::new(), |n| n.to_string()),
            opt(r.stalled_s),
            opt(r.download_s),
            r.dropped,
            r.retransmitted,
            r.fast_retransmits,
            r.timeouts,
            r.bit_exact.map_or(String::new(), |b| b.to_string()),
            r.song_bytes.map_or(String::new(), |b| b.to_string()),
            opt(throughput(r)),
        );
    }
    s
}

/// Audio bits per second of download time.
fn throughput(r: &RunFigures) -> Option<f64> {
    let bytes = r.song_bytes? as f64;
    let secs = r.download_s.filter(|&t| t > 0.0)?;
    Some((bytes * 8.0 / secs).round())
}

/// Latencies (one way) and loss rates of the Mathis grid.
const MATHIS_LATENCIES_MS: [u64; 4] = [5, 10, 20, 50];
const MATHIS_LOSSES: [f64; 4] = [0.005, 0.01, 0.02, 0.05];
/// A link fast enough that loss and round trip, not the bandwidth, set
/// the pace; and a song long enough for TCP to settle (4 MB, 23 s of CD
/// audio).
const MATHIS_BANDWIDTH: u64 = 100_000_000;
const MATHIS_SONG: usize = 4_000_000;

/// The Mathis grid: a 4 MB download over a 100 Mbit/s link, one row per
/// (latency, loss), for fitting throughput ≈ C · MSS / (RTT · √p) (Mathis
/// et al., 1997). Both Reno-style TCPs and CUBIC come close at small loss
/// rates; at 5% timeouts take over and throughput falls below it (the
/// regime Padhye et al., 1998, added to the model).
pub fn mathis_runs(seed: u64, tcp: TcpFlavor) -> Result<Vec<RunFigures>, crate::sim::SimError> {
    let song = super::patterned_track("song", MATHIS_SONG);
    let mut runs = Vec::new();
    for latency in MATHIS_LATENCIES_MS {
        for loss in MATHIS_LOSSES {
            let options = Options {
                latency: Some(Duration::from_millis(latency)),
                bandwidth: Some(MATHIS_BANDWIDTH),
                loss: Some(loss),
                queue: Some(Duration::from_secs(1)),
                tcp: Some(tcp),
                ..Options::new(seed)
            };
            let mut run = super::lossy_with(&options, song.clone());
            run.sim.run_until_idle(5_000_000)?;
            runs.push(run.figures());
        }
    }
    Ok(runs)
}

/// The Mathis grid as a table, with the relation's prediction beside each
/// measured throughput (C = 1.22, MSS 1448 B, RTT twice the latency).
pub fn mathis_table(seed: u64, runs: &[RunFigures]) -> String {
    let mut s = format!(
        "a {} MB download over {} Mbit/s, seed {seed}, TCP {}\n\n",
        MATHIS_SONG / 1_000_000,
        MATHIS_BANDWIDTH / 1_000_000,
        runs.first().map_or("-", |r| r.tcp.as_str())
    );
    let _ = writeln!(
        s,
        "{:>8}  {:>5}  {:>10}  {:>13}  {:>13}  {:>13}",
        "RTT", "loss", "downloaded", "retransmitted", "throughput", "Mathis"
    );
    for r in runs {
        let rtt = 2.0 * r.network.latency_s;
        let mathis = 1.22 * 1448.0 * 8.0 / (rtt * r.network.loss.sqrt());
        let mbit = |b: f64| format!("{:.2} Mbit/s", b / 1e6);
        let _ = writeln!(
            s,
            "{:>8}  {:>4}%  {:>10}  {:>13}  {:>13}  {:>13}",
            format!("{:.0} ms", rtt * 1e3),
            r.network.loss * 100.0,
            r.download_s
                .map_or("never".to_string(), |t| secs(Duration::from_secs_f64(t))),
            r.retransmitted,
            throughput(r).map_or("-".to_string(), mbit),
            mbit(mathis),
        );
    }
    s
}
