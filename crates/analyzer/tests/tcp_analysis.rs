//! The analyzer labels TCP events as Wireshark does: on every capture the
//! kit ships, and on simulated lossy and slow-reader runs captured at
//! either end, each connection's count of each `tcp.analysis.*` flag, each
//! way, equals tshark's. (Real Linux TCP: crates/testbed/tests/analysis.rs.)
//!
//! Without tshark on PATH the test is skipped (and says so), unless
//! `STREAMLAB_REQUIRE_TSHARK` is set, as CI sets it.
//!
//! Replay one capture's flags:
//!
//! ```text
//! tshark -r captures/FILE -Y tcp.analysis.flags -T fields -e frame.number -e tcp.analysis.flags
//! ```

mod support;

use streamlab_netsim::scenario::{Options, Scenario};
use streamlab_netsim::sim::CapturePoint;
use streamlab_netsim::tcp::TcpFlavor;
use support::flags::assert_agree;
use support::{captures, tshark_available};

#[test]
fn every_committed_capture_gets_wiresharks_tcp_analysis_counts() {
    if !tshark_available() {
        return;
    }
    let totals = assert_agree(&captures());
    assert!(totals.values().sum::<u64>() >= 40, "{totals:?}");
}

/// Lossy downloads and slow readers from the simulator, in each TCP model
/// (go-back-N's storms, NewReno's dup-ACK repairs, Linux's SACK repairs;
/// 1-byte and 0-byte window probes), captured at the client and at the
/// server.
#[test]
fn simulated_runs_at_either_end_get_wiresharks_tcp_analysis_counts() {
    if !tshark_available() {
        return;
    }
    let dir = tempfile::tempdir().expect("a temporary directory");
    let mut paths = Vec::new();
    for scenario in [Scenario::Lossy, Scenario::SlowReader] {
        for tcp in TcpFlavor::ALL {
            for seed in [1, 2] {
                let mut options = Options::new(seed);
                options.tcp = Some(tcp);
                let mut run = scenario.build(&options).remove(0);
                run.sim
                    .run_until_idle(5_000_000)
                    .unwrap_or_else(|e| panic!("{scenario:?} {tcp} seed {seed}: {e}"));
                for at in [CapturePoint::Client, CapturePoint::Server] {
                    let path = dir
                        .path()
                        .join(format!("{scenario:?}-{tcp}-{seed}-{at}.pcapng"));
                    let file = std::fs::File::create(&path).expect("a capture file");
                    run.sim
                        .write_pcapng_at(at, std::io::BufWriter::new(file))
                        .expect("the capture written");
                    paths.push(path);
                }
            }
        }
    }
    let totals = assert_agree(&paths);
    // Enough of each kind to mean something.
    for name in [
        "retransmission",
        "fast_retransmission",
        "out_of_order",
        "lost_segment",
        "duplicate_ack",
        "zero_window",
        "zero_window_probe",
        "keep_alive",
        "window_update",
        "window_full",
    ] {
        assert!(
            totals.get(name).is_some_and(|&n| n > 0),
            "no {name}: {totals:?}"
        );
    }
}
