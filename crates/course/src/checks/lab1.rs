//! Lab 1: the transcript of the scripted session and a capture of it.

use super::capture::{analyze, own_connections, own_song};
use super::{missing, of_kind, Input, Kind};
use crate::{Variant, Verdict};

/// The menu commands the hand-in session uses, and what the client says
/// when each one took effect (the first line of its answer starts so).
pub const COMMANDS: [(&str, &str); 9] = [
    ("list", ""),
    ("play", "playing '"),
    ("pause", "paused "),
    ("resume", "playing "),
    ("restart", "playing "),
    ("loop", "loop on"),
    ("stop", "stopped "),
    ("devices", ""),
    ("quit", "goodbye"),
];

/// A script transcript cut into commands (`> play RV`) and what followed
/// each, up to the next command.
fn exchanges(text: &str) -> Vec<(&str, Vec<&str>)> {
    let mut out: Vec<(&str, Vec<&str>)> = Vec::new();
    for line in text.lines() {
        match line.strip_prefix("> ") {
            Some(cmd) => out.push((cmd.split_whitespace().next().unwrap_or(""), Vec::new())),
            None => {
                if let Some((_, answer)) = out.last_mut() {
                    answer.push(line);
                }
            }
        }
    }
    out
}

/// `Ok` when some `command` in the transcript was answered as it is when it
/// works; otherwise what it said instead, or that it was never used.
fn took_effect(exchanges: &[(&str, Vec<&str>)], command: &str, answer: &str) -> Result<(), String> {
    let mut said = None;
    for (cmd, lines) in exchanges.iter().filter(|(c, _)| *c == command) {
        let first = lines.first().copied().unwrap_or("");
        if first.starts_with(answer) {
            return Ok(());
        }
        said.get_or_insert_with(|| format!("{cmd} said \"{first}\""));
    }
    Err(said.unwrap_or_else(|| format!("{command} never used")))
}

pub fn check(v: &Variant, inputs: &[Input]) -> Vec<Verdict> {
    let mut verdicts = Vec::new();
    let transcripts = of_kind(inputs, Kind::Transcript);
    let mut client_port = None;
    match transcripts.first() {
        None => verdicts.push(missing(
            Kind::Transcript,
            "save the client's output: `streamlab client … --script \"…\" > session.txt`",
        )),
        Some(t) => {
            let text = t.text();
            let said = exchanges(&text);
            let absent: Vec<String> = COMMANDS
                .iter()
                .filter_map(|(c, answer)| took_effect(&said, c, answer).err())
                .collect();
            verdicts.push(if absent.is_empty() {
                Verdict::pass(
                    "every menu command",
                    format!(
                        "{}: all {} used, each took effect",
                        t.name(),
                        COMMANDS.len()
                    ),
                )
            } else {
                Verdict::fail(
                    "every menu command",
                    format!(
                        "{}: {} (play in real time, --realtime, so the song lasts)",
                        t.name(),
                        absent.join("; ")
                    ),
                )
            });
            let song = v.song();
            verdicts.push(if text.contains(&format!("playing '{song}'")) {
                Verdict::pass("your song", format!("'{song}' played"))
            } else {
                Verdict::fail(
                    "your song",
                    format!(
                        "{} never plays '{song}', student {}'s song",
                        t.name(),
                        v.student
                    ),
                )
            });
            verdicts.push(if text.lines().any(|l| l.trim() == "goodbye") {
                Verdict::pass("goodbye", "the server said goodbye")
            } else {
                Verdict::fail(
                    "goodbye",
                    format!(
                        "{} does not end with the server's goodbye: end the script with quit",
                        t.name()
                    ),
                )
            });
            // The device list marks this client: its port ties the
            // transcript to the capture.
            client_port = text
                .lines()
                .find(|l| l.ends_with("(this client)"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|addr| addr.rsplit_once(':'))
                .and_then(|(_, p)| p.parse::<u16>().ok());
        }
    }
    let captures = of_kind(inputs, Kind::Capture);
    let Some(input) = captures.first() else {
        verdicts.push(missing(
            Kind::Capture,
            "capture the same session on the loopback interface",
        ));
        return verdicts;
    };
    let a = match analyze(input) {
        Ok(a) => a,
        Err(e) => {
            verdicts.push(Verdict::fail("a readable capture", e));
            return verdicts;
        }
    };
    let (own, verdict) = own_connections(v, &a, &input.name());
    verdicts.push(verdict);
    if own.is_empty() {
        return verdicts;
    }
    verdicts.push(own_song(v, &own));
    verdicts.push(match client_port {
        None => Verdict::fail(
            "one session",
            "the transcript has no device list marking this client: keep `devices` in the script",
        ),
        Some(p) if own.iter().any(|c| c.info.client.port() == p) => Verdict::pass(
            "one session",
            format!("the transcript's client (port {p}) is in the capture"),
        ),
        Some(p) => Verdict::fail(
            "one session",
            format!(
                "the transcript's client used port {p}, which the capture never shows: capture the session you hand in"
            ),
        ),
    });
    verdicts
}
