//! The kit's own simulator writes captures; the analyzer must read them.
//! The report's conversation (client 10.0.0.10:45926, server 10.0.0.7:2635,
//! `lista` / `RV\nVL\n` / `quit` / `goodbye`) is run in the simulator, its
//! pcapng read back, and the TCP segments checked against the story.

use std::net::SocketAddr;

use streamlab_analyzer::{decode, CaptureReader, Decoded, Format, LinkType, TcpFlags};
use streamlab_netsim::scenario::{Options, Scenario};

#[test]
fn the_simulated_report_conversation_reads_back_segment_by_segment() {
    let mut sim = Scenario::Report.build(&Options::new(1)).remove(0).sim;
    sim.run_until_idle(10_000).expect("the conversation ends");
    let bytes = sim.pcapng_bytes();

    let mut reader = CaptureReader::new(&bytes[..]).expect("a pcapng header");
    assert_eq!(reader.format(), Format::Pcapng);
    let client: SocketAddr = "10.0.0.10:45926".parse().unwrap();
    let server: SocketAddr = "10.0.0.7:2635".parse().unwrap();
    let mut sent = Vec::new();
    let mut last_ns = 0;
    while let Some(packet) = reader.next_packet().expect("a whole capture") {
        assert_eq!(packet.link_type, LinkType::ETHERNET);
        assert!(packet.timestamp_ns >= last_ns, "time runs forward");
        last_ns = packet.timestamp_ns;
        let Decoded::Tcp(segment) = decode(&packet) else {
            panic!("frame {} is not TCP", packet.frame);
        };
        assert!(!segment.truncated);
        let from_client = segment.src == client;
        assert_eq!(segment.dst, if from_client { server } else { client });
        if segment.flags.contains(TcpFlags::SYN) && from_client {
            assert_eq!(packet.frame, 1, "the client opens");
        }
        if !segment.payload.is_empty() {
            sent.push((from_client, segment.payload.to_vec()));
        }
    }
    assert_eq!(reader.frames_read(), sim.captured().len() as u64);
    assert_eq!(
        sent,
        [
            (true, b"lista".to_vec()),
            (false, b"RV\nVL\n".to_vec()),
            (true, b"quit".to_vec()),
            (false, b"goodbye".to_vec()),
        ]
    );
}
