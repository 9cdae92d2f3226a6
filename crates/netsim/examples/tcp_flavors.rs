//! The three TCP models on one lossy download, side by side: how long the
//! song takes, how many frames the links dropped, and how many segments
//! were sent again for them.
//!
//! ```sh
//! cargo run --release -p streamlab-netsim --example tcp_flavors -- [loss] [latency_ms] [mbit] [seeds]
//! ```
//!
//! The defaults are the cell issue 9 measured on Linux 6.x: 10 Mbit/s,
//! 1 ms latency, 5% loss each way, a 1 s router queue, ode_to_joy's
//! 846,720 bytes (Linux: about 1.13 s and one retransmission per loss).

use std::time::Duration;

use streamlab_netsim::apps::{Catalogue, ClientApp, ServerApp};
use streamlab_netsim::scenario::patterned_track;
use streamlab_netsim::sim::{Side, Sim, SimConfig};
use streamlab_netsim::tcp::{TcpFlavor, TcpStats};
use streamlab_proto::{ClientEvent, Dialect, DialectChoice, Request, ServerConfig};

const SONG: usize = 846_720;

struct Outcome {
    secs: f64,
    dropped: usize,
    stats: TcpStats,
    exact: bool,
}

fn run(flavor: TcpFlavor, seed: u64, loss: f64, latency: Duration, bits: u64) -> Outcome {
    let song = patterned_track("song", SONG);
    let mut config = SimConfig::new(seed);
    for link in [&mut config.uplink, &mut config.downlink] {
        link.latency = latency;
        link.bandwidth = Some(bits);
        link.loss = loss;
        link.queue_limit = Duration::from_secs(1);
    }
    config.client_tcp = flavor.config();
    config.server_tcp = flavor.config();
    let server_config = ServerConfig {
        dialect: DialectChoice::Framed,
        ..ServerConfig::default()
    };
    let server = ServerApp::new(
        server_config,
        Catalogue::new(vec![song.clone()], Vec::new()),
    );
    let requests = vec![
        Request::Download {
            name: "song".into(),
        },
        Request::Quit,
    ];
    let client = ClientApp::new(Dialect::Framed, requests);
    let mut sim = Sim::new(config, Box::new(client), Box::new(server));
    let done = |s: &Sim| {
        s.app::<ClientApp>(Side::Client).is_some_and(|c| {
            c.events()
                .iter()
                .any(|e| matches!(e, ClientEvent::TrackEnd { .. }))
        })
    };
    if let Err(e) = sim.run_until(20_000_000, done) {
        eprintln!("{flavor} seed {seed}: {e}");
        std::process::exit(1);
    }
    let secs = sim.now().as_duration().as_secs_f64();
    let dropped = sim.frames().iter().filter(|f| f.2.is_some()).count();
    let mut stats = TcpStats::default();
    for side in [Side::Client, Side::Server] {
        if let Some(t) = sim.tcp(side) {
            let s = t.stats();
            stats.retransmitted += s.retransmitted;
            stats.fast_retransmits += s.fast_retransmits;
            stats.timeouts += s.timeouts;
            stats.tail_loss_probes += s.tail_loss_probes;
        }
    }
    let exact = sim
        .app::<ClientApp>(Side::Client)
        .is_some_and(|c| c.audio()[..] == song.pcm[..]);
    Outcome {
        secs,
        dropped,
        stats,
        exact,
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize, default: f64| args.get(i).and_then(|a| a.parse().ok()).unwrap_or(default);
    let loss = arg(0, 0.05);
    let latency = Duration::from_micros((arg(1, 1.0) * 1000.0) as u64);
    let bits = (arg(2, 10.0) * 1e6) as u64;
    let seeds = arg(3, 5.0) as u64;
    println!(
        "{SONG} B song, {} Mbit/s, {:?} latency, {}% loss each way, 1 s queue, seeds 1..={seeds}",
        bits / 1_000_000,
        latency,
        loss * 100.0
    );
    println!(
        "model    download_s  dropped  retransmitted  per_drop  fast_rtx  rto  tlp  bit_exact"
    );
    for flavor in TcpFlavor::ALL {
        let runs: Vec<Outcome> = (1..=seeds)
            .map(|s| run(flavor, s, loss, latency, bits))
            .collect();
        let n = runs.len() as f64;
        let mean = |f: &dyn Fn(&Outcome) -> f64| runs.iter().map(f).sum::<f64>() / n;
        let dropped = mean(&|o| o.dropped as f64);
        let retx = mean(&|o| o.stats.retransmitted as f64);
        println!(
            "{:<8} {:>10.3} {:>8.1} {:>14.1} {:>9.2} {:>9.1} {:>4.1} {:>4.1}  {}",
            flavor.name(),
            mean(&|o| o.secs),
            dropped,
            retx,
            if dropped > 0.0 { retx / dropped } else { 0.0 },
            mean(&|o| o.stats.fast_retransmits as f64),
            mean(&|o| o.stats.timeouts as f64),
            mean(&|o| o.stats.tail_loss_probes as f64),
            runs.iter().all(|o| o.exact),
        );
    }
}
