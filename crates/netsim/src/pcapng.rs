//! The simulator's pcapng files: one section, one Ethernet interface per
//! capture point, nanosecond timestamps, and a comment on any packet.
//!
//! The blocks are written by the `pcap-file` crate; this module decides
//! what goes in them and refuses what a pcapng file cannot hold, before
//! anything is written:
//!
//! 1. a **Section Header Block**, little endian, version 1.0, section
//!    length -1 ("not given"), and the writing application's name
//!    (`shb_userappl`);
//! 2. one **Interface Description Block** per interface: link type 1
//!    (Ethernet), snapshot length 262144, `if_name` (`sim0`, or `client`
//!    and `server` when the simulator captures at both ends) and
//!    `if_tsresol` 9, which makes every timestamp a count of nanoseconds
//!    (pcap-file writes a packet's `Duration` as nanoseconds, so the two
//!    must agree);
//! 3. one **Enhanced Packet Block** per frame: its interface, the
//!    timestamp, captured and original length (always equal: nothing is
//!    cut), the frame, and an optional `opt_comment`, which Wireshark
//!    shows as the packet's comment.
//!
//! The tests below hold the bytes worked out by hand from the pcapng
//! specification, so a change in the library that moved a byte would
//! show. Nothing here reads a clock or the host's name: the same packets
//! give the same file, byte for byte.

use std::borrow::Cow;
use std::io::{self, Write};
use std::time::Duration;

use pcap_file::pcapng::blocks::enhanced_packet::{EnhancedPacketBlock, EnhancedPacketOption};
use pcap_file::pcapng::blocks::interface_description::{
    InterfaceDescriptionBlock, InterfaceDescriptionOption,
};
use pcap_file::pcapng::blocks::section_header::{SectionHeaderBlock, SectionHeaderOption};
use pcap_file::pcapng::PcapNgWriter;
use pcap_file::{DataLink, Endianness, PcapError};

/// The largest frame the file announces, and accepts (what dumpcap uses).
pub const SNAPLEN: u32 = 262_144;

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

impl From<PcapError> for PcapngError {
    fn from(e: PcapError) -> Self {
        match e {
            PcapError::IoError(e) => PcapngError::Io(e),
            // The checks below keep every other case from happening; should
            // one come, it is still an error writing the file.
            other => PcapngError::Io(io::Error::other(other.to_string())),
        }
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
pub struct PcapngWriter<W: Write> {
    out: PcapNgWriter<W>,
    packets: u64,
    interfaces: u32,
}

impl<W: Write> std::fmt::Debug for PcapngWriter<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PcapngWriter")
            .field("packets", &self.packets)
            .field("interfaces", &self.interfaces)
            .finish_non_exhaustive()
    }
}

impl<W: Write> PcapngWriter<W> {
    /// Starts a file: writes the section header, naming `app_name` as the
    /// application that wrote it, and the one interface, `sim0`.
    pub fn new(out: W, app_name: &str) -> Result<Self, PcapngError> {
        Self::with_interfaces(out, app_name, &["sim0"])
    }

    /// Starts a file with one interface per name (interface 0 first).
    pub fn with_interfaces(out: W, app_name: &str, names: &[&str]) -> Result<Self, PcapngError> {
        fits_option("application name", app_name)?;
        for name in names {
            fits_option("interface name", name)?;
        }
        let section = SectionHeaderBlock {
            endianness: Endianness::Little,
            major_version: 1,
            minor_version: 0,
            section_length: -1,
            options: vec![SectionHeaderOption::UserApplication(Cow::Owned(
                app_name.to_string(),
            ))],
        };
        let mut out = PcapNgWriter::with_section_header(out, section)?;
        for name in names {
            out.write_pcapng_block(InterfaceDescriptionBlock {
                linktype: DataLink::ETHERNET,
                snaplen: SNAPLEN,
                options: vec![
                    InterfaceDescriptionOption::IfName(Cow::Borrowed(name)),
                    InterfaceDescriptionOption::IfTsResol(9),
                ],
            })?;
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
        if let Some(comment) = comment {
            fits_option("comment", comment)?;
        }
        self.out.write_pcapng_block(EnhancedPacketBlock {
            interface_id: interface,
            timestamp: Duration::from_nanos(timestamp_ns),
            original_len: len,
            data: Cow::Borrowed(frame),
            options: comment
                .map(|c| vec![EnhancedPacketOption::Comment(Cow::Borrowed(c))])
                .unwrap_or_default(),
        })?;
        self.packets += 1;
        Ok(())
    }

    /// How many packets have been written.
    pub fn packets(&self) -> u64 {
        self.packets
    }

    /// Flushes the output and gives it back.
    pub fn finish(self) -> Result<W, PcapngError> {
        let mut out = self.out.into_inner();
        out.flush()?;
        Ok(out)
    }
}

/// An option's value is at most 65535 bytes (its length is a u16).
fn fits_option(what: &'static str, value: &str) -> Result<(), PcapngError> {
    if value.len() > usize::from(u16::MAX) {
        return Err(PcapngError::OptionTooLong {
            what,
            len: value.len(),
        });
    }
    Ok(())
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
