//! The IPv4 header, as the simulator writes it: 20 bytes, no options,
//! "don't fragment" set, always carrying TCP.
//!
//! ```text
//!  0       4       8               16      19              31
//! +-------+-------+---------------+-------------------------------+
//! |version|  IHL  |   DSCP/ECN    |         total length          |
//! +-------+-------+---------------+-------+-----------------------+
//! |        identification         |flags  |    fragment offset    |
//! +---------------+---------------+-------+-----------------------+
//! |      TTL      |   protocol    |        header checksum        |
//! +---------------+---------------+-------------------------------+
//! |                        source address                         |
//! +---------------------------------------------------------------+
//! |                      destination address                      |
//! +---------------------------------------------------------------+
//! ```
//!
//! The header checksum covers these 20 bytes only; TCP protects its own data
//! (see the `tcp` module).

use std::net::Ipv4Addr;

use super::{checksum, WireError};

/// The IPv4 protocol number of TCP.
pub(super) const PROTOCOL_TCP: u8 = 6;
/// Version 4, header length 5 words (20 bytes).
const VERSION_IHL: u8 = 0x45;
/// The "don't fragment" flag in the flags/fragment-offset word.
const FLAG_DF: u16 = 0x4000;
/// "More fragments" and the 13-bit offset: any of them set means a fragment.
const FRAGMENT_MASK: u16 = 0x3fff;

/// An IPv4 header carrying one TCP segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv4Repr {
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    /// Time to live; 64 is what Linux sends.
    pub ttl: u8,
    /// The identification field. Unused with DF set, but real stacks count
    /// it up per packet, and so can the simulator.
    pub ident: u16,
}

impl Ipv4Repr {
    /// The header without options.
    pub const HEADER_LEN: usize = 20;

    /// Parses a packet and returns the header with the TCP segment it
    /// carries (cut at the total length, so Ethernet padding is dropped).
    pub fn parse(packet: &[u8]) -> Result<(Ipv4Repr, &[u8]), WireError> {
        let Some(header) = packet.first_chunk::<{ Self::HEADER_LEN }>() else {
            return Err(WireError::Truncated {
                what: "IPv4 header",
                len: packet.len(),
                need: Self::HEADER_LEN,
            });
        };
        let version = header[0] >> 4;
        if version != 4 {
            return Err(WireError::IpVersion(version));
        }
        let header_len = usize::from(header[0] & 0x0f) * 4;
        if header_len != Self::HEADER_LEN {
            return Err(WireError::IpHeaderLen(header_len));
        }
        let total = usize::from(u16::from_be_bytes([header[2], header[3]]));
        if total < Self::HEADER_LEN || total > packet.len() {
            return Err(WireError::IpTotalLen {
                total,
                available: packet.len(),
            });
        }
        if u16::from_be_bytes([header[6], header[7]]) & FRAGMENT_MASK != 0 {
            return Err(WireError::IpFragment);
        }
        if header[9] != PROTOCOL_TCP {
            return Err(WireError::IpProtocol(header[9]));
        }
        let found = u16::from_be_bytes([header[10], header[11]]);
        let mut zeroed = *header;
        zeroed[10..12].fill(0);
        let expected = checksum::finish(checksum::add(0, &zeroed));
        if found != expected {
            return Err(WireError::IpChecksum { found, expected });
        }
        let repr = Ipv4Repr {
            src: Ipv4Addr::new(header[12], header[13], header[14], header[15]),
            dst: Ipv4Addr::new(header[16], header[17], header[18], header[19]),
            ttl: header[8],
            ident: u16::from_be_bytes([header[4], header[5]]),
        };
        Ok((repr, &packet[Self::HEADER_LEN..total]))
    }

    /// Appends the 20-byte header, checksum included, for a payload of
    /// `payload_len` bytes; fails with [`WireError::TooLong`] if the packet
    /// would not fit its 16-bit total length.
    pub fn emit(&self, payload_len: usize, out: &mut Vec<u8>) -> Result<(), WireError> {
        let total = u16::try_from(Self::HEADER_LEN + payload_len)
            .map_err(|_| WireError::TooLong(payload_len))?;
        let start = out.len();
        out.extend_from_slice(&[VERSION_IHL, 0]);
        out.extend_from_slice(&total.to_be_bytes());
        out.extend_from_slice(&self.ident.to_be_bytes());
        out.extend_from_slice(&FLAG_DF.to_be_bytes());
        out.extend_from_slice(&[self.ttl, PROTOCOL_TCP, 0, 0]);
        out.extend_from_slice(&self.src.octets());
        out.extend_from_slice(&self.dst.octets());
        let sum = checksum::finish(checksum::add(0, &out[start..]));
        out[start + 10..start + 12].copy_from_slice(&sum.to_be_bytes());
        Ok(())
    }
}
