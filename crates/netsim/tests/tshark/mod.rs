#![allow(dead_code)] // each test binary uses a part of it
//! Running tshark from the tests: whether it is there, running it so that
//! any complaint fails the test, and reading its follow-stream output.

use std::path::Path;
use std::process::Command;

/// True when tshark is on PATH. Without it the caller skips its tshark
/// part (and says so), unless `STREAMLAB_REQUIRE_TSHARK` is set, as CI
/// sets it: then a missing tshark fails the test.
pub fn available() -> bool {
    if Command::new("tshark").arg("--version").output().is_ok() {
        return true;
    }
    if std::env::var_os("STREAMLAB_REQUIRE_TSHARK").is_some() {
        panic!("STREAMLAB_REQUIRE_TSHARK is set but tshark is not on PATH");
    }
    println!("skipped the tshark part: tshark is not on PATH");
    false
}

/// Runs tshark (with `-n`) and returns its standard output, failing the
/// test if it exits non-zero or says anything on standard error — apart
/// from the notice it prints whenever it runs as root.
pub fn run(args: &[&str]) -> String {
    let out = Command::new("tshark")
        .arg("-n") // no name lookups: addresses stay numbers
        .args(args)
        .output()
        .expect("run tshark");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let complaints: Vec<&str> = stderr
        .lines()
        .filter(|l| !l.trim().is_empty())
        .filter(|l| !(l.starts_with("Running as user ") && l.ends_with("This could be dangerous.")))
        .collect();
    assert!(
        out.status.success() && complaints.is_empty(),
        "tshark {args:?} exited with {}:\n{stderr}",
        out.status
    );
    String::from_utf8(out.stdout).expect("tshark writes UTF-8")
}

/// tshark's reading of the capture at `file` (see [`run`]).
pub fn read(file: &Path, args: &[&str]) -> String {
    let file = file.to_str().expect("temporary paths are UTF-8 here");
    run(&[&["-r", file], args].concat())
}

/// Cuts `-z follow,tcp,ascii` output into (from the first node?, text)
/// chunks. After the `Node 1:` line, each chunk is its length on a line
/// (indented with a tab when the second node sent it), the text, and a
/// newline; a line of `=` ends the stream.
pub fn follow_chunks(out: &str) -> Vec<(bool, String)> {
    let start = out.find("Node 1:").expect("a Node 1 line");
    let mut rest = &out[start..];
    rest = &rest[rest.find('\n').expect("a line end") + 1..];
    let mut chunks = Vec::new();
    while !rest.starts_with("=====") {
        let (head, tail) = rest.split_once('\n').expect("a length line");
        let len: usize = head.trim_start_matches('\t').parse().expect("a length");
        chunks.push((!head.starts_with('\t'), tail[..len].to_string()));
        rest = tail[len..]
            .strip_prefix('\n')
            .expect("a newline after the text");
    }
    chunks
}
