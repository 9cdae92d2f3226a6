//! The experiment table of lab 4: the `starved` download (two seconds of CD
//! audio, a listener with a 200 ms prebuffer) over a grid of networks, one
//! row per network, so students can explain what bandwidth and loss do to
//! the music.
//!
//! ```text
//!  bandwidth  loss  first audio  stalls   stalled  downloaded  dropped  retransmitted
//!   1 Mbit/s    0%      0.324 s       3   0.735 s     2.970 s        0              0
//! ```

use std::fmt::Write as _;
use std::time::Duration;

use super::{Options, Scenario};
use crate::apps::ClientApp;
use crate::player::secs;
use crate::sim::Side;

/// Bandwidths (bits per second) and loss rates of the grid.
const BANDWIDTHS: [u64; 4] = [500_000, 1_000_000, 2_000_000, 10_000_000];
const LOSSES: [f64; 3] = [0.0, 0.01, 0.05];
/// One-way latency of every row.
const LATENCY: Duration = Duration::from_millis(10);

/// Runs the grid with `seed` and renders the table.
pub fn experiment(seed: u64) -> Result<String, crate::sim::SimError> {
    let mut s = format!(
        "the starved download (2 s of CD audio = 1.41 Mbit/s, 200 ms prebuffer), \
         latency {} ms each way, seed {seed}\n\n",
        LATENCY.as_millis()
    );
    let _ = writeln!(
        s,
        "{:>10}  {:>4}  {:>11}  {:>6}  {:>8}  {:>10}  {:>7}  {:>13}",
        "bandwidth",
        "loss",
        "first audio",
        "stalls",
        "stalled",
        "downloaded",
        "dropped",
        "retransmitted"
    );
    for bandwidth in BANDWIDTHS {
        for loss in LOSSES {
            let options = Options {
                latency: Some(LATENCY),
                bandwidth: Some(bandwidth),
                loss: Some(loss),
                ..Options::new(seed)
            };
            let mut run = Scenario::Starved.build(&options).remove(0);
            run.sim.run_until_idle(2_000_000)?;
            let sim = &run.sim;
            let player = sim
                .app::<ClientApp>(Side::Client)
                .and_then(ClientApp::player);
            let first = player
                .and_then(|p| p.time_to_first_audio())
                .map_or("never".into(), secs);
            let stalls = player.map_or(0, |p| p.stalls().len());
            let stalled = player.map_or(Duration::ZERO, |p| p.stalled_for());
            let downloaded = sim
                .trace()
                .matching("client got TrackEnd")
                .next()
                .map_or("never".into(), |r| secs(r.at.as_duration()));
            let dropped = sim.frames().iter().filter(|f| f.2.is_some()).count();
            let retransmitted = sim.trace().matching("tcp retransmit").count();
            let _ = writeln!(
                s,
                "{:>10}  {:>3}%  {first:>11}  {stalls:>6}  {:>8}  {downloaded:>10}  {dropped:>7}  \
                 {retransmitted:>13}",
                format!("{} Mbit/s", bandwidth as f64 / 1e6),
                loss * 100.0,
                secs(stalled)
            );
        }
    }
    Ok(s)
}
