//! What one run of the client left behind ([`Observed`]: how it ended,
//! what it printed, what the fake server saw, the folder it wrote in), and
//! the questions every judgement asks of it, each answered with `Ok` or
//! the [`Diagnosis`] to report.

use std::path::Path;
use std::time::Duration;

use streamlab_proto::{Dialect, Request, Track};

use super::conn::ConnLog;
use super::run::{Exit, Finished};
use crate::diagnosis::show;
use crate::Diagnosis;

/// Texts that mean the client crashed, whatever its exit status.
const CRASH_TEXTS: &[&str] = &["panicked at", "Traceback (most recent call last)"];
/// How many of the client's commands a diagnosis quotes.
const SHOWN_COMMANDS: usize = 6;
/// How many of the server's writes a diagnosis quotes.
const SHOWN_WRITES: usize = 5;

/// One run of the client under one check.
pub struct Observed<'a> {
    pub dialect: Dialect,
    pub timeout: Duration,
    /// The song it was asked to play, as served.
    pub song: &'a Track,
    pub finished: &'a Finished,
    /// Every connection the fake server accepted, in order.
    pub conns: &'a [ConnLog],
    /// The `{out}` folder, when the command mentions it.
    pub out: Option<&'a Path>,
}

impl Observed<'_> {
    /// A failure on `conn` (or on no connection): what the server sent
    /// there, the expectation, and the client's side of the story.
    pub fn fail(
        &self,
        conn: Option<&ConnLog>,
        expected: impl Into<String>,
        got: impl Into<String>,
    ) -> Diagnosis {
        let sent = match (conn, self.conns.last()) {
            (Some(c), _) | (None, Some(c)) => c.sent(SHOWN_WRITES),
            (None, None) => "nothing: the client never connected".into(),
        };
        Diagnosis::new(sent, expected, got)
    }

    /// `the client sent "list\n", "quit\n"; it exited with status 0`.
    pub fn story(&self) -> String {
        let commands: Vec<String> = self
            .conns
            .iter()
            .flat_map(|c| c.shown_commands(self.dialect))
            .collect();
        let sent = match commands.len() {
            0 if self.conns.is_empty() => "the client never connected".to_string(),
            0 => "the client connected and sent nothing".to_string(),
            n if n > SHOWN_COMMANDS => format!(
                "the client sent … {}",
                commands[n - SHOWN_COMMANDS..].join(", ")
            ),
            _ => format!("the client sent {}", commands.join(", ")),
        };
        format!("{sent}; it {}", self.exit_text())
    }

    /// The story with the tail of what the client printed (stderr first).
    pub fn story_with_output(&self) -> String {
        match self.output_tail() {
            Some(out) => format!("{}; {out}", self.story()),
            None => self.story(),
        }
    }

    pub fn exit_text(&self) -> String {
        match self.finished.exit {
            Exit::Code(c) => format!("exited with status {c}"),
            Exit::Signal(s) => format!("was killed by signal {s}"),
            Exit::TimedOut => format!(
                "was still running after {} ms (killed)",
                self.timeout.as_millis()
            ),
        }
    }

    /// The last line or so the client printed: `stderr: "…"`.
    fn output_tail(&self) -> Option<String> {
        let (name, bytes) = match (&self.finished.stderr, &self.finished.stdout) {
            (e, _) if !e.trim_ascii().is_empty() => ("stderr", e),
            (_, o) if !o.trim_ascii().is_empty() => ("stdout", o),
            _ => return None,
        };
        let text = String::from_utf8_lossy(bytes.trim_ascii_end());
        let tail: String = {
            let chars: Vec<char> = text.chars().collect();
            chars[chars.len().saturating_sub(100)..].iter().collect()
        };
        let cut = if tail.len() < text.len() { "…" } else { "" };
        Some(format!("{name}: {cut}{}", show(tail.as_bytes())))
    }

    /// The client ended by itself within the timeout.
    pub fn exited(&self, hint: &str) -> Result<(), Diagnosis> {
        if self.finished.exit != Exit::TimedOut {
            return Ok(());
        }
        let expected = format!("the client exits within {} ms", self.timeout.as_millis());
        Err(self
            .fail(None, expected, self.story_with_output())
            .hint(hint))
    }

    /// The first connection, if the client made any.
    pub fn connected(&self) -> Result<&ConnLog, Diagnosis> {
        self.conns.first().ok_or_else(|| {
            self.fail(
                None,
                "a connection to the fake server",
                self.story_with_output(),
            )
            .hint("does the command give the client {addr}, or {host} and {port}?")
        })
    }

    /// The connection on which the client sent a request matching `wanted`.
    pub fn conn_with(&self, wanted: impl Fn(&Request) -> bool) -> Option<&ConnLog> {
        self.conns.iter().find(|c| {
            c.commands(self.dialect)
                .iter()
                .any(|cmd| Request::parse(cmd).is_ok_and(|r| wanted(&r)))
        })
    }

    /// The connection on which the client asked for the song.
    pub fn download_conn(&self) -> Result<&ConnLog, Diagnosis> {
        let song = &self.song.name;
        self.conn_with(
            |r| matches!(r, Request::Download { name } if name.eq_ignore_ascii_case(song)),
        )
        .ok_or_else(|| {
            let expected = match self.dialect {
                Dialect::Original => format!("\"download {song}\""),
                Dialect::Framed => format!("\"download {song}\\n\""),
            };
            self.fail(None, expected, self.story_with_output())
                .hint("does the command (or --stdin) tell the client to play {song}?")
        })
    }

    /// No signal, no panic or traceback in the output.
    pub fn not_crashed(&self, expected: &str) -> Result<(), Diagnosis> {
        let printed = |t: &str| {
            let has = |b: &[u8]| b.windows(t.len()).any(|w| w == t.as_bytes());
            has(&self.finished.stdout) || has(&self.finished.stderr)
        };
        let crash = match self.finished.exit {
            Exit::Signal(_) => Some("a client killed by a signal crashed"),
            _ if CRASH_TEXTS.iter().any(|t| printed(t)) => {
                Some("a panic or a traceback is a crash, whatever the exit status")
            }
            _ => None,
        };
        match crash {
            Some(why) => Err(self
                .fail(None, expected, self.story_with_output())
                .hint(why)),
            None => Ok(()),
        }
    }

    /// With `{out}` in the command: a WAV file there holds exactly the song.
    pub fn wrote_the_song(&self, conn: &ConnLog) -> Result<(), Diagnosis> {
        let Some(out) = self.out else {
            return Ok(());
        };
        let expected = format!(
            "a WAV file in {{out}} whose data chunk is the {} bytes of audio served",
            self.song.pcm.len()
        );
        match wav_verdict(out, self.song) {
            Ok(()) => Ok(()),
            Err(got) => Err(self
                .fail(
                    Some(conn),
                    expected,
                    format!("{got}; it {}", self.exit_text()),
                )
                .hint("write every audio byte received between the markers, and nothing else")),
        }
    }
}

/// `Ok` when a `.wav` file in `out` holds exactly the song's audio; else
/// what the best candidate holds.
fn wav_verdict(out: &Path, song: &Track) -> Result<(), String> {
    let mut files: Vec<_> = std::fs::read_dir(out)
        .map_err(|e| format!("cannot read {{out}}: {e}"))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect();
    files.sort();
    let wavs: Vec<_> = files
        .iter()
        .filter(|p| p.extension().is_some_and(|x| x.eq_ignore_ascii_case("wav")))
        .collect();
    let name = |p: &Path| {
        p.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    if wavs.is_empty() {
        let others: Vec<String> = files.iter().map(|p| name(p)).collect();
        return Err(match others.len() {
            0 => "no file at all in {out}".to_string(),
            _ => format!("no .wav file in {{out}}, only {}", others.join(", ")),
        });
    }
    let mut first_problem = None;
    for path in &wavs {
        let problem = match streamlab_audio::wav::load_wav(path) {
            Ok(t) if t.pcm == song.pcm => return Ok(()),
            Ok(t) => compare(&t.pcm, &song.pcm),
            Err(e) => format!("not a WAV file ({e})"),
        };
        first_problem.get_or_insert(format!("{}: {problem}", name(path)));
    }
    Err(first_problem.unwrap_or_default())
}

/// How `got` differs from the `served` audio.
fn compare(got: &[u8], served: &[u8]) -> String {
    let same = got.iter().zip(served).take_while(|(a, b)| a == b).count();
    match () {
        _ if same == got.len() && got.len() < served.len() => format!(
            "its data chunk holds only the first {} of the {} bytes",
            got.len(),
            served.len()
        ),
        _ if same == served.len() => format!(
            "its data chunk holds the {} bytes and {} more",
            served.len(),
            got.len() - served.len()
        ),
        _ => format!(
            "its data chunk ({} bytes) differs from the audio served from byte {same} on",
            got.len()
        ),
    }
}
