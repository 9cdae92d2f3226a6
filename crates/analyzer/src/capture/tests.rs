//! Files written by the test-side writers (`testutil`), read back.

use super::*;
use crate::testutil::{PcapFile, PcapngFile};

/// Every packet of a file: (frame, time, interface, link type, captured,
/// original, data), and the error that ended it, if any.
type Row = (u64, u64, u32, u16, u32, u32, Vec<u8>);

fn read_all(bytes: &[u8]) -> (Vec<Row>, Option<CaptureError>) {
    let mut reader = CaptureReader::new(bytes).expect("a capture header");
    let mut rows = Vec::new();
    loop {
        match reader.next_packet() {
            Ok(Some(p)) => rows.push((
                p.frame,
                p.timestamp_ns,
                p.interface,
                p.link_type.0,
                p.captured_len,
                p.original_len,
                p.data.to_vec(),
            )),
            Ok(None) => return (rows, None),
            Err(e) => {
                assert!(
                    matches!(reader.next_packet(), Ok(None)),
                    "one error, then the end"
                );
                return (rows, Some(e));
            }
        }
    }
}

#[test]
fn pcap_in_both_byte_orders_and_both_units() {
    for big in [false, true] {
        for nanos in [false, true] {
            let mut file = PcapFile::new(big, nanos, 1, 65_535);
            file.packet(1_700_000_000_123_456_789, b"first", 5).packet(
                1_700_000_001_000_000_001,
                b"second",
                6,
            );
            let mut reader = CaptureReader::new(&file.bytes[..]).unwrap();
            assert_eq!(reader.format(), Format::Pcap { nanos });
            let first = reader.next_packet().unwrap().unwrap();
            let want = if nanos {
                1_700_000_000_123_456_789
            } else {
                1_700_000_000_123_456_000
            };
            assert_eq!(
                (first.frame, first.timestamp_ns),
                (1, want),
                "big {big} nanos {nanos}"
            );
            assert_eq!(first.link_type, LinkType::ETHERNET);
            assert_eq!(first.data, b"first");
            let second = reader.next_packet().unwrap().unwrap();
            assert_eq!((second.frame, second.data), (2, &b"second"[..]));
            assert!(reader.next_packet().unwrap().is_none());
            assert!(reader.next_packet().unwrap().is_none());
            assert_eq!(reader.frames_read(), 2);
        }
    }
}

#[test]
fn a_packet_longer_than_the_snaplen_is_kept() {
    let mut file = PcapFile::new(false, false, 1, 4);
    file.packet(0, b"longer than four", 100);
    let (rows, end) = read_all(&file.bytes);
    assert!(end.is_none());
    assert_eq!(rows[0].4, 16);
    assert_eq!(rows[0].5, 100);
}

#[test]
fn pcapng_sections_interfaces_and_units() {
    let mut file = PcapngFile::default();
    file.section(false)
        .interface(1, 262_144, &[(2, b"eth0"), (9, &[9]), (0, b"")]) // ns
        .interface(113, 0, &[]) // default: µs
        .block(0x1234_5678, b"a block nobody knows")
        .enhanced(0, 1_700_000_000_000_000_001, b"ns", 2)
        .enhanced(1, 1_700_000_000_000_001, b"us", 2)
        .block(0x4000_0bad, b"\0\0\0\0a custom block: Wireshark's frame 3")
        .section(true) // a new section, big endian: interfaces start over
        .interface(276, 0, &[(9, &[0x80 | 10])]) // 2^-10 s
        .interface(0, 0, &[(9, &[3]), (14, &100i64.to_be_bytes())]) // ms, +100 s
        .enhanced(0, 1024 * 5 + 512, b"pow2", 4)
        .enhanced(1, 2_500, b"offset", 6)
        .simple(b"simple!!", 20)
        .obsolete(1, 7, b"old");
    let (rows, end) = read_all(&file.bytes);
    assert!(end.is_none(), "{end:?}");
    let summary: Vec<_> = rows
        .iter()
        .map(|r| (r.0, r.1, r.2, r.3, r.6.as_slice()))
        .collect();
    assert_eq!(
        summary,
        [
            (1, 1_700_000_000_000_000_001, 0, 1, &b"ns"[..]),
            (2, 1_700_000_000_000_001_000, 1, 113, b"us"),
            (4, 5_500_000_000, 0, 276, b"pow2"),
            (5, 102_500_000_000, 1, 0, b"offset"),
            (6, 0, 0, 276, b"simple!!"),
            (7, 100_007_000_000, 1, 0, b"old"),
        ]
    );
    assert_eq!(rows[4].5, 20, "a simple packet keeps its original length");
}

#[test]
fn a_simple_packet_is_cut_at_its_original_length_and_the_snaplen() {
    let mut file = PcapngFile::default();
    file.section(false)
        .interface(1, 6, &[])
        .simple(b"abcdefgh", 8)
        .simple(b"abc", 3);
    let (rows, _) = read_all(&file.bytes);
    assert_eq!(rows[0].6, b"abcdef");
    assert_eq!(rows[1].6, b"abc", "not the padding after it");
}

#[test]
fn a_bad_interface_option_is_a_warning_and_the_packets_still_read() {
    let mut file = PcapngFile::default();
    file.section(false).interface(1, 0, &[(9, &[9])]);
    // An option claiming 200 bytes inside a short block, as some writers
    // produce: patch the length of a second, `if_name` option.
    file.bytes.truncate(file.bytes.len() - 4);
    let block_len = file.bytes.len() - 28 + 8 + 4;
    file.bytes
        .extend_from_slice(&[2, 0, 200, 0, b'e', b't', b'h', b'0']);
    file.bytes
        .extend_from_slice(&(block_len as u32).to_le_bytes());
    let len_at = 28 + 4;
    file.bytes[len_at..len_at + 4].copy_from_slice(&(block_len as u32).to_le_bytes());
    file.enhanced(0, 42, b"x", 1);
    let mut reader = CaptureReader::new(&file.bytes[..]).unwrap();
    let packet = reader.next_packet().unwrap().unwrap();
    assert_eq!(packet.timestamp_ns, 42, "options before the bad one count");
    assert_eq!(
        reader.warnings(),
        [CaptureWarning::BadOption {
            offset: 28,
            block: "interface description",
            code: 2
        }]
    );
    assert!(reader.next_packet().unwrap().is_none());
}

#[test]
fn files_that_are_not_captures_say_what_they_start_with() {
    for (bytes, message) in [
        (&b""[..], "not a pcap or pcapng file: the file is empty"),
        (b"PK", "not a pcap or pcapng file: it starts with 50 4b"),
        (
            b"<html>",
            "not a pcap or pcapng file: it starts with 3c 68 74 6d",
        ),
    ] {
        let err = CaptureReader::new(bytes).unwrap_err();
        assert!(matches!(err, CaptureError::NotACapture(_)));
        assert_eq!(err.to_string(), message);
    }
}

#[test]
fn absurd_block_lengths_are_errors_and_end_the_reading() {
    let mut file = PcapngFile::default();
    file.section(false)
        .interface(1, 0, &[])
        .enhanced(0, 0, b"ok", 2);
    for (len, message) in [
        (
            0x4000_0000u32,
            "a record of 1073741824 bytes (the limit is 256 MiB)",
        ),
        (
            14,
            "pcapng block length 14 is not a multiple of 4 of at least 12",
        ),
        (
            8,
            "pcapng block length 8 is not a multiple of 4 of at least 12",
        ),
    ] {
        let mut bytes = file.bytes.clone();
        bytes.extend_from_slice(&6u32.to_le_bytes());
        bytes.extend_from_slice(&len.to_le_bytes());
        bytes.extend_from_slice(&[0; 64]);
        let (rows, end) = read_all(&bytes);
        assert_eq!(rows.len(), 1);
        let offset = file.bytes.len();
        assert_eq!(
            end.unwrap().to_string(),
            format!("corrupt capture at byte {offset}: {message}")
        );
    }
}

#[test]
fn a_packet_on_an_undescribed_interface_is_corrupt() {
    let mut file = PcapngFile::default();
    file.section(false)
        .interface(1, 0, &[])
        .enhanced(1, 0, b"x", 1);
    let (rows, end) = read_all(&file.bytes);
    assert!(rows.is_empty());
    let message = end.unwrap().to_string();
    assert!(message.ends_with("a packet on interface 1, but the section describes 1"));
}

#[test]
fn a_captured_length_beyond_its_block_is_corrupt() {
    let mut file = PcapngFile::default();
    file.section(true)
        .interface(1, 0, &[])
        .enhanced(0, 0, b"abcd", 4);
    let at = file.bytes.len() - 4 - 4 - 8; // the captured length field
    file.bytes[at..at + 4].copy_from_slice(&5u32.to_be_bytes());
    let (_, end) = read_all(&file.bytes);
    assert!(end
        .unwrap()
        .to_string()
        .ends_with("captured length 5 does not fit in its 4-byte block"));
}

#[test]
fn a_wrong_trailing_length_is_a_warning() {
    let mut file = PcapngFile::default();
    file.section(false)
        .interface(1, 0, &[])
        .enhanced(0, 0, b"abcd", 4);
    let end = file.bytes.len();
    file.bytes[end - 4] ^= 0x80;
    let mut reader = CaptureReader::new(&file.bytes[..]).unwrap();
    assert!(reader.next_packet().unwrap().is_some());
    assert!(matches!(
        reader.warnings(),
        [CaptureWarning::LengthMismatch { .. }]
    ));
}
