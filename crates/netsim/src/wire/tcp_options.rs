//! TCP options beyond the MSS: window scale, SACK-permitted, SACK blocks
//! and timestamps (RFC 7323, RFC 2018).
//!
//! ```text
//! kind 0  end of options            1 byte
//! kind 1  no-op (padding)           1 byte
//! kind 2  MSS                       4 bytes: 2, 4, mss (16 bits)
//! kind 3  window scale              3 bytes: 3, 3, shift
//! kind 4  SACK permitted            2 bytes: 4, 2
//! kind 5  SACK blocks               2 + 8n:  5, len, n × (left, right)
//! kind 8  timestamps                10 bytes: 8, 10, TSval, TSecr
//! ```
//!
//! Options are laid out as Linux lays them, so a capture looks like one
//! from a Linux host (`tcpdump` shows `mss 1460,sackOK,TS val … ecr 0,nop,
//! wscale 7` on a SYN):
//!
//! ```text
//! SYN:   MSS | SACK-perm TS        | NOP WS          (20 bytes)
//!            | NOP NOP TS          |  (TS without SACK)
//!            | NOP NOP SACK-perm   |  (SACK without TS)
//! other: NOP NOP TS | NOP NOP SACK blocks             (≤ 40 bytes)
//! ```
//!
//! The header has room for 40 bytes of options, so a segment with
//! timestamps carries at most 3 SACK blocks, one without carries 4.

use super::WireError;

pub(super) const OPT_END: u8 = 0;
pub(super) const OPT_NOP: u8 = 1;
pub(super) const OPT_MSS: u8 = 2;
const OPT_WSCALE: u8 = 3;
const OPT_SACK_PERM: u8 = 4;
const OPT_SACK: u8 = 5;
const OPT_TIMESTAMP: u8 = 8;

/// The room for options in a TCP header.
pub const MAX_OPTIONS_LEN: usize = 40;

/// The options of one segment, besides the MSS (which stays on
/// [`TcpRepr::mss`](super::TcpRepr::mss)). The default is none.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TcpOptions {
    /// The window-scale shift (SYN only): the sender's windows are to be
    /// multiplied by 2^shift.
    pub window_scale: Option<u8>,
    /// SACK may be used (SYN only).
    pub sack_permitted: bool,
    /// Blocks of data received beyond the cumulative ACK, as (left, right)
    /// sequence numbers, right exclusive; the most recent first.
    pub sack_blocks: Vec<(u32, u32)>,
    /// (TSval, TSecr).
    pub timestamp: Option<(u32, u32)>,
}

impl TcpOptions {
    pub fn is_empty(&self) -> bool {
        *self == TcpOptions::default()
    }

    /// How many SACK blocks fit beside the other options.
    pub fn sack_room(&self, mss: bool) -> usize {
        let used = self.fixed_len(mss);
        MAX_OPTIONS_LEN.saturating_sub(used + 4) / 8
    }

    /// Bytes taken by everything but the SACK blocks.
    fn fixed_len(&self, mss: bool) -> usize {
        let mut len = if mss { 4 } else { 0 };
        if self.timestamp.is_some() || self.sack_permitted {
            len += if self.timestamp.is_some() { 12 } else { 4 };
        }
        if self.window_scale.is_some() {
            len += 4;
        }
        len
    }

    /// Bytes these options take after an MSS option (if `mss`, which
    /// leaves less room for SACK blocks), a multiple of 4.
    pub fn len(&self, mss: bool) -> usize {
        let blocks = self.sack_blocks.len().min(self.sack_room(mss));
        self.fixed_len(false) + if blocks > 0 { 4 + 8 * blocks } else { 0 }
    }

    /// Appends the options after an MSS option (already written by the
    /// caller if `mss`). SACK blocks that do not fit are left out.
    pub(super) fn emit(&self, mss: bool, out: &mut Vec<u8>) {
        match (self.sack_permitted, self.timestamp) {
            (true, Some(_)) => out.extend_from_slice(&[OPT_SACK_PERM, 2]),
            (false, Some(_)) => out.extend_from_slice(&[OPT_NOP, OPT_NOP]),
            (true, None) => out.extend_from_slice(&[OPT_NOP, OPT_NOP, OPT_SACK_PERM, 2]),
            (false, None) => {}
        }
        if let Some((val, ecr)) = self.timestamp {
            out.extend_from_slice(&[OPT_TIMESTAMP, 10]);
            out.extend_from_slice(&val.to_be_bytes());
            out.extend_from_slice(&ecr.to_be_bytes());
        }
        if let Some(shift) = self.window_scale {
            out.extend_from_slice(&[OPT_NOP, OPT_WSCALE, 3, shift]);
        }
        let blocks = self.sack_blocks.len().min(self.sack_room(mss));
        if blocks > 0 {
            // At most 4 blocks: 2 + 32 bytes, so the length fits a byte.
            out.extend_from_slice(&[OPT_NOP, OPT_NOP, OPT_SACK, (2 + 8 * blocks) as u8]);
            for &(left, right) in &self.sack_blocks[..blocks] {
                out.extend_from_slice(&left.to_be_bytes());
                out.extend_from_slice(&right.to_be_bytes());
            }
        }
    }
}

/// Walks the option bytes: the MSS, if one is there, and the rest.
/// Unknown kinds are skipped; a length that runs past the end, or a known
/// kind with the wrong length, is an error naming the header byte.
///
/// ```text
/// kind 0: end of options    kind 1: no-op (one byte)
/// other kinds: kind, length (counting both), length - 2 bytes of data
/// ```
pub(super) fn parse(
    mut options: &[u8],
    header_offset: usize,
) -> Result<(Option<u16>, TcpOptions), WireError> {
    let mut mss = None;
    let mut opts = TcpOptions::default();
    let mut offset = header_offset;
    while let Some(&kind) = options.first() {
        let len = match kind {
            OPT_END => break,
            OPT_NOP => 1,
            _ => usize::from(options.get(1).copied().unwrap_or(0)),
        };
        if len == 0 || (kind > OPT_NOP && len < 2) || len > options.len() {
            return Err(WireError::TcpOption { kind, offset });
        }
        let data = &options[2.min(len)..len];
        let bad = || WireError::TcpOption { kind, offset };
        let be32 = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
        match kind {
            OPT_MSS => {
                let &[hi, lo] = data else { return Err(bad()) };
                mss = Some(u16::from_be_bytes([hi, lo]));
            }
            OPT_WSCALE => {
                let &[shift] = data else { return Err(bad()) };
                opts.window_scale = Some(shift);
            }
            OPT_SACK_PERM if data.is_empty() => opts.sack_permitted = true,
            OPT_SACK_PERM => return Err(bad()),
            OPT_SACK => {
                if data.is_empty() || data.len() % 8 != 0 {
                    return Err(bad());
                }
                let blocks = data.chunks_exact(8).map(|b| (be32(&b[..4]), be32(&b[4..])));
                opts.sack_blocks.extend(blocks);
            }
            OPT_TIMESTAMP => {
                if data.len() != 8 {
                    return Err(bad());
                }
                opts.timestamp = Some((be32(&data[..4]), be32(&data[4..])));
            }
            _ => {}
        }
        options = &options[len..];
        offset += len;
    }
    Ok((mss, opts))
}
