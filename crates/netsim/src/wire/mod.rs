//! The frames the simulator puts on its wire: Ethernet II, IPv4 and TCP.
//!
//! Every segment the simulated TCP sends is also written out as a complete
//! frame, so a run can be opened in Wireshark and in the kit's analyzer like a
//! real capture:
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
//! about (the shape smoltcp's `wire` module uses). The bytes themselves are
//! written and read by the [`etherparse`] crate: [`emit_frame`] fills in its
//! three headers and has it compute the lengths and both checksums;
//! [`parse_frame`] reads the layers with its slices and checks both
//! checksums with its one's-complement sum. What is left here is the
//! mapping between etherparse's types and the `Repr`s, the Linux layout of
//! the TCP options (`tcp_options`), and the few things etherparse does not
//! do (see `docs/architecture.md`, "The simulator").
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

/// Why a frame could not be parsed (or, for [`WireError::TooLong`] and
/// [`WireError::TcpOptionsTooLong`], built).
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
    /// etherparse refused to encode the TCP options (the simulator's never
    /// exceed the 40 bytes there are).
    #[error("cannot encode the TCP options: {0}")]
    TcpOptionsTooLong(String),
}

/// Builds one complete frame: Ethernet II, IPv4 and TCP with the payload,
/// the lengths and both checksums computed by etherparse.
///
/// Fails with [`WireError::TooLong`] when the TCP segment would not fit in
/// an IPv4 packet (65,535 bytes with the IPv4 header).
///
/// The headers are put together here rather than by etherparse's
/// `PacketBuilder`, whose state (room for any IPv6 extension header, 9 KB)
/// is copied at each step: that doubled the cost of a small frame.
pub fn emit_frame(eth: &EthernetRepr, ip: &Ipv4Repr, tcp: &TcpRepr) -> Result<Vec<u8>, WireError> {
    let eth = eth.header();
    let mut ip = ip.header();
    let mut tcp_header = tcp.header()?;
    let segment_len = tcp_header.header_len() + tcp.payload.len();
    ip.set_payload_len(segment_len)
        .map_err(|e| WireError::TooLong(e.actual))?;
    ip.header_checksum = ip.calc_header_checksum();
    tcp_header.checksum = tcp_header
        .calc_checksum_ipv4(&ip, &tcp.payload)
        .map_err(|_| WireError::TooLong(segment_len))?;
    let mut frame = Vec::with_capacity(eth.header_len() + ip.header_len() + segment_len);
    frame.extend_from_slice(&eth.to_bytes());
    frame.extend_from_slice(&ip.to_bytes());
    frame.extend_from_slice(&tcp_header.to_bytes());
    frame.extend_from_slice(&tcp.payload);
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

#[cfg(test)]
mod tests;
