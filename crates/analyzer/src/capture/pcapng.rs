//! pcapng: a list of blocks, each framed the same way, so a reader can skip
//! the ones it does not know.
//!
//! ```text
//! +------------+--------------+------------------------+--------------+
//! | block type | total length | body, padded to 32 bit | total length |
//! | u32        | u32          | ...                    | u32 (again)  |
//! +------------+--------------+------------------------+--------------+
//! ```
//!
//! The blocks read here (bodies; every one may end in options):
//!
//! ```text
//! 0x0a0d0d0a section header      byte-order magic 1a2b3c4d, version 1.x,
//!                                section length; resets the interfaces
//! 0x00000001 interface descr.    link type u16, reserved u16, snaplen u32,
//!                                options: if_tsresol (9), if_tsoffset (14)
//! 0x00000006 enhanced packet     interface u32, timestamp high u32, low u32,
//!                                captured u32, original u32, data
//! 0x00000003 simple packet       original u32, data (interface 0, no time)
//! 0x00000002 packet (obsolete)   interface u16, drops u16, then as EPB
//! ```
//!
//! Custom blocks (`0x00000bad`, `0x40000bad`) and systemd journal entries
//! (9) are skipped too, but Wireshark gives them frame numbers, so they are
//! counted.
//!
//! Each section has its own byte order, read from its magic, and its own
//! numbered list of interfaces; each interface its own link type and
//! timestamp unit (`if_tsresol`: 10^-n seconds, or 2^-n with the top bit
//! set; default microseconds) and offset in seconds (`if_tsoffset`).
//! Options are `code u16, length u16, value` padded to 32 bits. A malformed
//! one (longer than its block) ends the reading of that block's options,
//! with a warning: the packets still read, as in Wireshark.

use std::io::Read;

use super::input::Input;
use super::MAX_RECORD_LEN;
use super::{array, CaptureError, CaptureWarning, Endian, Problem, Record, Warnings};
use crate::link_type::LinkType;

/// The section header's block type, the same in both byte orders.
pub(super) const SHB_TYPE: [u8; 4] = [0x0a, 0x0d, 0x0d, 0x0a];
const BYTE_ORDER_MAGIC: u32 = 0x1a2b_3c4d;
const IDB: u32 = 1;
const PB: u32 = 2;
const SPB: u32 = 3;
const EPB: u32 = 6;
/// Records Wireshark numbers as frames though they hold no packet.
const SYSTEMD_JOURNAL: u32 = 9;
const CUSTOM: u32 = 0x0000_0bad;
const CUSTOM_NOT_COPIED: u32 = 0x4000_0bad;

const OPT_ENDOFOPT: u16 = 0;
const IF_TSRESOL: u16 = 9;
const IF_TSOFFSET: u16 = 14;

/// More interfaces than this in one section is a corrupt file.
const MAX_INTERFACES: usize = 1 << 16;

/// The interfaces of the current section.
#[derive(Debug, Default)]
pub(super) struct Section {
    endian: Option<Endian>,
    interfaces: Vec<Interface>,
    /// Blocks skipped that Wireshark numbers as frames, in all sections.
    records_skipped: u64,
}

/// One interface description.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Interface {
    link_type: LinkType,
    snaplen: u32,
    /// `if_tsresol`, as on the wire.
    tsresol: u8,
    /// `if_tsoffset`, seconds.
    tsoffset: i64,
}

impl Interface {
    /// Converts a raw timestamp in this interface's units to nanoseconds
    /// since the epoch, saturating outside `u64`.
    fn timestamp_ns(&self, raw: u64) -> u64 {
        let exponent = u32::from(self.tsresol & 0x7f);
        let ns: u128 = if self.tsresol & 0x80 != 0 {
            (u128::from(raw) * 1_000_000_000)
                .checked_shr(exponent)
                .unwrap_or(0)
        } else if exponent <= 9 {
            u128::from(raw) * 10u128.pow(9 - exponent)
        } else {
            10u128
                .checked_pow(exponent - 9)
                .map_or(0, |unit| u128::from(raw) / unit)
        };
        // Both terms are far inside i128: below 2^94 and 2^94.
        let ns = ns as i128 + i128::from(self.tsoffset) * 1_000_000_000;
        // Clamped to the u64 range, so the cast keeps the value.
        ns.clamp(0, i128::from(u64::MAX)) as u64
    }
}

impl Section {
    /// How many records were skipped that Wireshark counts as frames.
    pub(super) fn records_skipped(&self) -> u64 {
        self.records_skipped
    }

    /// Reads blocks until the next packet; `Ok(None)` at a clean end.
    pub(super) fn next_record<R: Read>(
        &mut self,
        input: &mut Input<R>,
        warnings: &mut Warnings,
    ) -> Result<Option<Record>, CaptureError> {
        loop {
            if !input.require(8)? {
                return Ok(None);
            }
            let offset = input.offset();
            let head = input.peek();
            if array::<4>(head, 0) == SHB_TYPE {
                self.read_section_header(input, warnings)?;
                continue;
            }
            // The first block is a section header (that is how the file was
            // recognised), so the byte order is known here.
            let endian = self.endian.unwrap_or(Endian::Little);
            let block_type = endian.u32(array(head, 0));
            let len = check_len(endian.u32(array(head, 4)), offset)?;
            match block_type {
                IDB => {
                    let body = block_body(input, len, endian, offset, warnings)?;
                    let interface = self.interface(body, offset, warnings)?;
                    input.take(len);
                    if self.interfaces.len() >= MAX_INTERFACES {
                        let problem = Problem::TooManyInterfaces(MAX_INTERFACES);
                        return Err(CaptureError::Corrupt { offset, problem });
                    }
                    self.interfaces.push(interface);
                }
                EPB | PB | SPB => {
                    let body = block_body(input, len, endian, offset, warnings)?;
                    let record = self.packet(block_type, body, offset)?;
                    let at = input.take(len) + 8;
                    return Ok(Some(Record {
                        at: at + record.at,
                        ..record
                    }));
                }
                SYSTEMD_JOURNAL | CUSTOM | CUSTOM_NOT_COPIED => {
                    input.skip(len as u64)?;
                    self.records_skipped += 1;
                }
                _ => input.skip(len as u64)?,
            }
        }
    }

    /// A section header: sets the byte order, forgets the interfaces.
    fn read_section_header<R: Read>(
        &mut self,
        input: &mut Input<R>,
        warnings: &mut Warnings,
    ) -> Result<(), CaptureError> {
        let offset = input.offset();
        if !input.require(12)? {
            return Err(CaptureError::Truncated { frames_read: 0 });
        }
        let magic = array::<4>(input.peek(), 8);
        let endian = match (u32::from_le_bytes(magic), u32::from_be_bytes(magic)) {
            (BYTE_ORDER_MAGIC, _) => Endian::Little,
            (_, BYTE_ORDER_MAGIC) => Endian::Big,
            (found, _) => {
                let problem = Problem::ByteOrderMagic(found);
                return Err(CaptureError::Corrupt { offset, problem });
            }
        };
        let len = check_len(endian.u32(array(input.peek(), 4)), offset)?;
        let body = block_body(input, len, endian, offset, warnings)?;
        // magic u32, major u16, minor u16, section length u64.
        if body.len() < 16 {
            let problem = Problem::BlockTooShort {
                block: "section header",
                len,
            };
            return Err(CaptureError::Corrupt { offset, problem });
        }
        let major = endian.u16(array(body, 4));
        if major != 1 {
            let problem = Problem::PcapngVersion(major);
            return Err(CaptureError::Corrupt { offset, problem });
        }
        input.take(len);
        self.endian = Some(endian);
        self.interfaces.clear();
        Ok(())
    }

    /// An interface description; options are read tolerantly.
    fn interface(
        &self,
        body: &[u8],
        offset: u64,
        warnings: &mut Warnings,
    ) -> Result<Interface, CaptureError> {
        let endian = self.endian.unwrap_or(Endian::Little);
        if body.len() < 8 {
            let problem = Problem::BlockTooShort {
                block: "interface description",
                len: body.len() + 12,
            };
            return Err(CaptureError::Corrupt { offset, problem });
        }
        let mut interface = Interface {
            link_type: LinkType(endian.u16(array(body, 0))),
            snaplen: endian.u32(array(body, 4)),
            tsresol: 6,
            tsoffset: 0,
        };
        let mut options = body.get(8..).unwrap_or_default();
        while let [c0, c1, l0, l1, rest @ ..] = options {
            let code = endian.u16([*c0, *c1]);
            let len = usize::from(endian.u16([*l0, *l1]));
            let value = rest.get(..len);
            match (code, value) {
                (OPT_ENDOFOPT, _) => break,
                (IF_TSRESOL, Some(&[resol, ..])) => interface.tsresol = resol,
                (IF_TSOFFSET, Some(v)) if v.len() == 8 => {
                    let word = |at| u64::from(endian.u32(array(v, at)));
                    let (high, low) = match endian {
                        Endian::Little => (word(4), word(0)),
                        Endian::Big => (word(0), word(4)),
                    };
                    interface.tsoffset = (high << 32 | low) as i64;
                }
                (IF_TSRESOL | IF_TSOFFSET, _) | (_, None) => {
                    let block = "interface description";
                    warnings.push(CaptureWarning::BadOption {
                        offset,
                        block,
                        code,
                    });
                    break;
                }
                _ => {}
            }
            options = rest.get(len.next_multiple_of(4)..).unwrap_or_default();
        }
        Ok(interface)
    }

    /// A packet block's record, with `at` relative to the body.
    fn packet(&self, block_type: u32, body: &[u8], offset: u64) -> Result<Record, CaptureError> {
        let endian = self.endian.unwrap_or(Endian::Little);
        let word = |at| endian.u32(array(body, at));
        let (name, header_len) = match block_type {
            SPB => ("simple packet", 4),
            PB => ("packet", 20),
            _ => ("enhanced packet", 20),
        };
        let corrupt = |problem| CaptureError::Corrupt { offset, problem };
        let Some(room) = body.len().checked_sub(header_len) else {
            let len = body.len() + 12;
            return Err(corrupt(Problem::BlockTooShort { block: name, len }));
        };
        let (interface_id, timestamp, captured, original) = match block_type {
            SPB => (0, 0, word(0), word(0)),
            PB => (u32::from(endian.u16(array(body, 0))), 4, word(12), word(16)),
            _ => (word(0), 4, word(12), word(16)),
        };
        let Some(interface) = self.interfaces.get(interface_id as usize) else {
            let problem = Problem::NoSuchInterface {
                interface: interface_id,
                described: self.interfaces.len(),
            };
            return Err(corrupt(problem));
        };
        let len = if block_type == SPB {
            // The data is the original packet cut at the snapshot length.
            let snaplen = if interface.snaplen == 0 {
                u32::MAX
            } else {
                interface.snaplen
            };
            (captured.min(snaplen) as usize).min(room)
        } else if captured as usize <= room {
            captured as usize
        } else {
            return Err(corrupt(Problem::CapturedLen { captured, room }));
        };
        let timestamp_ns = if block_type == SPB {
            0
        } else {
            let raw = u64::from(word(timestamp)) << 32 | u64::from(word(timestamp + 4));
            interface.timestamp_ns(raw)
        };
        Ok(Record {
            at: header_len,
            len,
            timestamp_ns,
            interface: interface_id,
            link_type: interface.link_type,
            original_len: original,
        })
    }
}

/// Checks a block's total length: a multiple of 4, at least the 12 bytes of
/// framing, at most [`MAX_RECORD_LEN`]. Returns it as a `usize`.
fn check_len(len: u32, offset: u64) -> Result<usize, CaptureError> {
    if len as usize > MAX_RECORD_LEN {
        let problem = Problem::RecordTooLong(len.into());
        return Err(CaptureError::Corrupt { offset, problem });
    }
    if len < 12 || len % 4 != 0 {
        let problem = Problem::BlockLen(len);
        return Err(CaptureError::Corrupt { offset, problem });
    }
    Ok(len as usize)
}

/// Buffers a whole block and returns its body (between the two lengths),
/// warning if the trailing length differs from the leading one.
fn block_body<'i, R: Read>(
    input: &'i mut Input<R>,
    len: usize,
    endian: Endian,
    offset: u64,
    warnings: &mut Warnings,
) -> Result<&'i [u8], CaptureError> {
    if !input.require(len)? {
        return Err(CaptureError::Truncated { frames_read: 0 });
    }
    let block = input.peek().get(..len).unwrap_or_default();
    let first = endian.u32(array(block, 4));
    let last = endian.u32(array(block, len - 4));
    if first != last {
        warnings.push(CaptureWarning::LengthMismatch {
            offset,
            first,
            last,
        });
    }
    Ok(block.get(8..len - 4).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(tsresol: u8, tsoffset: i64, raw: u64) -> u64 {
        let link_type = LinkType::ETHERNET;
        let interface = Interface {
            link_type,
            snaplen: 0,
            tsresol,
            tsoffset,
        };
        interface.timestamp_ns(raw)
    }

    #[test]
    fn resolutions_convert_exactly_and_saturate() {
        assert_eq!(at(6, 0, 1), 1_000, "the default, microseconds");
        assert_eq!(at(9, 0, 1), 1);
        assert_eq!(at(12, 0, 1_500), 1, "picoseconds round down");
        assert_eq!(at(0x80 | 20, 0, 1 << 20), 1_000_000_000);
        assert_eq!(at(0x80, 0, 3), 3_000_000_000, "2^0: seconds");
        assert_eq!(at(0, 0, u64::MAX), u64::MAX);
        assert_eq!(at(127, 0, u64::MAX), 0);
        assert_eq!(at(0xff, 0, u64::MAX), 0);
        assert_eq!(at(9, -10, 1), 0, "before the epoch");
        assert_eq!(at(9, 10, 1), 10_000_000_001);
    }
}
