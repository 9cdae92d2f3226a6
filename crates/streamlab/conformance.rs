//! `streamlab conformance server ADDR|--exec CMD` and `streamlab conformance
//! client -- CMD…`: run the named checks of `streamlab-conformance` against
//! anybody's server or client and print the table, JSON, and/or JUnit XML.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use streamlab_conformance::{preflight, Config, ConformanceError, Dialect, Limits};

use crate::exit::{self, Exit};
use crate::values::ClientDialect;

/// A mistake on the command line that clap cannot see (a bad `--exec`
/// command): clap's own exit code for the mistakes it does see.
const USAGE: u8 = 2;

const EXIT_HELP: &str = "\
Checks (in order): list, download-integrity, unknown-command, song-not-found,
quit-goodbye, devices-status, split-command, coalesced-commands,
vanishing-client, concurrent-clients, over-long-input (docs/conformance.md).

With --exec CMD the checker starts the server itself: CMD runs through sh -c,
{port} (a free loopback port) and {addr} (127.0.0.1:PORT) filled in; the checks
run once it accepts connections; then it is stopped (SIGTERM to its process
group, SIGKILL 2 s later), also on a failure or Ctrl-C.

Exit status: 0 every check passed; 4 some checks failed; 1 the checks could
not start (bad address, no connection, a server that exited or never listened,
unknown --check, unreadable --music); 2 a mistake on the command line.

A teacher grading a student's server:
  streamlab conformance server 127.0.0.1:2635 --dialect original --junit report.xml
A student, in one command:
  streamlab conformance server --exec \"python3 server.py --port {port}\" --dialect original";

#[derive(Debug, Args)]
pub struct ConformanceArgs {
    #[command(subcommand)]
    pub target: Target,
}

#[derive(Debug, Subcommand)]
pub enum Target {
    /// Check a server (yours, ours, a student's in any language) against the protocol.
    Server(ServerCheckArgs),
    /// Check a client program: play the server side, once per check, and judge it.
    Client(ClientCheckArgs),
}

const CLIENT_HELP: &str = "\
Checks (in order): lists-songs, downloads-a-song, glued-marker, split-end-marker,
song-not-found, quit-goodbye, server-vanishes, slow-server (docs/conformance.md).

CMD runs once per check. In its arguments and in --stdin: {addr} is the fake
server's 127.0.0.1:PORT, {host} and {port} its parts, {song} the song to play,
{out} a fresh folder per run (a WAV written there must hold the exact audio).

Exit status: 0 every check passed; 4 some checks failed; 1 the checks could
not start (CMD not found, unknown --check); 2 a mistake on the command line.

A teacher checking a student's menu-driven Python client:
  streamlab conformance client --dialect original --stdin \"7\\n1\\n{song}\\n10\\n\" -- python3 client.py {host} {port}
Our own client:
  streamlab conformance client -- streamlab client {addr} --output wav:{out} --script \"list; play {song}; wait; quit\"";

#[derive(Debug, Args)]
#[command(after_help = CLIENT_HELP)]
// `--timeout-ms -5` is out of range, not an unknown flag `-5`.
#[command(allow_negative_numbers = true)]
pub struct ClientCheckArgs {
    /// Which protocol the client speaks.
    #[arg(long, value_enum, default_value_t = ClientDialect::Framed)]
    pub dialect: ClientDialect,
    /// How long the client may run per check before it is killed, in milliseconds.
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(100..=600_000))]
    pub timeout_ms: u64,
    /// Text for the client's standard input (\n, \t, \\ escapes; placeholders filled in).
    #[arg(long, value_name = "TEXT")]
    pub stdin: Option<String>,
    #[command(flatten)]
    pub report: ReportArgs,
    /// The client to check, with its arguments (after --).
    #[arg(last = true, required = true, value_name = "CMD")]
    pub command: Vec<String>,
}

/// Which checks run and how their results are written: the same for a
/// server and a client.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Print the results as JSON (schema streamlab-conformance/1) instead of the table.
    #[arg(long)]
    pub json: bool,
    /// Also write the results as JUnit XML to FILE.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Run only this check (repeatable).
    #[arg(long = "check", value_name = "NAME")]
    pub checks: Vec<String>,
}

#[derive(Debug, Args)]
#[command(after_help = EXIT_HELP)]
// `--timeout-ms -5` is out of range, not an unknown flag `-5`.
#[command(allow_negative_numbers = true)]
pub struct ServerCheckArgs {
    /// Server address: HOST:PORT, or HOST for port 2635.
    #[arg(required_unless_present = "exec", conflicts_with = "exec")]
    pub addr: Option<String>,
    /// Start the server with this shell command ({port} and {addr} filled in), check it, stop it.
    #[arg(long, value_name = "CMD")]
    pub exec: Option<String>,
    /// --exec: how long the server may take to accept a connection, in milliseconds.
    #[arg(long, default_value_t = 10_000, conflicts_with = "addr", value_parser = clap::value_parser!(u64).range(100..=600_000))]
    pub start_timeout_ms: u64,
    /// --exec: a fresh server for each check, so that a crash spoils only its own check.
    #[arg(long, conflicts_with = "addr")]
    pub restart_per_check: bool,
    /// Which protocol the server speaks.
    #[arg(long, value_enum, default_value_t = ClientDialect::Framed)]
    pub dialect: ClientDialect,
    /// The longest silence any read accepts, in milliseconds.
    #[arg(long, default_value_t = 3000, value_parser = clap::value_parser!(u64).range(100..=600_000))]
    pub timeout_ms: u64,
    /// Original dialect: the silence that ends a reply with no end marker (a list).
    #[arg(long, default_value_t = 250, value_parser = clap::value_parser!(u64).range(10..=10_000))]
    pub settle_ms: u64,
    /// The folder of WAV files the server serves: downloads must match them bit for bit.
    #[arg(long, value_name = "DIR")]
    pub music: Option<PathBuf>,
    #[command(flatten)]
    pub report: ReportArgs,
    /// Original dialect, devices-status: both clients from one address, to see
    /// whether the server keys att_status by IP address (the table notes it).
    #[arg(long)]
    pub same_source: bool,
}

pub fn run(args: ConformanceArgs) -> Result<()> {
    match args.target {
        Target::Server(args) => server(args),
        Target::Client(args) => client(args),
    }
}

fn dialect_of(d: ClientDialect) -> Dialect {
    match d {
        ClientDialect::Original => Dialect::Original,
        ClientDialect::Framed => Dialect::Framed,
    }
}

fn client(args: ClientCheckArgs) -> Result<()> {
    use streamlab_conformance::client::{self, ClientConfig};
    let only = (!args.report.checks.is_empty()).then_some(args.report.checks.as_slice());
    let mut config = ClientConfig::new(args.command, dialect_of(args.dialect));
    config.timeout = Duration::from_millis(args.timeout_ms);
    config.stdin = args.stdin.as_deref().map(client::unescape);
    let report = client::run_with(&config, only, &mut progress())?;
    finish(&report, args.report.json, args.report.junit.as_deref())
}

/// On a terminal, one line on stderr as each check finishes, so a slow
/// server is not a blank screen; nothing when stderr is a pipe or a file
/// (the table or JSON on stdout says it all).
fn progress() -> impl FnMut(&streamlab_conformance::CheckResult, usize) {
    let on = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let mut n = 0;
    move |result, total| {
        n += 1;
        if on {
            let verdict = if result.passed() { "PASS" } else { "FAIL" };
            eprintln!(
                "[{n}/{total}] {:<20} {verdict}  {} ms",
                result.name,
                result.elapsed.as_millis()
            );
        }
    }
}

/// Writes the JUnit file, prints the table or JSON, and turns failures
/// into an [`Exit`] with [`exit::CHECKS_FAILED`].
fn finish(
    report: &streamlab_conformance::Report,
    json: bool,
    junit: Option<&std::path::Path>,
) -> Result<()> {
    write_report(report, json, junit)?;
    // With --exec, a server that died says so on the one line too.
    let died = match report.launched.as_ref().and_then(|l| l.deaths.first()) {
        Some(death) => format!("; the server {death}"),
        None => String::new(),
    };
    match report.failed() {
        0 => Ok(()),
        failed => Err(Exit::new(
            exit::CHECKS_FAILED,
            format!(
                "{failed} of {} conformance checks failed{died}",
                report.results.len() - report.not_applicable()
            ),
        )
        .into()),
    }
}

/// Writes the JUnit file and prints the table or JSON.
fn write_report(
    report: &streamlab_conformance::Report,
    json: bool,
    junit: Option<&std::path::Path>,
) -> Result<()> {
    if let Some(path) = junit {
        std::fs::write(path, report.to_junit())
            .with_context(|| format!("writing {}", path.display()))?;
    }
    let out = match json {
        true => report.to_json() + "\n",
        false => report.render_text(true),
    };
    // A reader that went away (`… | head`) is not an error worth a line.
    let _ = std::io::Write::write_all(&mut std::io::stdout(), out.as_bytes());
    Ok(())
}

fn server(args: ServerCheckArgs) -> Result<()> {
    let dialect = dialect_of(args.dialect);
    let only = (!args.report.checks.is_empty()).then_some(args.report.checks.as_slice());
    streamlab_conformance::checks::select(only)?;
    let addr = match (&args.addr, &args.exec) {
        (Some(addr), _) => first_reachable(addr, dialect)?,
        // Filled in with the started server's address.
        (None, _) => std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
    };
    let mut config = Config::new(addr, dialect);
    config.limits = Limits {
        timeout: Duration::from_millis(args.timeout_ms),
        settle: Duration::from_millis(args.settle_ms),
    };
    config.same_source = args.same_source;
    if let Some(dir) = &args.music {
        let library = crate::music::load_library(Some(dir))?;
        config.reference = Some(library.load_all()?);
    }
    if let Some(command) = &args.exec {
        return exec(&config, command, &args, only);
    }
    let report = streamlab_conformance::run_with(&config, only, &mut progress())?;
    finish(&report, args.report.json, args.report.junit.as_deref())
}

/// `--exec CMD`: start the server, check it, stop it, on every path.
#[cfg(unix)]
fn exec(
    config: &Config,
    command: &str,
    args: &ServerCheckArgs,
    only: Option<&[String]>,
) -> Result<()> {
    use streamlab_conformance::launch::{self, Exec, ServerCommand, Stopper};
    let command =
        ServerCommand::parse(command).map_err(|e| Exit::new(USAGE, format!("--exec: {e}")))?;
    let exec = Exec {
        start_timeout: Duration::from_millis(args.start_timeout_ms),
        restart_per_check: args.restart_per_check,
        ..Exec::new(command)
    };
    let stopper = Stopper::new(launch::GRACE);
    let on_interrupt = stopper.clone();
    // Ctrl-C reaches the checker, not the server (in a group of its own):
    // stop the server, then end as an interrupted program does.
    ctrlc::set_handler(move || {
        eprintln!("streamlab: interrupted; stopping the server");
        on_interrupt.stop_now();
        std::process::exit(130);
    })
    .context("installing the Ctrl-C handler")?;
    let report = launch::run_exec(config, &exec, only, &stopper, &mut progress())?;
    if let Some(error) = report.start_error() {
        write_report(&report, args.report.json, args.report.junit.as_deref())?;
        anyhow::bail!("{error}");
    }
    finish(&report, args.report.json, args.report.junit.as_deref())
}

#[cfg(not(unix))]
fn exec(_: &Config, _: &str, _: &ServerCheckArgs, _: Option<&[String]>) -> Result<()> {
    Err(Exit::new(USAGE, "--exec needs a Unix system (process groups)").into())
}

/// The first address of `addr` that accepts a connection (`localhost` may
/// name `::1` first while the server listens on 127.0.0.1 only).
fn first_reachable(addr: &str, dialect: Dialect) -> Result<std::net::SocketAddr> {
    let mut last: Option<ConformanceError> = None;
    for candidate in crate::address::resolve(addr)? {
        match preflight(&Config::new(candidate, dialect)) {
            Ok(()) => return Ok(candidate),
            Err(e) => last = Some(e),
        }
    }
    Err(last.map_or_else(|| anyhow::anyhow!("no address to check"), Into::into))
}
