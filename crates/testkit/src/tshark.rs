//! Running tshark from a test.
//!
//! Without tshark a test skips its tshark part and says so on stdout,
//! unless `STREAMLAB_REQUIRE_TSHARK` is set (CI sets it): then a missing
//! tshark fails the test, so a cross-check can never pass by not running.

use std::path::Path;
use std::process::Command;

/// The variable that turns a missing tshark into a failure.
pub const REQUIRE: &str = "STREAMLAB_REQUIRE_TSHARK";

/// True when `tshark --version` runs. See the module docs for what
/// happens without it.
pub fn available() -> bool {
    let works = Command::new("tshark")
        .arg("--version")
        .output()
        .is_ok_and(|out| out.status.success());
    if !works {
        assert!(
            std::env::var_os(REQUIRE).is_none(),
            "{REQUIRE} is set but tshark does not run"
        );
        println!("skipped the tshark part: tshark does not run here");
    }
    works
}

/// Runs `tshark -n ARGS` (no name lookups: addresses stay numbers) and
/// returns its standard output. The test fails if tshark exits non-zero
/// or says anything on standard error, apart from the notice it prints
/// whenever it runs as root.
pub fn run(args: &[&str]) -> String {
    let out = Command::new("tshark")
        .arg("-n")
        .args(args)
        .output()
        .expect("run tshark");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let complaints: Vec<&str> = stderr
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with("Running as user "))
        .collect();
    assert!(
        out.status.success() && complaints.is_empty(),
        "tshark -n {} exited with {}:\n{stderr}",
        args.join(" "),
        out.status
    );
    String::from_utf8(out.stdout).expect("tshark writes UTF-8")
}

/// tshark's reading of the capture at `file`: `tshark -n -r FILE ARGS`.
pub fn read(file: &Path, args: &[&str]) -> String {
    let file = file.to_str().expect("capture paths are UTF-8 in the tests");
    run(&[&["-r", file], args].concat())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_capture_that_is_not_one_is_a_complaint() {
        if !available() {
            return;
        }
        let dir = std::env::temp_dir().join(format!("testkit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a temporary folder");
        let path = dir.join("not-a-capture.pcap");
        std::fs::write(&path, b"this is text, not a capture").expect("write");
        let failed = std::panic::catch_unwind(|| read(&path, &[]));
        let _ = std::fs::remove_dir_all(&dir);
        assert!(failed.is_err(), "tshark's complaint must fail the test");
    }
}
