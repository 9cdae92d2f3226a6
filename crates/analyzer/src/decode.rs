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

use crate::capture::Packet;
use crate::ip::{self, IpPacket};
use crate::link;
pub use crate::not_tcp::{Malformed, Other};
use crate::tcp::TcpSegment;

/// What a packet is, for the analyzer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decoded<'a> {
    Tcp(TcpSegment<'a>),
    Other(Other),
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
