//! Tests of the frame layer: known-good bytes from an independent
//! implementation, checksums verified the long way round, round trips, and
//! a little fuzzing to show that bad input gives errors, not panics.

use std::net::Ipv4Addr;

use super::*;

const CLIENT: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 10);
const SERVER: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 7);

/// The client's SYN (seq 0xfffffff0, window 65535, MSS 1460, IP ident 1),
/// built byte by byte by a separate Python script, not by this crate.
const CLIENT_SYN: [u8; 58] = [
    0x02, 0x00, 0x0a, 0x00, 0x00, 0x07, 0x02, 0x00, 0x0a, 0x00, 0x00, 0x0a, 0x08, 0x00, 0x45, 0x00,
    0x00, 0x2c, 0x00, 0x01, 0x40, 0x00, 0x40, 0x06, 0x26, 0xbb, 0x0a, 0x00, 0x00, 0x0a, 0x0a, 0x00,
    0x00, 0x07, 0xb3, 0x66, 0x0a, 0x4b, 0xff, 0xff, 0xff, 0xf0, 0x00, 0x00, 0x00, 0x00, 0x60, 0x02,
    0xff, 0xff, 0xc6, 0x73, 0x00, 0x00, 0x02, 0x04, 0x05, 0xb4,
];

/// The client's first data segment, `lista` (odd length: the checksum pads
/// it with a zero byte), from the same script.
const CLIENT_LISTA: [u8; 59] = [
    0x02, 0x00, 0x0a, 0x00, 0x00, 0x07, 0x02, 0x00, 0x0a, 0x00, 0x00, 0x0a, 0x08, 0x00, 0x45, 0x00,
    0x00, 0x2d, 0x00, 0x02, 0x40, 0x00, 0x40, 0x06, 0x26, 0xb9, 0x0a, 0x00, 0x00, 0x0a, 0x0a, 0x00,
    0x00, 0x07, 0xb3, 0x66, 0x0a, 0x4b, 0xff, 0xff, 0xff, 0xf1, 0x00, 0x00, 0x03, 0xe9, 0x50, 0x18,
    0x01, 0xf6, 0x97, 0x56, 0x00, 0x00, 0x6c, 0x69, 0x73, 0x74, 0x61,
];

/// A Linux-style SYN-ACK with MSS, SACK-permitted, timestamps, a no-op and
/// window scale (a 40-byte TCP header), from the same script.
const LINUX_SYN_ACK: [u8; 74] = [
    0x02, 0x00, 0x0a, 0x00, 0x00, 0x0a, 0x02, 0x00, 0x0a, 0x00, 0x00, 0x07, 0x08, 0x00, 0x45, 0x00,
    0x00, 0x3c, 0x00, 0x00, 0x40, 0x00, 0x40, 0x06, 0x26, 0xac, 0x0a, 0x00, 0x00, 0x07, 0x0a, 0x00,
    0x00, 0x0a, 0x0a, 0x4b, 0xb3, 0x66, 0x00, 0x00, 0x03, 0xe8, 0xff, 0xff, 0xff, 0xf1, 0xa0, 0x12,
    0xfe, 0x88, 0x73, 0xca, 0x00, 0x00, 0x02, 0x04, 0x05, 0xb4, 0x04, 0x02, 0x08, 0x0a, 0x00, 0x00,
    0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x01, 0x03, 0x03, 0x07,
];

fn ip(src: Ipv4Addr, dst: Ipv4Addr, ident: u16) -> Ipv4Repr {
    Ipv4Repr {
        src,
        dst,
        ttl: 64,
        ident,
    }
}

fn segment(seq: u32, ack: u32, flags: TcpFlags, payload: &[u8]) -> TcpRepr {
    TcpRepr {
        src_port: 45926,
        dst_port: 2635,
        seq,
        ack,
        flags,
        window: 502,
        mss: None,
        options: Default::default(),
        payload: payload.to_vec(),
    }
}

fn client_frame(tcp: &TcpRepr) -> Vec<u8> {
    let ip = ip(CLIENT, SERVER, 2);
    emit_frame(&EthernetRepr::between(CLIENT, SERVER), &ip, tcp).expect("a small segment fits")
}

/// A one's complement sum written separately from etherparse's: byte pairs
/// as big-endian words, summed wide, carries folded at the end.
fn ones_complement_sum(parts: &[&[u8]]) -> u16 {
    let bytes: Vec<u8> = parts.concat();
    let mut sum: u64 = 0;
    for i in (0..bytes.len()).step_by(2) {
        let hi = u64::from(bytes[i]) << 8;
        let lo = bytes.get(i + 1).map_or(0, |&b| u64::from(b));
        sum += hi | lo;
    }
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    sum as u16
}

/// Checks both checksums of an emitted frame the long way: a header with a
/// correct checksum sums to 0xffff, and so do pseudo-header plus segment.
fn assert_checksums_verify(frame: &[u8]) {
    let ip_header = &frame[14..34];
    assert_eq!(ones_complement_sum(&[ip_header]), 0xffff, "IPv4 header");
    let segment = &frame[34..];
    let len = u16::try_from(segment.len()).unwrap().to_be_bytes();
    let pseudo = [&ip_header[12..20], &[0, 6], &len[..]].concat();
    assert_eq!(ones_complement_sum(&[&pseudo, segment]), 0xffff, "TCP");
}

#[test]
fn checksum_matches_the_rfc_1071_textbook_example() {
    // The IPv4 header worked through on Wikipedia's "Internet checksum"
    // page, checksum field zeroed; the published answer is 0xb861.
    let mut header = [
        0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0x00, 0x00, 0xc0, 0xa8, 0x00,
        0x01, 0xc0, 0xa8, 0x00, 0xc7,
    ];
    assert_eq!(ipv4::expected_checksum(&header), 0xb861);
    // The field itself is left out of the sum.
    header[10..12].copy_from_slice(&[0xb8, 0x61]);
    assert_eq!(ipv4::expected_checksum(&header), 0xb861);
}

#[test]
fn a_syn_is_emitted_byte_for_byte_like_the_reference() {
    let syn = TcpRepr {
        seq: 0xffff_fff0,
        window: 65535,
        mss: Some(1460),
        options: Default::default(),
        ..segment(0xffff_fff0, 0, TcpFlags::SYN, b"")
    };
    let frame = emit_frame(
        &EthernetRepr::between(CLIENT, SERVER),
        &ip(CLIENT, SERVER, 1),
        &syn,
    )
    .unwrap();
    assert_eq!(frame, CLIENT_SYN);
    assert_eq!(parse_frame(&CLIENT_SYN).unwrap().2, syn);
}

#[test]
fn an_odd_length_payload_is_emitted_like_the_reference() {
    let data = segment(0xffff_fff1, 1001, TcpFlags::PSH | TcpFlags::ACK, b"lista");
    assert_eq!(client_frame(&data), CLIENT_LISTA);
}

#[test]
fn every_emitted_frame_verifies_the_long_way() {
    for payload in [&b""[..], b"a", b"RV\nVL\n", b"goodbye", &[0xff; 1460]] {
        let data = segment(7, 9, TcpFlags::ACK, payload);
        assert_checksums_verify(&client_frame(&data));
    }
    assert_checksums_verify(&CLIENT_SYN);
}

#[test]
fn a_foreign_syn_ack_with_many_options_parses() {
    let (eth, ip, tcp) = parse_frame(&LINUX_SYN_ACK).unwrap();
    assert_eq!(eth.src.to_string(), "02:00:0a:00:00:07");
    assert_eq!((ip.src, ip.dst, ip.ttl), (SERVER, CLIENT, 64));
    assert_eq!(tcp.flags.to_string(), "SYN,ACK");
    assert_eq!((tcp.seq, tcp.ack, tcp.window), (1000, 0xffff_fff1, 65160));
    assert_eq!(tcp.mss, Some(1460));
    let options = TcpOptions {
        window_scale: Some(7),
        sack_permitted: true,
        sack_blocks: Vec::new(),
        timestamp: Some((1, 0)),
    };
    assert_eq!(tcp.options, options);
    assert!(tcp.payload.is_empty());
}

#[test]
fn a_linux_syn_ack_is_emitted_byte_for_byte_like_the_reference() {
    let syn_ack = TcpRepr {
        src_port: 2635,
        dst_port: 45926,
        seq: 1000,
        ack: 0xffff_fff1,
        flags: TcpFlags::SYN | TcpFlags::ACK,
        window: 65160,
        mss: Some(1460),
        options: TcpOptions {
            window_scale: Some(7),
            sack_permitted: true,
            sack_blocks: Vec::new(),
            timestamp: Some((1, 0)),
        },
        payload: Vec::new(),
    };
    let frame = emit_frame(
        &EthernetRepr::between(SERVER, CLIENT),
        &ip(SERVER, CLIENT, 0),
        &syn_ack,
    )
    .unwrap();
    assert_eq!(frame, LINUX_SYN_ACK);
}

/// The option bytes of an emitted segment (after the 20-byte header).
fn option_bytes(tcp: &TcpRepr) -> Vec<u8> {
    let frame = client_frame(tcp);
    frame[14 + 20 + 20..frame.len() - tcp.payload.len()].to_vec()
}

#[test]
fn options_are_laid_out_as_linux_lays_them() {
    const TS: [u8; 10] = [8, 10, 0, 0, 0, 5, 0, 0, 0, 6];
    let opts = |ws, sack_permitted, timestamp, sack_blocks: &[(u32, u32)]| TcpOptions {
        window_scale: ws,
        sack_permitted,
        sack_blocks: sack_blocks.to_vec(),
        timestamp,
    };
    let sack = |n: u8| -> Vec<u8> {
        let mut b = vec![1, 1, 5, 2 + 8 * n];
        for i in 0..u32::from(n) {
            b.extend((10 * i).to_be_bytes());
            b.extend((10 * i + 5).to_be_bytes());
        }
        b
    };
    let blocks: Vec<(u32, u32)> = (0..5).map(|i| (10 * i, 10 * i + 5)).collect();
    let ts = Some((5, 6));
    let cases: Vec<(Option<u16>, TcpOptions, Vec<u8>)> = vec![
        // SYN: MSS, SACK-permitted, timestamps, NOP, window scale.
        (
            Some(1460),
            opts(Some(7), true, ts, &[]),
            [&[2, 4, 5, 180, 4, 2][..], &TS, &[1, 3, 3, 7]].concat(),
        ),
        (
            Some(1460),
            opts(Some(7), false, ts, &[]),
            [&[2, 4, 5, 180, 1, 1][..], &TS, &[1, 3, 3, 7]].concat(),
        ),
        (
            Some(1460),
            opts(Some(7), true, None, &[]),
            vec![2, 4, 5, 180, 1, 1, 4, 2, 1, 3, 3, 7],
        ),
        (Some(536), opts(None, false, None, &[]), vec![2, 4, 2, 24]),
        // Data and ACKs: NOP NOP timestamps, NOP NOP SACK blocks.
        (
            None,
            opts(None, false, ts, &[]),
            [&[1, 1][..], &TS].concat(),
        ),
        (
            None,
            opts(None, false, ts, &blocks[..2]),
            [&[1, 1][..], &TS, &sack(2)].concat(),
        ),
        // The room runs out: 3 blocks beside timestamps, 4 without.
        (
            None,
            opts(None, false, ts, &blocks),
            [&[1, 1][..], &TS, &sack(3)].concat(),
        ),
        (None, opts(None, false, None, &blocks), sack(4)),
    ];
    for (mss, options, want) in cases {
        let tcp = TcpRepr {
            mss,
            options,
            ..segment(1, 1, TcpFlags::ACK, b"data")
        };
        assert_eq!(option_bytes(&tcp), want, "{tcp}");
        assert_eq!(tcp.header_len(), 20 + want.len(), "{tcp}");
        let parsed = parse_frame(&client_frame(&tcp)).unwrap().2;
        let mut expected = tcp.clone();
        expected
            .options
            .sack_blocks
            .truncate(tcp.options.sack_room(mss.is_some()));
        assert_eq!(parsed, expected, "{tcp}");
    }
}

#[test]
fn unknown_options_are_skipped_by_their_length() {
    // Data offset 8 words: twelve payload bytes become options. Kind 30
    // (MPTCP) and kind 34 (Fast Open) are unknown to etherparse.
    for (options, want) in [
        (
            *b"\x1e\x04ab\x01\x01\x08\x0a\x00\x00\x00\x09",
            Err(WireError::TcpOption {
                kind: 8,
                offset: 26,
            }),
        ),
        (
            *b"\x22\x02\x03\x03\x07\x1e\x03z\x02\x04\x05\xb4",
            Ok((Some(1460), Some(7))),
        ),
        (
            *b"\x01\x22\x01abcdefghi",
            Err(WireError::TcpOption {
                kind: 34,
                offset: 21,
            }),
        ),
        (
            *b"\x01\x01\x22\x0babcdefgh",
            Err(WireError::TcpOption {
                kind: 34,
                offset: 22,
            }),
        ),
    ] {
        let mut tcp = segment(1, 1, TcpFlags::ACK, &options);
        tcp.payload.push(b'!');
        let mut frame = client_frame(&tcp);
        frame[46] = 0x80;
        let sum = etherparse::TcpSlice::from_slice(&frame[34..])
            .unwrap()
            .calc_checksum_ipv4(CLIENT.octets(), SERVER.octets())
            .unwrap();
        frame[50..52].copy_from_slice(&sum.to_be_bytes());
        let got = parse_frame(&frame).map(|(_, _, tcp)| (tcp.mss, tcp.options.window_scale));
        assert_eq!(got, want);
    }
}

#[test]
fn segments_round_trip() {
    let syn = TcpRepr {
        mss: Some(1460),
        options: Default::default(),
        ..segment(0, 0, TcpFlags::SYN, b"")
    };
    let data = segment(1, 1, TcpFlags::PSH | TcpFlags::ACK, b"RV\nVL\n");
    let fin = segment(7, 8, TcpFlags::FIN | TcpFlags::ACK, b"");
    let rst = segment(8, 0, TcpFlags::RST, b"");
    let wrapped = segment(u32::MAX - 2, u32::MAX, TcpFlags::ACK, b"across the wrap");
    let fin_at_max = segment(u32::MAX, u32::MAX, TcpFlags::FIN | TcpFlags::ACK, b"");
    for tcp in [syn, data, fin, rst, wrapped, fin_at_max] {
        let frame = client_frame(&tcp);
        assert_eq!(frame.len(), 14 + 20 + tcp.buffer_len());
        let (eth, ip, parsed) = parse_frame(&frame).unwrap();
        assert_eq!(eth, EthernetRepr::between(CLIENT, SERVER));
        assert_eq!(ip, self::ip(CLIENT, SERVER, 2));
        assert_eq!(parsed, tcp, "{tcp}");
    }
}

#[test]
fn ethernet_padding_after_the_packet_is_ignored() {
    let fin = segment(7, 8, TcpFlags::FIN | TcpFlags::ACK, b"");
    let mut frame = client_frame(&fin);
    frame.resize(60, 0); // the minimum Ethernet frame, without FCS
    assert_eq!(parse_frame(&frame).unwrap().2, fin);
}

#[test]
fn flags_and_segments_display_like_a_packet_list() {
    assert_eq!(TcpFlags::empty().to_string(), "-");
    assert_eq!((TcpFlags::ACK | TcpFlags::SYN).to_string(), "SYN,ACK");
    let all = TcpFlags::FIN | TcpFlags::PSH | TcpFlags::ACK;
    assert_eq!(all.to_string(), "FIN,PSH,ACK");
    assert_eq!(TcpFlags::from_bits(0x31).to_string(), "FIN,ACK,0x20");
    let syn = TcpRepr {
        mss: Some(1460),
        options: Default::default(),
        window: 65535,
        ..segment(0, 0, TcpFlags::SYN, b"")
    };
    assert_eq!(
        syn.to_string(),
        "45926 > 2635 [SYN] seq=0 ack=0 win=65535 mss=1460 len=0"
    );
    assert_eq!(syn.sequence_len(), 1);
    assert_eq!(MacAddr::from_ipv4(CLIENT).to_string(), "02:00:0a:00:00:0a");
}

#[test]
fn a_segment_too_big_for_ipv4_is_refused() {
    let huge = segment(0, 0, TcpFlags::ACK, &vec![0; 65_516]);
    assert_eq!(
        emit_frame(
            &EthernetRepr::between(CLIENT, SERVER),
            &ip(CLIENT, SERVER, 0),
            &huge
        ),
        Err(WireError::TooLong(65_536))
    );
    let largest = segment(0, 0, TcpFlags::ACK, &vec![0; 65_495]);
    assert_eq!(parse_frame(&client_frame(&largest)).unwrap().2, largest);
}

/// `CLIENT_LISTA` with one byte replaced.
fn lista_with(at: usize, byte: u8) -> Vec<u8> {
    let mut frame = CLIENT_LISTA.to_vec();
    frame[at] = byte;
    frame
}

#[test]
fn each_malformation_is_named() {
    let cases: Vec<(Vec<u8>, WireError)> = vec![
        (
            CLIENT_LISTA[..10].to_vec(),
            WireError::Truncated {
                what: "Ethernet header",
                len: 10,
                need: 14,
            },
        ),
        (lista_with(12, 0x86), WireError::Ethertype(0x8600)),
        (
            CLIENT_LISTA[..30].to_vec(),
            WireError::Truncated {
                what: "IPv4 header",
                len: 16,
                need: 20,
            },
        ),
        (lista_with(14, 0x65), WireError::IpVersion(6)),
        (lista_with(14, 0x46), WireError::IpHeaderLen(24)),
        (
            CLIENT_LISTA[..58].to_vec(),
            WireError::IpTotalLen {
                total: 45,
                available: 44,
            },
        ),
        (lista_with(20, 0x20), WireError::IpFragment), // more fragments
        (lista_with(23, 17), WireError::IpProtocol(17)), // UDP
        (
            lista_with(22, 63), // TTL changed, checksum not
            WireError::IpChecksum {
                found: 0x26b9,
                expected: 0x27b9,
            },
        ),
        (
            lista_with(46, 0x40), // data offset 4 words
            WireError::TcpHeaderLen {
                header: 16,
                len: 25,
            },
        ),
        (
            lista_with(46, 0x70), // data offset 7 words
            WireError::TcpHeaderLen {
                header: 28,
                len: 25,
            },
        ),
        (
            lista_with(58, b'A'), // payload changed: "listA"
            WireError::TcpChecksum {
                found: 0x9756,
                expected: 0xb756,
            },
        ),
    ];
    for (frame, want) in cases {
        assert_eq!(parse_frame(&frame).unwrap_err(), want, "{want}");
    }
}

#[test]
fn malformed_options_are_named() {
    // Data offset 6 words: the first four payload bytes become options.
    // Each is re-checksummed so that only the options are wrong.
    for (options, want) in [
        (
            *b"\x02\x00ab",
            WireError::TcpOption {
                kind: 2,
                offset: 20,
            },
        ),
        (
            *b"\x02\x03ab",
            WireError::TcpOption {
                kind: 2,
                offset: 20,
            },
        ),
        (
            *b"\x01\x08\x05\x00",
            WireError::TcpOption {
                kind: 8,
                offset: 21,
            },
        ),
        (
            *b"\x02\x06ab",
            WireError::TcpOption {
                kind: 2,
                offset: 20,
            },
        ),
    ] {
        let mut tcp = segment(1, 1, TcpFlags::ACK, &options);
        tcp.payload.push(b'!');
        let mut frame = client_frame(&tcp);
        frame[46] = 0x60;
        // Recompute the TCP checksum over the edited header.
        let sum = etherparse::TcpSlice::from_slice(&frame[34..])
            .unwrap()
            .calc_checksum_ipv4(CLIENT.octets(), SERVER.octets())
            .unwrap();
        frame[50..52].copy_from_slice(&sum.to_be_bytes());
        assert_eq!(parse_frame(&frame).unwrap_err(), want, "{want}");
    }
}

#[test]
fn truncated_and_garbled_frames_give_errors_not_panics() {
    let frames = [
        CLIENT_SYN.to_vec(),
        CLIENT_LISTA.to_vec(),
        LINUX_SYN_ACK.to_vec(),
    ];
    for frame in &frames {
        // Every cut loses part of the IPv4 packet.
        for cut in 0..frame.len() {
            assert!(parse_frame(&frame[..cut]).is_err(), "cut at {cut}");
        }
        // The checksums catch every single-bit error after the MACs
        // (the simulator's Ethernet has no frame check sequence).
        for bit in 12 * 8..frame.len() * 8 {
            let mut bad = frame.clone();
            bad[bit / 8] ^= 1 << (bit % 8);
            assert!(parse_frame(&bad).is_err(), "bit {bit} flipped");
        }
    }
    // Random garbage and random edits, from a fixed seed.
    let mut rng = crate::rng::SimRng::new(0x2635_4592_6000_0007);
    for _ in 0..20_000 {
        let mut frame = frames[rng.index(3)].clone();
        for _ in 0..rng.below(4) {
            let at = rng.index(frame.len());
            frame[at] = rng.next_u64() as u8;
        }
        frame.truncate(rng.index(frame.len() + 8));
        let _ = parse_frame(&frame);
        let garbage: Vec<u8> = (0..rng.below(80)).map(|_| rng.next_u64() as u8).collect();
        let _ = parse_frame(&garbage);
    }
}
