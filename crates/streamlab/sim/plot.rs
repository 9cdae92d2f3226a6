//! `streamlab sim --plot`: a run's panel (its time-sequence graph, the
//! server's congestion window and bytes in flight, the client's receive
//! window and the player's buffer, on one time axis), and the experiment's
//! curves.
//!
//! The time-sequence graph is drawn from the run's own capture, read by
//! the analyzer as `analyze --plot` reads a real one; the windows come from
//! the simulated server's TCP ([`Sim::record_windows`]) and the buffer from
//! replaying what the client received through the simulated player.
//!
//! [`Sim::record_windows`]: streamlab_netsim::sim::Sim::record_windows

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use streamlab_analyzer::capture::Format;
use streamlab_analyzer::report::{self, Connection, Options, Report};
use streamlab_analyzer::stream::Dir;
use streamlab_analyzer::tcp_analysis::SegmentFacts;
use streamlab_netsim::apps::ClientApp;
use streamlab_netsim::figures::RunFigures;
use streamlab_netsim::player::{replay, PlayerConfig};
use streamlab_netsim::scenario::Run;
use streamlab_netsim::sim::{CapturePoint, Side};
use streamlab_netsim::time::SimTime;
use streamlab_plot::{Curve, ExperimentPlot, Panel};

use crate::graphs::{self, Gathered};

/// Seconds since the run began.
fn secs(t: SimTime) -> f64 {
    t.since(SimTime::ZERO).as_secs_f64()
}

/// Keeps every connection of a capture and its segments.
#[derive(Default)]
struct Keep {
    gathered: Gathered,
    connections: Vec<Connection>,
}

impl Report for Keep {
    fn begin(&mut self, _: &str, _: Format) {}
    fn connection(&mut self, c: Connection, _: Option<u64>) {
        self.connections.push(c);
    }
    fn segment(&mut self, facts: &SegmentFacts) {
        self.gathered.add(facts);
    }
}

/// Draws `run` (run with its windows recorded) into `dir`, and answers the
/// file written: `dir/LABEL.svg`.
pub fn draw_run(run: &Run, dir: &Path) -> Result<PathBuf> {
    let sim = &run.sim;
    // The client's view, as a student's Wireshark sees it: one interface,
    // so no frame appears twice.
    let capture = sim
        .write_pcapng_at(CapturePoint::Client, Vec::new())
        .context("writing the run's capture in memory")?;
    let mut keep = Keep::default();
    let name = format!("{} (simulated)", run.label());
    report::analyze_into(
        &name,
        &capture[..],
        &Options::default(),
        &mut |_| None,
        &mut keep,
    )
    .context("reading the run's own capture")?;
    // The connection that carried the song: the one with the most bytes.
    let conn = keep
        .connections
        .iter()
        .max_by_key(|c| c.info.dirs[Dir::ToClient.index()].stream_bytes)
        .context("the run made no connection")?;
    let segments = keep.gathered.take(conn.info.stream);
    let mut timeseq = graphs::time_sequence(conn, &segments, 0, Dir::ToClient);
    timeseq.title = "the server's data, as captured at the client (time-sequence)".to_string();
    let windows = sim.windows();
    let cwnd = windows
        .iter()
        .map(|w| w.cwnd.map(|c| (secs(w.at), c)))
        .collect::<Option<Vec<_>>>()
        .filter(|c| !c.is_empty());
    let in_flight = windows.iter().map(|w| (secs(w.at), w.in_flight)).collect();
    let rwnd = windows
        .iter()
        .map(|w| (secs(w.at), w.peer_window))
        .collect();
    let playback = sim
        .app::<ClientApp>(Side::Client)
        .and_then(|c| replay(PlayerConfig::default(), c.arrivals()));
    let (buffer_s, stalls) = match &playback {
        Some(p) => (
            p.levels
                .iter()
                .map(|&(t, d)| (secs(t), d.as_secs_f64()))
                .collect(),
            p.stalls
                .iter()
                .map(|s| (secs(s.at), secs(s.at) + s.length.as_secs_f64()))
                .collect(),
        ),
        None => (Vec::new(), Vec::new()),
    };
    let figures = run.figures();
    let panel = Panel {
        title: format!(
            "streamlab sim {} — {} dialect, seed {}, {} TCP, {}",
            run.scenario,
            run.dialect,
            figures.seed,
            figures.tcp,
            network_words(&figures)
        ),
        timeseq,
        cwnd,
        in_flight,
        rwnd,
        buffer_s,
        stalls,
    };
    let path = dir.join(format!("{}.svg", run.label()));
    streamlab_plot::save(&path, &streamlab_plot::panel(&panel)?)?;
    Ok(path)
}

/// "1 Mbit/s, 10 ms, 5% loss".
fn network_words(f: &RunFigures) -> String {
    let n = &f.network;
    let speed = match n.bandwidth_bps {
        Some(b) => format!("{} Mbit/s", b as f64 / 1e6),
        None => "unlimited bandwidth".to_string(),
    };
    format!(
        "{speed}, {} ms one way, {}% loss",
        n.latency_s * 1000.0,
        n.loss * 100.0
    )
}

/// Lab 4's grid as two graphs in `path`: stall time and download time
/// against bandwidth, one line per loss rate.
pub fn draw_experiment(runs: &[RunFigures], seed: u64, path: &Path) -> Result<()> {
    let mut losses: Vec<f64> = Vec::new();
    for r in runs {
        if !losses.contains(&r.network.loss) {
            losses.push(r.network.loss);
        }
    }
    let curves = |value: fn(&RunFigures) -> Option<f64>| -> Vec<Curve> {
        losses
            .iter()
            .map(|&loss| Curve {
                label: format!("{}% loss", loss * 100.0),
                points: runs
                    .iter()
                    .filter(|r| r.network.loss == loss)
                    .filter_map(|r| Some((r.network.bandwidth_bps? as f64 / 1e6, value(r)?)))
                    .collect(),
            })
            .collect()
    };
    let tcp = runs.first().map(|r| r.tcp.as_str()).unwrap_or("linux");
    let plot = ExperimentPlot {
        title: format!("streamlab sim experiment — seed {seed}, {tcp} TCP"),
        stalled: curves(|r| r.stalled_s),
        download: curves(|r| r.download_s),
    };
    streamlab_plot::save(path, &streamlab_plot::experiment(&plot)?)?;
    Ok(())
}
