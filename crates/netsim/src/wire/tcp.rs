//! The TCP header: 20 bytes, plus options: a maximum segment size on SYNs
//! and the ones in [`TcpOptions`].
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
//! |  kind 2 = MSS | length 4      |   maximum segment size        |  (SYN only)
//! +-------------------------------+-------------------------------+
//! |  more options (window scale, SACK, timestamps): tcp_options.rs |
//! +---------------------------------------------------------------+
//! ```
//!
//! The checksum covers a *pseudo-header* (source and destination IPv4
//! addresses, protocol 6, segment length) and the whole segment, so a segment
//! delivered to the wrong host fails the check too.

use std::fmt;
use std::net::Ipv4Addr;
use std::ops::{BitOr, BitOrAssign};

use super::ipv4::PROTOCOL_TCP;
use super::tcp_options::{self, TcpOptions, OPT_MSS};
use super::{checksum, WireError};

/// The control bits of a TCP header, as a set.
///
/// ```text
/// 0x01 FIN   0x02 SYN   0x04 RST   0x08 PSH   0x10 ACK
/// ```
///
/// Shown the way Wireshark lists them: `SYN,ACK`, `FIN,PSH,ACK`, or `-` for
/// none. Bits the simulator never sets (URG, ECE, CWR) survive a parse and
/// show as hex.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct TcpFlags(u8);

impl TcpFlags {
    pub const FIN: TcpFlags = TcpFlags(0x01);
    pub const SYN: TcpFlags = TcpFlags(0x02);
    pub const RST: TcpFlags = TcpFlags(0x04);
    pub const PSH: TcpFlags = TcpFlags(0x08);
    pub const ACK: TcpFlags = TcpFlags(0x10);

    /// No flag set.
    pub const fn empty() -> TcpFlags {
        TcpFlags(0)
    }

    /// The flags byte as it is on the wire.
    pub const fn from_bits(bits: u8) -> TcpFlags {
        TcpFlags(bits)
    }

    pub const fn bits(self) -> u8 {
        self.0
    }

    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// True if every flag of `other` is set in `self`.
    pub const fn contains(self, other: TcpFlags) -> bool {
        self.0 & other.0 == other.0
    }

    /// True if any flag of `other` is set in `self`.
    pub const fn intersects(self, other: TcpFlags) -> bool {
        self.0 & other.0 != 0
    }
}

impl BitOr for TcpFlags {
    type Output = TcpFlags;
    fn bitor(self, rhs: TcpFlags) -> TcpFlags {
        TcpFlags(self.0 | rhs.0)
    }
}

impl BitOrAssign for TcpFlags {
    fn bitor_assign(&mut self, rhs: TcpFlags) {
        self.0 |= rhs.0;
    }
}

impl fmt::Display for TcpFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const NAMES: [(TcpFlags, &str); 5] = [
            (TcpFlags::FIN, "FIN"),
            (TcpFlags::SYN, "SYN"),
            (TcpFlags::RST, "RST"),
            (TcpFlags::PSH, "PSH"),
            (TcpFlags::ACK, "ACK"),
        ];
        if self.is_empty() {
            return f.write_str("-");
        }
        let mut sep = "";
        let mut known = 0;
        for (flag, name) in NAMES {
            if self.contains(flag) {
                write!(f, "{sep}{name}")?;
                sep = ",";
                known |= flag.0;
            }
        }
        let other = self.0 & !known;
        if other != 0 {
            write!(f, "{sep}0x{other:02x}")?;
        }
        Ok(())
    }
}

/// A TCP segment: the header fields the simulator uses and the data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcpRepr {
    pub src_port: u16,
    pub dst_port: u16,
    pub seq: u32,
    /// Meaningful only with [`TcpFlags::ACK`]; keep it 0 otherwise (Wireshark
    /// warns about a nonzero acknowledgment number without ACK).
    pub ack: u32,
    pub flags: TcpFlags,
    pub window: u16,
    /// The maximum segment size option, sent on SYNs. `emit` writes it
    /// whenever it is set.
    pub mss: Option<u16>,
    /// Window scale, SACK and timestamps; empty in the go-back-N model.
    pub options: TcpOptions,
    pub payload: Vec<u8>,
}

impl TcpRepr {
    /// The header without options.
    pub const HEADER_LEN: usize = 20;

    /// The header length with the options this segment carries.
    pub fn header_len(&self) -> usize {
        let mss = self.mss.is_some();
        Self::HEADER_LEN + if mss { 4 } else { 0 } + self.options.len(mss)
    }

    /// The segment's length on the wire: header, options and payload.
    pub fn buffer_len(&self) -> usize {
        self.header_len() + self.payload.len()
    }

    /// How much sequence space the segment takes: its data, plus one for a
    /// SYN and one for a FIN.
    pub fn sequence_len(&self) -> usize {
        let syn = usize::from(self.flags.contains(TcpFlags::SYN));
        let fin = usize::from(self.flags.contains(TcpFlags::FIN));
        self.payload.len() + syn + fin
    }

    /// Parses a segment sent from `src` to `dst` (needed for the checksum's
    /// pseudo-header). Options the simulator does not use are skipped.
    pub fn parse(segment: &[u8], src: Ipv4Addr, dst: Ipv4Addr) -> Result<TcpRepr, WireError> {
        let Some(h) = segment.first_chunk::<{ Self::HEADER_LEN }>() else {
            return Err(WireError::Truncated {
                what: "TCP header",
                len: segment.len(),
                need: Self::HEADER_LEN,
            });
        };
        let header_len = usize::from(h[12] >> 4) * 4;
        if header_len < Self::HEADER_LEN || header_len > segment.len() {
            return Err(WireError::TcpHeaderLen {
                header: header_len,
                len: segment.len(),
            });
        }
        let found = u16::from_be_bytes([h[16], h[17]]);
        let sum = checksum::pseudo_header(src, dst, PROTOCOL_TCP, segment.len());
        let sum = checksum::add(checksum::add(sum, &segment[..16]), &segment[18..]);
        let expected = checksum::finish(sum);
        if found != expected {
            return Err(WireError::TcpChecksum { found, expected });
        }
        let be32 = |at: usize| u32::from_be_bytes([h[at], h[at + 1], h[at + 2], h[at + 3]]);
        let (mss, options) =
            tcp_options::parse(&segment[Self::HEADER_LEN..header_len], Self::HEADER_LEN)?;
        Ok(TcpRepr {
            src_port: u16::from_be_bytes([h[0], h[1]]),
            dst_port: u16::from_be_bytes([h[2], h[3]]),
            seq: be32(4),
            ack: be32(8),
            flags: TcpFlags(h[13]),
            window: u16::from_be_bytes([h[14], h[15]]),
            mss,
            options,
            payload: segment[header_len..].to_vec(),
        })
    }

    /// Appends the segment, checksum included, for a packet from `src` to
    /// `dst`.
    pub fn emit(&self, src: Ipv4Addr, dst: Ipv4Addr, out: &mut Vec<u8>) {
        let start = out.len();
        // At most 60 bytes (options are capped at 40), so the offset fits
        // its four bits.
        let offset_words = (self.header_len() / 4) as u8;
        out.extend_from_slice(&self.src_port.to_be_bytes());
        out.extend_from_slice(&self.dst_port.to_be_bytes());
        out.extend_from_slice(&self.seq.to_be_bytes());
        out.extend_from_slice(&self.ack.to_be_bytes());
        out.extend_from_slice(&[offset_words << 4, self.flags.0]);
        out.extend_from_slice(&self.window.to_be_bytes());
        out.extend_from_slice(&[0, 0, 0, 0]); // checksum, urgent pointer
        if let Some(mss) = self.mss {
            out.extend_from_slice(&[OPT_MSS, 4]);
            out.extend_from_slice(&mss.to_be_bytes());
        }
        self.options.emit(self.mss.is_some(), out);
        out.extend_from_slice(&self.payload);
        let sum = checksum::pseudo_header(src, dst, PROTOCOL_TCP, out.len() - start);
        let sum = checksum::finish(checksum::add(sum, &out[start..]));
        out[start + 16..start + 18].copy_from_slice(&sum.to_be_bytes());
    }
}

impl fmt::Display for TcpRepr {
    /// One line in the style of a packet list:
    /// `45926 > 2635 [SYN] seq=0 ack=0 win=65535 mss=1460 len=0`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} > {} [{}] seq={} ack={} win={}",
            self.src_port, self.dst_port, self.flags, self.seq, self.ack, self.window
        )?;
        if let Some(mss) = self.mss {
            write!(f, " mss={mss}")?;
        }
        let o = &self.options;
        if let Some(ws) = o.window_scale {
            write!(f, " ws={ws}")?;
        }
        if o.sack_permitted {
            f.write_str(" sack_perm")?;
        }
        if let Some((val, ecr)) = o.timestamp {
            write!(f, " ts={val}/{ecr}")?;
        }
        for (i, (l, r)) in o.sack_blocks.iter().enumerate() {
            write!(f, "{}{l}-{r}", if i == 0 { " sack=" } else { "," })?;
        }
        write!(f, " len={}", self.payload.len())
    }
}
