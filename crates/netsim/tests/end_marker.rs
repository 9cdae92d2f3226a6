//! The original client never plays the read that holds `track_data_end`
//! (defect 8 in docs/protocol.md). Our server, with its pause trick on,
//! holds the end marker back until the client has acknowledged all the
//! audio, so the marker arrives alone and the naive client — which reads
//! and plays as `SpotClient.py` does — plays every byte of the song.
//!
//! Replay with `cargo test -p streamlab-netsim --test end_marker`.

use std::time::Duration;

use streamlab_netsim::apps::{Catalogue, Expect, NaiveClient, NaiveStep, ServerApp};
use streamlab_netsim::scenario::{marker_spots, patterned_track};
use streamlab_netsim::sim::{Side, Sim, SimConfig};
use streamlab_netsim::time::SimTime;
use streamlab_proto::{original, DialectChoice, ServerConfig, Track};

/// Plenty for a 60 kB song on a LAN.
const MAX_EVENTS: usize = 100_000;
/// About 40 full segments: the song's last segment is far from its first.
const SONG_BYTES: usize = 60_000;

/// An original-dialect server with the default pause, and a naive client
/// that downloads `song` and then quits.
fn download(seed: u64, song: &Track) -> Sim {
    let config = ServerConfig {
        dialect: DialectChoice::Original,
        ..ServerConfig::default()
    };
    assert!(config.pause > Duration::ZERO, "the pause trick is on");
    let server = ServerApp::new(config, Catalogue::new(vec![song.clone()], Vec::new()));
    let at = SimTime::from_millis;
    let client = NaiveClient::new(vec![
        NaiveStep::new(at(0), &[&format!("download {}", song.name)], Expect::Track),
        NaiveStep::new(
            at(2_000),
            &["quit"],
            Expect::Reply(original::GOODBYE.to_vec()),
        ),
    ]);
    let mut sim = Sim::new(SimConfig::new(seed), Box::new(client), Box::new(server));
    if let Err(e) = sim.run_until_idle(MAX_EVENTS) {
        panic!("{e}\ntrace so far:\n{}", sim.trace());
    }
    sim
}

#[test]
fn the_naive_client_plays_every_byte_because_the_end_marker_arrives_alone() {
    let song = patterned_track("song", SONG_BYTES);
    for seed in [1, 2, 3] {
        let sim = download(seed, &song);
        let naive = sim.app::<NaiveClient>(Side::Client).expect("a NaiveClient");
        let [track, quit] = naive.outcomes() else {
            panic!("seed {seed}: two steps: {:?}", naive.outcomes());
        };
        assert_eq!(track.failure, None, "seed {seed}");
        assert_eq!(quit.failure, None, "seed {seed}");
        let audio = track.audio.as_deref().expect("the song");
        let played = track.played.as_deref().expect("what was played");
        assert!(audio == &song.pcm[..], "seed {seed}: the bytes arrived");
        assert!(
            played == &song.pcm[..],
            "seed {seed}: played {} of {} B\n{}",
            played.len(),
            song.pcm.len(),
            sim.trace()
        );

        // On the wire: the end marker in a segment of its own, sent after
        // the server saw every audio byte acknowledged.
        let spots = marker_spots(&sim);
        let end = spots
            .iter()
            .find(|s| s.marker == "track_data_end")
            .expect("the end marker was sent");
        assert_eq!(
            end.to_string(),
            format!("frame {}, alone in its segment", end.frames[0])
        );
        let passed: Vec<SimTime> = sim
            .trace()
            .matching("acknowledged every byte written")
            .map(|r| r.at)
            .collect();
        let [passed] = passed[..] else {
            panic!("seed {seed}: one drain barrier per track: {passed:?}");
        };
        let (sent, _, _) = &sim.frames()[end.frames[0] - 1];
        assert!(
            *sent >= passed.after(Duration::from_millis(50)),
            "seed {seed}: the marker at {sent}, the barrier passed at {passed}"
        );
    }
}
