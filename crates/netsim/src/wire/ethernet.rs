//! Ethernet II framing, with addresses derived from IPv4 addresses.
//!
//! ```text
//!  0                 6                 12        14
//! +-----------------+-----------------+---------+
//! | destination MAC | source MAC      | type    |  type 0x0800 = IPv4
//! +-----------------+-----------------+---------+
//! ```
//!
//! etherparse writes the header (in [`emit_frame`](super::emit_frame)) and
//! reads it ([`EthernetRepr::parse`]).
//!
//! The simulator has no ARP: each host's MAC is its IPv4 address behind the
//! prefix `02:00`, a locally administered unicast address, so 10.0.0.7 is
//! `02:00:0a:00:00:07` and a capture shows who is who at a glance.

use std::fmt;
use std::net::Ipv4Addr;

use etherparse::{EtherType, Ethernet2Header, Ethernet2Slice};

use super::WireError;

/// A 48-bit Ethernet address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MacAddr(pub [u8; 6]);

impl MacAddr {
    /// The simulator's MAC for a host: `02:00:a:b:c:d` for `a.b.c.d`. The
    /// `02` sets the locally administered bit and leaves the group bit
    /// clear, so the address can never clash with a real vendor's.
    pub fn from_ipv4(ip: Ipv4Addr) -> MacAddr {
        let [a, b, c, d] = ip.octets();
        MacAddr([0x02, 0x00, a, b, c, d])
    }
}

impl fmt::Display for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d, e, g] = self.0;
        write!(f, "{a:02x}:{b:02x}:{c:02x}:{d:02x}:{e:02x}:{g:02x}")
    }
}

/// An Ethernet II header carrying IPv4 (the only ethertype the simulator
/// sends).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EthernetRepr {
    pub src: MacAddr,
    pub dst: MacAddr,
}

impl EthernetRepr {
    /// Destination, source, ethertype.
    pub const HEADER_LEN: usize = Ethernet2Header::LEN;

    /// The header for a packet between two simulated hosts, with both MACs
    /// derived by [`MacAddr::from_ipv4`].
    pub fn between(src: Ipv4Addr, dst: Ipv4Addr) -> EthernetRepr {
        EthernetRepr {
            src: MacAddr::from_ipv4(src),
            dst: MacAddr::from_ipv4(dst),
        }
    }

    /// The header etherparse writes.
    pub(super) fn header(&self) -> Ethernet2Header {
        Ethernet2Header {
            source: self.src.0,
            destination: self.dst.0,
            ether_type: EtherType::IPV4,
        }
    }

    /// Parses the header and returns it with the rest of the frame; only
    /// IPv4 is accepted.
    pub fn parse(frame: &[u8]) -> Result<(EthernetRepr, &[u8]), WireError> {
        let eth =
            Ethernet2Slice::from_slice_without_fcs(frame).map_err(|e| WireError::Truncated {
                what: "Ethernet header",
                len: e.len,
                need: e.required_len,
            })?;
        let ethertype = eth.ether_type();
        if ethertype != EtherType::IPV4 {
            return Err(WireError::Ethertype(ethertype.0));
        }
        let repr = EthernetRepr {
            src: MacAddr(eth.source()),
            dst: MacAddr(eth.destination()),
        };
        Ok((repr, eth.payload_slice()))
    }
}
