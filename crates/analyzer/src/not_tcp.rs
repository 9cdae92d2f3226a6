//! What a packet is when it is not a TCP segment the analyzer can read,
//! and why headers could not be read. The layers ([`crate::link`],
//! [`crate::ip`], [`crate::tcp`]) return these; [`crate::decode`] above
//! them hands them on. Keeping them here, below every layer, means no
//! layer imports the module that calls it.

use std::fmt;

use crate::link_type::LinkType;

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
