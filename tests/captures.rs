//! The simulated captures committed under captures/ are exactly what
//! `streamlab sim` writes today: the simulator is deterministic, and the
//! files the labs and the analyzer's tests use have not drifted from it.
//!
//! After a deliberate change to the simulator, regenerate them with the
//! loop in captures/README.md and review them in Wireshark.

use std::path::Path;
use std::time::Duration;

use assert_cmd::cargo::cargo_bin_cmd;

/// Each scenario and the files its run writes.
const CAPTURES: [(&str, &[&str]); 5] = [
    ("report", &["sim-report.pcapng"]),
    (
        "framing",
        &["sim-framing-original.pcapng", "sim-framing-framed.pcapng"],
    ),
    ("lossy", &["sim-lossy.pcapng"]),
    ("slow-reader", &["sim-slow-reader.pcapng"]),
    ("starved", &["sim-starved.pcapng"]),
];

#[test]
fn the_committed_simulated_captures_regenerate_byte_for_byte() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().expect("a temporary directory");
    for (scenario, files) in CAPTURES {
        cargo_bin_cmd!("streamlab")
            .args(["sim", scenario, "--pcap"])
            .arg(dir.path().join(format!("sim-{scenario}.pcapng")))
            .timeout(Duration::from_secs(120))
            .assert()
            .success();
        for file in files {
            let committed = std::fs::read(root.join("captures").join(file))
                .unwrap_or_else(|e| panic!("captures/{file}: {e}"));
            let fresh = std::fs::read(dir.path().join(file))
                .unwrap_or_else(|e| panic!("streamlab sim {scenario} did not write {file}: {e}"));
            assert!(
                committed == fresh,
                "captures/{file} differs from what `streamlab sim {scenario}` writes now \
                 ({} vs {} bytes): regenerate it (captures/README.md) if the change is meant",
                committed.len(),
                fresh.len()
            );
        }
    }
}
