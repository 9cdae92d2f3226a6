//! How fast the reading layer goes, on a file it writes itself. Ignored by
//! default (it writes 512 MB); run it optimised:
//!
//! ```text
//! cargo test --release -p streamlab-analyzer --test throughput -- --ignored --nocapture
//! ```
//!
//! The goal for the whole analyzer is 1 GB/s; reading and decoding alone
//! must leave room for reassembly and the report.

#[path = "../src/testutil.rs"]
mod testutil;

use std::io::{BufWriter, Write};
use std::time::Instant;

use streamlab_analyzer::{decode, CaptureReader, Decoded};
use testutil::{ethernet, ipv4, tcp, PcapngFile};

#[test]
#[ignore = "writes 512 MB; run with --release --ignored"]
fn reading_and_decoding_a_large_pcapng() {
    const TARGET: usize = 512 << 20;
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("large.pcapng");
    let mut out = BufWriter::new(std::fs::File::create(&path).expect("create"));
    let mut header = PcapngFile::default();
    header.section(false).interface(1, 262_144, &[(9, &[9])]);
    out.write_all(&header.bytes).expect("write");
    // A mix of full-size segments and pure ACKs, as a download has.
    let data = tcp(2635, 45926, 1, 1, 0x10, &[0x55; 1448]);
    let full = ethernet(&[], 0x0800, &ipv4([10, 0, 0, 7], [10, 0, 0, 10], 6, &data));
    let ack = ethernet(
        &[],
        0x0800,
        &ipv4(
            [10, 0, 0, 10],
            [10, 0, 0, 7],
            6,
            &tcp(45926, 2635, 1, 1, 0x10, b""),
        ),
    );
    let mut written = 0;
    let mut block = PcapngFile::default();
    block.section(false);
    let section_len = block.bytes.len();
    for i in 0u64.. {
        block.bytes.truncate(section_len);
        let frame = if i % 3 == 2 { &ack } else { &full };
        block.enhanced(0, i * 1_000, frame, frame.len() as u32);
        out.write_all(&block.bytes[section_len..]).expect("write");
        written += block.bytes.len() - section_len;
        if written >= TARGET {
            break;
        }
    }
    out.flush().expect("flush");
    drop(out);

    let start = Instant::now();
    let mut reader = CaptureReader::open(&path).expect("open");
    let (mut segments, mut payload) = (0u64, 0u64);
    while let Some(packet) = reader.next_packet().expect("read") {
        if let Decoded::Tcp(segment) = decode(&packet) {
            segments += 1;
            payload += segment.payload.len() as u64;
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    let size = std::fs::metadata(&path).expect("size").len() as f64;
    println!(
        "{:.0} MB in {seconds:.3} s: {:.2} GB/s, {segments} segments, {payload} payload bytes",
        size / 1e6,
        size / 1e9 / seconds
    );
    assert_eq!(segments, reader.frames_read());
}
