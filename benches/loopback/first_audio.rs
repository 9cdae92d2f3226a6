//! Time to first audio: from `play <song>` to the first PCM bytes in the
//! sink.
//!
//! Each run opens a fresh connection (greeted, in the framed dialect), so
//! the song is never in the client's cache. It takes the time just before
//! `App::execute(play)` and stops at the sink's first `write`, which
//! [`FirstWrite`] notes as it is called; the player sets
//! `PlayerStatus::first_audio_at` just after that write returns, and the
//! gap between the two is printed too. The server runs in this process,
//! serving the bundled music.
//!
//! The server of the original dialect sleeps `--pause-ms` (50 ms by
//! default) after `track_data_start`, so that the original Python client
//! reads the marker alone. Our client finds the marker even when audio is
//! glued to it, so the original dialect is measured with the pause and
//! without.

use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use streamlab_audio::library::Library;
use streamlab_audio::sink::Sink;
use streamlab_audio::AudioError;
use streamlab_client::commands::UserCommand;
use streamlab_client::{App, ClientOptions};
use streamlab_proto::{Dialect, PcmFormat, ServerConfig, Track};
use streamlab_server::{RunningServer, Server, ServerOptions};

use crate::Summary;

const SONG: &str = "ode_to_joy";
/// Measured runs per case, each on a fresh connection.
const RUNS: usize = 50;
/// Runs before those, not measured: the first connections pay for cold
/// caches and lazily set-up state.
const WARMUP: usize = 3;
/// The longest one run waits for audio.
const AUDIO_TIMEOUT: Duration = Duration::from_secs(5);

struct Case {
    label: &'static str,
    dialect: Dialect,
    server_pause_ms: u64,
}

const CASES: [Case; 3] = [
    Case {
        label: "framed",
        dialect: Dialect::Framed,
        server_pause_ms: 50,
    },
    Case {
        label: "original, server pause 50 ms",
        dialect: Dialect::Original,
        server_pause_ms: 50,
    },
    Case {
        label: "original, server pause 0",
        dialect: Dialect::Original,
        server_pause_ms: 0,
    },
];

pub fn run() -> Result<()> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/music");
    let tracks = Library::scan(dir)
        .and_then(|l| l.load_all())
        .with_context(|| format!("loading {dir}"))?;
    println!("1. time to first audio: 'play {SONG}' (not cached) to the sink's first write");
    println!("   {RUNS} fresh connections per case after {WARMUP} unmeasured; milliseconds");
    println!();
    println!(
        "{:<30} {:>8} {:>8} {:>8} {:>8} {:>12}",
        "case", "min", "median", "p95", "max", "status lag"
    );
    for case in &CASES {
        let server = start_server(&tracks, case.server_pause_ms)?;
        let runs = measure(server.addr, case.dialect);
        server.shutdown();
        let (times, lags) = runs.with_context(|| case.label)?;
        let s = Summary::of(times).context("no runs")?;
        let lag = Summary::of(lags).context("no runs")?;
        println!(
            "{:<30} {:>8.2} {:>8.2} {:>8.2} {:>8.2} {:>9.0} µs",
            case.label, s.min, s.median, s.p95, s.max, lag.max
        );
    }
    println!();
    println!("goal: under 20 ms (the original client waits 3 s before it plays).");
    println!("status lag: the most first_audio_at came after the sink's first write.");
    println!("the framed server ignores the pause; our original client does not need it.");
    Ok(())
}

/// A server on a free port with the bundled songs, speaking both dialects.
fn start_server(tracks: &[Track], pause_ms: u64) -> Result<RunningServer> {
    let options = ServerOptions {
        session: ServerConfig {
            pause: Duration::from_millis(pause_ms),
            ..ServerConfig::default()
        },
        ..ServerOptions::default()
    };
    let addr = SocketAddr::from(([127, 0, 0, 1], 0));
    Ok(Server::bind(addr, tracks.to_vec(), options)?.spawn())
}

/// Times to first audio (ms) and the lag of `first_audio_at` (µs).
fn measure(addr: SocketAddr, dialect: Dialect) -> Result<(Vec<f64>, Vec<f64>)> {
    let (mut times, mut lags) = (Vec::new(), Vec::new());
    for run in 0..WARMUP + RUNS {
        let (heard, lag) = one_play(addr, dialect).with_context(|| format!("run {run}"))?;
        if run >= WARMUP {
            times.push(heard.as_secs_f64() * 1e3);
            lags.push(lag.as_secs_f64() * 1e6);
        }
    }
    Ok((times, lags))
}

/// One run: connect (and greet), then time `play` to the first write.
/// Returns that time and how much later the player's status saw it.
fn one_play(addr: SocketAddr, dialect: Dialect) -> Result<(Duration, Duration)> {
    let first_write = Arc::new(OnceLock::new());
    let sink = Box::new(FirstWrite(Arc::clone(&first_write)));
    let mut opts = ClientOptions::new(addr);
    opts.dialect = dialect;
    let mut app = streamlab_client::connect(&opts, sink, io::sink())?;
    let start = Instant::now();
    app.execute(UserCommand::Play(Some(SONG.into())))?;
    let status_at = wait_first_audio(&app).context("no audio within 5 s")?;
    // The sink is written before the player sets first_audio_at.
    let heard = first_write
        .get()
        .copied()
        .context("first_audio_at but no write")?;
    Ok((heard - start, status_at.saturating_duration_since(heard)))
}

/// Polls the player until it reports its first audio (or gives up).
fn wait_first_audio(app: &App<io::Sink>) -> Option<Instant> {
    let deadline = Instant::now() + AUDIO_TIMEOUT;
    loop {
        if let Some(at) = app.player().status().first_audio_at {
            return Some(at);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_micros(100));
    }
}

/// A sink that plays nothing and notes when it was first given audio.
struct FirstWrite(Arc<OnceLock<Instant>>);

impl Sink for FirstWrite {
    fn begin(&mut self, _name: &str, _format: PcmFormat) -> Result<(), AudioError> {
        Ok(())
    }

    fn write(&mut self, pcm: &[u8]) -> Result<(), AudioError> {
        if !pcm.is_empty() && self.0.get().is_none() {
            let _ = self.0.set(Instant::now());
        }
        Ok(())
    }

    fn describe(&self) -> String {
        "first-write timer".into()
    }
}
