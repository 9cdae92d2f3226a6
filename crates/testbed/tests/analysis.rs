//! The analyzer labels real Linux TCP as Wireshark does: lossy downloads
//! and a slow reader on this machine's kernel (the testbed), captured at
//! the client, give the same count of each `tcp.analysis.*` flag, each
//! way, from `streamlab analyze` as from tshark. Needs root and tshark
//! (loud skip otherwise; STREAMLAB_REQUIRE_KERNEL=1 and
//! STREAMLAB_REQUIRE_TSHARK=1, which CI sets, make a skip a failure).

use std::time::Duration;

use streamlab_netsim::link::LinkConfig;
use streamlab_testbed::{KernelConfig, KernelRun};

mod common;
use common::{root, setup};

// The analyzer's own tshark helpers and flag comparison, shared.
#[path = "../../analyzer/tests/support/mod.rs"]
mod support;

#[test]
fn kernel_captures_get_wiresharks_tcp_analysis_counts() {
    let Some(bin) = setup("analysis") else { return };
    if !support::tshark_available() {
        return;
    }
    let dir = tempfile::tempdir().expect("a temporary directory");
    let mut paths = Vec::new();
    let lossy = LinkConfig {
        latency: Duration::from_millis(10),
        bandwidth: Some(10_000_000),
        loss: 0.05,
        queue_limit: Duration::from_secs(1),
        ..LinkConfig::default()
    };
    for seed in [1, 2] {
        let path = dir.path().join(format!("lossy-{seed}.pcapng"));
        let mut config = KernelConfig::new(&bin, root().join("music"), "ode_to_joy");
        config.uplink = lossy.clone();
        config.downlink = lossy.clone();
        config.seed = seed;
        config.capture = Some(path.clone());
        config.timeout = Duration::from_secs(60);
        KernelRun::new(config)
            .run()
            .unwrap_or_else(|e| panic!("lossy seed {seed} on the kernel: {e}"));
        paths.push(path);
    }
    let path = dir.path().join("slow-reader.pcapng");
    let mut config = KernelConfig::new(&bin, root().join("music"), "ode_to_joy");
    config.scenario = "slow-reader".into();
    config.stop_reading = Some((Duration::from_millis(50), Duration::from_millis(1450)));
    config.capture = Some(path.clone());
    config.timeout = Duration::from_secs(60);
    KernelRun::new(config)
        .run()
        .unwrap_or_else(|e| panic!("slow-reader on the kernel: {e}"));
    paths.push(path);

    let totals = support::flags::assert_agree(&paths);
    for name in [
        "retransmission",
        "duplicate_ack",
        "zero_window",
        "keep_alive",
    ] {
        assert!(
            totals.get(name).is_some_and(|&n| n > 0),
            "no {name}: {totals:?}"
        );
    }
}
