//! What each subcommand does, with errors given context for the one-line
//! message `main` prints.

use std::io::IsTerminal;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use streamlab_audio::library::{Library, ScanOptions};
use streamlab_audio::sink::{Paced, Sink, SinkSpec};
use streamlab_client::{menu, ClientError, ClientOptions};
use streamlab_proto::{Dialect, DialectChoice, ServerConfig};
use streamlab_server::{Server, ServerOptions};

use crate::cli::{Cli, ClientArgs, ClientDialect, Command, ServerArgs, ServerDialect};

pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Server(args) => server(args),
        Command::Client(args) => client(args),
        Command::Demo(args) => crate::demo::run(args),
        Command::Sim(args) => crate::sim::run(args),
        Command::Analyze(args) => crate::analyze::run(args),
        Command::Conformance(args) => crate::conformance::run(args),
    }
}

/// The bundled music: `./music` when run from the repository, else the
/// folder next to the sources this binary was built from.
pub fn default_music_dir() -> PathBuf {
    let here = PathBuf::from("music");
    if here.is_dir() {
        return here;
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("music")
}

/// Scans the songs of a folder (headers only: audio is read on first
/// use); warns about files it skipped.
pub fn load_library(dir: Option<&Path>) -> Result<Library> {
    scan_library(dir, ScanOptions::default())
}

fn scan_library(dir: Option<&Path>, options: ScanOptions) -> Result<Library> {
    let dir = dir.map(Path::to_path_buf).unwrap_or_else(default_music_dir);
    let lib = Library::scan_with(&dir, options)
        .with_context(|| format!("loading songs from {}", dir.display()))?;
    Ok(lib)
}

fn server(args: ServerArgs) -> Result<()> {
    // Every client holds one open file, its socket (the shutdown handle
    // shares it rather than duplicating it). The margin covers the
    // listener, stdio and the few refused clients still being closed.
    // The default soft limit (often 1024) would refuse clients long before
    // --max-clients does.
    let wanted = args.max_clients.saturating_add(64);
    match streamlab_server::raise_fd_limit() {
        Ok(Some(n)) if n < wanted => tracing::warn!(
            "only {n} open files allowed: --max-clients {} needs about {wanted}",
            args.max_clients
        ),
        Ok(_) => {}
        Err(e) => tracing::warn!("cannot raise the open-file limit: {e}"),
    }
    let scan = ScanOptions {
        follow_symlinks: args.follow_symlinks,
    };
    let library = scan_library(args.music.as_deref(), scan)?;
    let options = ServerOptions {
        session: ServerConfig {
            dialect: match args.dialect {
                ServerDialect::Auto => DialectChoice::Auto,
                ServerDialect::Original => DialectChoice::Original,
                ServerDialect::Framed => DialectChoice::Framed,
            },
            pause: Duration::from_millis(args.pause_ms),
            ..ServerConfig::default()
        },
        max_clients: args.max_clients as usize,
        max_per_address: args.max_per_address.map(|n| n as usize),
        greeting_timeout: Duration::from_secs(args.greeting_timeout),
        command_timeout: Duration::from_secs(args.command_timeout),
        write_timeout: Duration::from_secs(args.write_timeout),
    };
    let addr = SocketAddr::new(args.bind, args.port);
    let names = library.names().join(", ");
    let dir = library.dir().display().to_string();
    let server = Server::bind(addr, library, options)?;
    let stop = server.shutdown_handle();
    // Ctrl-C (SIGINT), and with ctrlc's "termination" feature SIGTERM (what
    // systemd and Docker stop a service with) and SIGHUP: the same
    // graceful stop, so each ends in "server stopped" and exit status 0.
    ctrlc::set_handler(move || {
        stop.shutdown();
        tracing::info!("stop signal (Ctrl-C, SIGTERM or SIGHUP): stopping");
    })
    .context("installing the stop-signal handler")?;
    tracing::info!("serving {names} from {dir}");
    server.run();
    Ok(())
}

/// `HOST:PORT`, `[V6]:PORT`, or a bare `HOST` meaning port 2635, resolved
/// to every address the name has, in the resolver's order (never empty).
pub fn resolve(addr: &str) -> Result<Vec<SocketAddr>> {
    let with_port = if addr.parse::<std::net::IpAddr>().is_ok() || !addr.contains(':') {
        format!("{addr}:{}", streamlab_proto::original::PORT)
    } else {
        addr.to_string()
    };
    let bracketed = match addr.parse::<std::net::Ipv6Addr>() {
        Ok(v6) => format!("[{v6}]:{}", streamlab_proto::original::PORT),
        Err(_) => with_port,
    };
    let well_formed = bracketed
        .rsplit_once(':')
        .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok());
    if !well_formed {
        bail!("invalid server address '{addr}' (expected HOST:PORT, or HOST for port 2635)");
    }
    let addrs: Vec<SocketAddr> = bracketed
        .to_socket_addrs()
        .with_context(|| format!("cannot resolve the server address '{addr}'"))?
        .collect();
    if addrs.is_empty() {
        bail!("server address '{addr}' resolves to nothing");
    }
    Ok(addrs)
}

/// Connects to the first of `addrs` that accepts, in order: `localhost`
/// may name `::1` first while the server listens on `127.0.0.1` only.
/// Only a failure to connect moves on to the next address; a server that
/// answers and refuses us (busy, say) is the answer. With none left, the
/// last failure is the error.
fn connect_any(
    opts: &mut ClientOptions,
    addrs: &[SocketAddr],
) -> Result<streamlab_client::Connection> {
    let mut last = None;
    for &addr in addrs {
        opts.addr = addr;
        match streamlab_client::open_connection(opts) {
            Err(e @ ClientError::Connect { .. }) => {
                tracing::debug!("{e}");
                last = Some(e);
            }
            result => return Ok(result?),
        }
    }
    Err(last.map_or_else(|| anyhow!("no server address to connect to"), Into::into))
}

/// Opens the requested output. With no request: the speaker if it works,
/// else a WAV file, saying so once.
pub fn open_output(spec: Option<&SinkSpec>) -> Result<Box<dyn Sink>> {
    let speaker = match spec {
        None => SinkSpec::Speaker(None),
        Some(s @ SinkSpec::Speaker(_)) => s.clone(),
        Some(other) => {
            return other
                .open()
                .with_context(|| format!("opening output '{other}'"))
        }
    };
    match speaker.open() {
        Ok(sink) => Ok(sink),
        Err(e) => {
            let path = std::env::temp_dir().join(format!("streamlab-{}.wav", std::process::id()));
            eprintln!(
                "streamlab: no speaker ({e}); writing the audio to {} instead",
                path.display()
            );
            // It stands in for the speaker, so it keeps the speaker's pace.
            let file = SinkSpec::Wav(path.clone())
                .open()
                .with_context(|| format!("opening {}", path.display()))?;
            Ok(Box::new(Paced::new(file)))
        }
    }
}

fn client(args: ClientArgs) -> Result<()> {
    // Check the script and the output before connecting: a typo fails fast.
    if let Some(script) = &args.script {
        menu::parse_script(script)?;
    }
    let output = match &args.output {
        Some(text) => Some(text.parse::<SinkSpec>().map_err(|e| anyhow!("{e}"))?),
        None => None,
    };
    let addrs = resolve(&args.addr)?;
    let mut opts = ClientOptions::new(addrs[0]);
    opts.dialect = match args.dialect {
        ClientDialect::Original => Dialect::Original,
        ClientDialect::Framed => Dialect::Framed,
    };
    opts.pause = Duration::from_millis(args.pause_ms);
    opts.settle = Duration::from_millis(args.settle_ms);
    opts.max_track_bytes = args.max_track_bytes;
    opts.track_stall = Duration::from_secs(args.stall_timeout);
    opts.stop_reading = args.stop_reading;
    // Connect first, so a missing server is the one error shown.
    let conn = connect_any(&mut opts, &addrs)?;
    let mut sink = open_output(output.as_ref())?;
    if args.realtime && !sink.realtime() {
        sink = Box::new(Paced::new(sink));
    }
    let stdout = std::io::stdout();
    let mut app = streamlab_client::start(conn, sink, stdout.lock())?;
    let stdin = std::io::stdin();
    match &args.script {
        Some(script) => menu::run_script(&mut app, script)?,
        None if stdin.is_terminal() => menu::run_interactive(&mut app, stdin.lock())?,
        None => menu::run_lines(&mut app, stdin.lock())?,
    }
    if let Some(e) = app.player().status().last_error {
        bail!("playback stopped: {e}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;
    use streamlab_proto::{PcmFormat, Track};

    #[test]
    fn the_client_tries_each_address_until_one_connects() {
        let track = Track {
            name: "tone".into(),
            format: PcmFormat::CD,
            pcm: vec![0u8; 4].into(),
        };
        let bind = "127.0.0.1:0".parse().unwrap();
        let server = Server::bind(bind, vec![track], ServerOptions::default())
            .unwrap()
            .spawn();
        // A port nobody listens on (any more): what `::1` is to a server
        // on 127.0.0.1 when `localhost` names `::1` first.
        let dead = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let mut opts = ClientOptions::new(dead);
        let conn = connect_any(&mut opts, &[dead, server.addr]);
        assert!(conn.is_ok(), "{:#}", conn.err().unwrap());
        assert_eq!(opts.addr, server.addr, "the second address served");
        let conn = connect_any(&mut opts, &[server.addr, dead]);
        assert!(conn.is_ok());
        assert_eq!(opts.addr, server.addr, "the first that works is taken");
        let err = connect_any(&mut opts, &[dead, dead]).err().unwrap();
        assert!(
            err.to_string()
                .starts_with(&format!("cannot connect to {dead}: ")),
            "{err}"
        );
    }
}
