//! Damaged files: cut at every byte, and randomly mutated. The reader must
//! never panic, never loop, and say `Truncated` with the right count.

use super::*;
use crate::decode::decode;
use crate::testutil::*;
use streamlab_netsim::rng::SimRng;

/// A small pcap of `n` Ethernet/IPv4/TCP frames, and the file offset where
/// each record ends.
fn small_pcap(big: bool, n: usize) -> (Vec<u8>, Vec<usize>) {
    let mut file = PcapFile::new(big, true, 1, 65_535);
    let mut ends = Vec::new();
    for i in 0..n {
        let segment = tcp(45926, 2635, i as u32, 0, 0x18, b"lista");
        let frame = ethernet(
            &[],
            0x0800,
            &ipv4([10, 0, 0, 10], [10, 0, 0, 7], 6, &segment),
        );
        file.packet(i as u64 * 1_000, &frame, frame.len() as u32);
        ends.push(file.bytes.len());
    }
    (file.bytes, ends)
}

/// A small pcapng with two sections, an unknown block and every packet
/// block type; returns the offsets where each packet block ends.
fn small_pcapng() -> (Vec<u8>, Vec<usize>) {
    let segment = tcp(45926, 2635, 7, 0, 0x18, b"quit");
    let ip = ipv4([10, 0, 0, 10], [10, 0, 0, 7], 6, &segment);
    let mut file = PcapngFile::default();
    let mut ends = Vec::new();
    file.section(false).interface(1, 0, &[(9, &[9])]);
    file.enhanced(0, 5, &ethernet(&[0x8100], 0x0800, &ip), 60);
    ends.push(file.bytes.len());
    file.block(0x0bad_cafe, b"skip me");
    file.section(true)
        .interface(276, 96, &[])
        .interface(0, 0, &[]);
    file.simple(&sll2(772, 0x0800, &ip), 64);
    ends.push(file.bytes.len());
    file.enhanced(1, 6, &family(2, false, &ip), 48);
    ends.push(file.bytes.len());
    file.obsolete(0, 7, &sll2(1, 0x0806, &[0; 28]));
    ends.push(file.bytes.len());
    (file.bytes, ends)
}

/// Reads to the end, decoding each packet; returns the packets read and
/// the error, if any. Panics if the reader does not stop.
fn drain(bytes: &[u8]) -> Result<(u64, Option<CaptureError>), CaptureError> {
    let mut reader = CaptureReader::new(bytes)?;
    for _ in 0..bytes.len() + 1 {
        match reader.next_packet() {
            Ok(Some(packet)) => {
                let _ = decode(&packet);
            }
            Ok(None) => return Ok((reader.frames_read(), None)),
            Err(e) => {
                assert!(
                    matches!(reader.next_packet(), Ok(None)),
                    "an error is final"
                );
                return Ok((reader.frames_read(), Some(e)));
            }
        }
    }
    panic!("more packets than bytes: the reader loops");
}

fn check_every_cut(bytes: &[u8], ends: &[usize]) {
    for cut in 0..=bytes.len() {
        let whole = ends.iter().filter(|&&end| end <= cut).count() as u64;
        match drain(&bytes[..cut]) {
            Err(CaptureError::NotACapture(_)) => assert!(cut < 4, "cut at {cut}"),
            Err(CaptureError::Truncated { frames_read: 0 }) => {
                assert!(
                    (4..24).contains(&cut),
                    "cut in the pcap file header, at {cut}"
                )
            }
            Err(e) => panic!("cut at {cut}: {e}"),
            Ok((read, None)) => assert_eq!(read, whole, "cut at {cut}"),
            Ok((read, Some(CaptureError::Truncated { frames_read }))) => {
                assert_eq!((read, frames_read), (whole, whole), "cut at {cut}");
                assert!(!ends.contains(&cut), "cut at a record's end is a clean end");
            }
            Ok((_, Some(e))) => panic!("cut at {cut}: {e}"),
        }
    }
}

#[test]
fn a_pcap_cut_at_every_byte_reports_the_whole_records() {
    for big in [false, true] {
        let (bytes, ends) = small_pcap(big, 3);
        check_every_cut(&bytes, &ends);
        let message = drain(&bytes[..ends[1] + 5]).unwrap().1.unwrap().to_string();
        assert_eq!(
            message,
            "the capture is cut off in the middle of a record, after 2 whole frames"
        );
    }
}

#[test]
fn a_pcapng_cut_at_every_byte_reports_the_whole_records() {
    let (bytes, ends) = small_pcapng();
    let (read, end) = drain(&bytes).unwrap();
    assert_eq!(read, 4);
    assert!(end.is_none());
    check_every_cut(&bytes, &ends);
}

#[test]
fn random_mutations_never_panic_or_loop() {
    const SEED: u64 = 0x5eed_2635;
    let mut rng = SimRng::new(SEED);
    let originals = [
        small_pcap(false, 4).0,
        small_pcap(true, 2).0,
        small_pcapng().0,
    ];
    for round in 0..3_000 {
        let mut bytes = originals[round % originals.len()].clone();
        for _ in 0..1 + rng.index(8) {
            let at = rng.index(bytes.len());
            match rng.index(4) {
                0 => bytes[at] = rng.next_u64() as u8,
                1 => bytes[at] ^= 1 << rng.index(8),
                2 => bytes[at] = [0, 0xff, 0x7f, 0x80][rng.index(4)],
                _ => bytes.truncate(at.max(1)),
            }
        }
        // Any outcome is fine as long as it is an outcome; a panic says
        // which round of which seed, and how to replay it.
        let outcome = std::panic::catch_unwind(|| drain(&bytes));
        assert!(
            outcome.is_ok(),
            "round {round} of seed {SEED:#x} panicked (replay: cargo test -p \
             streamlab-analyzer random_mutations_never_panic_or_loop)"
        );
    }
}
