//! IPv4 and IPv6 headers, read as captures really have them.
//!
//! ```text
//! IPv4                                   IPv6
//! +-------+-------+-------+--------+    +-------+--------+---------------+
//! |ver|IHL| DSCP  | total length   |    |ver| class | flow label       |
//! | identification| flags|fragment |    | payload length | next  | hops  |
//! | TTL  |protocol| checksum       |    | source address (16 bytes)      |
//! | source address                 |    | destination address (16 bytes) |
//! | destination address            |    +--------------------------------+
//! | options (IHL · 4 - 20 bytes)   |    | extension headers, then payload|
//! +--------------------------------+    +--------------------------------+
//! ```
//!
//! The length fields are trusted only as far as they make sense:
//!
//! * bytes beyond the stated length are link padding (Ethernet pads short
//!   frames to 60 bytes) or a frame check sequence, and are dropped;
//! * a length of 0 means the packet was captured before the network card
//!   segmented it (TCP segmentation offload: Linux captures show 64 KB
//!   "packets"); the captured bytes are the packet;
//! * a stated length beyond the captured bytes means the capture kept only
//!   the start (a snapshot length): the payload is what there is, marked
//!   `cut`.
//!
//! IPv6 extension headers (hop-by-hop, routing, fragment, destination
//! options, authentication) are stepped over. Only a first fragment (offset
//! 0) can hold a TCP header. Checksums are not checked.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::link::NetworkPacket;
use crate::not_tcp::Malformed;

/// IP protocol numbers (IPv4 protocol, IPv6 next header).
pub mod protocol {
    pub const HOP_BY_HOP: u8 = 0;
    pub const ICMP: u8 = 1;
    pub const TCP: u8 = 6;
    pub const UDP: u8 = 17;
    pub const ROUTING: u8 = 43;
    pub const FRAGMENT: u8 = 44;
    pub const AUTH: u8 = 51;
    pub const ICMPV6: u8 = 58;
    pub const DEST_OPTS: u8 = 60;
}

/// At most this many IPv6 extension headers are followed.
const MAX_EXTENSIONS: usize = 8;

/// An IP packet's addresses and the transport bytes it carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpPacket<'a> {
    pub src: IpAddr,
    pub dst: IpAddr,
    /// The transport protocol (after any IPv6 extension headers).
    pub protocol: u8,
    pub payload: &'a [u8],
    /// A fragment other than the first: the payload is not a transport header.
    pub later_fragment: bool,
    /// The capture holds less than the header says the packet had.
    pub cut: bool,
    /// How many transport bytes the header says the packet had: equal to
    /// `payload.len()` unless `cut`; the captured length when the header
    /// says 0 (segmentation offload).
    pub wire_len: usize,
}

impl<'a> IpPacket<'a> {
    /// Reads the IPv4 or IPv6 header of a network-layer packet.
    pub fn parse(network: NetworkPacket<'a>) -> Result<Self, Malformed> {
        match network {
            NetworkPacket::Ipv4(buffer) => Ipv4Packet::new_checked(buffer)?.repr(),
            NetworkPacket::Ipv6(buffer) => Ipv6Packet::new_checked(buffer)?.repr(),
        }
    }
}

/// Cuts `after_header` to `stated` bytes: beyond it is padding; short of it
/// the capture was cut; 0 (segmentation offload) keeps all. Also returns
/// the length on the wire.
fn stated_len(after_header: &[u8], stated: usize) -> (&[u8], bool, usize) {
    match after_header.get(..stated) {
        _ if stated == 0 => (after_header, false, after_header.len()),
        Some(payload) => (payload, false, stated),
        None => (after_header, true, stated),
    }
}

/// A view of an IPv4 header over the packet's bytes.
#[derive(Debug, Clone, Copy)]
pub struct Ipv4Packet<'a> {
    buffer: &'a [u8],
}

mod ipv4_field {
    use std::ops::Range;
    pub const VER_IHL: usize = 0;
    pub const LENGTH: Range<usize> = 2..4;
    pub const FLAGS_FRAG: Range<usize> = 6..8;
    pub const PROTOCOL: usize = 9;
    pub const SRC: Range<usize> = 12..16;
    pub const DST: Range<usize> = 16..20;
}

impl<'a> Ipv4Packet<'a> {
    pub const HEADER_LEN: usize = 20;

    /// Checks that the fixed header and the options are all there, so the
    /// accessors cannot index out of range.
    pub fn new_checked(buffer: &'a [u8]) -> Result<Self, Malformed> {
        let short = |need| Malformed::Short {
            what: "IPv4 header",
            len: buffer.len(),
            need,
        };
        let first = *buffer.first().ok_or(short(Self::HEADER_LEN))?;
        if first >> 4 != 4 {
            return Err(Malformed::IpVersion(first >> 4));
        }
        let packet = Ipv4Packet { buffer };
        let header_len = usize::from(first & 0x0f) * 4;
        if header_len < Self::HEADER_LEN {
            return Err(Malformed::Ipv4HeaderLen(header_len));
        }
        if buffer.len() < header_len {
            return Err(short(header_len));
        }
        Ok(packet)
    }

    pub fn header_len(&self) -> usize {
        usize::from(self.buffer[ipv4_field::VER_IHL] & 0x0f) * 4
    }

    pub fn total_len(&self) -> usize {
        let f = ipv4_field::LENGTH;
        usize::from(u16::from_be_bytes([
            self.buffer[f.start],
            self.buffer[f.start + 1],
        ]))
    }

    /// The fragment offset in 8-byte units (0 for a whole packet or a
    /// first fragment).
    pub fn fragment_offset(&self) -> u16 {
        let f = ipv4_field::FLAGS_FRAG;
        u16::from_be_bytes([self.buffer[f.start], self.buffer[f.start + 1]]) & 0x1fff
    }

    pub fn protocol(&self) -> u8 {
        self.buffer[ipv4_field::PROTOCOL]
    }

    pub fn src_addr(&self) -> Ipv4Addr {
        Ipv4Addr::from(crate::capture::array::<4>(
            self.buffer,
            ipv4_field::SRC.start,
        ))
    }

    pub fn dst_addr(&self) -> Ipv4Addr {
        Ipv4Addr::from(crate::capture::array::<4>(
            self.buffer,
            ipv4_field::DST.start,
        ))
    }

    /// The header's meaning, with the payload cut as the module doc says.
    pub fn repr(&self) -> Result<IpPacket<'a>, Malformed> {
        let (header, total) = (self.header_len(), self.total_len());
        if total != 0 && total < header {
            return Err(Malformed::Ipv4TotalLen { total, header });
        }
        let after = &self.buffer[header..];
        let (payload, cut, wire_len) = stated_len(after, total.saturating_sub(header));
        Ok(IpPacket {
            src: self.src_addr().into(),
            dst: self.dst_addr().into(),
            protocol: self.protocol(),
            payload,
            later_fragment: self.fragment_offset() != 0,
            cut,
            wire_len,
        })
    }
}

/// A view of an IPv6 header over the packet's bytes.
#[derive(Debug, Clone, Copy)]
pub struct Ipv6Packet<'a> {
    buffer: &'a [u8],
}

impl<'a> Ipv6Packet<'a> {
    pub const HEADER_LEN: usize = 40;

    /// Checks that the fixed header is all there.
    pub fn new_checked(buffer: &'a [u8]) -> Result<Self, Malformed> {
        if buffer.len() < Self::HEADER_LEN {
            let what = "IPv6 header";
            let (len, need) = (buffer.len(), Self::HEADER_LEN);
            return Err(Malformed::Short { what, len, need });
        }
        match buffer[0] >> 4 {
            6 => Ok(Ipv6Packet { buffer }),
            version => Err(Malformed::IpVersion(version)),
        }
    }

    pub fn payload_len(&self) -> usize {
        usize::from(u16::from_be_bytes([self.buffer[4], self.buffer[5]]))
    }

    pub fn next_header(&self) -> u8 {
        self.buffer[6]
    }

    pub fn src_addr(&self) -> Ipv6Addr {
        Ipv6Addr::from(crate::capture::array::<16>(self.buffer, 8))
    }

    pub fn dst_addr(&self) -> Ipv6Addr {
        Ipv6Addr::from(crate::capture::array::<16>(self.buffer, 24))
    }

    /// The header's meaning: extension headers stepped over, the payload
    /// cut as the module doc says.
    pub fn repr(&self) -> Result<IpPacket<'a>, Malformed> {
        let after = &self.buffer[Self::HEADER_LEN..];
        let (mut payload, cut, mut wire_len) = stated_len(after, self.payload_len());
        let mut protocol = self.next_header();
        let mut later_fragment = false;
        let mut extensions = 0;
        while matches!(
            protocol,
            protocol::HOP_BY_HOP
                | protocol::ROUTING
                | protocol::FRAGMENT
                | protocol::AUTH
                | protocol::DEST_OPTS
        ) {
            extensions += 1;
            if extensions > MAX_EXTENSIONS {
                return Err(Malformed::Ipv6Extensions(MAX_EXTENSIONS));
            }
            let short = |need| Malformed::Short {
                what: "IPv6 extension header",
                len: payload.len(),
                need,
            };
            let &[next, len, b2, b3, ..] = payload else {
                return Err(short(8));
            };
            let ext_len = match protocol {
                protocol::FRAGMENT => {
                    later_fragment |= u16::from_be_bytes([b2, b3]) >> 3 != 0;
                    8
                }
                protocol::AUTH => (usize::from(len) + 2) * 4,
                _ => (usize::from(len) + 1) * 8,
            };
            payload = payload.get(ext_len..).ok_or(short(ext_len))?;
            wire_len = wire_len.saturating_sub(ext_len);
            protocol = next;
            if later_fragment {
                break; // what follows is the middle of some header
            }
        }
        Ok(IpPacket {
            src: self.src_addr().into(),
            dst: self.dst_addr().into(),
            protocol,
            payload,
            later_fragment,
            cut,
            wire_len,
        })
    }
}

#[cfg(test)]
mod tests;
