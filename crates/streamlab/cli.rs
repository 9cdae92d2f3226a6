//! The command line: every subcommand and flag, with its help text.

use std::net::IpAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// A hands-on kit for learning how applications ride on TCP: a music
/// streaming server and client that speak the original student protocol
/// and a framed one.
#[derive(Debug, Parser)]
#[command(name = "streamlab", version, about, long_about = None)]
pub struct Cli {
    /// More log output on stderr (-v: debug, -vv: trace).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Only errors on stderr.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the WAV songs of a folder over TCP.
    Server(ServerArgs),
    /// Connect to a server: the original menu, or a script.
    Client(ClientArgs),
    /// A tour: a server and client on loopback, a simulated lossy network, the analyzer.
    Demo(DemoArgs),
    /// Run a simulated network scenario (deterministic) and write its capture.
    Sim(crate::sim::SimArgs),
    /// Read a pcap/pcapng capture: endpoints, commands, track markers, TCP events.
    #[command(after_help = crate::analyze::EXIT_HELP)]
    Analyze(crate::analyze::AnalyzeArgs),
    /// Check a server or a client against the protocol: named checks, diagnoses, JSON, JUnit.
    Conformance(crate::conformance::ConformanceArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ServerDialect {
    /// Tell from the client's first bytes (framed clients say hello).
    Auto,
    /// The original student protocol only.
    Original,
    /// The line-based, length-framed protocol only.
    Framed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ClientDialect {
    Original,
    Framed,
}

#[derive(Debug, Args)]
pub struct ServerArgs {
    /// Address to listen on (0.0.0.0 or :: for every interface).
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: IpAddr,
    /// TCP port (the original used 2635; 0 picks a free one).
    #[arg(long, default_value_t = 2635)]
    pub port: u16,
    /// Folder of WAV files to serve [default: the bundled music/].
    #[arg(long)]
    pub music: Option<PathBuf>,
    /// Also serve symlinks in the music folder that lead outside it (by
    /// default they are skipped, with a warning).
    #[arg(long)]
    pub follow_symlinks: bool,
    /// Clients served at once; more get a busy reply.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub max_clients: u64,
    /// Which protocol to speak.
    #[arg(long, value_enum, default_value_t = ServerDialect::Auto)]
    pub dialect: ServerDialect,
    /// Original dialect: milliseconds of silence after each control message,
    /// so the original client reads it alone (0 shows why it is needed).
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u64).range(0..=10_000))]
    pub pause_ms: u64,
    /// Drop a client that takes less than 64 KiB of data in this many
    /// seconds while the server has data for it.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
    pub write_timeout: u64,
}

#[derive(Debug, Args)]
#[command(after_help = streamlab_client::commands::HELP)]
pub struct ClientArgs {
    /// Server address: HOST:PORT, or HOST for port 2635.
    #[arg(default_value = "127.0.0.1:2635")]
    pub addr: String,
    /// Which protocol to speak.
    #[arg(long, value_enum, default_value_t = ClientDialect::Framed)]
    pub dialect: ClientDialect,
    /// Where audio goes: speaker, speaker:NAME, wav:PATH (a file, or a folder
    /// for one file per song) or null [default: speaker, else a WAV file].
    #[arg(long)]
    pub output: Option<String>,
    /// Play a file or null output at the audio's own speed, as a speaker
    /// would (they otherwise take the audio as fast as it arrives).
    #[arg(long)]
    pub realtime: bool,
    /// Run these commands instead of the menu, e.g. "list; play ode_to_joy; wait; quit".
    #[arg(long)]
    pub script: Option<String>,
    /// Original dialect: milliseconds to wait after a command with no reply.
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u64).range(0..=10_000))]
    pub pause_ms: u64,
    /// Original dialect: milliseconds of silence that end a list reply.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(10..=10_000))]
    pub settle_ms: u64,
}

#[derive(Debug, Args)]
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

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn parses(args: &str) -> bool {
        Cli::try_parse_from(args.split_whitespace()).is_ok()
    }

    #[test]
    fn the_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn pauses_and_settle_times_are_bounded() {
        assert!(parses("streamlab server --pause-ms 0"));
        assert!(parses("streamlab server --pause-ms 10000"));
        assert!(!parses("streamlab server --pause-ms 10001"));
        assert!(parses("streamlab client --pause-ms 10000"));
        assert!(!parses("streamlab client --pause-ms 10001"));
        assert!(!parses("streamlab client --settle-ms 9"));
        assert!(parses("streamlab client --settle-ms 10"));
        assert!(parses("streamlab client --settle-ms 10000"));
        assert!(!parses("streamlab client --settle-ms 10001"));
    }
}
