//! Properties over many seeds: whatever the network does — loss up to 20%,
//! jitter, duplication, reordering — every download that completes is
//! bit-exact, and a seed names a run exactly (the same seed twice gives
//! the same trace and the same capture, byte for byte).
//!
//! A failure names its seed and knobs; replay it with the `streamlab sim`
//! command printed.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::time::Duration;

use streamlab_netsim::apps::ClientApp;
use streamlab_netsim::scenario::{Options, Run, Scenario};
use streamlab_netsim::sim::Side;
use streamlab_netsim::wire::parse_frame;
use streamlab_proto::{ClientEvent, Dialect};

/// Far more than the worst case here needs (about 20,000 events).
const MAX_EVENTS: usize = 500_000;

/// The knobs of run number `i`: a mix, so every seed meets a different
/// network.
fn options(i: u64) -> Options {
    let loss = [0.0, 0.05, 0.1, 0.2][i as usize % 4];
    let jitter = [0, 200, 2_000][i as usize % 3];
    Options {
        seed: i,
        loss: Some(loss),
        jitter: Some(Duration::from_micros(jitter)),
        duplicate: Some([0.0, 0.02][i as usize % 2]),
        reorder: Some([0.0, 0.05, 0.1][(i as usize / 3) % 3]),
        // Both dialects carry the song; the original one needs its pause.
        dialect: Some(if i % 5 == 0 {
            Dialect::Original
        } else {
            Dialect::Framed
        }),
        ..Options::new(i)
    }
}

fn replay(o: &Options) -> String {
    format!(
        "streamlab sim lossy --seed {} --loss {} --jitter {}us --duplicate {} --reorder {} \
         --dialect {}",
        o.seed,
        o.loss.unwrap_or(0.0),
        o.jitter.unwrap_or_default().as_micros(),
        o.duplicate.unwrap_or(0.0),
        o.reorder.unwrap_or(0.0),
        o.dialect.unwrap_or(Dialect::Framed)
    )
}

/// Runs the lossy scenario with `o` to its end.
fn lossy(o: &Options) -> Run {
    let mut run = Scenario::Lossy.build(o).remove(0);
    if let Err(e) = run.sim.run_until_idle(MAX_EVENTS) {
        panic!("{e}\nreplay: {}", replay(o));
    }
    run
}

fn client(run: &Run) -> &ClientApp {
    run.sim
        .app::<ClientApp>(Side::Client)
        .expect("the client is a ClientApp")
}

fn digest(run: &Run) -> (u64, u64) {
    let hash = |bytes: &[u8]| {
        let mut h = DefaultHasher::new();
        bytes.hash(&mut h);
        h.finish()
    };
    (
        hash(run.sim.trace().to_string().as_bytes()),
        hash(&run.sim.pcapng_bytes()),
    )
}

#[test]
fn every_download_over_a_bad_network_is_bit_exact() {
    let mut completed = 0;
    for i in 0..300 {
        let o = options(i);
        let run = lossy(&o);
        let c = client(&run);
        let song = run.song.as_ref().expect("the lossy scenario has a song");
        let ended = c
            .events()
            .iter()
            .any(|e| matches!(e, ClientEvent::TrackEnd { .. }));
        if !ended {
            // TCP may give up (15 timeouts in a row); then the client must
            // not claim a track, and the connection must be reset.
            assert!(
                c.events()
                    .iter()
                    .any(|e| matches!(e, ClientEvent::Closed { .. })),
                "{}",
                replay(&o)
            );
            continue;
        }
        completed += 1;
        assert!(
            c.audio()[..] == song.pcm[..],
            "{} of {} bytes, or out of order\nreplay: {}",
            c.audio().len(),
            song.pcm.len(),
            replay(&o)
        );
    }
    println!("{completed} of 300 runs completed, every one bit-exact");
    // Giving up is allowed, but must stay rare at these loss rates.
    assert!(completed >= 295, "only {completed} of 300 completed");
}

#[test]
fn the_same_seed_gives_the_same_trace_and_capture() {
    for i in [3u64, 17, 40, 101, 250] {
        let o = options(i);
        let a = digest(&lossy(&o));
        let b = digest(&lossy(&o));
        assert_eq!(a, b, "two runs differ\nreplay: {}", replay(&o));
    }
    // And the seed matters: another seed, another run.
    let other = Options {
        seed: 4,
        ..options(3)
    };
    assert_ne!(digest(&lossy(&options(3))), digest(&lossy(&other)));
}

#[test]
fn losses_show_in_the_capture_and_the_trace() {
    let run = lossy(&Options {
        loss: Some(0.05),
        ..Options::new(1)
    });
    let dropped = run
        .sim
        .frames()
        .iter()
        .filter(|(_, _, note)| note.is_some())
        .count();
    assert!(dropped > 0, "5% loss dropped nothing");
    assert_eq!(run.sim.trace().matching("drop (lost)").count(), dropped);
    // Every lost segment that carried data is sent again (a lost pure
    // ACK is made good by the next one).
    let lost_data = run
        .sim
        .frames()
        .iter()
        .filter(|(_, frame, note)| {
            note.is_some() && parse_frame(frame).is_ok_and(|(_, _, tcp)| !tcp.payload.is_empty())
        })
        .count();
    assert!(lost_data > 0, "no data segment was lost: {dropped} dropped");
    assert!(run.sim.trace().matching("tcp retransmit").count() >= lost_data);
    assert!(run.sim.all_closed());
}
