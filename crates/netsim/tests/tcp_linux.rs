//! The Linux and NewReno models carry a song bit-exact over any network:
//! 300 seeds with loss from 0 to 20%, jitter, duplication and reordering,
//! through the whole simulator (real proto sessions, links, capture). The
//! same seed twice gives the same capture, byte for byte.

use std::time::Duration;

use streamlab_netsim::apps::ClientApp;
use streamlab_netsim::scenario::{lossy_with, patterned_track, Options};
use streamlab_netsim::sim::{Side, Sim};
use streamlab_netsim::tcp::TcpFlavor;
use streamlab_proto::Track;

mod tshark;

const SONG: usize = 40_000;
const MAX_EVENTS: usize = 2_000_000;

fn sim(i: u64, flavor: TcpFlavor, song: &Track) -> Sim {
    let options = Options {
        loss: Some([0.0, 0.05, 0.1, 0.2][i as usize % 4]),
        jitter: Some(Duration::from_micros([0, 200, 2_000][i as usize % 3])),
        duplicate: Some([0.0, 0.02][i as usize % 2]),
        reorder: Some([0.0, 0.05, 0.1][(i as usize / 3) % 3]),
        tcp: Some(flavor),
        ..Options::new(i)
    };
    lossy_with(&options, song.clone()).sim
}

fn bit_exact_over_seeds(flavor: TcpFlavor, seeds: std::ops::Range<u64>) {
    let song = patterned_track("song", SONG);
    for i in seeds {
        let mut s = sim(i, flavor, &song);
        if let Err(e) = s.run_until_idle(MAX_EVENTS) {
            panic!("{flavor} seed {i}: {e}");
        }
        let client = s.app::<ClientApp>(Side::Client).expect("the client");
        assert!(
            client.audio()[..] == song.pcm[..],
            "{flavor} seed {i}: the song arrived damaged ({} of {} bytes)",
            client.audio().len(),
            SONG
        );
    }
}

#[test]
fn linux_delivers_bit_exact_over_300_seeds() {
    bit_exact_over_seeds(TcpFlavor::Linux, 0..300);
}

#[test]
fn newreno_delivers_bit_exact_over_100_seeds() {
    bit_exact_over_seeds(TcpFlavor::NewReno, 300..400);
}

#[test]
fn a_seed_gives_the_same_capture_twice() {
    let song = patterned_track("song", SONG);
    for i in [5, 6, 7] {
        let run = || {
            let mut s = sim(i, TcpFlavor::Linux, &song);
            s.run_until_idle(MAX_EVENTS).expect("the run ends");
            s.pcapng_bytes()
        };
        assert!(run() == run(), "seed {i}: two captures differ");
    }
}

#[test]
fn linux_resends_about_one_segment_per_loss() {
    let song = patterned_track("song", 300_000);
    let mut s = sim(1, TcpFlavor::Linux, &song);
    s.run_until_idle(MAX_EVENTS).expect("the run ends");
    let dropped = s.frames().iter().filter(|f| f.2.is_some()).count() as u64;
    let stats = s.tcp(Side::Server).expect("the server").stats();
    assert!(dropped > 0);
    assert!(
        stats.retransmitted <= 2 * dropped,
        "{} retransmissions for {dropped} drops",
        stats.retransmitted
    );
}

#[test]
fn tshark_reads_linux_options_with_good_checksums_and_no_warning() {
    if !tshark::available() {
        return;
    }
    let song = patterned_track("song", SONG);
    // Seed 0 of `sim` is a clean network; seed 4 loses 5%.
    for i in [0, 4] {
        let mut s = sim(i, TcpFlavor::Linux, &song);
        s.run_until_idle(MAX_EVENTS).expect("the run ends");
        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = dir.path().join("linux.pcapng");
        s.save_pcapng(&path).expect("the capture is written");
        let validate = [
            "-o",
            "tcp.check_checksum:TRUE",
            "-o",
            "ip.check_checksum:TRUE",
        ];
        let bad = r#"tcp.checksum.status == "Bad" || ip.checksum.status == "Bad" || _ws.malformed"#;
        let out = tshark::read(&path, &[&validate[..], &["-Y", bad]].concat());
        assert_eq!(out.trim(), "", "seed {i}: bad or malformed frames");
        let syn = tshark::read(
            &path,
            &[
                "-Y",
                "tcp.flags.syn == 1",
                "-T",
                "fields",
                "-e",
                "tcp.options.wscale.shift",
                "-e",
                "tcp.options.sack_perm",
                "-e",
                "tcp.options.timestamp.tsval",
            ],
        );
        assert_eq!(syn.lines().count(), 2, "seed {i}: {syn}");
        assert!(syn.lines().all(|l| l.starts_with("7\t")), "seed {i}: {syn}");
        if i == 0 {
            let expert = tshark::read(
                &path,
                &[&["-q", "-z", "expert,warn"], &validate[..]].concat(),
            );
            assert_eq!(expert.trim(), "", "tshark's expert warnings");
        } else {
            let sacks = tshark::read(&path, &["-Y", "tcp.options.sack.count > 0"]);
            assert!(sacks.lines().count() > 0, "seed {i}: no SACK blocks seen");
        }
    }
}
