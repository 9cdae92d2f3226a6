#![allow(dead_code)] // each test binary uses a part of it
//! Running tshark from the tests: whether it is there, running it so that
//! any complaint fails the test, and reading its follow-stream output.

// The kit's one tshark runner; each test binary uses a part of it.
#[allow(unused_imports)]
pub use streamlab_testkit::tshark::{available, read, run};

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
