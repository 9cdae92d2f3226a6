//! `streamlab demo`: the whole kit in one command, on loopback.
//!
//! It starts a real server on 127.0.0.1 (a free port), then runs the same
//! scripted client twice — once in the framed dialect, once in the original
//! one — and checks that the audio each one played is byte for byte the
//! audio of the served WAV file.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use streamlab_audio::sink::Sink;
use streamlab_audio::AudioError;
use streamlab_client::{menu, ClientOptions};
use streamlab_proto::{Dialect, PcmFormat, ServerConfig};
use streamlab_server::{Server, ServerOptions};

use crate::cli::DemoArgs;
use crate::run::load_library;

/// A sink that keeps what it is given, so the demo can compare it.
#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Vec<u8>>>);

impl Sink for Recorder {
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
            .or_else(|| library.tracks().first().cloned())
            .context("the library is empty")?,
    };
    let options = ServerOptions {
        session: ServerConfig::default(),
        ..ServerOptions::default()
    };
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
    let server = Server::bind(addr, library.tracks().to_vec(), options)?.spawn();
    println!("streamlab demo: a real server and client on loopback\n");
    println!(
        "server: listening on {} with {} songs from {} (dialect auto)",
        server.addr,
        library.tracks().len(),
        library.dir().display()
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
        let recorder = Recorder::default();
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
    println!("\nTry it in two terminals:");
    println!("  cargo run -- server");
    println!("  cargo run -- client            (type 7 to list, 1 to play, 10 to quit)");
    Ok(())
}
