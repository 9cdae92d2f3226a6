//! What the `streamlab` binary's test files share (as ripgrep's tests/util.rs).

use std::time::Duration;

use assert_cmd::cargo::cargo_bin_cmd;
use assert_cmd::Command;

/// The `streamlab` binary, run from the repository's root (so `music/` and
/// `captures/` are where a user has them), stopped after two minutes.
pub fn streamlab() -> Command {
    let mut cmd = cargo_bin_cmd!("streamlab");
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
        .timeout(Duration::from_secs(120));
    cmd
}
