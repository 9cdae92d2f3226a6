//! The TCP header, and the segment the analyzer works with.
//!
//! ```text
//!  0               8               16                              31
//! +-------------------------------+-------------------------------+
//! |          source port          |       destination port        |
//! +-------------------------------+-------------------------------+
//! |                        sequence number                        |
//! +---------------------------------------------------------------+
//! |                     acknowledgment number                     |
//! +-------+-------+---------------+-------------------------------+
//! |offset | rsvd  |     flags     |            window             |
//! +-------+-------+---------------+-------------------------------+
//! |           checksum            |        urgent pointer         |
//! +-------------------------------+-------------------------------+
//! |             options (offset · 4 - 20 bytes)                   |
//! +---------------------------------------------------------------+
//! ```
//!
//! The options are stepped over, except the window-scale option of a SYN
//! (read with etherparse's option iterator), and the checksum is not
//! checked (loopback captures have wrong ones by design). When a snapshot length cut the
//! packet inside the options, the fixed header is still read and the
//! segment has no payload bytes, marked `truncated`.

use std::fmt;
use std::net::{IpAddr, SocketAddr};

use crate::ip::IpPacket;
use crate::not_tcp::Malformed;

/// The control bits of a TCP header, as a set.
///
/// ```text
/// 0x01 FIN  0x02 SYN  0x04 RST  0x08 PSH  0x10 ACK  0x20 URG  0x40 ECE  0x80 CWR
/// ```
///
/// Shown the way the simulator's trace lists them: `SYN,ACK`, or `-` for none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct TcpFlags(u8);

impl TcpFlags {
    pub const FIN: TcpFlags = TcpFlags(0x01);
    pub const SYN: TcpFlags = TcpFlags(0x02);
    pub const RST: TcpFlags = TcpFlags(0x04);
    pub const PSH: TcpFlags = TcpFlags(0x08);
    pub const ACK: TcpFlags = TcpFlags(0x10);
    pub const URG: TcpFlags = TcpFlags(0x20);
    pub const ECE: TcpFlags = TcpFlags(0x40);
    pub const CWR: TcpFlags = TcpFlags(0x80);

    /// The flags byte as it is on the wire.
    pub const fn from_bits(bits: u8) -> TcpFlags {
        TcpFlags(bits)
    }

    pub const fn bits(self) -> u8 {
        self.0
    }

    /// True if every flag of `other` is set in `self`.
    pub const fn contains(self, other: TcpFlags) -> bool {
        self.0 & other.0 == other.0
    }
}

impl fmt::Display for TcpFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const NAMES: [&str; 8] = ["FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR"];
        if self.0 == 0 {
            return f.write_str("-");
        }
        let mut sep = "";
        for (bit, name) in NAMES.iter().enumerate() {
            if self.0 & (1 << bit) != 0 {
                write!(f, "{sep}{name}")?;
                sep = ",";
            }
        }
        Ok(())
    }
}

/// A view of a TCP header over the segment's bytes.
#[derive(Debug, Clone, Copy)]
pub struct TcpPacket<'a> {
    buffer: &'a [u8],
}

impl<'a> TcpPacket<'a> {
    pub const HEADER_LEN: usize = 20;

    /// Checks that the fixed header is there and the data offset is sane;
    /// the options may be cut off (see [`TcpPacket::payload`]).
    pub fn new_checked(buffer: &'a [u8]) -> Result<Self, Malformed> {
        if buffer.len() < Self::HEADER_LEN {
            let (what, len, need) = ("TCP header", buffer.len(), Self::HEADER_LEN);
            return Err(Malformed::Short { what, len, need });
        }
        let packet = TcpPacket { buffer };
        if packet.header_len() < Self::HEADER_LEN {
            return Err(Malformed::TcpHeaderLen(packet.header_len()));
        }
        Ok(packet)
    }

    fn u16_at(&self, at: usize) -> u16 {
        u16::from_be_bytes(crate::capture::array(self.buffer, at))
    }

    fn u32_at(&self, at: usize) -> u32 {
        u32::from_be_bytes(crate::capture::array(self.buffer, at))
    }

    pub fn src_port(&self) -> u16 {
        self.u16_at(0)
    }

    pub fn dst_port(&self) -> u16 {
        self.u16_at(2)
    }

    pub fn seq_number(&self) -> u32 {
        self.u32_at(4)
    }

    pub fn ack_number(&self) -> u32 {
        self.u32_at(8)
    }

    /// The data offset in bytes: header plus options.
    pub fn header_len(&self) -> usize {
        usize::from(self.buffer[12] >> 4) * 4
    }

    pub fn flags(&self) -> TcpFlags {
        TcpFlags(self.buffer[13])
    }

    pub fn window(&self) -> u16 {
        self.u16_at(14)
    }

    /// The option bytes, if the buffer holds them all.
    pub fn options(&self) -> Option<&'a [u8]> {
        self.buffer.get(Self::HEADER_LEN..self.header_len())
    }

    /// The window-scale option's shift, if the options carry one. Options
    /// of a kind etherparse does not know are skipped by their length, as
    /// RFC 9293 says; a malformed one ends the search.
    pub fn window_scale(&self) -> Option<u8> {
        use etherparse::{TcpOptionElement, TcpOptionReadError, TcpOptionsIterator};
        let mut iter = TcpOptionsIterator::from_slice(self.options()?);
        loop {
            let rest = iter.rest();
            match iter.next()? {
                Ok(TcpOptionElement::WindowScale(shift)) => return Some(shift),
                Ok(_) => {}
                Err(TcpOptionReadError::UnknownId(_)) => {
                    let len = usize::from(*rest.get(1)?);
                    iter = TcpOptionsIterator::from_slice(rest.get(len.max(2)..)?);
                }
                Err(_) => return None,
            }
        }
    }

    /// The data after the options; `None` if the buffer ends inside them.
    pub fn payload(&self) -> Option<&'a [u8]> {
        self.buffer.get(self.header_len()..)
    }
}

/// A TCP segment as the analyzer sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpSegment<'a> {
    pub src: SocketAddr,
    pub dst: SocketAddr,
    pub seq: u32,
    pub ack: u32,
    pub flags: TcpFlags,
    /// The raw window field (not scaled).
    pub window: u16,
    /// On a SYN, the window-scale option's shift, if it has one.
    pub window_scale: Option<u8>,
    /// The data bytes that were captured.
    pub payload: &'a [u8],
    /// The capture kept less than the segment had: `payload` is only its
    /// start (or nothing, if the cut fell inside the TCP options).
    pub truncated: bool,
    /// How many data bytes the segment had on the wire, by the IP header's
    /// length: `payload.len()` unless the capture cut it (and, for an IPv4
    /// total length of 0 — segmentation offload — the captured length).
    pub wire_len: u32,
}

impl<'a> TcpSegment<'a> {
    /// Reads the TCP header in an IP packet's payload; `cut` says the
    /// capture already knows the packet is incomplete.
    pub fn parse(ip: &IpPacket<'a>, cut: bool) -> Result<Self, Malformed> {
        let tcp = TcpPacket::new_checked(ip.payload)?;
        let (payload, truncated) = match tcp.payload() {
            Some(payload) => (payload, cut),
            None if cut => (&[][..], true),
            None => return Err(Malformed::TcpHeaderLen(tcp.header_len())),
        };
        let socket = |ip: IpAddr, port| SocketAddr::new(ip, port);
        let stated = ip.wire_len.saturating_sub(tcp.header_len());
        // More than 4 GiB of payload cannot be in one capture record.
        let wire_len = u32::try_from(stated.max(payload.len())).unwrap_or(u32::MAX);
        Ok(TcpSegment {
            src: socket(ip.src, tcp.src_port()),
            dst: socket(ip.dst, tcp.dst_port()),
            seq: tcp.seq_number(),
            ack: tcp.ack_number(),
            flags: tcp.flags(),
            window: tcp.window(),
            window_scale: if tcp.flags().contains(TcpFlags::SYN) {
                tcp.window_scale()
            } else {
                None
            },
            payload,
            truncated,
            wire_len,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_show_like_the_simulator_trace() {
        assert_eq!(TcpFlags(0x12).to_string(), "SYN,ACK");
        assert_eq!(TcpFlags(0x19).to_string(), "FIN,PSH,ACK");
        assert_eq!(TcpFlags(0xc0).to_string(), "ECE,CWR");
        assert_eq!(TcpFlags::default().to_string(), "-");
        assert!(TcpFlags(0x12).contains(TcpFlags::SYN));
        assert!(!TcpFlags(0x12).contains(TcpFlags::FIN));
    }

    #[test]
    fn a_data_offset_below_five_words_is_malformed() {
        let mut header = [0u8; 20];
        header[12] = 4 << 4;
        assert_eq!(
            TcpPacket::new_checked(&header).unwrap_err(),
            Malformed::TcpHeaderLen(16)
        );
        assert!(TcpPacket::new_checked(&header[..19]).is_err());
    }
}
