//! A conformance checker for anybody's streamlab server, in either dialect.
//!
//! Teachers point it at a student's server (Python, C, Rust, anything that
//! listens on TCP) and get a pass/fail table with, for each failure, one
//! diagnosis that says what was sent, what the protocol expects and what came
//! back ([`Diagnosis`]). Every check ([`checks::ALL`]) opens its own
//! connections, so one failure does not spoil the next, and every read is
//! bounded by a timeout and every check by a deadline, so a hung or rude
//! server never hangs the checker.
//!
//! ```no_run
//! use streamlab_conformance::{run, Config};
//! use streamlab_proto::Dialect;
//!
//! let config = Config::new("127.0.0.1:2635".parse().unwrap(), Dialect::Original);
//! let report = run(&config, None)?;
//! print!("{}", report.render_text(true));
//! std::process::exit(if report.all_passed() { 0 } else { 4 });
//! # Ok::<(), streamlab_conformance::ConformanceError>(())
//! ```
//!
//! What each check sends and expects, per dialect, is in
//! `docs/conformance.md`; the checks' own descriptions say it in one line.
//! The checker can also start the server itself, check it and stop it
//! (`--exec`, [`launch`]), and check a client program ([`client`]).

pub mod checks;
pub mod client;
pub mod connection;
pub mod diagnosis;
pub mod exchanges;
#[cfg(unix)]
pub mod launch;
#[cfg(unix)]
pub mod process;
pub mod report;
pub mod source;

use std::cell::RefCell;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

pub use checks::Check;
pub use diagnosis::Diagnosis;
pub use report::{CheckResult, Launched, Report, Subject, Verdict, JSON_SCHEMA};
pub use streamlab_proto::{Dialect, Track};

/// What can stop the checker before any check runs.
#[derive(Debug, thiserror::Error)]
pub enum ConformanceError {
    #[error("cannot connect to {addr}: {reason}")]
    Connect { addr: SocketAddr, reason: String },
    #[error("no check named '{name}' (the checks: {known})")]
    UnknownCheck { name: String, known: String },
    #[error("no client command to check: put it after --")]
    NoCommand,
    #[error("cannot run '{program}': {reason}")]
    CannotRun { program: String, reason: String },
}

/// How long the checker waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The longest silence a read accepts (`--timeout-ms`, default 3 s).
    pub timeout: Duration,
    /// Original dialect: silence that ends a reply with no end marker, such
    /// as a song list (`--settle-ms`, default 250 ms).
    pub settle: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            timeout: Duration::from_millis(3000),
            settle: Duration::from_millis(250),
        }
    }
}

impl Limits {
    /// The most one check may take: twenty timeouts, at least 30 s. Long
    /// enough for a few songs on a slow link; short enough that a server
    /// trickling one byte at a time cannot hold the checker for long.
    pub fn check_budget(&self) -> Duration {
        (self.timeout * 20).max(Duration::from_secs(30))
    }
}

/// What to check and how.
#[derive(Debug, Clone)]
pub struct Config {
    pub addr: SocketAddr,
    pub dialect: Dialect,
    pub limits: Limits,
    /// The songs the server should be serving (`--music DIR`): downloads
    /// are then compared bit for bit with them.
    pub reference: Option<Vec<Track>>,
    /// Original dialect, `devices-status`: keep both clients on one source
    /// address (`--same-source`) instead of moving the second one to
    /// another loopback address. The check then accepts a status keyed by
    /// connection or by IP address, and its note says which it saw.
    pub same_source: bool,
}

impl Config {
    pub fn new(addr: SocketAddr, dialect: Dialect) -> Config {
        Config {
            addr,
            dialect,
            limits: Limits::default(),
            reference: None,
            same_source: false,
        }
    }
}

/// What a check gets: the configuration and the time it must end by.
pub struct CheckContext<'a> {
    pub config: &'a Config,
    pub deadline: Instant,
    /// What the check wants said beside its result ([`CheckContext::note`]).
    note: RefCell<Option<String>>,
}

impl CheckContext<'_> {
    pub fn dialect(&self) -> Dialect {
        self.config.dialect
    }

    pub fn limits(&self) -> &Limits {
        &self.config.limits
    }

    /// A new connection to the server, greeted in the framed dialect.
    pub fn connect(&self) -> Result<connection::Conn, Diagnosis> {
        exchanges::open(self)
    }

    /// Something the result should say even on a pass, such as which of
    /// two accepted behaviours the server showed (the last note wins).
    pub fn note(&self, text: impl Into<String>) {
        *self.note.borrow_mut() = Some(text.into());
    }
}

/// The items of `all` named in `only` (in `all`'s order), or all of them;
/// an unknown name is an error listing the known ones. Server and client
/// checks are chosen this way.
pub fn select_by_name<T>(
    all: &'static [T],
    name: fn(&T) -> &'static str,
    only: Option<&[String]>,
) -> Result<Vec<&'static T>, ConformanceError> {
    let Some(only) = only.filter(|o| !o.is_empty()) else {
        return Ok(all.iter().collect());
    };
    if let Some(unknown) = only
        .iter()
        .find(|n| !all.iter().any(|c| name(c) == n.as_str()))
    {
        let known: Vec<&str> = all.iter().map(name).collect();
        return Err(ConformanceError::UnknownCheck {
            name: unknown.clone(),
            known: known.join(", "),
        });
    }
    Ok(all
        .iter()
        .filter(|c| only.iter().any(|n| n == name(c)))
        .collect())
}

/// Tries one TCP connection, so that a wrong address is one error line
/// and not eleven failed checks.
///
/// A reset during `connect` means the handshake succeeded and the server
/// (a program that accepts and then resets) closed at once: there *is* a
/// server there, and the checks run and fail with a diagnosis (exit 4).
/// Whether the reset lands before or after `connect` returns is a race,
/// so both must end the same way.
pub fn preflight(config: &Config) -> Result<(), ConformanceError> {
    match std::net::TcpStream::connect_timeout(&config.addr, config.limits.timeout) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => Ok(()),
        Err(e) => Err(ConformanceError::Connect {
            addr: config.addr,
            reason: connection::connect_error(&e),
        }),
    }
}

/// Runs the checks named in `only` (all when `None`), in the order of
/// [`checks::ALL`], after a [`preflight`].
pub fn run(config: &Config, only: Option<&[String]>) -> Result<Report, ConformanceError> {
    run_with(config, only, &mut |_, _| {})
}

/// [`run`], telling `done` each result as its check finishes, with how
/// many checks there are (for a progress line: a whole run can take
/// half a minute).
pub fn run_with(
    config: &Config,
    only: Option<&[String]>,
    done: &mut dyn FnMut(&CheckResult, usize),
) -> Result<Report, ConformanceError> {
    let selected = checks::select(only)?;
    preflight(config)?;
    let results = run_each(&selected, |check| run_check(check, config), done);
    Ok(Report::new(config, results))
}

/// Runs `checks` in order with `run`, telling `done` each result as it
/// comes (with how many there are): the loop of a server's and a client's
/// run alike.
pub(crate) fn run_each<C>(
    checks: &[C],
    mut run: impl FnMut(&C) -> CheckResult,
    done: &mut dyn FnMut(&CheckResult, usize),
) -> Vec<CheckResult> {
    let mut results = Vec::with_capacity(checks.len());
    for check in checks {
        let result = run(check);
        done(&result, checks.len());
        results.push(result);
    }
    results
}

/// Runs one check on its own (no preflight).
pub fn run_check(check: &Check, config: &Config) -> CheckResult {
    let start = Instant::now();
    let ctx = CheckContext {
        config,
        deadline: start + config.limits.check_budget(),
        note: RefCell::new(None),
    };
    let verdict = match check.only {
        Some(d) if d != config.dialect => Verdict::NotApplicable(check.description(config.dialect)),
        _ => match (check.run)(&ctx) {
            Ok(()) => Verdict::Pass,
            Err(d) => Verdict::Fail(d),
        },
    };
    CheckResult {
        name: check.name,
        description: check.description(config.dialect).into(),
        verdict,
        elapsed: start.elapsed(),
        note: ctx.note.into_inner(),
    }
}
