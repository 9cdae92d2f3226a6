//! The testbed on the real kernel: namespaces, TUN devices, the real
//! server and client. These need root. Without it each test says so
//! loudly and passes, unless STREAMLAB_REQUIRE_KERNEL=1, which CI sets:
//! then a test that cannot run fails.
//!
//! The streamlab binary is STREAMLAB_BIN, or the newer of the workspace's
//! target/{release,debug}/streamlab (`cargo test --workspace` builds the
//! debug one; alone, build it first with `cargo build`).

use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use streamlab_netsim::link::LinkConfig;
use streamlab_testbed::{netns, KernelConfig, KernelRun, TestbedError};
use streamlab_testkit::tshark;

mod common;
use common::{root, setup};

/// One kernel test at a time, so "nothing left behind" looks at one run.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn one_at_a_time() -> MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner())
}

fn link(latency_ms: u64, bandwidth: u64, loss: f64) -> LinkConfig {
    LinkConfig {
        latency: Duration::from_millis(latency_ms),
        bandwidth: Some(bandwidth),
        loss,
        queue_limit: Duration::from_secs(1),
        ..LinkConfig::default()
    }
}

/// The namespaces this test process made that are still there.
fn ours_left() -> Vec<String> {
    let mine = format!("{}{}-", netns::PREFIX, std::process::id());
    netns::list()
        .into_iter()
        .filter(|n| n.starts_with(&mine))
        .collect()
}

fn config(bin: PathBuf, song: &str, l: LinkConfig, seed: u64) -> KernelConfig {
    let mut c = KernelConfig::new(bin, root().join("music"), song);
    c.uplink = l.clone();
    c.downlink = l;
    c.seed = seed;
    c.timeout = Duration::from_secs(60);
    c
}

#[test]
fn a_lossless_download_is_bit_exact_and_takes_its_serialisation_time() {
    let _one = one_at_a_time();
    let Some(bin) = setup("lossless") else { return };
    let dir = tempfile::tempdir().expect("a temporary directory");
    let mut c = config(bin, "frere_jacques", link(10, 10_000_000, 0.0), 1);
    c.capture = Some(dir.path().join("client.pcapng"));
    let out = KernelRun::new(c).run().expect("a kernel run");
    let f = &out.figures;
    assert_eq!(f.bit_exact, Some(true), "{f:?}");
    assert_eq!(f.dropped, 0);
    // The song's bytes alone take this long at 10 Mbit/s, plus one way.
    let serialisation = f.song_bytes.expect("a song") as f64 * 8.0 / 10e6;
    let download = f.download_s.expect("the download completed");
    assert!(download > serialisation + 0.010, "{download} s");
    assert!(f.first_audio_s.is_some_and(|t| t < download), "{f:?}");
    assert!(f.stalls.is_some(), "the player played the track: {f:?}");
    assert_eq!(out.server_tcp.congestion_control, "cubic");
    assert!(out.captured > 80, "{} packets captured", out.captured);
    assert!(ours_left().is_empty(), "left behind: {:?}", ours_left());
}

#[test]
fn a_lossy_download_is_repaired_by_retransmissions() {
    let _one = one_at_a_time();
    let Some(bin) = setup("lossy") else { return };
    // 846 KB: about 600 data segments, so some are surely lost at 5%.
    let dir = tempfile::tempdir().expect("a temporary directory");
    let capture = dir.path().join("client.pcapng");
    let mut c = config(bin, "ode_to_joy", link(1, 10_000_000, 0.05), 1);
    c.capture = Some(capture.clone());
    let out = KernelRun::new(c).run().expect("a kernel run");
    let f = &out.figures;
    assert!(f.dropped > 0, "{f:?}");
    assert!(f.retransmitted >= 1, "{f:?}");
    assert_eq!(f.bit_exact, Some(true), "{f:?}");
    // Every frame dropped on its way from the client is in the capture,
    // with its comment; those dropped on the way to it are not (a
    // Wireshark at the client never sees them).
    assert!(out.dropped_uplink < f.dropped, "{f:?}");
    if let Some(comments) = tshark_comments(&capture) {
        assert_eq!(comments.len() as u64, out.dropped_uplink, "{comments:?}");
        assert!(comments
            .iter()
            .all(|c| c.starts_with("dropped by the link")));
    }
    assert!(ours_left().is_empty(), "left behind: {:?}", ours_left());
}

#[test]
fn a_song_that_does_not_exist_is_an_error_and_leaves_nothing() {
    let _one = one_at_a_time();
    let Some(bin) = setup("no such song") else {
        return;
    };
    let c = config(bin, "no_such_song", link(1, 10_000_000, 0.0), 1);
    let err = KernelRun::new(c).run().expect_err("no such song");
    assert!(matches!(err, TestbedError::SongNotFound { .. }), "{err}");
    assert!(ours_left().is_empty(), "left behind: {:?}", ours_left());
}

#[test]
fn a_server_that_fails_to_start_is_an_error_and_leaves_nothing() {
    let _one = one_at_a_time();
    let Some(_) = setup("failing server") else {
        return;
    };
    // `false` exits at once: the run fails after the namespaces, the TUN
    // devices and the emulator are up.
    let c = config(
        PathBuf::from("/bin/false"),
        "frere_jacques",
        link(1, 10_000_000, 0.0),
        1,
    );
    let err = KernelRun::new(c).run().expect_err("a server that exits");
    assert!(err.to_string().contains("before listening"), "{err}");
    assert!(ours_left().is_empty(), "left behind: {:?}", ours_left());
    let devices = netns::ip(&["-o", "link", "show"]).expect("ip link");
    assert!(!devices.contains("sltun"), "{devices}");
}

/// The packet comments tshark finds in a capture, failing on any complaint
/// it prints; `None` without tshark (unless STREAMLAB_REQUIRE_TSHARK is set).
fn tshark_comments(path: &std::path::Path) -> Option<Vec<String>> {
    if !tshark::available() {
        return None;
    }
    let text = tshark::read(
        path,
        &["-Y", "frame.comment", "-T", "fields", "-e", "frame.comment"],
    );
    Some(text.lines().map(str::to_string).collect())
}

#[test]
fn a_run_past_its_bound_stops_and_leaves_nothing() {
    let _one = one_at_a_time();
    let Some(bin) = setup("timeout") else { return };
    // ode_to_joy needs about 7 s at 1 Mbit/s; the bound is 2 s.
    let mut c = config(bin, "ode_to_joy", link(1, 1_000_000, 0.0), 1);
    c.timeout = Duration::from_secs(2);
    let err = KernelRun::new(c).run().expect_err("a run past its bound");
    assert!(matches!(err, TestbedError::Timeout(2)), "{err}");
    assert!(ours_left().is_empty(), "left behind: {:?}", ours_left());
    let children = children_of_this_process();
    assert!(children.is_empty(), "still running: {children:?}");
}

/// The processes whose parent is this test process (by /proc/PID/stat).
fn children_of_this_process() -> Vec<String> {
    let me = std::process::id().to_string();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| std::fs::read_to_string(e.ok()?.path().join("stat")).ok())
        .filter(|stat| {
            // pid (comm) state ppid ...: the fields after the last ')'.
            let after = stat.rsplit_once(')').map_or("", |(_, r)| r);
            after.split_whitespace().nth(1) == Some(me.as_str())
        })
        .collect()
}
