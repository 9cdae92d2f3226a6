//! Link layers: from a captured frame to the IP packet inside it.
//!
//! The link type of the capture (or of the pcapng interface) says what
//! header comes first:
//!
//! ```text
//!   0 NULL    family u32 in the capturing host's byte order | IP packet
//! 108 LOOP    family u32, big endian                        | IP packet
//!   1 ETHERNET dst 6, src 6, [0x8100/0x88a8/0x9100 tag 4]*, type 2 | ...
//! 113 SLL     packet type 2, ARPHRD 2, address length 2, address 8,
//!             protocol (ethertype) 2                        | ...
//! 276 SLL2    protocol 2, reserved 2, ifindex 4, ARPHRD 2, packet type 1,
//!             address length 1, address 8                   | ...
//! 101 RAW (also 12 and 14): IPv4 or IPv6, by the version nibble
//! 228 IPV4, 229 IPV6
//! ```
//!
//! NULL is what Windows (Npcap) and older BSDs write for loopback; LOOP is
//! OpenBSD's; both carry an address family rather than an ethertype, and
//! IPv6 has a different number on each system (24, 28, 30; 23 on Windows).
//! NULL's byte order is the capturing host's, which may not be the reader's:
//! a family is a small number, so whichever half is non-zero tells.
//! Linux cooked captures (`-i any`) use SLL and SLL2, with the loopback
//! device's hardware type (772) carrying an ethertype like any other; a
//! netlink device (824) carries netlink messages.

pub use crate::link_type::LinkType;
use crate::not_tcp::{Malformed, Other};

/// The network-layer packet a frame carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetworkPacket<'a> {
    Ipv4(&'a [u8]),
    Ipv6(&'a [u8]),
}

/// Ethertypes read here.
pub mod ethertype {
    pub const IPV4: u16 = 0x0800;
    pub const ARP: u16 = 0x0806;
    pub const VLAN: u16 = 0x8100;
    pub const IPV6: u16 = 0x86dd;
    pub const QINQ: u16 = 0x88a8;
    /// The pre-standard 802.1ad tag some switches still send.
    pub const QINQ_OLD: u16 = 0x9100;
}

/// The ARPHRD type of a Linux netlink socket: no IP inside.
const ARPHRD_NETLINK: u16 = 824;

/// Finds the IP packet in `frame`; anything else is [`Other`] traffic
/// (or [`Other::Malformed`] when the link header is cut short).
pub fn network_packet(link_type: LinkType, frame: &[u8]) -> Result<NetworkPacket<'_>, Other> {
    // Each `&frame[n..]` below follows a `fixed::<n>` that checked the length.
    match link_type {
        LinkType::ETHERNET => ethernet(frame),
        LinkType::LINUX_SLL => {
            let header = fixed::<16>(frame, "Linux cooked (SLL) header")?;
            let hardware = u16::from_be_bytes([header[2], header[3]]);
            cooked(hardware, [header[14], header[15]], &frame[16..])
        }
        LinkType::LINUX_SLL2 => {
            let header = fixed::<20>(frame, "Linux cooked (SLL2) header")?;
            let hardware = u16::from_be_bytes([header[8], header[9]]);
            cooked(hardware, [header[0], header[1]], &frame[20..])
        }
        LinkType::NULL => {
            let header = fixed::<4>(frame, "NULL loopback header")?;
            let family = if header[0] == 0 && header[1] == 0 {
                u32::from_be_bytes(*header)
            } else {
                u32::from_le_bytes(*header)
            };
            by_family(family, &frame[4..])
        }
        LinkType::LOOP => {
            let header = fixed::<4>(frame, "LOOP header")?;
            by_family(u32::from_be_bytes(*header), &frame[4..])
        }
        LinkType::RAW | LinkType::RAW_12 | LinkType::RAW_14 => match frame.first() {
            Some(b) if b >> 4 == 4 => Ok(NetworkPacket::Ipv4(frame)),
            Some(b) if b >> 4 == 6 => Ok(NetworkPacket::Ipv6(frame)),
            Some(b) => Err(Other::Malformed(Malformed::IpVersion(b >> 4))),
            None => Err(Other::Malformed(Malformed::Short {
                what: "raw IP packet",
                len: 0,
                need: 1,
            })),
        },
        LinkType::IPV4 => Ok(NetworkPacket::Ipv4(frame)),
        LinkType::IPV6 => Ok(NetworkPacket::Ipv6(frame)),
        other => Err(Other::LinkType(other)),
    }
}

/// The first `N` bytes, or a "cut short" reason naming the header.
fn fixed<'a, const N: usize>(frame: &'a [u8], what: &'static str) -> Result<&'a [u8; N], Other> {
    frame
        .first_chunk::<N>()
        .ok_or(Other::Malformed(Malformed::Short {
            what,
            len: frame.len(),
            need: N,
        }))
}

/// Ethernet II, stepping over any number of VLAN tags.
fn ethernet(frame: &[u8]) -> Result<NetworkPacket<'_>, Other> {
    let header = fixed::<14>(frame, "Ethernet header")?;
    let mut ethertype = u16::from_be_bytes([header[12], header[13]]);
    let mut rest = &frame[14..];
    while matches!(
        ethertype,
        ethertype::VLAN | ethertype::QINQ | ethertype::QINQ_OLD
    ) {
        let tag = fixed::<4>(rest, "VLAN tag")?;
        ethertype = u16::from_be_bytes([tag[2], tag[3]]);
        rest = &rest[4..];
    }
    by_ethertype(ethertype, rest)
}

/// The payload of a Linux cooked header, by hardware type and protocol.
fn cooked(hardware: u16, protocol: [u8; 2], payload: &[u8]) -> Result<NetworkPacket<'_>, Other> {
    if hardware == ARPHRD_NETLINK {
        return Err(Other::Netlink);
    }
    by_ethertype(u16::from_be_bytes(protocol), payload)
}

fn by_ethertype(ethertype: u16, payload: &[u8]) -> Result<NetworkPacket<'_>, Other> {
    match ethertype {
        ethertype::IPV4 => Ok(NetworkPacket::Ipv4(payload)),
        ethertype::IPV6 => Ok(NetworkPacket::Ipv6(payload)),
        ethertype::ARP => Err(Other::Arp),
        other => Err(Other::Ethertype(other)),
    }
}

/// A BSD address family: 2 is IPv4 everywhere; IPv6 is 24 (NetBSD,
/// OpenBSD), 28 (FreeBSD), 30 (macOS) or 23 (Windows).
fn by_family(family: u32, payload: &[u8]) -> Result<NetworkPacket<'_>, Other> {
    match family {
        2 => Ok(NetworkPacket::Ipv4(payload)),
        23 | 24 | 28 | 30 => Ok(NetworkPacket::Ipv6(payload)),
        other => Err(Other::Family(other)),
    }
}

#[cfg(test)]
mod tests;
