//! `streamlab conformance server --exec CMD`: the checker starts the server
//! itself, checks it, and stops it — one command for a student or a
//! grading script, and no server left behind.
//!
//! ```text
//! streamlab conformance server --exec "python3 server.py --port {port}" --dialect original
//! ```
//!
//! The run ([`run_exec`]):
//!
//! 1. a free port on 127.0.0.1 (bind port 0, read it, let it go);
//! 2. `sh -c CMD`, `{port}` and `{addr}` filled in, in a process group of
//!    its own, its stdout and stderr kept (the last 64 KiB of each);
//! 3. wait until the port accepts a TCP connection: if the server exits
//!    first, or the start timeout passes, no check runs and the report
//!    says why, with the server's last lines;
//! 4. the checks, as against an address;
//! 5. SIGTERM to the group, SIGKILL after the grace, every process reaped
//!    — also when a check panics (`Drop`) or on Ctrl-C ([`Stopper`]).
//!
//! One server serves every check, as when a student starts it by hand, so
//! the verdicts are those of the two-terminal run. A server that dies
//! during a check fails that check with a hint saying so, and every later
//! check fails without running: "the server is no longer running (it died
//! during …)". [`Exec::restart_per_check`] starts a fresh server for each
//! check instead, so one crash spoils only its own check.

pub mod server;
pub mod tail;

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use crate::report::{CheckResult, Launched, Report, Verdict};
use crate::{checks, run_check, run_each, Check, Config, ConformanceError, Diagnosis};
pub use server::{ServerProcess, StartFailure, Stopper};

/// A mistake in the `--exec` command, found before anything runs.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ExecError {
    #[error("the command is empty")]
    Empty,
    #[error(
        "'{0}' does not say where to listen: put {{port}} (or {{addr}}) in it, \
         as in \"python3 server.py --port {{port}}\""
    )]
    NoPort(String),
}

/// The `--exec` command, its placeholders not yet filled in.
///
/// ```text
/// {port}  the free loopback port chosen for this start
/// {addr}  127.0.0.1:{port}
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerCommand {
    template: String,
}

impl ServerCommand {
    /// Refuses a blank command and one with neither `{port}` nor `{addr}`:
    /// the server could not know where the checker will look.
    pub fn parse(template: &str) -> Result<ServerCommand, ExecError> {
        if template.trim().is_empty() {
            return Err(ExecError::Empty);
        }
        if !template.contains("{port}") && !template.contains("{addr}") {
            return Err(ExecError::NoPort(template.to_string()));
        }
        Ok(ServerCommand {
            template: template.to_string(),
        })
    }

    pub fn template(&self) -> &str {
        &self.template
    }

    /// The shell command for a server on 127.0.0.1:`port`.
    pub fn for_port(&self, port: u16) -> String {
        self.template
            .replace("{addr}", &format!("127.0.0.1:{port}"))
            .replace("{port}", &port.to_string())
    }
}

/// How to start and stop the server.
#[derive(Debug, Clone)]
pub struct Exec {
    pub command: ServerCommand,
    /// How long it may take to accept a connection (`--start-timeout-ms`,
    /// default 10 s).
    pub start_timeout: Duration,
    /// A fresh server for each check (`--restart-per-check`).
    pub restart_per_check: bool,
}

impl Exec {
    pub fn new(command: ServerCommand) -> Exec {
        Exec {
            command,
            start_timeout: Duration::from_secs(10),
            restart_per_check: false,
        }
    }
}

/// Between SIGTERM and SIGKILL: time for a server that cleans up on
/// SIGTERM, short enough that a stuck one costs little.
pub const GRACE: Duration = Duration::from_secs(2);
/// After a failed check, how long to wait for a server that is dying of
/// it: the check may have seen the connection close before the exit.
const DYING: Duration = Duration::from_millis(100);

/// Starts the server, runs the checks named in `only` (all when `None`)
/// against it as [`crate::run_with`] does, and stops it. `config.addr` is
/// ignored: the server's is used. A server that never listens is not an
/// `Err`: the report says why ([`Report::start_error`]) and every check
/// fails without running.
pub fn run_exec(
    config: &Config,
    exec: &Exec,
    only: Option<&[String]>,
    stopper: &Stopper,
    done: &mut dyn FnMut(&CheckResult, usize),
) -> Result<Report, ConformanceError> {
    let selected = checks::select(only)?;
    let mut launched = Launched {
        command: exec.command.template().to_string(),
        restart_per_check: exec.restart_per_check,
        ..Launched::default()
    };
    let mut config = config.clone();
    let first = match ServerProcess::start(exec, stopper) {
        Ok(server) => server,
        Err(failure) => {
            config.addr = failure.addr;
            let why = not_started(&failure, exec.start_timeout);
            let results = selected.iter().map(|c| not_run(c, &config, &why)).collect();
            launched.start_error = Some(failure.line());
            launched.output = failure.output;
            return Ok(Report::new(&config, results).with_launched(launched));
        }
    };
    config.addr = first.addr;
    launched.starts = 1;
    let mut run = Run {
        exec,
        stopper,
        config: &config,
        server: Some(first),
        served: false,
        died: None,
        launched,
    };
    let results = run_each(&selected, |check| run.check(check), done);
    run.retire();
    Ok(Report::new(&config, results).with_launched(run.launched))
}

/// The state of an `--exec` run between checks.
struct Run<'a> {
    exec: &'a Exec,
    stopper: &'a Stopper,
    config: &'a Config,
    /// The server now running; `None` once it died (one server per run)
    /// or failed to start again (a fresh server per check).
    server: Option<ServerProcess>,
    /// Whether `server` has already served a check (then a fresh one is
    /// started for the next check, with `restart_per_check`).
    served: bool,
    /// The check it died during, and how it ended (one server per run):
    /// `download-integrity: it exited with status 1`.
    died: Option<String>,
    launched: Launched,
}

impl Run<'_> {
    fn check(&mut self, check: &'static Check) -> CheckResult {
        if self.exec.restart_per_check && (self.served || self.server.is_none()) {
            self.retire();
            match ServerProcess::start(self.exec, self.stopper) {
                Ok(server) => {
                    self.launched.starts += 1;
                    self.server = Some(server);
                    self.served = false;
                }
                Err(failure) => {
                    let why = not_started(&failure, self.exec.start_timeout);
                    self.launched.output = failure.output;
                    return not_run(check, self.config, &why);
                }
            }
        }
        let Some(server) = &self.server else {
            let during = self.died.as_deref().unwrap_or("an earlier check");
            let why = Diagnosis::new(
                "nothing (the check did not run)",
                format!("a server running on {}", self.config.addr),
                format!("the server is no longer running (it died during {during})"),
            );
            return not_run(check, self.config, &why);
        };
        let mut config = self.config.clone();
        config.addr = server.addr;
        self.served = true;
        let mut result = run_check(check, &config);
        let patience = if result.passed() {
            Duration::ZERO
        } else {
            DYING
        };
        if let Some(ended) = server.ended_within(patience) {
            died_during(&mut result, ended);
            self.launched
                .deaths
                .push(format!("{ended} during {}", check.name));
            self.died = Some(format!("{}: it {ended}", check.name));
            self.retire();
        }
        result
    }

    /// Stops the server, keeping its last output if it had died.
    fn retire(&mut self) {
        if let Some(mut server) = self.server.take() {
            let died = server.ended_within(Duration::ZERO).is_some();
            server.stop();
            if died {
                self.launched.output = server.last_output();
            }
        }
    }
}

/// A check's result, when the server ended during it: a failure says so in
/// its hint; a pass keeps its verdict and gains a note.
fn died_during(result: &mut CheckResult, ended: crate::process::Ended) {
    let line = format!("the server {ended} during this check (its last output is in the report)");
    match &mut result.verdict {
        Verdict::Fail(d) => {
            d.hint = Some(match d.hint.take() {
                Some(hint) => format!("{hint}; {line}"),
                None => line,
            })
        }
        Verdict::Pass | Verdict::NotApplicable(_) => result.note = Some(line),
    }
}

/// The diagnosis of every check when the server did not start.
fn not_started(failure: &StartFailure, timeout: Duration) -> Diagnosis {
    let d = Diagnosis::new(
        "nothing (the check did not run)",
        format!(
            "the server accepting connections on {} within {} ms of its start",
            failure.addr,
            timeout.as_millis()
        ),
        failure.what.clone(),
    );
    match failure.output.last() {
        Some(last) => d.hint(format!("its last output: {last}")),
        None => d,
    }
}

/// A failed result for a check that could not run.
fn not_run(check: &Check, config: &Config, why: &Diagnosis) -> CheckResult {
    CheckResult {
        name: check.name,
        description: check.description(config.dialect).into(),
        verdict: Verdict::Fail(why.clone()),
        elapsed: Duration::ZERO,
        note: None,
    }
}

/// An address no server is on yet, for a [`Config`] that `run_exec` fills.
pub fn placeholder_addr() -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, 0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn a_command_must_say_where_to_listen() {
        assert_eq!(ServerCommand::parse("  "), Err(ExecError::Empty));
        assert_eq!(
            ServerCommand::parse("python3 server.py"),
            Err(ExecError::NoPort("python3 server.py".into()))
        );
        let c = ServerCommand::parse("s --port {port} --at {addr}").unwrap();
        assert_eq!(c.for_port(4711), "s --port 4711 --at 127.0.0.1:4711");
    }

    #[test]
    fn the_time_it_takes_is_bounded_by_the_start_timeout() {
        let exec = Exec {
            start_timeout: Duration::from_millis(300),
            ..Exec::new(ServerCommand::parse("exec sleep 30 # {port}").unwrap())
        };
        let stopper = Stopper::new(GRACE);
        let start = Instant::now();
        let failure = ServerProcess::start(&exec, &stopper)
            .err()
            .expect("sleep never listens");
        assert!(start.elapsed() < Duration::from_secs(5), "{failure:?}");
        assert!(
            failure.what.contains("did not accept connections"),
            "{}",
            failure.what
        );
    }
}
