//! `streamlab demo`: a tour of the whole kit in one command, in seconds.
//!
//! 1. A real server on 127.0.0.1 (a free port) and the same scripted
//!    client twice — framed dialect, then original — each checked to have
//!    played exactly the audio of the served WAV file.
//! 2. The same song over a simulated network losing 5% of its frames each
//!    way: TCP's retransmissions deliver it bit-exact, and the run is
//!    written as a pcapng capture.
//! 3. The analyzer's report on that capture: endpoints, commands, where
//!    the track markers lie, what TCP did — and a check that the track it
//!    found is the song's size.
//!
//! It ends by pointing to the labs.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::Args;
use streamlab_analyzer::report::{self, Filter};
use streamlab_analyzer::scan::{AudioOut, CapturedTrack};
use streamlab_audio::sink::Sink;
use streamlab_audio::AudioError;
use streamlab_client::{menu, ClientOptions};
use streamlab_netsim::scenario::{self, Options};
use streamlab_proto::{Dialect, PcmFormat, ServerConfig, Track};
use streamlab_server::{Server, ServerOptions};

use crate::music::load_library;

#[derive(Debug, Args)]
// A negative number is a value out of range, not an unknown flag.
#[command(allow_negative_numbers = true)]
pub struct DemoArgs {
    /// Folder of WAV files to serve [default: the bundled music/].
    #[arg(long)]
    pub music: Option<PathBuf>,
    /// The song the client plays [default: ode_to_joy, else the first one].
    #[arg(long)]
    pub song: Option<String>,
    /// Where the tour writes its simulated capture [default: a file in the
    /// system's temporary folder].
    #[arg(long, value_name = "FILE")]
    pub capture: Option<PathBuf>,
}

/// A sink that keeps what it is given, so the demo can compare it.
#[derive(Clone, Default)]
struct KeptAudio(Arc<Mutex<Vec<u8>>>);

impl Sink for KeptAudio {
    fn begin(&mut self, _name: &str, _format: PcmFormat) -> Result<(), AudioError> {
        Ok(())
    }
    fn write(&mut self, pcm: &[u8]) -> Result<(), AudioError> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(pcm);
        Ok(())
    }
    fn describe(&self) -> String {
        "memory".into()
    }
}

pub fn run(args: DemoArgs) -> Result<()> {
    let library = load_library(args.music.as_deref())?;
    let song = match &args.song {
        Some(s) => library
            .find(s)
            .with_context(|| format!("no song named '{s}' in {}", library.dir().display()))?,
        None => library
            .find("ode_to_joy")
            .or_else(|| library.songs().first())
            .context("the library is empty")?,
    };
    // The demo compares what the clients play with this.
    let song = song.track()?;
    let (songs, dir) = (library.songs().len(), library.dir().display().to_string());
    let options = ServerOptions {
        session: ServerConfig::default(),
        ..ServerOptions::default()
    };
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
    let server = Server::bind(addr, library, options)?.spawn();
    println!("streamlab demo: a tour of the kit — a real server and client, a simulated network, the analyzer\n");
    println!(
        "server: listening on {} with {} songs from {} (dialect auto)",
        server.addr, songs, dir
    );
    let script = format!("list; play {}; wait; devices; quit", song.name);
    for (n, dialect) in [(1, Dialect::Framed), (2, Dialect::Original)] {
        // The previous client said goodbye; let the server forget it so the
        // device list shows only this one.
        for _ in 0..1000 {
            if server.shared.registry.is_empty() {
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        println!("\nclient {n}: the {dialect} dialect");
        let recorder = KeptAudio::default();
        let mut opts = ClientOptions::new(server.addr);
        opts.dialect = dialect;
        let stdout = std::io::stdout();
        let mut app = streamlab_client::connect(&opts, Box::new(recorder.clone()), stdout.lock())
            .with_context(|| format!("client {n} connecting to {}", server.addr))?;
        menu::run_script(&mut app, &script)?;
        drop(app);
        let played = recorder.0.lock().unwrap_or_else(|p| p.into_inner()).clone();
        if played[..] != song.pcm[..] {
            bail!(
                "client {n} played {} bytes that differ from the {} bytes of '{}'",
                played.len(),
                song.pcm.len(),
                song.name
            );
        }
        println!(
            "check: the {} bytes played are exactly the audio of {}.wav",
            played.len(),
            song.name
        );
    }
    server.shutdown();
    let capture = args
        .capture
        .clone()
        .unwrap_or_else(|| std::env::temp_dir().join("streamlab-demo.pcapng"));
    simulate(&song, &capture)?;
    analyze(&song, &capture)?;
    println!("\nNext: the labs, from labs/01-first-stream/README.md. Or try it in two terminals:");
    // The release build the demo just used: no second, slower build.
    println!("  cargo run --release -- server");
    println!("  cargo run --release -- client  (type 7 to list, 1 to play, 10 to quit)");
    println!("(or `cargo install --locked --path .` once, then `streamlab server` and `streamlab client`)");
    Ok(())
}

/// Step 2: the song over a simulated lossy network, written as a capture.
fn simulate(song: &Track, capture: &Path) -> Result<()> {
    println!(
        "\nsimulated: {} over links losing 5% of frames each way",
        song.name
    );
    let mut run = scenario::lossy_with(&Options::new(1), song.clone());
    run.sim
        .run_until_idle(5_000_000)
        .context("simulating the lossy download")?;
    let summary = run.summary();
    for line in summary
        .lines()
        .filter(|l| l.starts_with("network:") || l.starts_with("wire:") || l.contains("track "))
    {
        println!("{line}");
    }
    if run.bit_exact() != Some(true) {
        bail!(
            "the simulated download of '{}' was not bit-exact",
            song.name
        );
    }
    run.sim
        .save_pcapng(capture)
        .with_context(|| format!("writing {}", capture.display()))?;
    println!("capture: {} (open it in Wireshark)", capture.display());
    Ok(())
}

/// Step 3: the analyzer reads the capture back.
fn analyze(song: &Track, capture: &Path) -> Result<()> {
    println!("\nanalyzed: streamlab analyze {}", capture.display());
    let file =
        std::fs::File::open(capture).with_context(|| format!("opening {}", capture.display()))?;
    let name = capture.display().to_string();
    let heard = KeptAudio::default();
    let out = Heard(heard.clone());
    let mut out = Some(out);
    let analysis = report::analyze(
        &name,
        std::io::BufReader::new(file),
        &Filter::default(),
        &mut |_| out.take().map(|o| Box::new(o) as Box<dyn AudioOut>),
    )
    .with_context(|| format!("reading {name}"))?;
    let text = report::text::render(&analysis);
    // The first line names the file; the rest is the report.
    for line in text.lines().skip(1) {
        println!("{line}");
    }
    let found = heard.0.lock().unwrap_or_else(|p| p.into_inner()).clone();
    if found[..] != song.pcm[..] {
        bail!(
            "the analyzer found {} bytes of audio that are not the {} bytes of '{}'",
            found.len(),
            song.pcm.len(),
            song.name
        );
    }
    println!(
        "check: the {} bytes of audio the analyzer found are exactly the audio of {}.wav",
        found.len(),
        song.name
    );
    Ok(())
}

/// Gives the analyzer's track audio to a [`KeptAudio`].
struct Heard(KeptAudio);

impl AudioOut for Heard {
    fn start(&mut self, _index: usize, _track: &CapturedTrack) {}
    fn audio(&mut self, _index: usize, bytes: &[u8]) {
        self.0
             .0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(bytes);
    }
    fn end(&mut self, _index: usize, _track: &CapturedTrack) {}
}
