//! What the testbed's root-only tests share: where the workspace is, and
//! which `streamlab` binary to run, or a loud skip.

use std::io::Write;
use std::path::PathBuf;

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The binary to run, or `None` (with a loud message) if the test cannot.
pub fn setup(test: &str) -> Option<PathBuf> {
    let required = std::env::var("STREAMLAB_REQUIRE_KERNEL").is_ok_and(|v| v == "1");
    let skip = |why: String| {
        assert!(!required, "{test}: STREAMLAB_REQUIRE_KERNEL=1 but {why}");
        // Straight to stderr, past the test harness's capture: loud.
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED {test}: {why} (set STREAMLAB_REQUIRE_KERNEL=1 to make this fail)"
        );
        None
    };
    if !streamlab_testbed::permitted() {
        return skip("not root: the kernel testbed needs namespaces and TUN devices".into());
    }
    let candidates = match std::env::var_os("STREAMLAB_BIN") {
        Some(p) => vec![PathBuf::from(p)],
        None => ["release", "debug"]
            .iter()
            .map(|p| root().join("target").join(p).join("streamlab"))
            .collect(),
    };
    // The newest build, so a stale release binary does not shadow a fresh
    // debug one (or the other way round).
    let newest = candidates
        .into_iter()
        .filter_map(|p| Some((p.metadata().ok()?.modified().ok()?, p)))
        .max()
        .map(|(_, p)| p);
    match newest {
        Some(bin) => Some(bin),
        None => skip("no streamlab binary: run `cargo build` or set STREAMLAB_BIN".into()),
    }
}
