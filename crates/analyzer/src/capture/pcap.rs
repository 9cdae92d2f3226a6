//! Classic pcap: a 24-byte file header, then records of a 16-byte header
//! and the packet bytes.
//!
//! ```text
//! file header                          record header
//! +--------------------------------+   +--------------------------------+
//! | magic                      u32 |   | timestamp seconds          u32 |
//! | version major, minor  u16, u16 |   | timestamp µs or ns         u32 |
//! | this zone (always 0)       i32 |   | captured length            u32 |
//! | sigfigs (always 0)         u32 |   | original length            u32 |
//! | snapshot length            u32 |   +--------------------------------+
//! | link type (+ FCS bits)     u32 |   | packet data (captured length)  |
//! +--------------------------------+   +--------------------------------+
//! ```
//!
//! The magic gives both the byte order of every later field and the unit of
//! the second timestamp word: `a1b2c3d4` microseconds, `a1b23c4d`
//! nanoseconds. The link type is the low 16 bits of its field; the high bits
//! may say whether frames end in a frame check sequence, and are ignored
//! here (the IP layer cuts such trailers off). The snapshot length is not
//! enforced: tools do write packets longer than it, and they are kept.

use std::io::Read;

use super::input::Input;
use super::{array, CaptureError, Endian, Problem, Record, MAX_RECORD_LEN};
use crate::link_type::LinkType;

const MAGIC_MICROS: u32 = 0xa1b2_c3d4;
const MAGIC_NANOS: u32 = 0xa1b2_3c4d;
const FILE_HEADER_LEN: usize = 24;
const RECORD_HEADER_LEN: usize = 16;

/// What the file header says about every record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct FileHeader {
    pub(super) endian: Endian,
    /// The second timestamp word counts nanoseconds, not microseconds.
    pub(super) nanos: bool,
    pub(super) link_type: LinkType,
    pub(super) snaplen: u32,
}

impl FileHeader {
    /// Reads the file header if the buffered bytes start with a pcap magic;
    /// `Ok(None)` (nothing consumed) if they do not.
    pub(super) fn read<R: Read>(input: &mut Input<R>) -> Result<Option<Self>, CaptureError> {
        let magic = array::<4>(input.peek(), 0);
        let (endian, nanos) = match (u32::from_le_bytes(magic), u32::from_be_bytes(magic)) {
            (MAGIC_MICROS, _) => (Endian::Little, false),
            (MAGIC_NANOS, _) => (Endian::Little, true),
            (_, MAGIC_MICROS) => (Endian::Big, false),
            (_, MAGIC_NANOS) => (Endian::Big, true),
            _ => return Ok(None),
        };
        if !input.require(FILE_HEADER_LEN)? {
            return Err(CaptureError::Truncated { frames_read: 0 });
        }
        let header = input.peek();
        let snaplen = endian.u32(array(header, 16));
        let link_type = LinkType(endian.u32(array(header, 20)) as u16);
        input.take(FILE_HEADER_LEN);
        Ok(Some(FileHeader {
            endian,
            nanos,
            link_type,
            snaplen,
        }))
    }

    /// Reads the next record; `Ok(None)` at a clean end of file.
    pub(super) fn next_record<R: Read>(
        &self,
        input: &mut Input<R>,
    ) -> Result<Option<Record>, CaptureError> {
        if !input.require(RECORD_HEADER_LEN)? {
            return Ok(None);
        }
        let header = input.peek();
        let word = |at| self.endian.u32(array(header, at));
        let (seconds, fraction, captured, original) = (word(0), word(4), word(8), word(12));
        let captured_len = captured as usize;
        if captured_len > MAX_RECORD_LEN {
            return Err(CaptureError::Corrupt {
                offset: input.offset(),
                problem: Problem::RecordTooLong(captured.into()),
            });
        }
        let fraction_ns = if self.nanos {
            u64::from(fraction)
        } else {
            u64::from(fraction) * 1_000
        };
        // At most 2^32 s · 10^9 + 2^32 · 10^3 ns: within a u64.
        let timestamp_ns = u64::from(seconds) * 1_000_000_000 + fraction_ns;
        input.require(RECORD_HEADER_LEN + captured_len)?;
        let at = input.take(RECORD_HEADER_LEN + captured_len) + RECORD_HEADER_LEN;
        Ok(Some(Record {
            at,
            len: captured_len,
            timestamp_ns,
            interface: 0,
            link_type: self.link_type,
            original_len: original,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_magic_gives_byte_order_and_unit() {
        #[rustfmt::skip]
        let file = [
            0xa1, 0xb2, 0x3c, 0x4d,  0, 2, 0, 4,  0, 0, 0, 0,  0, 0, 0, 0,
            0, 0, 0xff, 0xff,  0x10, 0, 0, 113,           // snaplen, FCS bits + SLL
            0, 0, 0, 1,  0, 0, 0, 2,  0, 0, 0, 1,  0, 0, 0, 9,
            0xaa,
        ];
        let mut input = Input::new(&file[..]);
        input.require(4).unwrap();
        let header = FileHeader::read(&mut input).unwrap().unwrap();
        assert_eq!(header.endian, Endian::Big);
        assert!(header.nanos);
        assert_eq!(header.snaplen, 65_535);
        assert_eq!(header.link_type, LinkType::LINUX_SLL);
        let record = header.next_record(&mut input).unwrap().unwrap();
        assert_eq!(record.timestamp_ns, 1_000_000_002);
        assert_eq!((record.len, record.original_len), (1, 9));
        assert_eq!(input.slice(record.at, record.len), [0xaa]);
        assert!(header.next_record(&mut input).unwrap().is_none());
    }

    #[test]
    fn a_huge_captured_length_is_corrupt_not_an_allocation() {
        let header = FileHeader {
            endian: Endian::Little,
            nanos: false,
            link_type: LinkType::ETHERNET,
            snaplen: 0,
        };
        let record = [0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0];
        let mut input = Input::new(&record[..]);
        let err = header.next_record(&mut input).unwrap_err();
        assert_eq!(
            err.to_string(),
            "corrupt capture at byte 0: a record of 4294967295 bytes (the limit is 256 MiB)"
        );
    }
}
