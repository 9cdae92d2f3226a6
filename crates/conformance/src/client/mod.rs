//! The client checker: `streamlab conformance client -- CMD ARGS…` plays
//! the server side and checks a client program, the way the server checker
//! checks a server: named checks, a [`Diagnosis`] per failure, the same
//! [`Report`] (table, JSON, JUnit).
//!
//! Each check starts a fake server ([`fake_server`]) on 127.0.0.1:0 that
//! behaves in one scripted way, runs CMD once ([`run`]) with the
//! placeholders filled in, and judges what the server recorded and how the
//! client ended ([`checks`]):
//!
//! ```text
//! {addr}  127.0.0.1:PORT of this check's fake server
//! {host}  127.0.0.1        {port}  PORT
//! {song}  the song the client should play (alpha)
//! {out}   a fresh empty folder, for a client that writes what it downloaded
//! ```

pub mod checks;
pub mod conn;
pub mod fake_server;
pub mod observed;
pub mod run;

use std::borrow::Cow;
use std::sync::Arc;
use std::time::{Duration, Instant};

use streamlab_proto::{Dialect, PcmFormat, Track};

use crate::report::{CheckResult, Report, Subject, Verdict};
use crate::{ConformanceError, Diagnosis};
use fake_server::{FakeServer, Plan};

pub use checks::{ClientCheck, ALL};

/// The song every check asks the client to play (`{song}`).
pub const SONG: &str = "alpha";

/// What to check and how.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// The program and its arguments, placeholders not yet substituted.
    pub command: Vec<String>,
    pub dialect: Dialect,
    /// How long the client may run, per check (`--timeout-ms`, default 10 s).
    pub timeout: Duration,
    /// Fed to its standard input (placeholders substituted); else stdin is
    /// empty and closed.
    pub stdin: Option<String>,
}

impl ClientConfig {
    pub fn new(command: Vec<String>, dialect: Dialect) -> ClientConfig {
        ClientConfig {
            command,
            dialect,
            timeout: Duration::from_millis(10_000),
            stdin: None,
        }
    }

    /// Whether the client is told a folder to write its downloads in.
    pub fn has_out(&self) -> bool {
        let mentions = |s: &String| s.contains("{out}");
        self.command.iter().any(mentions) || self.stdin.as_ref().is_some_and(mentions)
    }

    /// The command as one line, for the report's heading.
    pub fn display(&self) -> String {
        let quote = |a: &String| match a.contains(char::is_whitespace) || a.is_empty() {
            true => format!("'{}'", a.replace('\'', "'\\''")),
            false => a.clone(),
        };
        self.command.iter().map(quote).collect::<Vec<_>>().join(" ")
    }
}

/// The catalogue the fake server serves: two short songs of patterned CD
/// audio (a quarter and a fifth of a second), names without spaces.
pub fn songs() -> Arc<[Track]> {
    let song = |name: &str, frames: usize, step: u32| {
        let mut pcm = Vec::with_capacity(frames * 4);
        for i in 0..frames as u32 {
            // A sawtooth per channel: every byte value occurs, no text.
            let left = (i.wrapping_mul(step) % 40_000) as i32 - 20_000;
            let right = (i.wrapping_mul(step + 2) % 40_000) as i32 - 20_000;
            for sample in [left, right] {
                pcm.extend_from_slice(&(sample as i16).to_le_bytes());
            }
        }
        Track {
            name: name.into(),
            format: PcmFormat::CD,
            pcm: pcm.into(),
        }
    };
    vec![song(SONG, 11_025, 37), song("beta", 8_820, 53)].into()
}

/// Checks that the program can be run at all, so that a typo is one error
/// line and not eight failed checks.
pub fn preflight(config: &ClientConfig) -> Result<(), ConformanceError> {
    let Some(program) = config.command.first() else {
        return Err(ConformanceError::NoCommand);
    };
    run::find_program(program)
        .map(drop)
        .map_err(|reason| ConformanceError::CannotRun {
            program: program.clone(),
            reason,
        })
}

/// Runs the checks named in `only` (all when `None`), in the order of
/// [`ALL`], after a [`preflight`].
pub fn run(config: &ClientConfig, only: Option<&[String]>) -> Result<Report, ConformanceError> {
    run_with(config, only, &mut |_, _| {})
}

/// [`run`], telling `done` each result as its check finishes, with how
/// many checks there are.
pub fn run_with(
    config: &ClientConfig,
    only: Option<&[String]>,
    done: &mut dyn FnMut(&CheckResult, usize),
) -> Result<Report, ConformanceError> {
    let selected = checks::select(only)?;
    preflight(config)?;
    let songs = songs();
    let results = crate::run_each(&selected, |check| run_check(check, config, &songs), done);
    Ok(Report {
        subject: Subject::Client,
        server: config.display(),
        dialect: config.dialect.as_str(),
        timeout_ms: u64::try_from(config.timeout.as_millis()).unwrap_or(u64::MAX),
        results,
        launched: None,
    })
}

/// Runs one check: a fake server, the client once, the judgement.
pub fn run_check(check: &ClientCheck, config: &ClientConfig, songs: &Arc<[Track]>) -> CheckResult {
    let start = Instant::now();
    let verdict = match attempt(check, config, songs) {
        Ok(()) => Verdict::Pass,
        Err(d) => Verdict::Fail(d),
    };
    CheckResult {
        name: check.name,
        description: description(check, config),
        verdict,
        elapsed: start.elapsed(),
        note: None,
    }
}

fn description(check: &ClientCheck, config: &ClientConfig) -> Cow<'static, str> {
    let line = check.description(config.dialect);
    match (check.judges_wav, config.has_out()) {
        (false, _) => line.into(),
        (true, true) => {
            format!("{line}; the WAV it writes in {{out}} holds exactly that audio").into()
        }
        (true, false) => {
            format!("{line}; judged on the protocol alone (no {{out}} in the command)").into()
        }
    }
}

fn attempt(
    check: &ClientCheck,
    config: &ClientConfig,
    songs: &Arc<[Track]>,
) -> Result<(), Diagnosis> {
    let harness = |what: &str, e: std::io::Error| {
        Diagnosis::new("nothing", "a check that can run", format!("{what}: {e}"))
    };
    let out = run::fresh_dir(check.name).map_err(|e| harness("making a temporary folder", e))?;
    let plan = Plan {
        dialect: config.dialect,
        behaviour: check.behaviour,
        songs: Arc::clone(songs),
        deadline: Instant::now() + config.timeout + Duration::from_secs(5),
    };
    let server = FakeServer::start(plan).map_err(|e| harness("listening on 127.0.0.1:0", e))?;
    let vars = run::Vars {
        host: "127.0.0.1".into(),
        port: server.addr().port(),
        song: SONG.into(),
        out: out.clone(),
    };
    let argv: Vec<String> = config.command.iter().map(|a| vars.substitute(a)).collect();
    let stdin = config
        .stdin
        .as_ref()
        .map(|s| vars.substitute(s).into_bytes());
    let finished = run::run(&argv, stdin.as_deref(), config.timeout);
    let conns = server.finish(Duration::from_millis(500));
    let verdict = match finished {
        Ok(finished) => {
            let song = songs.iter().find(|t| t.name == SONG);
            let observed = checks::Observed {
                dialect: config.dialect,
                timeout: config.timeout,
                song: song.unwrap_or(&songs[0]),
                finished: &finished,
                conns: &conns,
                out: config.has_out().then_some(out.as_path()),
            };
            (check.judge)(&observed)
        }
        Err(e) => Err(harness(&format!("starting {}", argv.join(" ")), e)),
    };
    let _ = std::fs::remove_dir_all(&out);
    verdict
}

/// Turns `\n`, `\t`, `\r` and `\\` in `--stdin TEXT` into the characters.
pub fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('\\') => out.push('\\'),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stdin_escapes_become_characters() {
        assert_eq!(unescape(r"7\n1\n{song}\n10\n"), "7\n1\n{song}\n10\n");
        assert_eq!(unescape(r"a\\n\tb\q"), "a\\n\tb\\q");
    }

    #[test]
    fn placeholders_are_filled_in() {
        let vars = run::Vars {
            host: "127.0.0.1".into(),
            port: 4321,
            song: "alpha".into(),
            out: "/tmp/x".into(),
        };
        assert_eq!(
            vars.substitute("{addr} {host}:{port} play {song} wav:{out}"),
            "127.0.0.1:4321 127.0.0.1:4321 play alpha wav:/tmp/x"
        );
    }

    #[test]
    fn the_songs_hold_no_marker_text() {
        for song in songs().iter() {
            let has = |m: &[u8]| song.pcm.windows(m.len()).any(|w| w == m);
            assert!(!has(b"track_data"), "{}", song.name);
            assert_eq!(song.pcm.len() % 4, 0);
        }
    }
}
