//! A pcapng writer: one section, one Ethernet interface per capture point,
//! nanosecond timestamps, and a comment on any packet.
//!
//! A pcapng file is a list of blocks. Every block has the same frame, so a
//! reader can skip the ones it does not know:
//!
//! ```text
//! +------------+--------------+------------------------+--------------+
//! | block type | total length | body, padded to 32 bit | total length |
//! | u32        | u32          | ...                    | u32 (again)  |
//! +------------+--------------+------------------------+--------------+
//! ```
//!
//! This writer emits, all little endian:
//!
//! 1. a **Section Header Block** (type `0x0a0d0d0a`): byte-order magic
//!    `0x1a2b3c4d`, version 1.0, section length -1 ("not given"), and the
//!    writing application's name (`shb_userappl`);
//! 2. one **Interface Description Block** (type 1) per interface: link
//!    type 1 (Ethernet), snapshot length 262144, `if_name` (`sim0`, or
//!    `client` and `server` when the simulator captures at both ends) and
//!    `if_tsresol` 9, which makes every timestamp a count of nanoseconds;
//! 3. one **Enhanced Packet Block** (type 6) per frame: its interface, the
//!    64-bit timestamp as high and low halves, captured and original
//!    length (always equal: nothing is cut), the frame, and an optional
//!    `opt_comment`, which Wireshark shows as the packet's comment.
//!
//! Options are `code: u16, length: u16, value` padded to 32 bits, and a
//! list of them ends with `opt_endofopt` (code 0, length 0).
//!
//! Nothing here reads a clock or the host's name: the same packets give the
//! same file, byte for byte.

use std::io::{self, Write};

/// The link type of Ethernet II frames (LINKTYPE_ETHERNET).
pub const LINKTYPE_ETHERNET: u16 = 1;

/// The largest frame the file announces, and accepts (what dumpcap uses).
pub const SNAPLEN: u32 = 262_144;

/// The byte-order magic: a reader sees `4d 3c 2b 1a` and knows the file is
/// little endian.
const BYTE_ORDER_MAGIC: u32 = 0x1a2b_3c4d;

/// Block types.
const SHB: u32 = 0x0a0d_0d0a;
const IDB: u32 = 0x0000_0001;
const EPB: u32 = 0x0000_0006;

/// Option codes.
const OPT_ENDOFOPT: u16 = 0;
const OPT_COMMENT: u16 = 1;
const SHB_USERAPPL: u16 = 4;
const IF_NAME: u16 = 2;
const IF_TSRESOL: u16 = 9;

/// Why a capture could not be written.
#[derive(Debug, thiserror::Error)]
pub enum PcapngError {
    // The cause is in the message, not a `#[source]`, so that it is
    // printed once whatever prints the error (the CLI prints the chain).
    #[error("writing pcapng: {0}")]
    Io(io::Error),
    #[error("no interface {0} in this capture")]
    NoInterface(u32),
    #[error("frame of {0} bytes is longer than the snapshot length {SNAPLEN}")]
    FrameTooLong(usize),
    #[error("{what} of {len} bytes does not fit a pcapng option (at most 65535)")]
    OptionTooLong { what: &'static str, len: usize },
}

impl From<io::Error> for PcapngError {
    fn from(e: io::Error) -> Self {
        PcapngError::Io(e)
    }
}

/// Writes frames to a pcapng file that Wireshark and tshark read.
///
/// ```
/// # use streamlab_netsim::pcapng::PcapngWriter;
/// let mut pcap = PcapngWriter::new(Vec::new(), "streamlab sim")?;
/// pcap.write_packet(1_500, &[0u8; 60], Some("dropped by the network"))?;
/// let bytes = pcap.finish()?;
/// assert_eq!(&bytes[..4], &[0x0a, 0x0d, 0x0d, 0x0a]);
/// # Ok::<(), streamlab_netsim::pcapng::PcapngError>(())
/// ```
#[derive(Debug)]
pub struct PcapngWriter<W: Write> {
    out: W,
    packets: u64,
    interfaces: u32,
}

impl<W: Write> PcapngWriter<W> {
    /// Starts a file: writes the section header, naming `app_name` as the
    /// application that wrote it, and the one interface, `sim0`.
    pub fn new(out: W, app_name: &str) -> Result<Self, PcapngError> {
        Self::with_interfaces(out, app_name, &["sim0"])
    }

    /// Starts a file with one interface per name (interface 0 first).
    pub fn with_interfaces(
        mut out: W,
        app_name: &str,
        names: &[&str],
    ) -> Result<Self, PcapngError> {
        let mut shb = Vec::with_capacity(64);
        shb.extend_from_slice(&BYTE_ORDER_MAGIC.to_le_bytes());
        shb.extend_from_slice(&1u16.to_le_bytes()); // major version
        shb.extend_from_slice(&0u16.to_le_bytes()); // minor version
        shb.extend_from_slice(&(-1i64).to_le_bytes()); // section length unknown
        push_option(
            &mut shb,
            SHB_USERAPPL,
            "application name",
            app_name.as_bytes(),
        )?;
        push_option(&mut shb, OPT_ENDOFOPT, "", &[])?;
        out.write_all(&block(SHB, &shb))?;

        for name in names {
            let mut idb = Vec::with_capacity(32);
            idb.extend_from_slice(&LINKTYPE_ETHERNET.to_le_bytes());
            idb.extend_from_slice(&0u16.to_le_bytes()); // reserved
            idb.extend_from_slice(&SNAPLEN.to_le_bytes());
            push_option(&mut idb, IF_NAME, "interface name", name.as_bytes())?;
            push_option(&mut idb, IF_TSRESOL, "", &[9])?; // 10^-9 s
            push_option(&mut idb, OPT_ENDOFOPT, "", &[])?;
            out.write_all(&block(IDB, &idb))?;
        }
        let interfaces = u32::try_from(names.len()).unwrap_or(u32::MAX);
        Ok(PcapngWriter {
            out,
            packets: 0,
            interfaces,
        })
    }

    /// Writes one frame seen at `timestamp_ns` nanoseconds (since the Unix
    /// epoch, as far as Wireshark knows; the simulator starts at 0), with an
    /// optional comment.
    pub fn write_packet(
        &mut self,
        timestamp_ns: u64,
        frame: &[u8],
        comment: Option<&str>,
    ) -> Result<(), PcapngError> {
        self.write_packet_on(0, timestamp_ns, frame, comment)
    }

    /// [`write_packet`](Self::write_packet) on interface `interface`.
    pub fn write_packet_on(
        &mut self,
        interface: u32,
        timestamp_ns: u64,
        frame: &[u8],
        comment: Option<&str>,
    ) -> Result<(), PcapngError> {
        if interface >= self.interfaces {
            return Err(PcapngError::NoInterface(interface));
        }
        let len = u32::try_from(frame.len())
            .ok()
            .filter(|&len| len <= SNAPLEN)
            .ok_or(PcapngError::FrameTooLong(frame.len()))?;
        let mut epb = Vec::with_capacity(frame.len() + 64);
        epb.extend_from_slice(&interface.to_le_bytes());
        epb.extend_from_slice(&((timestamp_ns >> 32) as u32).to_le_bytes());
        epb.extend_from_slice(&(timestamp_ns as u32).to_le_bytes()); // low half
        epb.extend_from_slice(&len.to_le_bytes()); // captured
        epb.extend_from_slice(&len.to_le_bytes()); // original
        epb.extend_from_slice(frame);
        pad32(&mut epb);
        if let Some(comment) = comment {
            push_option(&mut epb, OPT_COMMENT, "comment", comment.as_bytes())?;
            push_option(&mut epb, OPT_ENDOFOPT, "", &[])?;
        }
        self.out.write_all(&block(EPB, &epb))?;
        self.packets += 1;
        Ok(())
    }

    /// How many packets have been written.
    pub fn packets(&self) -> u64 {
        self.packets
    }

    /// Flushes the output and gives it back.
    pub fn finish(mut self) -> Result<W, PcapngError> {
        self.out.flush()?;
        Ok(self.out)
    }
}

/// Frames a block body (already padded) with its type and, before and
/// after, its total length.
fn block(block_type: u32, body: &[u8]) -> Vec<u8> {
    // Bodies are a frame of at most SNAPLEN plus short options: far below 4 GiB.
    let total = (12 + body.len()) as u32;
    let mut out = Vec::with_capacity(body.len() + 12);
    out.extend_from_slice(&block_type.to_le_bytes());
    out.extend_from_slice(&total.to_le_bytes());
    out.extend_from_slice(body);
    out.extend_from_slice(&total.to_le_bytes());
    out
}

/// Appends one option: code, length, value padded to 32 bits.
fn push_option(
    body: &mut Vec<u8>,
    code: u16,
    what: &'static str,
    value: &[u8],
) -> Result<(), PcapngError> {
    let len = u16::try_from(value.len()).map_err(|_| PcapngError::OptionTooLong {
        what,
        len: value.len(),
    })?;
    body.extend_from_slice(&code.to_le_bytes());
    body.extend_from_slice(&len.to_le_bytes());
    body.extend_from_slice(value);
    pad32(body);
    Ok(())
}

/// Pads with zero bytes to a multiple of four.
fn pad32(body: &mut Vec<u8>) {
    body.resize(body.len().next_multiple_of(4), 0);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Section header for app "lab" and the interface, worked out by hand
    /// from the pcapng specification (draft-ietf-opsawg-pcapng).
    #[rustfmt::skip]
    const HEADER: [u8; 80] = [
        // SHB: type, total length 40
        0x0a, 0x0d, 0x0d, 0x0a,  40, 0, 0, 0,
        0x4d, 0x3c, 0x2b, 0x1a,                          // byte-order magic
        1, 0,  0, 0,                                     // version 1.0
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,  // section length -1
        4, 0,  3, 0,  b'l', b'a', b'b', 0,               // shb_userappl "lab" + pad
        0, 0,  0, 0,                                     // opt_endofopt
        40, 0, 0, 0,                                     // total length again
        // IDB: type 1, total length 40
        1, 0, 0, 0,  40, 0, 0, 0,
        1, 0,  0, 0,                                     // LINKTYPE_ETHERNET, reserved
        0x00, 0x00, 0x04, 0x00,                          // snaplen 262144
        2, 0,  4, 0,  b's', b'i', b'm', b'0',            // if_name "sim0"
        9, 0,  1, 0,  9, 0, 0, 0,                        // if_tsresol 9 + pad
        0, 0,  0, 0,                                     // opt_endofopt
        40, 0, 0, 0,
    ];

    fn file(packets: &[(u64, &[u8], Option<&str>)]) -> Vec<u8> {
        let mut w = PcapngWriter::new(Vec::new(), "lab").unwrap();
        for (ts, frame, comment) in packets {
            w.write_packet(*ts, frame, *comment).unwrap();
        }
        assert_eq!(w.packets(), packets.len() as u64);
        w.finish().unwrap()
    }

    #[test]
    fn section_and_interface_headers_are_byte_exact() {
        assert_eq!(file(&[]), HEADER);
    }

    #[test]
    fn an_odd_length_frame_is_padded_to_32_bits() {
        let bytes = file(&[(0x1_0000_0002, b"abcde", None)]);
        #[rustfmt::skip]
        let want: [u8; 40] = [
            6, 0, 0, 0,  40, 0, 0, 0,      // EPB, total length 40
            0, 0, 0, 0,                    // interface 0
            1, 0, 0, 0,  2, 0, 0, 0,       // timestamp high, low
            5, 0, 0, 0,  5, 0, 0, 0,       // captured, original length
            b'a', b'b', b'c', b'd', b'e', 0, 0, 0,
            40, 0, 0, 0,
        ];
        assert_eq!(bytes[80..], want);
    }

    #[test]
    fn a_comment_is_an_option_with_an_end_marker() {
        let bytes = file(&[(7, b"abcd", Some("dropped"))]);
        #[rustfmt::skip]
        let want: [u8; 52] = [
            6, 0, 0, 0,  52, 0, 0, 0,
            0, 0, 0, 0,
            0, 0, 0, 0,  7, 0, 0, 0,
            4, 0, 0, 0,  4, 0, 0, 0,
            b'a', b'b', b'c', b'd',        // a whole word: no padding
            1, 0,  7, 0,                   // opt_comment, 7 bytes
            b'd', b'r', b'o', b'p', b'p', b'e', b'd', 0,
            0, 0,  0, 0,                   // opt_endofopt
            52, 0, 0, 0,
        ];
        assert_eq!(bytes[80..], want);
    }

    #[test]
    fn the_same_packets_give_the_same_bytes() {
        let packets: [(u64, &[u8], Option<&str>); 2] =
            [(1, b"x", Some("é")), (u64::MAX, b"", None)];
        assert_eq!(file(&packets), file(&packets));
    }

    #[test]
    fn oversized_input_is_refused_without_writing() {
        let mut w = PcapngWriter::new(Vec::new(), "lab").unwrap();
        let too_long = vec![0; SNAPLEN as usize + 1];
        assert!(matches!(
            w.write_packet(0, &too_long, None),
            Err(PcapngError::FrameTooLong(262_145))
        ));
        let comment = "x".repeat(65_536);
        let err = w.write_packet(0, b"", Some(&comment)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "comment of 65536 bytes does not fit a pcapng option (at most 65535)"
        );
        assert_eq!(w.packets(), 0);
        assert_eq!(w.finish().unwrap(), HEADER);
    }
}
