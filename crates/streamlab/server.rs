//! `streamlab server`: serve the songs of a folder over TCP.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use streamlab_audio::library::ScanOptions;
use streamlab_course::{Student, Variant};
use streamlab_proto::{DialectChoice, ServerConfig};
use streamlab_server::{Server, ServerOptions};

use crate::music::scan_library;
use crate::values::bandwidth;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ServerDialect {
    /// Tell from the client's first bytes (framed clients say hello).
    Auto,
    /// The original student protocol only.
    Original,
    /// The line-based, length-framed protocol only.
    Framed,
}

#[derive(Debug, Args)]
// A negative number is a value out of range, not an unknown flag.
#[command(allow_negative_numbers = true)]
pub struct ServerArgs {
    /// Address to listen on (0.0.0.0 or :: for every interface).
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: IpAddr,
    /// TCP port (the original used 2635; 0 picks a free one) [default:
    /// 2635, or the student's own port with --student].
    #[arg(long)]
    pub port: Option<u16>,
    /// A student's ID (a matriculation number): listen on that student's
    /// own port, so a lab's capture shows whose server it was; the log
    /// says the port and the student's song for labs 1 and 2.
    #[arg(long, value_name = "ID")]
    pub student: Option<String>,
    /// Folder of WAV files to serve [default: the bundled music/].
    #[arg(long)]
    pub music: Option<PathBuf>,
    /// Also serve symlinks in the music folder that lead outside it (by
    /// default they are skipped, with a warning).
    #[arg(long)]
    pub follow_symlinks: bool,
    /// Connections held at once. At the limit a newcomer takes the place of
    /// one that has not sent a valid command yet, or gets a busy reply.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub max_clients: u64,
    /// Connections one address (an IPv4 address, an IPv6 /64) may hold;
    /// more get a busy reply [default: 16, and no cap on loopback].
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub max_per_address: Option<u64>,
    /// Seconds a new connection has to send its first valid command.
    #[arg(long, default_value_t = streamlab_server::admission::GREETING_TIMEOUT.as_secs(), value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub greeting_timeout: u64,
    /// Seconds a command may stay incomplete (a line without its newline).
    #[arg(long, default_value_t = streamlab_server::admission::COMMAND_TIMEOUT.as_secs(), value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub command_timeout: u64,
    /// Which protocol to speak.
    #[arg(long, value_enum, default_value_t = ServerDialect::Auto)]
    pub dialect: ServerDialect,
    /// Original dialect: milliseconds of silence after each control message,
    /// so the original client reads it alone (0 shows why it is needed).
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u64).range(0..=10_000))]
    pub pause_ms: u64,
    /// Drop a client that goes this many seconds without taking another
    /// 64 KiB while the server has data for it (checked every 0.1 s).
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
    pub write_timeout: u64,
    /// Send to each client at most this many bits per second (e.g. 1M,
    /// 512k), so a song downloads in seconds even on loopback [default:
    /// as fast as TCP takes it].
    #[arg(long, value_name = "RATE", value_parser = bandwidth)]
    pub rate: Option<u64>,
}

pub fn run(args: ServerArgs) -> Result<()> {
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
        rate: args.rate,
    };
    let student = args
        .student
        .as_deref()
        .map(Student::new)
        .transpose()?
        .map(Variant::new);
    let port = match (args.port, &student) {
        (Some(p), _) => p,
        (None, Some(v)) => v.port(),
        (None, None) => 2635,
    };
    if let Some(v) = &student {
        tracing::info!(
            "student {}: port {} (the lab steps' 2635 becomes {}); your song for labs 1 and 2: {}",
            v.student,
            v.port(),
            v.port(),
            v.song()
        );
        if port != v.port() {
            tracing::warn!(
                "--port {port} is not student {}'s port {}: a lab check of this server's capture will say it is not the student's",
                v.student,
                v.port()
            );
        }
    }
    let addr = SocketAddr::new(args.bind, port);
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
