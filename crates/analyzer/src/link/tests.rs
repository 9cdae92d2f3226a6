//! Each link header, built in code, down to the IP packet.

use super::*;
use crate::testutil::{ethernet, family, sll, sll2};

const IP: &[u8] = &[0x45, 1, 2, 3];
const IP6: &[u8] = &[0x60, 1, 2, 3];

fn find(link: LinkType, frame: &[u8]) -> Result<NetworkPacket<'_>, Other> {
    network_packet(link, frame)
}

#[test]
fn ethernet_with_no_one_or_stacked_vlan_tags() {
    for tags in [
        &[][..],
        &[0x8100],
        &[0x88a8, 0x8100],
        &[0x9100, 0x8100, 0x8100],
    ] {
        let frame = ethernet(tags, ethertype::IPV4, IP);
        assert_eq!(
            find(LinkType::ETHERNET, &frame),
            Ok(NetworkPacket::Ipv4(IP)),
            "{tags:?}"
        );
    }
    let frame = ethernet(&[0x8100], ethertype::IPV6, IP6);
    assert_eq!(
        find(LinkType::ETHERNET, &frame),
        Ok(NetworkPacket::Ipv6(IP6))
    );
}

#[test]
fn ethernet_that_is_not_ip_is_other_traffic() {
    let arp = ethernet(&[], ethertype::ARP, &[0; 28]);
    assert_eq!(find(LinkType::ETHERNET, &arp), Err(Other::Arp));
    let lldp = ethernet(&[0x8100], 0x88cc, &[]);
    assert_eq!(
        find(LinkType::ETHERNET, &lldp),
        Err(Other::Ethertype(0x88cc))
    );
    let mut cut_tag = ethernet(&[0x8100], ethertype::IPV4, &[]);
    cut_tag.truncate(16);
    assert_eq!(
        find(LinkType::ETHERNET, &cut_tag).unwrap_err().to_string(),
        "malformed: VLAN tag cut short: 2 of 4 bytes"
    );
    assert!(find(LinkType::ETHERNET, &[0; 13]).is_err());
}

#[test]
fn linux_cooked_including_the_loopback_hardware_type() {
    for hardware in [1, 772, 65534] {
        let frame = sll(hardware, ethertype::IPV4, IP);
        assert_eq!(
            find(LinkType::LINUX_SLL, &frame),
            Ok(NetworkPacket::Ipv4(IP))
        );
        let frame = sll2(hardware, ethertype::IPV6, IP6);
        assert_eq!(
            find(LinkType::LINUX_SLL2, &frame),
            Ok(NetworkPacket::Ipv6(IP6))
        );
    }
    let netlink = sll(824, 0, &[0; 16]);
    assert_eq!(find(LinkType::LINUX_SLL, &netlink), Err(Other::Netlink));
    let arp = sll2(1, ethertype::ARP, &[]);
    assert_eq!(find(LinkType::LINUX_SLL2, &arp), Err(Other::Arp));
    assert!(find(LinkType::LINUX_SLL2, &sll2(1, ethertype::IPV4, &[])[..19]).is_err());
}

#[test]
fn null_in_either_byte_order_and_loop_in_big_endian() {
    for big in [false, true] {
        let v4 = family(2, big, IP);
        assert_eq!(find(LinkType::NULL, &v4), Ok(NetworkPacket::Ipv4(IP)));
        for af_inet6 in [23, 24, 28, 30] {
            let v6 = family(af_inet6, big, IP6);
            assert_eq!(find(LinkType::NULL, &v6), Ok(NetworkPacket::Ipv6(IP6)));
        }
    }
    let v6 = family(30, true, IP6);
    assert_eq!(find(LinkType::LOOP, &v6), Ok(NetworkPacket::Ipv6(IP6)));
    let little = family(2, false, IP);
    assert_eq!(
        find(LinkType::LOOP, &little),
        Err(Other::Family(0x0200_0000)),
        "LOOP is always big endian"
    );
    assert_eq!(
        find(LinkType::NULL, &family(7, false, &[])),
        Err(Other::Family(7))
    );
}

#[test]
fn raw_ip_by_version_nibble_or_by_link_type() {
    for link in [LinkType::RAW, LinkType::RAW_12, LinkType::RAW_14] {
        assert_eq!(find(link, IP), Ok(NetworkPacket::Ipv4(IP)));
        assert_eq!(find(link, IP6), Ok(NetworkPacket::Ipv6(IP6)));
        assert!(find(link, &[0x50]).is_err());
        assert!(find(link, &[]).is_err());
    }
    assert_eq!(find(LinkType::IPV4, IP), Ok(NetworkPacket::Ipv4(IP)));
    assert_eq!(find(LinkType::IPV6, IP6), Ok(NetworkPacket::Ipv6(IP6)));
}

#[test]
fn an_unknown_link_type_is_other_traffic_with_its_number() {
    let other = find(LinkType(147), IP).unwrap_err();
    assert_eq!(other, Other::LinkType(LinkType(147)));
    assert_eq!(other.to_string(), "link type 147");
    assert_eq!(LinkType::LINUX_SLL2.to_string(), "LINUX_SLL2 (276)");
}
