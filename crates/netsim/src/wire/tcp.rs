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
//!
//! etherparse writes the header, checksum included (from
//! [`TcpRepr::header`], in [`emit_frame`](super::emit_frame)), and reads
//! and checks it ([`TcpRepr::parse`]).

use std::fmt;
use std::net::Ipv4Addr;
use std::ops::{BitOr, BitOrAssign};

use etherparse::{TcpHeader, TcpSlice};

use super::tcp_options::{self, TcpOptions};
use super::WireError;

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
    /// The flags the simulator never sets, kept so that a parse loses no
    /// bit: URG, ECE, CWR.
    const URG: TcpFlags = TcpFlags(0x20);
    const ECE: TcpFlags = TcpFlags(0x40);
    const CWR: TcpFlags = TcpFlags(0x80);

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
    /// The maximum segment size option, sent on SYNs. [`emit_frame`](super::emit_frame) writes it
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
        use etherparse::err::tcp::{HeaderError, HeaderSliceError};
        let tcp = TcpSlice::from_slice(segment).map_err(|e| match e {
            HeaderSliceError::Len(e) if e.len < Self::HEADER_LEN => WireError::Truncated {
                what: "TCP header",
                len: e.len,
                need: e.required_len,
            },
            HeaderSliceError::Len(e) => WireError::TcpHeaderLen {
                header: e.required_len,
                len: e.len,
            },
            HeaderSliceError::Content(HeaderError::DataOffsetTooSmall { data_offset }) => {
                WireError::TcpHeaderLen {
                    header: usize::from(data_offset) * 4,
                    len: segment.len(),
                }
            }
        })?;
        let found = tcp.checksum();
        let expected = tcp
            .calc_checksum_ipv4(src.octets(), dst.octets())
            .map_err(|_| WireError::TooLong(segment.len()))?;
        if found != expected {
            return Err(WireError::TcpChecksum { found, expected });
        }
        let (mss, options) = tcp_options::parse(tcp.options())?;
        Ok(TcpRepr {
            src_port: tcp.source_port(),
            dst_port: tcp.destination_port(),
            seq: tcp.sequence_number(),
            ack: tcp.acknowledgment_number(),
            flags: flags_of(&tcp),
            window: tcp.window_size(),
            mss,
            options,
            payload: tcp.payload().to_vec(),
        })
    }

    /// The header etherparse writes, options encoded; the checksum is left
    /// for [`emit_frame`](super::emit_frame), which knows the IPv4 header.
    pub(super) fn header(&self) -> Result<TcpHeader, WireError> {
        let elements = self.options.elements(self.mss);
        let options = etherparse::TcpOptions::try_from_elements(&elements)
            .map_err(|e| WireError::TcpOptionsTooLong(e.to_string()))?;
        let flags = self.flags;
        Ok(TcpHeader {
            source_port: self.src_port,
            destination_port: self.dst_port,
            sequence_number: self.seq,
            acknowledgment_number: self.ack,
            ns: false,
            fin: flags.contains(TcpFlags::FIN),
            syn: flags.contains(TcpFlags::SYN),
            rst: flags.contains(TcpFlags::RST),
            psh: flags.contains(TcpFlags::PSH),
            ack: flags.contains(TcpFlags::ACK),
            urg: flags.contains(TcpFlags::URG),
            ece: flags.contains(TcpFlags::ECE),
            cwr: flags.contains(TcpFlags::CWR),
            window_size: self.window,
            checksum: 0,
            urgent_pointer: 0,
            options,
        })
    }
}

/// The flags byte of a parsed header, from etherparse's one-flag getters.
fn flags_of(tcp: &TcpSlice<'_>) -> TcpFlags {
    [
        (tcp.fin(), TcpFlags::FIN),
        (tcp.syn(), TcpFlags::SYN),
        (tcp.rst(), TcpFlags::RST),
        (tcp.psh(), TcpFlags::PSH),
        (tcp.ack(), TcpFlags::ACK),
        (tcp.urg(), TcpFlags::URG),
        (tcp.ece(), TcpFlags::ECE),
        (tcp.cwr(), TcpFlags::CWR),
    ]
    .into_iter()
    .filter(|&(set, _)| set)
    .fold(TcpFlags::empty(), |all, (_, flag)| all | flag)
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
