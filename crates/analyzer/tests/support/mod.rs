//! Running tshark from the integration tests: whether it is there (CI
//! requires it), running it so that any complaint fails the test, and
//! reading its hex output.
#![allow(dead_code)] // each test binary uses a part of it

pub mod flags;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// Whether tshark runs, and tshark's stdout on a capture: the kit's one
/// tshark runner (see `streamlab_testkit::tshark`).
pub use streamlab_testkit::tshark::{available as tshark_available, read as tshark};

/// Bytes from tshark's hex (`follow,tcp,raw` lines).
pub fn unhex(hex: &str) -> Vec<u8> {
    let digit = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex digits");
    (0..hex.len()).step_by(2).map(digit).collect()
}

/// tshark's `follow,tcp,raw` of one stream: its two nodes (node 0 sent the
/// first packet) and the bytes each sent. Node 1's hex lines start with a
/// tab; a line of `=` ends the data.
pub fn follow(path: &Path, stream: u64) -> ([SocketAddr; 2], [Vec<u8>; 2]) {
    let text = tshark(path, &["-qz", &format!("follow,tcp,raw,{stream}")]);
    let mut nodes: [Option<SocketAddr>; 2] = [None, None];
    let mut bytes = [Vec::new(), Vec::new()];
    let mut in_data = false;
    for line in text.lines() {
        if let Some(addr) = line.strip_prefix("Node 0: ") {
            nodes[0] = Some(addr.parse().expect("an address after Node 0"));
        } else if let Some(addr) = line.strip_prefix("Node 1: ") {
            nodes[1] = Some(addr.parse().expect("an address after Node 1"));
            in_data = true;
        } else if line.starts_with('=') {
            in_data = false;
        } else if in_data {
            let (node, hex) = match line.strip_prefix('\t') {
                Some(hex) => (1, hex),
                None => (0, line),
            };
            bytes[node].extend(unhex(hex.trim()));
        }
    }
    let [Some(a), Some(b)] = nodes else {
        panic!("stream {stream}: no Node lines in tshark's follow output");
    };
    ([a, b], bytes)
}

/// Every capture the kit ships (captures/), sorted.
pub fn captures() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../captures");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("the captures directory")
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|p| {
            let name = p.to_string_lossy();
            name.ends_with(".pcapng") || name.ends_with(".pcap")
        })
        .collect();
    files.sort();
    assert!(files.len() >= 10, "the captures are missing: {files:?}");
    files
}
