//! Whole packets, built in code for every link type and oddity, decoded.

use std::net::SocketAddr;

use super::*;
use crate::ip::protocol;
use crate::link::ethertype;
use crate::link_type::LinkType;
use crate::tcp::TcpFlags;
use crate::testutil::*;

const CLIENT: [u8; 4] = [10, 0, 0, 10];
const SERVER: [u8; 4] = [10, 0, 0, 7];

fn packet(link: LinkType, data: &[u8], original_len: usize) -> Packet<'_> {
    Packet {
        frame: 1,
        timestamp_ns: 0,
        interface: 0,
        link_type: link,
        captured_len: data.len() as u32,
        original_len: original_len as u32,
        data,
    }
}

fn tcp_of(link: LinkType, data: &[u8]) -> TcpSegment<'_> {
    match decode(&packet(link, data, data.len())) {
        Decoded::Tcp(segment) => segment,
        Decoded::Other(other) => panic!("{link}: not TCP but {other}"),
    }
}

fn other_of(link: LinkType, data: &[u8]) -> Other {
    match decode(&packet(link, data, data.len())) {
        Decoded::Tcp(segment) => panic!("{link}: TCP {segment:?}"),
        Decoded::Other(other) => other,
    }
}

/// The report's first segment: the client sends `lista` to port 2635.
fn lista_v4() -> Vec<u8> {
    let segment = tcp(45926, 2635, 1000, 2000, 0x18, b"lista");
    ipv4(CLIENT, SERVER, protocol::TCP, &segment)
}

fn assert_lista(segment: &TcpSegment<'_>) {
    assert_eq!(
        segment.src,
        "10.0.0.10:45926".parse::<SocketAddr>().unwrap()
    );
    assert_eq!(segment.dst, "10.0.0.7:2635".parse::<SocketAddr>().unwrap());
    assert_eq!(
        (segment.seq, segment.ack, segment.window),
        (1000, 2000, 64_240)
    );
    assert_eq!(segment.flags, TcpFlags::from_bits(0x18));
    assert_eq!(segment.payload, b"lista");
    assert!(!segment.truncated);
    assert_eq!(segment.wire_len, 5);
}

#[test]
fn the_same_segment_through_every_link_type() {
    let ip = lista_v4();
    let frames = [
        (LinkType::ETHERNET, ethernet(&[], ethertype::IPV4, &ip)),
        (
            LinkType::ETHERNET,
            ethernet(&[0x88a8, 0x8100], ethertype::IPV4, &ip),
        ),
        (LinkType::LINUX_SLL, sll(772, ethertype::IPV4, &ip)),
        (LinkType::LINUX_SLL2, sll2(772, ethertype::IPV4, &ip)),
        (LinkType::NULL, family(2, false, &ip)),
        (LinkType::NULL, family(2, true, &ip)),
        (LinkType::LOOP, family(2, true, &ip)),
        (LinkType::RAW, ip.clone()),
        (LinkType::IPV4, ip.clone()),
    ];
    for (link, frame) in &frames {
        assert_lista(&tcp_of(*link, frame));
    }
}

#[test]
fn ipv6_with_an_extension_header_over_null_and_raw() {
    let client = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
    let hop_by_hop = [protocol::TCP, 0, 1, 4, 0, 0, 0, 0];
    let segment = tcp(50000, 2635, 1, 0, 0x02, b"");
    let ip = ipv6(client, client, protocol::HOP_BY_HOP, &hop_by_hop, &segment);
    for (link, frame) in [
        (LinkType::NULL, family(30, false, &ip)),
        (LinkType::NULL, family(23, false, &ip)),
        (LinkType::RAW, ip.clone()),
        (LinkType::IPV6, ip.clone()),
        (
            LinkType::ETHERNET,
            ethernet(&[0x8100], ethertype::IPV6, &ip),
        ),
    ] {
        let segment = tcp_of(link, &frame);
        assert_eq!(segment.src, "[::1]:50000".parse::<SocketAddr>().unwrap());
        assert_eq!(segment.flags, TcpFlags::SYN);
        assert_eq!(segment.payload, b"");
    }
}

#[test]
fn offload_padding_and_bad_checksums_are_normal() {
    // Linux loopback: total length 0, zero MACs, checksum 0xdead.
    let segment = tcp(45926, 2635, 1000, 2000, 0x18, b"lista");
    let ip = ipv4_with(CLIENT, SERVER, protocol::TCP, 0, 0x4000, &segment);
    assert_lista(&tcp_of(
        LinkType::ETHERNET,
        &ethernet(&[], ethertype::IPV4, &ip),
    ));
    // A short frame padded to Ethernet's 60-byte minimum.
    let mut padded = ethernet(&[], ethertype::IPV4, &lista_v4());
    padded.resize(60, 0);
    assert_lista(&tcp_of(LinkType::ETHERNET, &padded));
    assert_eq!(
        &segment[16..18],
        [0xde, 0xad],
        "the checksum really is wrong"
    );
}

#[test]
fn options_are_skipped() {
    let options = [
        2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 3, 3, 7,
    ];
    let segment = tcp_with_options(1, 2, 3, 4, 0x12, &options, b"after");
    let ip = ipv4(CLIENT, SERVER, protocol::TCP, &segment);
    assert_eq!(tcp_of(LinkType::RAW, &ip).payload, b"after");
}

#[test]
fn a_snapshot_length_cut_keeps_the_headers_and_marks_the_segment() {
    let frame = ethernet(&[], ethertype::IPV4, &lista_v4());
    let cut = &frame[..frame.len() - 3];
    let Decoded::Tcp(segment) = decode(&packet(LinkType::ETHERNET, cut, frame.len())) else {
        panic!("not TCP");
    };
    assert_eq!((segment.payload, segment.truncated), (&b"li"[..], true));
    assert_eq!(segment.wire_len, 5, "the IP header still tells the length");

    // Cut inside the TCP options: the fixed header still reads.
    let long = tcp_with_options(1, 2, 3, 4, 0x02, &[2, 4, 5, 0xb4, 1, 1, 1, 1], b"");
    let ip = ipv4(CLIENT, SERVER, protocol::TCP, &long);
    let cut = &ip[..ip.len() - 4];
    let Decoded::Tcp(segment) = decode(&packet(LinkType::RAW, cut, ip.len())) else {
        panic!("not TCP");
    };
    assert_eq!(
        (
            segment.payload,
            segment.truncated,
            segment.seq,
            segment.wire_len
        ),
        (&[][..], true, 3, 0)
    );
    // The same bytes claiming to be whole are malformed.
    assert_eq!(
        other_of(
            LinkType::RAW,
            &ipv4(CLIENT, SERVER, protocol::TCP, &long[..24])
        ),
        Other::Malformed(Malformed::TcpHeaderLen(28))
    );
}

#[test]
fn everything_else_is_classified() {
    let udp = ipv4(CLIENT, SERVER, protocol::UDP, &[0; 8]);
    let icmp = ipv4(CLIENT, SERVER, protocol::ICMP, &[8, 0, 0, 0]);
    let igmp = ipv4(CLIENT, SERVER, 2, &[0; 8]);
    let icmpv6 = ipv6([0; 16], [0; 16], protocol::ICMPV6, &[], &[128, 0, 0, 0]);
    let fragment = ipv4_with(CLIENT, SERVER, protocol::TCP, 28, 0x0010, &[0; 8]);
    let cases = [
        (LinkType::RAW, udp, Other::Udp, "UDP"),
        (LinkType::RAW, icmp, Other::Icmp, "ICMP"),
        (LinkType::RAW, igmp, Other::IpProtocol(2), "IP protocol 2"),
        (LinkType::RAW, icmpv6, Other::Icmpv6, "ICMPv6"),
        (LinkType::RAW, fragment, Other::IpFragment, "IP fragment"),
        (
            LinkType::ETHERNET,
            ethernet(&[], ethertype::ARP, &[0; 28]),
            Other::Arp,
            "ARP",
        ),
        (
            LinkType::LINUX_SLL,
            sll(824, 16, &[]),
            Other::Netlink,
            "netlink",
        ),
        (
            LinkType(105),
            vec![0; 30],
            Other::LinkType(LinkType(105)),
            "link type 105",
        ),
        (
            LinkType::RAW,
            ipv4(CLIENT, SERVER, protocol::TCP, &[0; 10]),
            Other::Malformed(Malformed::Short {
                what: "TCP header",
                len: 10,
                need: 20,
            }),
            "malformed: TCP header cut short: 10 of 20 bytes",
        ),
    ];
    for (link, frame, want, shown) in cases {
        let other = other_of(link, &frame);
        assert_eq!(other, want);
        assert_eq!(other.to_string(), shown);
    }
    assert_eq!(Other::Ethertype(0x88cc).category(), "non-IP");
}

#[test]
fn the_wire_length_of_a_cut_offload_ipv6_and_optioned_segment() {
    // Offload (total length 0) cut by a snapshot length: only the captured
    // length is known.
    let segment = tcp(1, 2, 3, 4, 0x18, &[9; 100]);
    let ip = ipv4_with(CLIENT, SERVER, protocol::TCP, 0, 0x4000, &segment);
    let cut = &ip[..ip.len() - 60];
    let Decoded::Tcp(seg) = decode(&packet(LinkType::RAW, cut, ip.len())) else {
        panic!("not TCP");
    };
    assert_eq!(
        (seg.payload.len(), seg.truncated, seg.wire_len),
        (40, true, 40)
    );

    // IPv6 with an extension header and TCP options, cut inside the data.
    let segment = tcp_with_options(1, 2, 3, 4, 0x18, &[1, 1, 1, 1], &[7; 50]);
    let hop_by_hop = [protocol::TCP, 0, 1, 4, 0, 0, 0, 0];
    let ip = ipv6([1; 16], [2; 16], 0, &hop_by_hop, &segment);
    let cut = &ip[..ip.len() - 20];
    let Decoded::Tcp(seg) = decode(&packet(LinkType::RAW, cut, ip.len())) else {
        panic!("not TCP");
    };
    assert_eq!(
        (seg.payload.len(), seg.truncated, seg.wire_len),
        (30, true, 50)
    );
}
