//! Lab 1: the transcript of the scripted session and a capture of it.

use super::capture::{analyze, own_connections, own_song};
use super::{missing, of_kind, Input, Kind};
use crate::{Variant, Verdict};

/// The menu commands the hand-in session uses, as the script echoes them.
pub const COMMANDS: [&str; 9] = [
    "list", "play", "pause", "resume", "restart", "loop", "stop", "devices", "quit",
];

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
            let echoed: Vec<&str> = text
                .lines()
                .filter_map(|l| l.strip_prefix("> "))
                .filter_map(|c| c.split_whitespace().next())
                .collect();
            let absent: Vec<&str> = COMMANDS
                .iter()
                .copied()
                .filter(|c| !echoed.contains(c))
                .collect();
            verdicts.push(if absent.is_empty() {
                Verdict::pass(
                    "every menu command",
                    format!("{}: all {} used", t.name(), COMMANDS.len()),
                )
            } else {
                Verdict::fail(
                    "every menu command",
                    format!("{} never uses {}", t.name(), absent.join(", ")),
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
