//! Reading capture files, one packet at a time: classic pcap and pcapng,
//! told apart by their first four bytes.
//!
//! ```text
//! d4 c3 b2 a1 / a1 b2 c3 d4   pcap, microsecond timestamps (LE / BE)
//! 4d 3c b2 a1 / a1 b2 3c 4d   pcap, nanosecond timestamps  (LE / BE)
//! 0a 0d 0d 0a                 pcapng (byte order given by the block's magic)
//! ```
//!
//! [`CaptureReader`] streams: it keeps one buffer (see `input`), parses each
//! record in place and lends the packet's bytes out as a slice, so memory
//! stays the size of the largest record however long the capture is.
//!
//! It reads what real tools write, tolerantly: packets longer than the
//! snapshot length are kept; a malformed pcapng option ends that block's
//! options with a [`CaptureWarning`]; blocks it does not know are skipped.
//! A file cut off mid-record yields every whole packet and then
//! [`CaptureError::Truncated`]. After any error the reader is finished:
//! `next_packet` returns `Ok(None)`, so a loop over it always ends.

mod input;
mod pcap;
mod pcapng;

#[cfg(test)]
mod robustness_tests;
#[cfg(test)]
mod tests;

use std::fmt;
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use crate::link_type::LinkType;
use input::Input;

/// No record may claim more than this (256 MiB): a larger length is a
/// corrupt file, not a reason to allocate.
pub const MAX_RECORD_LEN: usize = 256 << 20;

/// The most warnings kept; later ones are only counted.
const MAX_WARNINGS: usize = 64;

/// One captured packet, borrowed from the reader until the next call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packet<'a> {
    /// The frame number, counting from 1 as Wireshark does. Wireshark also
    /// numbers two kinds of pcapng record that are not packets (custom
    /// blocks and systemd journal entries); the reader skips them but
    /// counts them, so the numbers stay the same as Wireshark's.
    pub frame: u64,
    /// When it was captured, in nanoseconds since the Unix epoch (saturating
    /// at 0 and `u64::MAX` for timestamps outside that range).
    pub timestamp_ns: u64,
    /// The pcapng interface it was captured on (0 for pcap).
    pub interface: u32,
    /// The link type of that interface: how to read `data`.
    pub link_type: LinkType,
    /// How many bytes were saved (`data.len()`).
    pub captured_len: u32,
    /// How long the packet was on the wire.
    pub original_len: u32,
    pub data: &'a [u8],
}

impl Packet<'_> {
    /// True if the capture kept only part of the packet (a snapshot length).
    pub fn is_cut(&self) -> bool {
        self.captured_len < self.original_len
    }
}

/// The two file formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Classic libpcap (`tcpdump -w`); `nanos` for the nanosecond variant.
    Pcap { nanos: bool },
    /// pcapng (Wireshark's and dumpcap's default).
    Pcapng,
}

/// Why a capture cannot be read (further).
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    // The I/O errors are part of the message, not a `source`: a caller
    // printing the error chain would otherwise say them twice.
    #[error("opening {}: {error}", path.display())]
    Open { path: PathBuf, error: io::Error },
    #[error("reading the capture: {0}")]
    Io(io::Error),
    #[error("not a pcap or pcapng file: {0}")]
    NotACapture(Magic),
    #[error("the capture is cut off in the middle of a record, after {frames_read} whole frames")]
    Truncated { frames_read: u64 },
    #[error("corrupt capture at byte {offset}: {problem}")]
    Corrupt { offset: u64, problem: Problem },
}

impl From<io::Error> for CaptureError {
    fn from(e: io::Error) -> Self {
        CaptureError::Io(e)
    }
}

/// What is wrong in a corrupt capture.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    #[error("a record of {0} bytes (the limit is 256 MiB)")]
    RecordTooLong(u64),
    #[error("pcapng block length {0} is not a multiple of 4 of at least 12")]
    BlockLen(u32),
    #[error("pcapng byte-order magic 0x{0:08x}")]
    ByteOrderMagic(u32),
    #[error("pcapng version {0}.x is not supported")]
    PcapngVersion(u16),
    #[error("{block} of {len} bytes is too short")]
    BlockTooShort { block: &'static str, len: usize },
    #[error("captured length {captured} does not fit in its {room}-byte block")]
    CapturedLen { captured: u32, room: usize },
    #[error("a packet on interface {interface}, but the section describes {described}")]
    NoSuchInterface { interface: u32, described: usize },
    #[error("more than {0} interfaces in one section")]
    TooManyInterfaces(usize),
}

/// Something odd that did not stop the reading.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CaptureWarning {
    #[error("byte {offset}: malformed option (code {code}) in a pcapng {block}; its other options are ignored")]
    BadOption {
        offset: u64,
        block: &'static str,
        code: u16,
    },
    #[error("byte {offset}: pcapng block length {first} repeated as {last}")]
    LengthMismatch { offset: u64, first: u32, last: u32 },
}

/// The first bytes of a file that is not a capture, shown in hex.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Magic {
    bytes: [u8; 4],
    len: usize,
}

impl fmt::Display for Magic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.len == 0 {
            return f.write_str("the file is empty");
        }
        f.write_str("it starts with")?;
        for b in &self.bytes[..self.len] {
            write!(f, " {b:02x}")?;
        }
        Ok(())
    }
}

/// Byte order of a file or section.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Endian {
    Little,
    Big,
}

impl Endian {
    pub(crate) fn u16(self, b: [u8; 2]) -> u16 {
        match self {
            Endian::Little => u16::from_le_bytes(b),
            Endian::Big => u16::from_be_bytes(b),
        }
    }

    pub(crate) fn u32(self, b: [u8; 4]) -> u32 {
        match self {
            Endian::Little => u32::from_le_bytes(b),
            Endian::Big => u32::from_be_bytes(b),
        }
    }
}

/// Reads `N` bytes at `at`, or zeros past the end (callers check lengths
/// first; this keeps a missed check from becoming a panic).
pub(crate) fn array<const N: usize>(b: &[u8], at: usize) -> [u8; N] {
    b.get(at..)
        .and_then(|rest| rest.first_chunk::<N>())
        .copied()
        .unwrap_or([0; N])
}

/// A parsed record, pointing into the input buffer.
#[derive(Debug)]
struct Record {
    at: usize,
    len: usize,
    timestamp_ns: u64,
    interface: u32,
    link_type: LinkType,
    original_len: u32,
}

/// The warnings of one reader, bounded so they cannot grow with the file.
#[derive(Debug, Default)]
struct Warnings {
    kept: Vec<CaptureWarning>,
    dropped: u64,
}

impl Warnings {
    fn push(&mut self, warning: CaptureWarning) {
        if self.kept.len() < MAX_WARNINGS {
            self.kept.push(warning);
        } else {
            self.dropped += 1;
        }
    }
}

#[derive(Debug)]
enum State {
    Pcap(pcap::FileHeader),
    Pcapng(pcapng::Section),
    Done,
}

/// Streams the packets of a pcap or pcapng capture.
///
/// ```no_run
/// # use streamlab_analyzer::capture::CaptureReader;
/// let mut reader = CaptureReader::open("capture.pcapng")?;
/// while let Some(packet) = reader.next_packet()? {
///     println!("{} {} bytes", packet.frame, packet.data.len());
/// }
/// # Ok::<(), streamlab_analyzer::capture::CaptureError>(())
/// ```
#[derive(Debug)]
pub struct CaptureReader<R> {
    input: Input<R>,
    state: State,
    format: Format,
    frames: u64,
    warnings: Warnings,
}

impl CaptureReader<File> {
    /// Opens a capture file and reads its header.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, CaptureError> {
        let path = path.as_ref();
        let file = File::open(path).map_err(|error| CaptureError::Open {
            path: path.to_owned(),
            error,
        })?;
        CaptureReader::new(file)
    }
}

impl<R: Read> CaptureReader<R> {
    /// Reads the file header from `inner` (no need to wrap it in a
    /// `BufReader`: the reader buffers) and gets ready for the packets.
    pub fn new(inner: R) -> Result<Self, CaptureError> {
        let mut input = Input::new(inner);
        let have = match input.require(4) {
            Ok(true) => 4,
            Ok(false) => 0,
            Err(CaptureError::Truncated { .. }) => input.peek().len(),
            Err(e) => return Err(e),
        };
        let mut bytes = [0; 4];
        bytes[..have].copy_from_slice(&input.peek()[..have]);
        let (state, format) = if have < 4 {
            return Err(CaptureError::NotACapture(Magic { bytes, len: have }));
        } else if bytes == pcapng::SHB_TYPE {
            (State::Pcapng(pcapng::Section::default()), Format::Pcapng)
        } else if let Some(header) = pcap::FileHeader::read(&mut input)? {
            let format = Format::Pcap {
                nanos: header.nanos,
            };
            (State::Pcap(header), format)
        } else {
            return Err(CaptureError::NotACapture(Magic { bytes, len: 4 }));
        };
        Ok(CaptureReader {
            input,
            state,
            format,
            frames: 0,
            warnings: Warnings::default(),
        })
    }

    /// The next packet, `Ok(None)` at the end of the capture (and after any
    /// error).
    pub fn next_packet(&mut self) -> Result<Option<Packet<'_>>, CaptureError> {
        let result = match &mut self.state {
            State::Pcap(header) => header.next_record(&mut self.input),
            State::Pcapng(section) => section.next_record(&mut self.input, &mut self.warnings),
            State::Done => Ok(None),
        };
        let record = match result {
            Ok(Some(record)) => record,
            Ok(None) => {
                self.state = State::Done;
                return Ok(None);
            }
            Err(e) => {
                self.state = State::Done;
                return Err(match e {
                    CaptureError::Truncated { .. } => CaptureError::Truncated {
                        frames_read: self.frames,
                    },
                    e => e,
                });
            }
        };
        self.frames += 1;
        let skipped = match &self.state {
            State::Pcapng(section) => section.records_skipped(),
            _ => 0,
        };
        let data = self.input.slice(record.at, record.len);
        Ok(Some(Packet {
            frame: self.frames + skipped,
            timestamp_ns: record.timestamp_ns,
            interface: record.interface,
            link_type: record.link_type,
            // Records are at most MAX_RECORD_LEN long, far below 4 GiB.
            captured_len: data.len() as u32,
            original_len: record.original_len,
            data,
        }))
    }

    /// Which format the file is in.
    pub fn format(&self) -> Format {
        self.format
    }

    /// How many packets have been returned so far (records skipped but
    /// numbered, see [`Packet::frame`], are not counted).
    pub fn frames_read(&self) -> u64 {
        self.frames
    }

    /// The oddities met so far (the first 64; see
    /// [`CaptureReader::warnings_dropped`]).
    pub fn warnings(&self) -> &[CaptureWarning] {
        &self.warnings.kept
    }

    /// How many warnings were not kept.
    pub fn warnings_dropped(&self) -> u64 {
        self.warnings.dropped
    }
}
