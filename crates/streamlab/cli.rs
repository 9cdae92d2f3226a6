//! The command line: the global flags and the list of subcommands. Each
//! subcommand's flags live in its own module, beside what it does.

use clap::{Parser, Subcommand};

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
    Server(crate::server::ServerArgs),
    /// Connect to a server: the original menu, or a script.
    Client(crate::client::ClientArgs),
    /// A tour: a server and client on loopback, a simulated lossy network, the analyzer.
    Demo(crate::demo::DemoArgs),
    /// Run a simulated network scenario (deterministic) and write its capture.
    Sim(crate::sim::SimArgs),
    /// Read a pcap/pcapng capture: endpoints, commands, track markers, TCP events.
    #[command(after_help = crate::analyze::EXIT_HELP)]
    Analyze(crate::analyze::AnalyzeArgs),
    /// Check a server or a client against the protocol: named checks, diagnoses, JSON, JUnit.
    Conformance(crate::conformance::ConformanceArgs),
    /// Grade a student's hand-in for a lab (or print the student's answer key).
    #[command(after_help = crate::check::CHECK_HELP)]
    Check(crate::check::CheckArgs),
    /// Grade a folder of submissions: CSV, JUnit XML and an HTML page.
    #[command(after_help = crate::grade::GRADE_HELP)]
    Grade(crate::grade::GradeArgs),
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
    fn sizes_and_stalls_are_checked_when_parsed() {
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
