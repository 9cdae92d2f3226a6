//! The capture at the client's side of the emulated link: what Wireshark
//! running on the client would see, as a pcapng file.
//!
//! Packets are raw IPv4 (link type 101, `LINKTYPE_RAW`): a TUN device has
//! no Ethernet header, and inventing one would show addresses that do not
//! exist. Timestamps are nanoseconds (`if_tsresol` 9; the pcap-file crate
//! always writes a timestamp as a count of nanoseconds, so the interface
//! must say so). The file is written with the design card's `pcap-file`
//! crate.
//!
//! A packet is written when it leaves the client (read from the client's
//! device) and when it arrives at the client (written to it). A packet the
//! link dropped gets a comment saying so, as netsim's captures do; one lost
//! on its way *to* the client is written at the time it entered the link,
//! although a real Wireshark at the client would never see it.

use std::borrow::Cow;
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use pcap_file::pcapng::blocks::enhanced_packet::{EnhancedPacketBlock, EnhancedPacketOption};
use pcap_file::pcapng::blocks::interface_description::{
    InterfaceDescriptionBlock, InterfaceDescriptionOption,
};
use pcap_file::pcapng::blocks::section_header::{SectionHeaderBlock, SectionHeaderOption};
use pcap_file::pcapng::PcapNgWriter;
use pcap_file::DataLink;
use streamlab_netsim::time::SimTime;

use crate::TestbedError;

/// The longest packet the file announces (a TUN device's 1500-byte MTU
/// fits many times over).
const SNAPLEN: u32 = 65_535;

/// Writes the client-side capture. Times are [`SimTime`]s since the run
/// started, placed after the wall-clock time the run started at.
pub struct Capture {
    path: PathBuf,
    writer: PcapNgWriter<BufWriter<File>>,
    epoch: Duration,
    packets: u64,
}

impl Capture {
    /// Creates `path`, with one raw-IP interface named after the client.
    pub fn create(path: &Path) -> Result<Capture, TestbedError> {
        let fail = |e: &dyn std::fmt::Display| TestbedError::Capture {
            path: path.to_path_buf(),
            message: e.to_string(),
        };
        let file = File::create(path).map_err(|e| fail(&e))?;
        let section = SectionHeaderBlock {
            options: vec![SectionHeaderOption::UserApplication(Cow::Borrowed(
                "streamlab testbed (Linux TCP through netsim's link model)",
            ))],
            ..SectionHeaderBlock::default()
        };
        let mut writer = PcapNgWriter::with_section_header(BufWriter::new(file), section)
            .map_err(|e| fail(&e))?;
        let interface = InterfaceDescriptionBlock {
            linktype: DataLink::RAW,
            snaplen: SNAPLEN,
            options: vec![
                InterfaceDescriptionOption::IfName(Cow::Borrowed("client")),
                InterfaceDescriptionOption::IfTsResol(9),
            ],
        };
        writer.write_pcapng_block(interface).map_err(|e| fail(&e))?;
        // Before 1970 cannot happen on a working clock; 0 would still
        // give a readable file.
        let epoch = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        Ok(Capture {
            path: path.to_path_buf(),
            writer,
            epoch,
            packets: 0,
        })
    }

    /// Writes one packet seen at `at`, with an optional comment.
    pub fn packet(
        &mut self,
        at: SimTime,
        packet: &[u8],
        comment: Option<String>,
    ) -> Result<(), TestbedError> {
        let len = u32::try_from(packet.len()).unwrap_or(u32::MAX);
        let data = packet.get(..SNAPLEN as usize).unwrap_or(packet);
        let block = EnhancedPacketBlock {
            interface_id: 0,
            timestamp: self.epoch + at.as_duration(),
            original_len: len,
            data: Cow::Borrowed(data),
            options: comment
                .map(|c| vec![EnhancedPacketOption::Comment(Cow::Owned(c))])
                .unwrap_or_default(),
        };
        self.writer
            .write_pcapng_block(block)
            .map_err(|e| TestbedError::Capture {
                path: self.path.clone(),
                message: e.to_string(),
            })?;
        self.packets += 1;
        Ok(())
    }

    /// Flushes the file; returns how many packets it holds.
    pub fn finish(self) -> Result<u64, TestbedError> {
        let path = self.path;
        self.writer
            .into_inner()
            .into_inner()
            .map_err(|e| TestbedError::Capture {
                path,
                message: e.error().to_string(),
            })?;
        Ok(self.packets)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pcap_file::pcapng::{Block, PcapNgReader};

    #[test]
    fn packets_and_comments_read_back() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = dir.path().join("c.pcapng");
        let mut cap = Capture::create(&path).expect("created");
        cap.packet(SimTime::from_micros(5), &[0x45, 0, 0, 20], None)
            .expect("written");
        cap.packet(SimTime::from_millis(2), &[0x45; 30], Some("dropped".into()))
            .expect("written");
        assert_eq!(cap.finish().expect("flushed"), 2);

        let file = File::open(&path).expect("readable");
        let mut reader = PcapNgReader::new(file).expect("a pcapng file");
        let mut seen = Vec::new();
        while let Some(block) = reader.next_block() {
            if let Block::EnhancedPacket(p) = block.expect("a good block") {
                seen.push((p.timestamp, p.data.len(), p.options.len()));
            }
        }
        assert_eq!(seen.len(), 2);
        assert_eq!(seen[1].0 - seen[0].0, Duration::from_nanos(1_995_000));
        assert_eq!((seen[0].1, seen[0].2), (4, 0));
        assert_eq!((seen[1].1, seen[1].2), (30, 1));
        assert_eq!(reader.interfaces()[0].linktype, DataLink::RAW);
    }
}
