//! The command line: every subcommand and flag, with its help text.

use std::net::IpAddr;
use std::path::PathBuf;

use std::time::Duration;

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
// A negative number is a value out of range, not an unknown flag.
#[command(allow_negative_numbers = true)]
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
}

#[derive(Debug, Args)]
#[command(after_help = streamlab_client::commands::HELP)]
// A negative number is a value out of range, not an unknown flag.
#[command(allow_negative_numbers = true)]
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
    /// The most one song may hold: bytes, or with K, M or G (KiB, MiB, GiB).
    /// A server that announces or sends more is cut off.
    #[arg(long, value_name = "SIZE", default_value_t = streamlab_client::DEFAULT_MAX_TRACK_BYTES, value_parser = parse_size)]
    pub max_track_bytes: u64,
    /// Seconds a download may go without a byte before it fails, and with it
    /// the connection.
    #[arg(long, value_name = "SECS", default_value_t = streamlab_client::DEFAULT_TRACK_STALL.as_secs(), value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub stall_timeout: u64,
    /// Stop reading the socket AT after connecting, for LEN (e.g.
    /// 50ms,1.45s): a slow reader, to watch the receive window close and
    /// the server probe it in Wireshark.
    #[arg(long, value_name = "AT,LEN", value_parser = parse_pause)]
    pub stop_reading: Option<(Duration, Duration)>,
}

/// `AT,LEN`: two durations (`50ms,1.45s`).
fn parse_pause(text: &str) -> Result<(Duration, Duration), String> {
    let (at, len) = text
        .split_once(',')
        .ok_or_else(|| format!("'{text}' is not AT,LEN like 50ms,1.45s"))?;
    Ok((crate::sim::duration(at)?, crate::sim::duration(len)?))
}

/// A size in bytes: `1048576`, `64K`, `512M`, `1G` (also `KiB`, `MiB`,
/// `GiB`, any case); the multiples are powers of 1024.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let shift = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kib" => 10,
        "m" | "mib" => 20,
        "g" | "gib" => 30,
        _ => return Err(format!("unknown unit in '{text}': use K, M or G")),
    };
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("'{text}' is not a size (e.g. 512M)"))?;
    match n.checked_mul(1 << shift) {
        Some(0) => Err("the size must be at least 1 byte".into()),
        Some(bytes) => Ok(bytes),
        None => Err(format!("'{text}' is too large")),
    }
}

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

    #[test]
    fn sizes_take_binary_units() {
        assert_eq!(parse_size("1048576"), Ok(1 << 20));
        assert_eq!(parse_size("64K"), Ok(64 << 10));
        assert_eq!(parse_size("512M"), Ok(512 << 20));
        assert_eq!(parse_size("512MiB"), Ok(512 << 20));
        assert_eq!(parse_size("1g"), Ok(1 << 30));
        assert!(parse_size("0").is_err());
        assert!(parse_size("12X").is_err());
        assert!(parse_size("M").is_err());
        assert!(parse_size("99999999999G").is_err());
        assert!(parses("streamlab client --max-track-bytes 100K"));
        assert!(!parses("streamlab client --max-track-bytes lots"));
        assert!(!parses("streamlab client --stall-timeout 0"));
    }

    #[test]
    fn the_servers_bounds_take_no_zero() {
        assert!(parses(
            "streamlab server --max-per-address 1 --greeting-timeout 1"
        ));
        assert!(parses("streamlab server --command-timeout 86400"));
        assert!(!parses("streamlab server --max-per-address 0"));
        assert!(!parses("streamlab server --greeting-timeout 0"));
        assert!(!parses("streamlab server --command-timeout 86401"));
        // Issue 13, item 14: refused as out of range, not as a flag `-5`.
        for line in [
            "streamlab server --write-timeout -5",
            "streamlab client --pause-ms -1",
        ] {
            let err = Cli::try_parse_from(line.split(' ')).expect_err(line);
            assert!(
                err.to_string().contains("invalid value '-"),
                "{line}: {err}"
            );
        }
    }
}
