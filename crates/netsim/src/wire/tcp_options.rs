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
//!
//! etherparse encodes the options ([`TcpOptionElement`]s, written in the
//! order given, no-ops included) and decodes them (its options iterator).
//! This module chooses the layout, and steps over the kinds etherparse does
//! not know, which its iterator stops at.

use etherparse::TcpOptionElement::{
    MaximumSegmentSize, Noop, SelectiveAcknowledgement, SelectiveAcknowledgementPermitted,
    Timestamp, WindowScale,
};
use etherparse::{TcpOptionElement, TcpOptionReadError, TcpOptionsIterator};

use super::{TcpRepr, WireError};

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

    /// The options in the order Linux sends them, with the MSS first if
    /// there is one. SACK blocks that do not fit are left out.
    pub(super) fn elements(&self, mss: Option<u16>) -> Vec<TcpOptionElement> {
        let mut out = Vec::with_capacity(10);
        out.extend(mss.map(MaximumSegmentSize));
        match (self.sack_permitted, self.timestamp) {
            (true, Some(_)) => out.push(SelectiveAcknowledgementPermitted),
            (false, Some(_)) => out.extend([Noop, Noop]),
            (true, None) => out.extend([Noop, Noop, SelectiveAcknowledgementPermitted]),
            (false, None) => {}
        }
        if let Some((val, ecr)) = self.timestamp {
            out.push(Timestamp(val, ecr));
        }
        if let Some(shift) = self.window_scale {
            out.extend([Noop, WindowScale(shift)]);
        }
        let blocks = self.sack_blocks.len().min(self.sack_room(mss.is_some()));
        if let Some((&first, rest)) = self.sack_blocks[..blocks].split_first() {
            // At most 4 blocks fit: the first and 3 more.
            let mut more = [None; 3];
            for (slot, &block) in more.iter_mut().zip(rest) {
                *slot = Some(block);
            }
            out.extend([Noop, Noop, SelectiveAcknowledgement(first, more)]);
        }
        out
    }
}

/// Reads the option bytes of a TCP header with etherparse's iterator: the
/// MSS, if one is there, and the rest. A known kind with the wrong length,
/// or a length that runs past the end, is an error naming the header byte.
///
/// Kinds etherparse does not know (TCP Fast Open, MPTCP, …) end its
/// iteration with an error; RFC 9293 says a receiver skips them by their
/// length byte, so this does, and goes on.
pub(super) fn parse(options: &[u8]) -> Result<(Option<u16>, TcpOptions), WireError> {
    use TcpOptionReadError::{UnexpectedEndOfSlice, UnexpectedSize, UnknownId};
    let mut mss = None;
    let mut opts = TcpOptions::default();
    let mut iter = TcpOptionsIterator::from_slice(options);
    loop {
        let rest = iter.rest();
        let offset = TcpRepr::HEADER_LEN + options.len() - rest.len();
        let bad = |kind| WireError::TcpOption { kind, offset };
        match iter.next() {
            None => break,
            Some(Ok(Noop)) => {}
            Some(Ok(MaximumSegmentSize(value))) => mss = Some(value),
            Some(Ok(WindowScale(shift))) => opts.window_scale = Some(shift),
            Some(Ok(SelectiveAcknowledgementPermitted)) => opts.sack_permitted = true,
            Some(Ok(SelectiveAcknowledgement(first, more))) => {
                opts.sack_blocks.push(first);
                opts.sack_blocks.extend(more.into_iter().flatten());
            }
            Some(Ok(Timestamp(val, ecr))) => opts.timestamp = Some((val, ecr)),
            Some(Err(UnknownId(kind))) => {
                let after = skip_unknown(rest).ok_or(bad(kind))?;
                iter = TcpOptionsIterator::from_slice(after);
            }
            Some(Err(
                UnexpectedEndOfSlice { option_id, .. } | UnexpectedSize { option_id, .. },
            )) => {
                return Err(bad(option_id));
            }
        }
    }
    Ok((mss, opts))
}

/// The bytes after an option of unknown kind at the start of `options`:
/// kind, length (counting both), length - 2 bytes of data. `None` if the
/// length is under 2 or runs past the end.
fn skip_unknown(options: &[u8]) -> Option<&[u8]> {
    let len = usize::from(*options.get(1)?);
    if len < 2 {
        return None;
    }
    options.get(len..)
}
