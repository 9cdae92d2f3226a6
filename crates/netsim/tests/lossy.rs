//! A whole song over lossy links: TCP's retransmissions must deliver every
//! byte, in order, whatever the seed; and a seed must name a run exactly.

use streamlab_netsim::apps::ClientApp;
use streamlab_netsim::sim::{self, Side, Sim};
use streamlab_proto::ClientEvent;

const SONG: usize = 100_000;
const MAX_EVENTS: usize = 500_000;

/// Runs the scenario and returns the audio the client received.
fn received(sim: &mut Sim, seed: u64) -> Vec<u8> {
    if let Err(e) = sim.run_until_idle(MAX_EVENTS) {
        panic!("seed {seed}: {e}\nreplay: cargo test -p streamlab-netsim --test lossy");
    }
    let client = sim.app::<ClientApp>(Side::Client).expect("the client app");
    let mut audio = Vec::new();
    for e in client.events() {
        if let ClientEvent::TrackData { data, .. } = e {
            audio.extend_from_slice(data);
        }
    }
    assert!(
        client.events().contains(&ClientEvent::Goodbye),
        "seed {seed}: no goodbye"
    );
    audio
}

#[test]
fn a_song_arrives_bit_exact_and_the_losses_show_in_the_capture() {
    let mut sim = sim::lossy(1, 0.05, SONG);
    let audio = received(&mut sim, 1);
    let song = sim::patterned_track("song", SONG);
    assert!(audio[..] == song.pcm[..], "{} bytes received", audio.len());
    let dropped = sim
        .frames()
        .iter()
        .filter(|(_, _, note)| note.is_some())
        .count();
    assert!(dropped > 0, "5% loss dropped nothing");
    assert!(
        sim.trace().to_string().contains("retransmit"),
        "no retransmission traced"
    );
    assert!(sim.all_closed());
}

#[test]
fn every_seed_delivers_bit_exact_up_to_twenty_percent_loss() {
    let song = sim::patterned_track("song", SONG);
    for seed in 0..120u64 {
        let loss = [0.0, 0.05, 0.1, 0.2][seed as usize % 4];
        let mut sim = sim::lossy(seed, loss, SONG);
        let audio = received(&mut sim, seed);
        assert!(
            audio[..] == song.pcm[..],
            "seed {seed}, loss {loss}: {} of {SONG} bytes, or out of order",
            audio.len()
        );
    }
}

#[test]
fn the_same_seed_gives_the_same_trace_and_capture() {
    for seed in [3u64, 17, 40] {
        let run = || {
            let mut sim = sim::lossy(seed, 0.2, SONG);
            received(&mut sim, seed);
            (sim.trace().to_string(), sim.pcapng_bytes())
        };
        let (trace_a, pcap_a) = run();
        let (trace_b, pcap_b) = run();
        assert!(trace_a == trace_b, "seed {seed}: traces differ");
        assert!(pcap_a == pcap_b, "seed {seed}: captures differ");
    }
}
