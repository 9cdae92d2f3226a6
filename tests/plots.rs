//! `--plot` on `analyze` and `sim`: each picture read back by structure and
//! held against the figures the same command prints (never by its bytes).

mod support;

use std::path::Path;

use serde_json::Value;
use streamlab_plot::colours::{self, hex};
use streamlab_plot::series;
use streamlab_testkit::svg::{self, Svg};
use support::streamlab;

fn picture(path: &Path) -> Svg {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    svg::parse(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn json(out: &[u8]) -> Value {
    serde_json::from_slice(out).expect("stdout is JSON")
}

/// The axis starts at 0 and its last label lies in `(0.75 × end, end]`.
fn spans(axis: &[f64], end: f64) {
    assert_eq!(axis.first().copied(), Some(0.0), "{axis:?}");
    let last = axis.last().copied().unwrap_or(f64::NAN);
    assert!(last <= end && last > end * 0.75, "{axis:?} for {end}");
}

#[test]
fn analyze_draws_what_it_reports() {
    for capture in ["sim-lossy", "sim-slow-reader", "loopback-original"] {
        let dir = tempfile::tempdir().expect("a temp dir");
        let out = streamlab()
            .args([
                "analyze",
                &format!("captures/{capture}.pcapng"),
                "--json",
                "--plot",
            ])
            .arg(dir.path())
            .assert()
            .success();
        // The report on stdout is still one JSON document.
        let report = json(&out.get_output().stdout);
        let conn = &report["connections"][0];
        let stream = conn["stream"].as_u64().expect("a stream");
        let down = &conn["directions"]["server_to_client"];
        let ts = picture(
            &dir.path()
                .join(format!("stream-{stream}-time-sequence.svg")),
        );
        // One red bar per retransmission Wireshark would flag (plus the
        // legend's key, when there is one).
        let resent = down["tcp_analysis"]["retransmission"]
            .as_u64()
            .expect("a count") as usize;
        let bars = ts.count("polyline", &hex(colours::RETRANSMISSION));
        assert_eq!(bars, if resent > 0 { resent + 1 } else { 0 }, "{capture}");
        assert_eq!(ts.has_text(series::RETRANSMISSION), resent > 0, "{capture}");
        let zero = conn["directions"]["client_to_server"]["zero_windows"]
            .as_u64()
            .expect("a count");
        assert_eq!(ts.has_text(series::ZERO_WINDOW), zero > 0, "{capture}");
        // Both markers of each track, by name.
        for track in conn["tracks"].as_array().expect("tracks") {
            let name = track["name"].as_str().expect("a name");
            assert!(
                ts.has_text(&format!("track_data_start ({name})")),
                "{capture}"
            );
            assert!(
                ts.has_text(&format!("track_data_end ({name})")),
                "{capture}"
            );
        }
        // Time to the connection's end; bytes to the stream's length (kB).
        let end = conn["end"].as_f64().expect("an end");
        spans(&ts.x_axes()[0], end * 1.02);
        let bytes = down["stream_bytes"].as_f64().expect("bytes");
        spans(&ts.y_axes()[0], bytes / 1000.0 * 1.08);
        let tp = picture(&dir.path().join(format!("stream-{stream}-throughput.svg")));
        assert!(tp.has_text(series::THROUGHPUT));
        spans(&tp.x_axes()[0], end * 1.02);
    }
}

#[test]
fn a_sim_panel_shows_the_windows_and_the_stalls_of_its_run() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let out = streamlab()
        .args(["sim", "starved", "--json", "--plot"])
        .arg(dir.path())
        .assert()
        .success();
    let figures = json(&out.get_output().stdout);
    let panel = picture(&dir.path().join("starved.svg"));
    for name in [
        series::CWND,
        series::IN_FLIGHT,
        series::RWND,
        series::BUFFER,
    ] {
        assert!(panel.has_text(name), "no {name:?}");
    }
    // Four graphs on one time axis.
    let x = panel.x_axes();
    assert_eq!(x.len(), 4, "{x:?}");
    assert!(x.iter().all(|a| a == &x[0]));
    // One shaded band per stall the run counted, and the legend's key.
    let stalls = figures["stalls"].as_u64().expect("stalls") as usize;
    assert!(stalls > 0, "the starved run stalls");
    let shaded = panel
        .shapes
        .iter()
        .filter(|s| s.tag == "rect" && s.fill.as_deref() == Some(&hex(colours::STALL)))
        .count();
    assert_eq!(shaded, stalls + 1);
}

#[test]
fn a_model_without_congestion_control_draws_no_congestion_window() {
    let dir = tempfile::tempdir().expect("a temp dir");
    streamlab()
        .args(["sim", "lossy", "--tcp", "gbn", "--plot"])
        .arg(dir.path())
        .assert()
        .success();
    let panel = picture(&dir.path().join("lossy.svg"));
    assert!(!panel.has_text(series::CWND));
    assert!(panel.has_text(series::IN_FLIGHT));
}

#[test]
fn the_framing_scenario_draws_one_panel_per_dialect() {
    let dir = tempfile::tempdir().expect("a temp dir");
    streamlab()
        .args(["sim", "framing", "--plot"])
        .arg(dir.path())
        .assert()
        .success();
    for dialect in ["original", "framed"] {
        picture(&dir.path().join(format!("framing-{dialect}.svg")));
    }
}

#[test]
fn the_experiment_draws_a_line_per_loss_rate() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let path = dir.path().join("grid.svg");
    let out = streamlab()
        .args(["sim", "experiment", "--json", "--plot"])
        .arg(&path)
        .assert()
        .success();
    let runs: Vec<Value> = String::from_utf8_lossy(&out.get_output().stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    let grid = picture(&path);
    let mut losses: Vec<f64> = runs
        .iter()
        .filter_map(|r| r["network"]["loss"].as_f64())
        .collect();
    losses.dedup();
    assert!(losses.len() >= 2, "{losses:?}");
    for loss in &losses {
        assert!(grid.has_text(&format!("{}% loss", loss * 100.0)), "{loss}");
    }
    // Download times reach the slowest run's.
    let slowest = runs
        .iter()
        .filter_map(|r| r["download_s"].as_f64())
        .fold(0.0, f64::max);
    spans(&grid.y_axes()[1], slowest * 1.08);
}

#[test]
fn a_plot_folder_that_cannot_be_made_is_one_line_of_error() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let file = dir.path().join("not-a-folder");
    std::fs::write(&file, "x").expect("a file");
    for args in [
        vec!["analyze", "captures/sim-lossy.pcapng", "--plot"],
        vec!["sim", "lossy", "--plot"],
    ] {
        let out = streamlab().args(&args).arg(&file).assert().failure();
        let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
        assert!(err.contains("not-a-folder"), "{err}");
        assert_eq!(err.trim().lines().count(), 1, "{err}");
    }
    // The Mathis grid has no picture.
    streamlab()
        .args(["sim", "experiment", "--grid", "mathis", "--plot"])
        .arg(dir.path().join("m.svg"))
        .assert()
        .failure();
}
