//! Checks of a real capture (labs 1 and 2): it must be the student's own
//! session — the student's port, the student's song — before anything in
//! it counts.

use streamlab_analyzer::report::{self, check::Lab2, Analysis, Connection, Filter};
use streamlab_analyzer::scan::Dialect;

use super::{missing, of_kind, Input, Kind};
use crate::{Variant, Verdict};

/// Reads a capture handed in; the error is one line.
pub fn analyze(input: &Input) -> Result<Analysis, String> {
    let name = input.name();
    let a = report::analyze(&name, &input.bytes[..], &Filter::default(), &mut |_| None)
        .map_err(|e| format!("{name} cannot be read as a capture: {e}"))?;
    Ok(a)
}

/// The connections of `a` to the student's server, and a verdict on
/// whether there are any. A capture of someone else's server (the
/// handouts' port 2635, another student's port) fails here, in one line.
pub fn own_connections<'a>(
    v: &Variant,
    a: &'a Analysis,
    file: &str,
) -> (Vec<&'a Connection>, Verdict) {
    let port = v.port();
    let own: Vec<&Connection> = a
        .connections
        .iter()
        .filter(|c| c.info.server.port() == port)
        .collect();
    let verdict = if own.is_empty() {
        let mut seen: Vec<u16> = a.connections.iter().map(|c| c.info.server.port()).collect();
        seen.sort_unstable();
        seen.dedup();
        let seen: Vec<String> = seen.iter().map(u16::to_string).collect();
        let whose = if seen.iter().any(|p| p == "2635") {
            " (2635 is the handouts' port: an example capture, or a server started without --student)"
        } else {
            ""
        };
        Verdict::fail(
            "your own server",
            format!(
                "{file}: the server port is {}, and student {}'s is {port}{whose}; start it with `streamlab server --student {}`",
                if seen.is_empty() { "missing (no TCP connection)".to_string() } else { seen.join(", ") },
                v.student,
                v.student
            ),
        )
    } else {
        Verdict::pass(
            "your own server",
            format!("{file}: {} connection(s) to port {port}", own.len()),
        )
    };
    (own, verdict)
}

/// Whether one of `conns` downloads the student's song to its end.
pub fn own_song(v: &Variant, conns: &[&Connection]) -> Verdict {
    let song = v.song();
    let track = conns
        .iter()
        .flat_map(|c| c.scan.tracks.iter().map(move |t| (c, t)))
        .find(|(_, t)| t.name.as_deref() == Some(song));
    match track {
        Some((_, t)) => match (&t.start, &t.end) {
            (Some(s), Some(e)) => Verdict::pass(
                "your song",
                format!("'{song}' downloaded whole, frames {} to {}", s.frame, e.last_frame),
            ),
            _ => Verdict::fail(
                "your song",
                format!("'{song}' is in the capture but not whole: start the capture first, and stop it after goodbye"),
            ),
        },
        None => {
            let got: Vec<&str> = conns
                .iter()
                .flat_map(|c| c.scan.tracks.iter().filter_map(|t| t.name.as_deref()))
                .collect();
            let got = if got.is_empty() {
                "no song".to_string()
            } else {
                format!("'{}'", got.join("', '"))
            };
            Verdict::fail(
                "your song",
                format!("the capture downloads {got}; student {}'s song is '{song}'", v.student),
            )
        }
    }
}

/// Lab 2: the student's own capture of a whole original-dialect session.
pub fn lab2(v: &Variant, inputs: &[Input]) -> Vec<Verdict> {
    let captures = of_kind(inputs, Kind::Capture);
    let Some(input) = captures.first() else {
        return vec![missing(
            Kind::Capture,
            "capture your session as part 2 of the handout says",
        )];
    };
    let a = match analyze(input) {
        Ok(a) => a,
        Err(e) => return vec![Verdict::fail("a readable capture", e)],
    };
    let (own, mut verdicts) = {
        let (own, v0) = own_connections(v, &a, &input.name());
        (own, vec![v0])
    };
    if own.is_empty() {
        return verdicts;
    }
    verdicts.push(own_song(v, &own));
    let original = own
        .iter()
        .any(|c| c.scan.dialect == Some(Dialect::Original));
    verdicts.push(if original {
        Verdict::pass(
            "the original dialect",
            "the client speaks the original dialect",
        )
    } else {
        Verdict::fail(
            "the original dialect",
            "the client speaks the framed dialect: run it with --dialect original",
        )
    });
    let mut grader = Lab2::default();
    for c in &own {
        grader.grade(c);
    }
    let grade = grader.finish();
    verdicts.extend(
        grade
            .items
            .into_iter()
            .map(|i| Verdict::from(i.what, i.found)),
    );
    verdicts
}
