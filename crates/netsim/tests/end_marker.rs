//! The original client never plays the read that holds `track_data_end`
//! (defect 8 in docs/protocol.md). Our server, with its pause trick on,
//! holds the end marker back until the client has acknowledged all the
//! audio, so the marker arrives alone and the naive client — which reads
//! and plays as `SpotClient.py` does — plays every byte of the song.
//!
//! Replay with `cargo test -p streamlab-netsim --test end_marker`.

use std::time::Duration;

use streamlab_netsim::apps::{Catalogue, Expect, NaiveClient, NaiveStep, ServerApp};
use streamlab_netsim::scenario::{marker_frames, patterned_track};
use streamlab_netsim::sim::{Side, Sim, SimConfig};
use streamlab_netsim::time::SimTime;
use streamlab_proto::observe::Marker;
use streamlab_proto::{original, DialectChoice, ServerConfig, Track};

/// Plenty for a 200 kB song on a LAN.
const MAX_EVENTS: usize = 100_000;
/// About three times the socket buffers (64 KiB each way).
const SONG_BYTES: usize = 200_000;

/// The client's reading pace: the naive client reads each segment as it
/// arrives, or holds off 45 ms between the reads of a song, as the slow
/// Python loop does (it copies the whole song so far on every read). Then
/// one read takes a whole window, and audio waits in the server's send
/// buffer behind it: a pause of 50 ms that starts when the last audio byte
/// enters that buffer is too short (the marker then lands behind unread
/// audio; 198,065 of 200,000 B played with seed 1). The barrier starts the
/// pause only once the client's TCP holds every byte, and one read takes
/// them all.
const READ_GAPS: [Duration; 2] = [Duration::ZERO, Duration::from_millis(45)];

/// An original-dialect server with the default pause, and a naive client
/// that downloads `song` with `read_gap` between its reads, then quits.
fn download(seed: u64, read_gap: Duration, song: &Track) -> Sim {
    let config = ServerConfig {
        dialect: DialectChoice::Original,
        ..ServerConfig::default()
    };
    assert!(config.pause > read_gap, "the pause trick is on, and longer");
    let server = ServerApp::new(config, Catalogue::new(vec![song.clone()], Vec::new()));
    let at = SimTime::from_millis;
    let client = NaiveClient::new(vec![
        NaiveStep::new(at(0), &[&format!("download {}", song.name)], Expect::Track),
        NaiveStep::new(
            at(2_000),
            &["quit"],
            Expect::Reply(original::GOODBYE.to_vec()),
        ),
    ])
    .song_reads_every(read_gap);
    let mut sim = Sim::new(SimConfig::new(seed), Box::new(client), Box::new(server));
    if let Err(e) = sim.run_until_idle(MAX_EVENTS) {
        panic!("{e}\ntrace so far:\n{}", sim.trace());
    }
    sim
}

#[test]
fn the_naive_client_plays_every_byte_because_the_end_marker_arrives_alone() {
    let song = patterned_track("song", SONG_BYTES);
    for (seed, gap) in [1, 2, 3]
        .into_iter()
        .flat_map(|s| READ_GAPS.map(|g| (s, g)))
    {
        let sim = download(seed, gap, &song);
        let case = format!("seed {seed}, reads every {gap:?}");
        let naive = sim.app::<NaiveClient>(Side::Client).expect("a NaiveClient");
        let [track, quit] = naive.outcomes() else {
            panic!("{case}: two steps: {:?}", naive.outcomes());
        };
        assert_eq!(track.failure, None, "{case}");
        assert_eq!(quit.failure, None, "{case}");
        let audio = track.audio.as_deref().expect("the song");
        let played = track.played.as_deref().expect("what was played");
        assert!(audio == &song.pcm[..], "{case}: the bytes arrived");
        // Only the marker's read goes unplayed, and it held nothing else.
        assert!(
            played == &song.pcm[..],
            "{case}: played {} of {} B\n{}",
            played.len(),
            song.pcm.len(),
            sim.trace()
        );

        // On the wire: the end marker in a segment of its own, sent after
        // the server saw every audio byte acknowledged.
        let spots = marker_frames(&sim);
        let end = spots
            .iter()
            .find(|s| s.marker == Marker::End)
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
            panic!("{case}: one drain barrier per track: {passed:?}");
        };
        let seen = sim.captured()[end.frames[0] - 1].at;
        assert!(
            seen >= passed.after(Duration::from_millis(50)),
            "{case}: the marker at {seen}, the barrier passed at {passed}"
        );
    }
}
