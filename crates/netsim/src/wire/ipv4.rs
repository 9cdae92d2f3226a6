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
//! (see the `tcp` module). etherparse writes the header, checksum included
//! (in [`emit_frame`](super::emit_frame)), and reads it
//! ([`Ipv4Repr::parse`]).

use std::net::Ipv4Addr;

use etherparse::checksum::Sum16BitWords;
use etherparse::err::ipv4::{HeaderError, SliceError};
use etherparse::err::Layer;
use etherparse::{IpNumber, Ipv4Header, Ipv4Slice, LenSource};

use super::WireError;

/// Where the header checksum sits in the header.
const CHECKSUM_AT: usize = 10;

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
    pub const HEADER_LEN: usize = Ipv4Header::MIN_LEN;

    /// The header etherparse writes: no options, DF set, protocol TCP. The
    /// total length and the checksum are left for
    /// [`emit_frame`](super::emit_frame).
    pub(super) fn header(&self) -> Ipv4Header {
        Ipv4Header {
            identification: self.ident,
            dont_fragment: true,
            more_fragments: false,
            time_to_live: self.ttl,
            protocol: IpNumber::TCP,
            source: self.src.octets(),
            destination: self.dst.octets(),
            ..Ipv4Header::default()
        }
    }

    /// Parses a packet and returns the header with the TCP segment it
    /// carries (cut at the total length, so Ethernet padding is dropped).
    pub fn parse(packet: &[u8]) -> Result<(Ipv4Repr, &[u8]), WireError> {
        let ip = Ipv4Slice::from_slice(packet).map_err(|e| slice_error(e, packet.len()))?;
        let header = ip.header();
        if header.ihl() != 5 {
            return Err(WireError::IpHeaderLen(header.slice().len()));
        }
        if header.is_fragmenting_payload() {
            return Err(WireError::IpFragment);
        }
        if header.protocol() != IpNumber::TCP {
            return Err(WireError::IpProtocol(header.protocol().0));
        }
        let found = header.header_checksum();
        let expected = expected_checksum(header.slice());
        if found != expected {
            return Err(WireError::IpChecksum { found, expected });
        }
        let repr = Ipv4Repr {
            src: header.source_addr(),
            dst: header.destination_addr(),
            ttl: header.ttl(),
            ident: header.identification(),
        };
        Ok((repr, ip.payload().payload))
    }
}

/// The checksum a header should carry: etherparse's one's-complement sum of
/// its bytes, the checksum field left out.
///
/// Summed over the raw bytes rather than with `Ipv4Header::
/// calc_header_checksum`, which sums the decoded fields and so cannot see
/// the reserved flag bit: a frame with that bit flipped would pass.
pub(super) fn expected_checksum(header: &[u8]) -> u16 {
    let (before, field_and_after) = header.split_at(CHECKSUM_AT.min(header.len()));
    let after = field_and_after.get(2..).unwrap_or_default();
    Sum16BitWords::new()
        .add_slice(before)
        .add_slice(after)
        .ones_complement()
        .to_be()
}

/// Names what etherparse found wrong, in the simulator's terms.
fn slice_error(e: SliceError, available: usize) -> WireError {
    match e {
        SliceError::Len(e) if e.layer == Layer::Ipv4Header => WireError::Truncated {
            what: "IPv4 header",
            len: e.len,
            need: e.required_len,
        },
        SliceError::Len(e) if e.layer == Layer::Ipv4Packet => match e.len_source {
            // The total length is shorter than the header.
            LenSource::Ipv4HeaderTotalLen => WireError::IpTotalLen {
                total: e.len,
                available,
            },
            // The total length runs past the bytes there are.
            _ => WireError::IpTotalLen {
                total: e.required_len,
                available: e.len,
            },
        },
        SliceError::Header(HeaderError::UnexpectedVersion { version_number }) => {
            WireError::IpVersion(version_number)
        }
        SliceError::Header(HeaderError::HeaderLengthSmallerThanHeader { ihl }) => {
            WireError::IpHeaderLen(usize::from(ihl) * 4)
        }
        // etherparse reads on past the IPv4 header only into an IPsec
        // authentication header (protocol 51), which is not TCP.
        SliceError::Len(_) | SliceError::Exts(_) => {
            WireError::IpProtocol(IpNumber::AUTHENTICATION_HEADER.0)
        }
    }
}
