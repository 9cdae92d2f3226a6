//! `streamlab`: the kit's one command line tool.
//!
//! A thin layer over the library crates, in the style of ripgrep: `main`
//! parses the command line ([`cli`]), hands it to one command's module
//! ([`run`]), prints at most one error line and chooses the exit code. The
//! command modules share only the helpers below them (`address`, `exit`,
//! `music`, `values`); no command imports another (`sim`'s `--kernel`
//! mode is its child module).
//! Logs go to stderr; results go to stdout.

// The commands, one module each; `cli` lists them.
mod analyze;
mod check;
mod client;
mod conformance;
mod demo;
mod grade;
mod server;
mod sim;

// What the commands share, below them: none of these imports a command.
mod address;
mod exit;
mod graphs;
mod music;
mod progress;
mod values;

mod cli;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    // The server keeps SIGPIPE ignored: a closed log pipe must not stop it
    // from shutting down cleanly (see `QuietStderr`). So does the client
    // checker: a client that exits without reading its --stdin must not
    // kill the checker that writes it.
    if !matches!(
        cli.command,
        cli::Command::Server(_)
            | cli::Command::Conformance(conformance::ConformanceArgs {
                target: conformance::Target::Client(_)
            })
    ) {
        restore_sigpipe();
    }
    init_logging(cli.verbose, cli.quiet, &cli.command);
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            use std::io::Write;
            let _ = writeln!(std::io::stderr(), "streamlab: {e:#}");
            e.downcast_ref::<exit::Exit>()
                .map_or(ExitCode::FAILURE, |x| ExitCode::from(x.code))
        }
    }
}

/// Hands the parsed command line to its command.
fn run(cli: cli::Cli) -> anyhow::Result<()> {
    match cli.command {
        cli::Command::Server(args) => server::run(args),
        cli::Command::Client(args) => client::run(args),
        cli::Command::Demo(args) => demo::run(args),
        cli::Command::Sim(args) => sim::run(args),
        cli::Command::Analyze(args) => analyze::run(args),
        cli::Command::Conformance(args) => conformance::run(args),
        cli::Command::Check(args) => check::run(args),
        cli::Command::Grade(args) => grade::run(args),
    }
}

/// Rust ignores SIGPIPE, so printing to a closed pipe (`streamlab … | head`)
/// is an error, and `println!` panics on it. Unix tools instead end
/// quietly when their reader goes away: restore that.
fn restore_sigpipe() {
    #[cfg(unix)]
    // SAFETY: setting a signal's disposition to the default, before any
    // other thread exists, has no preconditions.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

fn init_logging(verbose: u8, quiet: bool, command: &cli::Command) {
    use tracing_subscriber::EnvFilter;
    let default = match (quiet, verbose, command) {
        (true, _, _) => "error",
        (_, 0, cli::Command::Server(_)) => "info",
        (_, 0, _) => "warn",
        (_, 1, _) => "debug",
        _ => "trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(|| QuietStderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .init();
}

/// Standard error that swallows write errors: when the log's reader goes
/// away (`streamlab server | tee log`, then Ctrl-C), the server must still
/// shut down cleanly instead of panicking on a broken pipe.
struct QuietStderr;

impl std::io::Write for QuietStderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let _ = std::io::stderr().write_all(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let _ = std::io::stderr().flush();
        Ok(())
    }
}
