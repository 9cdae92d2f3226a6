//! One packet, classified: a TCP segment, or some other traffic with the
//! reason it is not one.
//!
//! [`decode`] peels the layers in turn — link ([`crate::link`]), IP
//! ([`crate::ip`]), TCP ([`crate::tcp`]) — and stops at the first that is
//! not on the way to TCP. Nothing here fails: a packet the analyzer cannot
//! use is [`Decoded::Other`], to be counted and summarised in one line
//! ("12 UDP, 3 ARP, 1 malformed"), never a reason to stop. Checksums are
//! never checked: on a loopback capture every one looks wrong, because the
//! kernel leaves them to network cards that the loopback device does not
//! have.

use std::fmt;

use crate::capture::Packet;
use crate::ip::{self, IpPacket};
use crate::link::{self, LinkType};
use crate::tcp::TcpSegment;

/// What a packet is, for the analyzer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decoded<'a> {
    Tcp(TcpSegment<'a>),
    Other(Other),
}

/// Traffic that is not a TCP segment the analyzer can read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Other {
    Udp,
    Icmp,
    Icmpv6,
    /// Another IP protocol (by number).
    IpProtocol(u8),
    /// An IP fragment after the first: no TCP header in it.
    IpFragment,
    Arp,
    /// A non-IP ethertype (or an 802.3 length field).
    Ethertype(u16),
    /// A NULL/LOOP address family that is not IPv4 or IPv6.
    Family(u32),
    /// A Linux cooked capture of a netlink socket.
    Netlink,
    /// A link type the analyzer does not read.
    LinkType(LinkType),
    /// Headers that make no sense, or that the capture cut short.
    Malformed(Malformed),
}

impl Other {
    /// A short name to count packets under.
    pub fn category(&self) -> &'static str {
        match self {
            Other::Udp => "UDP",
            Other::Icmp => "ICMP",
            Other::Icmpv6 => "ICMPv6",
            Other::IpProtocol(_) => "other IP protocol",
            Other::IpFragment => "IP fragment",
            Other::Arp => "ARP",
            Other::Ethertype(_) => "non-IP",
            Other::Family(_) => "non-IP loopback",
            Other::Netlink => "netlink",
            Other::LinkType(_) => "unknown link type",
            Other::Malformed(_) => "malformed",
        }
    }
}

impl fmt::Display for Other {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Other::IpProtocol(p) => write!(f, "IP protocol {p}"),
            Other::Ethertype(t) => write!(f, "ethertype 0x{t:04x}"),
            Other::Family(family) => write!(f, "address family {family}"),
            Other::LinkType(link) => write!(f, "link type {link}"),
            Other::Malformed(why) => write!(f, "malformed: {why}"),
            other => f.write_str(other.category()),
        }
    }
}

/// Why a packet's headers could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum Malformed {
    #[error("{what} cut short: {len} of {need} bytes")]
    Short {
        what: &'static str,
        len: usize,
        need: usize,
    },
    #[error("IP version {0}")]
    IpVersion(u8),
    #[error("IPv4 header length {0}")]
    Ipv4HeaderLen(usize),
    #[error("IPv4 total length {total} is shorter than its {header}-byte header")]
    Ipv4TotalLen { total: usize, header: usize },
    #[error("more than {0} IPv6 extension headers")]
    Ipv6Extensions(usize),
    #[error("TCP header length {0}")]
    TcpHeaderLen(usize),
}

/// Classifies one packet: its TCP segment, or what else it is.
pub fn decode<'a>(packet: &Packet<'a>) -> Decoded<'a> {
    match decode_tcp(packet) {
        Ok(segment) => Decoded::Tcp(segment),
        Err(other) => Decoded::Other(other),
    }
}

fn decode_tcp<'a>(packet: &Packet<'a>) -> Result<TcpSegment<'a>, Other> {
    let network = link::network_packet(packet.link_type, packet.data)?;
    let ip = IpPacket::parse(network)?;
    if ip.later_fragment {
        return Err(Other::IpFragment);
    }
    match ip.protocol {
        ip::protocol::TCP => {
            let cut = packet.is_cut() || ip.cut;
            TcpSegment::parse(&ip, cut).map_err(Other::Malformed)
        }
        ip::protocol::UDP => Err(Other::Udp),
        ip::protocol::ICMP => Err(Other::Icmp),
        ip::protocol::ICMPV6 => Err(Other::Icmpv6),
        other => Err(Other::IpProtocol(other)),
    }
}

impl From<Malformed> for Other {
    fn from(why: Malformed) -> Other {
        Other::Malformed(why)
    }
}

#[cfg(test)]
mod tests;
