//! The frames the simulator puts on its wire: Ethernet II, IPv4 and TCP.
//!
//! Every segment the simulated TCP sends is also written out as a complete
//! frame, so a run can be opened in Wireshark and in the kit's analyzer like a
//! real capture. This module owns those bytes:
//!
//! ```text
//! +----------------+--------------------+----------------------+---------+
//! | Ethernet II    | IPv4, 20 bytes     | TCP, 20 bytes        | payload |
//! | dst, src, type | no options, DF set | (+ options, ≤ 40)    |         |
//! | 14 bytes       | header checksum    | checksum over the    |         |
//! |                |                    | pseudo-header + data |         |
//! +----------------+--------------------+----------------------+---------+
//! ```
//!
//! Each layer has a `Repr`, a plain struct of the fields the simulator cares
//! about, with `parse` (bytes to `Repr`, checking lengths and checksums) and
//! `emit` (`Repr` to bytes, computing them) — the shape smoltcp's `wire`
//! module uses. [`emit_frame`] and [`parse_frame`] stack the three layers.
//!
//! Parsing never panics: a short, garbled or foreign frame gives a
//! [`WireError`] naming what is wrong.

mod ethernet;
mod ipv4;
mod tcp;
mod tcp_options;

pub use ethernet::{EthernetRepr, MacAddr};
pub use ipv4::Ipv4Repr;
pub use tcp::{TcpFlags, TcpRepr};
pub use tcp_options::{TcpOptions, MAX_OPTIONS_LEN};

/// Why a frame could not be parsed (or, for [`WireError::TooLong`], built).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    #[error("truncated {what}: {len} bytes, need {need}")]
    Truncated {
        what: &'static str,
        len: usize,
        need: usize,
    },
    #[error("not IPv4: ethertype 0x{0:04x}")]
    Ethertype(u16),
    #[error("not IPv4: version {0}")]
    IpVersion(u8),
    #[error("unsupported IPv4 header of {0} bytes (options are not supported)")]
    IpHeaderLen(usize),
    #[error("IPv4 total length {total} does not fit the {available} bytes that follow the Ethernet header")]
    IpTotalLen { total: usize, available: usize },
    #[error("IPv4 fragment (more-fragments or offset set)")]
    IpFragment,
    #[error("not TCP: IPv4 protocol {0}")]
    IpProtocol(u8),
    #[error("bad IPv4 header checksum 0x{found:04x} (expected 0x{expected:04x})")]
    IpChecksum { found: u16, expected: u16 },
    #[error("bad TCP data offset: a {header}-byte header in a {len}-byte segment")]
    TcpHeaderLen { header: usize, len: usize },
    #[error("malformed TCP option (kind {kind}) at header byte {offset}")]
    TcpOption { kind: u8, offset: usize },
    #[error("bad TCP checksum 0x{found:04x} (expected 0x{expected:04x})")]
    TcpChecksum { found: u16, expected: u16 },
    #[error("a TCP segment of {0} bytes does not fit in an IPv4 packet")]
    TooLong(usize),
}

/// Builds one complete frame: Ethernet II, IPv4 and TCP with the payload,
/// both checksums computed.
///
/// The only error is [`WireError::TooLong`], when the TCP segment would not
/// fit in an IPv4 packet (65,535 bytes with the IPv4 header).
pub fn emit_frame(eth: &EthernetRepr, ip: &Ipv4Repr, tcp: &TcpRepr) -> Result<Vec<u8>, WireError> {
    let tcp_len = tcp.buffer_len();
    let mut frame = Vec::with_capacity(EthernetRepr::HEADER_LEN + Ipv4Repr::HEADER_LEN + tcp_len);
    eth.emit(&mut frame);
    ip.emit(tcp_len, &mut frame)?;
    tcp.emit(ip.src, ip.dst, &mut frame);
    Ok(frame)
}

/// Parses a frame built by [`emit_frame`] (or any Ethernet/IPv4/TCP frame
/// without IP options), checking every length and both checksums. Bytes
/// after the IPv4 packet (Ethernet padding) are ignored.
pub fn parse_frame(frame: &[u8]) -> Result<(EthernetRepr, Ipv4Repr, TcpRepr), WireError> {
    let (eth, packet) = EthernetRepr::parse(frame)?;
    let (ip, segment) = Ipv4Repr::parse(packet)?;
    let tcp = TcpRepr::parse(segment, ip.src, ip.dst)?;
    Ok((eth, ip, tcp))
}

/// The Internet checksum (RFC 1071): the one's complement of the one's
/// complement sum of the data taken as big-endian 16-bit words.
mod checksum {
    use std::net::Ipv4Addr;

    /// Adds `data` to a running sum; an odd last byte is padded with zero.
    pub(super) fn add(mut sum: u64, data: &[u8]) -> u64 {
        let mut words = data.chunks_exact(2);
        for w in &mut words {
            sum += u64::from(u16::from_be_bytes([w[0], w[1]]));
        }
        if let [last] = words.remainder() {
            sum += u64::from(u16::from_be_bytes([*last, 0]));
        }
        sum
    }

    /// The sum of the IPv4 pseudo-header that TCP and UDP checksums cover:
    /// source, destination, zero, protocol, segment length.
    pub(super) fn pseudo_header(src: Ipv4Addr, dst: Ipv4Addr, protocol: u8, len: usize) -> u64 {
        let sum = add(add(0, &src.octets()), &dst.octets());
        // The length is a 16-bit field on the wire; IPv4 keeps it in range.
        sum + u64::from(protocol) + len as u64
    }

    /// Folds the carries back in (end-around carry) and complements.
    pub(super) fn finish(mut sum: u64) -> u16 {
        while sum > 0xffff {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        // The loop leaves at most 16 bits, so the cast keeps every bit.
        !(sum as u16)
    }
}

#[cfg(test)]
mod tests;
