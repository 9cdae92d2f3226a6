//! The simulator's `linux` TCP model against the machine's own Linux TCP,
//! on a few cells of docs/fidelity.md's grid: the same song, link model
//! and seeds. Needs root, as the kernel tests do (loud skip otherwise;
//! STREAMLAB_REQUIRE_KERNEL=1, which CI sets, makes a skip a failure).
//!
//! The bounds are issue 9's bar: the mean download time within ±25% of
//! the kernel's, the retransmissions within 1.5×. Both engines draw each
//! link's losses from the same generator (`link::direction_rngs`), so the
//! server's k-th packet meets the same fate in both. The go-back-N model
//! fails the bar by far (docs/fidelity.md).

use std::path::PathBuf;
use std::time::Duration;

use streamlab_audio::Library;
use streamlab_netsim::figures::RunFigures;
use streamlab_netsim::link::LinkConfig;
use streamlab_netsim::scenario::{Options, Scenario, SLOW_READER_PAUSE};
use streamlab_netsim::tcp::TcpFlavor;
use streamlab_proto::Track;
use streamlab_testbed::{cells, KernelConfig, KernelRun};

mod common;
use common::{root, setup};

const SONG: &str = "ode_to_joy";
const SEEDS: [u64; 3] = [1, 2, 3];
const QUEUE: Duration = Duration::from_secs(1);

fn song() -> Track {
    let library = Library::scan(root().join("music")).expect("the bundled music");
    let song = library.find(SONG).expect("a bundled song");
    song.track().expect("a readable song")
}

/// One cell: latency (ms), bandwidth (bit/s), loss.
#[derive(Debug, Clone, Copy)]
struct Cell(u64, u64, f64);

impl Cell {
    fn link(self) -> LinkConfig {
        LinkConfig {
            latency: Duration::from_millis(self.0),
            bandwidth: Some(self.1),
            loss: self.2,
            queue_limit: QUEUE,
            ..LinkConfig::default()
        }
    }
}

fn simulate(cell: Cell, seed: u64, tcp: TcpFlavor, song: &Track) -> RunFigures {
    cells::simulate(&cell.link(), seed, tcp, song)
        .unwrap_or_else(|e| panic!("{cell:?} seed {seed} {tcp}: {e}"))
}

fn on_kernel(bin: &PathBuf, cell: Cell, seed: u64) -> RunFigures {
    let mut config = KernelConfig::new(bin, root().join("music"), SONG);
    config.uplink = cell.link();
    config.downlink = cell.link();
    config.seed = seed;
    config.timeout = Duration::from_secs(60);
    let outcome = KernelRun::new(config)
        .run()
        .unwrap_or_else(|e| panic!("{cell:?} seed {seed} on the kernel: {e}"));
    outcome.figures
}

fn mean(runs: &[RunFigures], f: impl Fn(&RunFigures) -> f64) -> f64 {
    runs.iter().map(f).sum::<f64>() / runs.len() as f64
}

fn download(f: &RunFigures) -> f64 {
    f.download_s.expect("the download completed")
}

#[test]
fn the_linux_model_downloads_within_a_quarter_of_the_kernels_time_and_resends_as_much() {
    let Some(bin) = setup("fidelity") else { return };
    let song = song();
    // A lossless link (the window and slow start), and three lossy ones
    // (recovery, on short and long round trips). Not the 1 ms cells at 5%:
    // there the kernel's own mean moves by a quarter from run to run, as
    // its timeouts come and go (docs/fidelity.md).
    for cell in [
        Cell(10, 10_000_000, 0.0),
        Cell(10, 10_000_000, 0.05),
        Cell(10, 100_000_000, 0.01),
        Cell(50, 10_000_000, 0.01),
    ] {
        let mut linux = Vec::new();
        let mut gbn = Vec::new();
        let mut kernel = Vec::new();
        for seed in SEEDS {
            linux.push(simulate(cell, seed, TcpFlavor::Linux, &song));
            gbn.push(simulate(cell, seed, TcpFlavor::Gbn, &song));
            kernel.push(on_kernel(&bin, cell, seed));
        }
        for f in linux.iter().chain(&gbn).chain(&kernel) {
            assert_eq!(f.bit_exact, Some(true), "{cell:?}: {f:?}");
        }
        let (sim_s, kernel_s, gbn_s) = (
            mean(&linux, download),
            mean(&kernel, download),
            mean(&gbn, download),
        );
        let ratio = sim_s / kernel_s;
        assert!(
            (0.75..=1.25).contains(&ratio),
            "{cell:?}: the linux model took {sim_s:.3} s, the kernel {kernel_s:.3} s"
        );
        let retransmitted = |runs: &[RunFigures]| mean(runs, |f| f.retransmitted as f64);
        let (sim_r, kernel_r, gbn_r) = (
            retransmitted(&linux),
            retransmitted(&kernel),
            retransmitted(&gbn),
        );
        if cell.2 > 0.0 {
            assert!(
                sim_r <= 1.5 * kernel_r && kernel_r <= 1.5 * sim_r,
                "{cell:?}: the linux model resent {sim_r:.1} segments, the kernel {kernel_r:.1}"
            );
            // The contrast the labs draw: go-back-N is far from both.
            assert!(
                gbn_r > 10.0 * kernel_r && gbn_s > 1.4 * kernel_s,
                "{cell:?}: gbn resent {gbn_r:.1} in {gbn_s:.3} s, the kernel {kernel_r:.1} \
                 in {kernel_s:.3} s"
            );
        } else {
            assert_eq!(sim_r, 0.0, "{cell:?}: no loss, no retransmission");
        }
    }
}

#[test]
fn a_slow_reader_closes_the_window_and_is_probed_as_on_the_kernel() {
    let Some(bin) = setup("fidelity slow-reader") else {
        return;
    };
    let options = Options::new(1);
    let mut run = Scenario::SlowReader.build(&options).remove(0);
    run.sim
        .run_until_idle(5_000_000)
        .unwrap_or_else(|e| panic!("slow-reader: {e}"));
    let sim = run.figures();
    // The same song, as a WAV the real server serves.
    let song = run.song.clone().expect("slow-reader downloads a song");
    let dir = tempfile::tempdir().expect("a temporary directory");
    streamlab_audio::write_wav(dir.path().join("song.wav"), song.format, &song.pcm)
        .expect("the song written");
    let link = run.sim.config();
    let mut config = KernelConfig::new(&bin, dir.path(), song.name.as_str());
    config.uplink = link.uplink.clone();
    config.downlink = link.downlink.clone();
    config.stop_reading = Some(SLOW_READER_PAUSE);
    config.scenario = "slow-reader".into();
    config.timeout = Duration::from_secs(60);
    let kernel = KernelRun::new(config)
        .run()
        .unwrap_or_else(|e| panic!("slow-reader on the kernel: {e}"))
        .figures;
    for f in [&sim, &kernel] {
        assert_eq!(f.bit_exact, Some(true), "{f:?}");
        assert_eq!(f.retransmitted, 0, "no loss, no resend: {f:?}");
    }
    // The window closes while the client does not read, and the server
    // probes it the same number of times (its probe timer backs off from
    // the RTO: about 0.25 s, then 0.5 s).
    assert!(kernel.zero_window_probes >= 1, "{kernel:?}");
    assert_eq!(sim.zero_window_probes, kernel.zero_window_probes);
    // The download ends when the client reads again, in both.
    let (s, k) = (download(&sim), download(&kernel));
    assert!(
        (0.75..=1.25).contains(&(s / k)),
        "the model took {s:.3} s, the kernel {k:.3} s"
    );
}
