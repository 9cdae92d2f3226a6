//! The analyzer and tshark read the same files and must agree, frame by
//! frame: number, time, addresses, ports, sequence and acknowledgment
//! numbers, flags and payload length.
//!
//! The files come from the test-side writer (`streamlab_testkit::captures`): a pcapng
//! of two sections in opposite byte orders, with interfaces of every link
//! type the analyzer reads and several timestamp units, an unknown block
//! and a simple packet block; and classic pcaps in both byte orders. Without
//! tshark on PATH the comparison is skipped (and says so), unless
//! `STREAMLAB_REQUIRE_TSHARK` is set, as CI sets it.

use streamlab_testkit::captures as testutil;

use std::path::Path;

use streamlab_analyzer::{decode, CaptureReader, Decoded};
use streamlab_testkit::tshark;
use testutil::*;

const CLIENT: [u8; 4] = [10, 0, 0, 10];
const SERVER: [u8; 4] = [10, 0, 0, 7];
const CLIENT6: [u8; 16] = [
    0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
];
const SERVER6: [u8; 16] = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7];

/// Ethertypes and IP protocols, spelled out for the builders.
const IPV4: u16 = 0x0800;
const IPV6: u16 = 0x86dd;
const TCP: u8 = 6;

fn segment_v4(seq: u32, flags: u8, payload: &[u8]) -> Vec<u8> {
    ipv4(
        CLIENT,
        SERVER,
        TCP,
        &tcp(45926, 2635, seq, 1, flags, payload),
    )
}

fn segment_v6(seq: u32, payload: &[u8]) -> Vec<u8> {
    let hop_by_hop = [TCP, 0, 1, 4, 0, 0, 0, 0];
    let segment = tcp(2635, 45926, seq, 9, 0x18, payload);
    ipv6(SERVER6, CLIENT6, 0, &hop_by_hop, &segment)
}

/// An enhanced packet block holding the whole frame.
fn epb(f: &mut PcapngFile, interface: u32, raw_ts: u64, frame: &[u8]) {
    f.enhanced(interface, raw_ts, frame, frame.len() as u32);
}

/// Every link type, both byte orders, five timestamp units.
fn pcapng() -> Vec<u8> {
    let t = 1_700_000_000u64; // seconds
    let mut f = PcapngFile::default();
    f.section(false)
        .interface(1, 262_144, &[(2, b"eth0"), (9, &[9]), (0, b"")])
        .interface(113, 262_144, &[]);
    epb(
        &mut f,
        0,
        t * 1_000_000_000 + 1,
        &ethernet(&[0x8100], IPV4, &segment_v4(100, 0x02, b"")),
    );
    epb(
        &mut f,
        1,
        t * 1_000_000 + 2,
        &sll(772, IPV4, &segment_v4(101, 0x18, b"lista")),
    );
    let offload = ipv4_with(
        CLIENT,
        SERVER,
        TCP,
        0,
        0x4000,
        &tcp(45926, 2635, 106, 1, 0x10, &[7; 3000]),
    );
    epb(
        &mut f,
        0,
        t * 1_000_000_000 + 3,
        &ethernet(&[], IPV4, &offload),
    );
    let mut padded = ethernet(&[], IPV4, &segment_v4(3106, 0x11, b""));
    padded.resize(60, 0);
    epb(&mut f, 0, t * 1_000_000_000 + 4, &padded);
    epb(
        &mut f,
        0,
        t * 1_000_000_000 + 5,
        &ethernet(&[], 0x0806, &[0; 28]),
    );
    f.block(0x0000_0bad, b"\0\0\0\0a custom block, numbered as a frame");
    f.block(0x1234_5678, b"a block nobody knows");
    f.section(true)
        .interface(276, 262_144, &[(9, &[0x80 | 20])])
        .interface(0, 262_144, &[(9, &[3]), (14, &100i64.to_be_bytes())])
        .interface(101, 262_144, &[])
        .interface(228, 262_144, &[])
        .interface(229, 96, &[]);
    epb(
        &mut f,
        0,
        (t << 20) + (1 << 19),
        &sll2(772, IPV6, &segment_v6(500, b"RV\nVL\n")),
    );
    epb(
        &mut f,
        1,
        t * 1_000 + 7,
        &family(2, false, &segment_v4(102, 0x18, b"quit")),
    );
    epb(
        &mut f,
        1,
        t * 1_000 + 8,
        &family(30, false, &segment_v6(506, b"goodbye")),
    );
    epb(
        &mut f,
        2,
        t * 1_000_000 + 9,
        &ipv4(CLIENT, SERVER, 17, &[0; 8]),
    );
    epb(&mut f, 3, t * 1_000_000 + 10, &segment_v4(106, 0x10, b""));
    let whole = segment_v6(513, &[1; 200]);
    f.enhanced(4, t * 1_000_000 + 11, &whole[..96], whole.len() as u32);
    let reset = sll2(1, IPV4, &segment_v4(107, 0x04, b""));
    f.simple(&reset, reset.len() as u32);
    f.bytes
}

/// (frame, time ns, src, dst, seq, ack, flags, payload length) per TCP
/// frame; `None` for the others.
type Row = (
    u64,
    u64,
    Option<(String, String, u32, u32, u8, Option<usize>)>,
);

fn analyzer_rows(path: &Path) -> Vec<Row> {
    let mut reader = CaptureReader::open(path).expect("open the capture");
    let mut rows = Vec::new();
    while let Some(packet) = reader.next_packet().expect("read a packet") {
        let tcp = match decode(&packet) {
            Decoded::Tcp(s) => Some((
                s.src.to_string(),
                s.dst.to_string(),
                s.seq,
                s.ack,
                s.flags.bits(),
                (!s.truncated).then_some(s.payload.len()),
            )),
            Decoded::Other(_) => None,
        };
        rows.push((packet.frame, packet.timestamp_ns, tcp));
    }
    assert!(reader.warnings().is_empty(), "{:?}", reader.warnings());
    rows
}

fn tshark_rows(path: &Path) -> Vec<Row> {
    let fields = [
        "frame.number",
        "frame.time_epoch",
        "ip.src",
        "ipv6.src",
        "ip.dst",
        "ipv6.dst",
        "tcp.srcport",
        "tcp.dstport",
        "tcp.seq_raw",
        "tcp.ack_raw",
        "tcp.flags",
        "tcp.len",
        "frame.len",
        "frame.cap_len",
    ];
    let mut args = vec!["-T", "fields"];
    for field in &fields {
        args.extend(["-e", field]);
    }
    let text = tshark::read(path, &args);
    text.lines().map(tshark_row).collect()
}

fn tshark_row(line: &str) -> Row {
    let f: Vec<&str> = line.split('\t').collect();
    // A simple packet block has no time: tshark shows none, the reader 0.
    let (seconds, fraction) = f[1].split_once('.').unwrap_or(("0", "0"));
    let fraction = format!("{fraction:0<9}");
    let ns =
        seconds.parse::<u64>().unwrap() * 1_000_000_000 + fraction[..9].parse::<u64>().unwrap();
    let tcp = (!f[6].is_empty()).then(|| {
        let src = if f[2].is_empty() {
            format!("[{}]", f[3])
        } else {
            f[2].to_string()
        };
        let dst = if f[4].is_empty() {
            format!("[{}]", f[5])
        } else {
            f[4].to_string()
        };
        let cut = f[12] != f[13];
        (
            format!("{src}:{}", f[6]),
            format!("{dst}:{}", f[7]),
            f[8].parse().unwrap(),
            f[9].parse().unwrap(),
            u8::from_str_radix(f[10].trim_start_matches("0x"), 16).unwrap(),
            (!cut).then(|| f[11].parse().unwrap()),
        )
    });
    (f[0].parse().unwrap(), ns, tcp)
}

/// Reads `bytes` both ways and compares; `not_packets` are the frames
/// tshark shows that are not packets (custom blocks), which the analyzer
/// numbers but skips.
fn agree(name: &str, bytes: &[u8], tcp_frames: usize, not_packets: &[u64]) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).expect("write the capture");
    let ours = analyzer_rows(&path);
    assert_eq!(ours.iter().filter(|r| r.2.is_some()).count(), tcp_frames);
    if tshark::available() {
        let mut theirs = tshark_rows(&path);
        theirs.retain(|row| !not_packets.contains(&row.0));
        assert_eq!(ours, theirs);
    }
}

#[test]
fn pcapng_of_every_link_type_reads_as_tshark_reads_it() {
    agree("every-link.pcapng", &pcapng(), 10, &[6]);
}

#[test]
fn classic_pcap_in_both_byte_orders_and_units_reads_as_tshark_reads_it() {
    for (big, nanos) in [(false, false), (true, true), (true, false), (false, true)] {
        let mut file = PcapFile::new(big, nanos, 0, 65_535);
        let t = 1_700_000_000_123_456_789;
        let syn = family(2, !big, &segment_v4(1, 0x02, b""));
        file.packet(t, &syn, syn.len() as u32);
        let download = family(2, big, &segment_v4(2, 0x18, b"download RV"));
        file.packet(t + 1_000, &download[..44], download.len() as u32);
        let v6 = family(30, big, &segment_v6(3, b"x"));
        file.packet(t + 2_000, &v6, v6.len() as u32);
        agree("loopback.pcap", &file.bytes, 3, &[]);
    }
}
