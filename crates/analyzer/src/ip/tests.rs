//! IPv4 and IPv6 headers as captures have them: options, padding, offload,
//! snapshot lengths, extension headers and fragments.

use super::*;
use crate::testutil::{ipv4, ipv4_with, ipv6};

const A: [u8; 4] = [10, 0, 0, 10];
const B: [u8; 4] = [10, 0, 0, 7];

fn v4(bytes: &[u8]) -> Result<IpPacket<'_>, Malformed> {
    IpPacket::parse(NetworkPacket::Ipv4(bytes))
}

fn v6(bytes: &[u8]) -> Result<IpPacket<'_>, Malformed> {
    IpPacket::parse(NetworkPacket::Ipv6(bytes))
}

#[test]
fn ipv4_addresses_protocol_and_payload() {
    let packet = ipv4(A, B, protocol::TCP, b"segment");
    let ip = v4(&packet).unwrap();
    assert_eq!(ip.src, IpAddr::from(A));
    assert_eq!(ip.dst, IpAddr::from(B));
    assert_eq!(
        (ip.protocol, ip.payload, ip.cut),
        (6, &b"segment"[..], false)
    );
}

#[test]
fn ipv4_padding_is_dropped_and_a_zero_length_keeps_all() {
    let mut padded = ipv4(A, B, protocol::TCP, b"abc");
    padded.extend_from_slice(&[0; 20]);
    assert_eq!(v4(&padded).unwrap().payload, b"abc");
    let offload = ipv4_with(A, B, protocol::TCP, 0, 0x4000, b"a 64 KB segment");
    let ip = v4(&offload).unwrap();
    assert_eq!((ip.payload, ip.cut), (&b"a 64 KB segment"[..], false));
    assert_eq!(ip.wire_len, ip.payload.len());
}

#[test]
fn ipv4_longer_than_captured_is_cut_not_malformed() {
    let packet = ipv4_with(A, B, protocol::TCP, 1500, 0, b"only the start");
    let ip = v4(&packet).unwrap();
    assert_eq!((ip.payload, ip.cut), (&b"only the start"[..], true));
    assert_eq!(ip.wire_len, 1480);
}

#[test]
fn ipv4_options_are_skipped() {
    let mut packet = ipv4_with(A, B, protocol::UDP, 28, 0, &[1, 1, 1, 0, b'x', b'y']);
    packet[0] = 0x46;
    assert_eq!(v4(&packet).unwrap().payload, b"xy");
}

#[test]
fn ipv4_fragments_after_the_first_are_marked() {
    let first = ipv4_with(A, B, protocol::TCP, 28, 0x2000, &[0; 8]);
    assert!(!v4(&first).unwrap().later_fragment);
    let later = ipv4_with(A, B, protocol::TCP, 28, 0x0001, &[0; 8]);
    assert!(v4(&later).unwrap().later_fragment);
}

#[test]
fn broken_ipv4_headers_say_why() {
    let packet = ipv4(A, B, protocol::TCP, b"");
    let reason = |bytes: &[u8]| v4(bytes).unwrap_err().to_string();
    assert_eq!(
        reason(&packet[..19]),
        "IPv4 header cut short: 19 of 20 bytes"
    );
    assert_eq!(reason(&[]), "IPv4 header cut short: 0 of 20 bytes");
    let mut options_cut = packet.clone();
    options_cut[0] = 0x4f;
    assert_eq!(
        reason(&options_cut),
        "IPv4 header cut short: 20 of 60 bytes"
    );
    let mut short_ihl = packet.clone();
    short_ihl[0] = 0x44;
    assert_eq!(reason(&short_ihl), "IPv4 header length 16");
    let mut version = packet.clone();
    version[0] = 0x65;
    assert_eq!(reason(&version), "IP version 6");
    let tiny_total = ipv4_with(A, B, protocol::TCP, 19, 0, b"");
    assert_eq!(
        reason(&tiny_total),
        "IPv4 total length 19 is shorter than its 20-byte header"
    );
}

const C: [u8; 16] = [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
const D: [u8; 16] = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];

#[test]
fn ipv6_with_extension_headers() {
    let mut extensions = vec![protocol::DEST_OPTS, 0, 1, 4, 0, 0, 0, 0]; // hop-by-hop
    extensions.extend_from_slice(&[protocol::FRAGMENT, 1]); // destination options, 16 bytes
    extensions.extend_from_slice(&[1, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    extensions.extend_from_slice(&[protocol::TCP, 0, 0, 1, 0, 0, 0, 9]); // first fragment, M set
    let packet = ipv6(C, D, protocol::HOP_BY_HOP, &extensions, b"segment");
    let ip = v6(&packet).unwrap();
    assert_eq!(ip.src, IpAddr::from(C));
    assert_eq!(ip.dst, IpAddr::from(D));
    assert_eq!((ip.protocol, ip.payload), (protocol::TCP, &b"segment"[..]));
    assert!(!ip.later_fragment);

    let later = [protocol::TCP, 0, 0x05, 0x00, 0, 0, 0, 9]; // offset 160
    let packet = ipv6(C, D, protocol::FRAGMENT, &later, b"middle");
    assert!(v6(&packet).unwrap().later_fragment);
}

#[test]
fn ipv6_padding_offload_and_cuts() {
    let mut packet = ipv6(C, D, protocol::UDP, &[], b"abc");
    packet.extend_from_slice(&[0; 5]);
    assert_eq!(v6(&packet).unwrap().payload, b"abc");
    packet[4..6].fill(0);
    assert_eq!(
        v6(&packet).unwrap().payload.len(),
        8,
        "length 0: all captured"
    );
    let packet = ipv6(C, D, protocol::UDP, &[], b"abcdef");
    let ip = v6(&packet[..43]).unwrap();
    assert_eq!((ip.payload, ip.cut), (&b"abc"[..], true));
}

#[test]
fn broken_ipv6_headers_say_why() {
    let reason = |bytes: &[u8]| v6(bytes).unwrap_err().to_string();
    assert_eq!(reason(&[0x60; 39]), "IPv6 header cut short: 39 of 40 bytes");
    assert_eq!(reason(&[0x40; 40]), "IP version 4");
    let cut_ext = ipv6(C, D, protocol::ROUTING, &[protocol::TCP, 2, 0, 0], b"");
    assert_eq!(
        reason(&cut_ext),
        "IPv6 extension header cut short: 4 of 24 bytes"
    );
    let long_ext = ipv6(
        C,
        D,
        protocol::ROUTING,
        &[protocol::TCP, 2, 0, 0, 0, 0, 0, 0],
        b"",
    );
    assert_eq!(
        reason(&long_ext),
        "IPv6 extension header cut short: 8 of 24 bytes"
    );
    let looping: Vec<u8> = [protocol::DEST_OPTS, 0, 0, 0, 0, 0, 0, 0].repeat(9);
    let packet = ipv6(C, D, protocol::DEST_OPTS, &looping, b"");
    assert_eq!(reason(&packet), "more than 8 IPv6 extension headers");
}
