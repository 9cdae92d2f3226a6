//! The results of a run, and the three ways to print them: a table with a
//! diagnosis per failure (for people), JSON (`streamlab-conformance/1`, for
//! scripts) and JUnit XML (for CI and grading tools).

use std::borrow::Cow;
use std::fmt::Write as _;
use std::time::Duration;

use serde::Serialize;

use crate::{Config, Diagnosis};

/// The JSON document's `schema` field. A new field keeps the version; a
/// field that changes meaning or disappears bumps it.
pub const JSON_SCHEMA: &str = "streamlab-conformance/1";

/// What one check concluded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    /// The check is not about this dialect; why, in a line.
    NotApplicable(&'static str),
    Fail(Diagnosis),
}

/// One check's result.
#[derive(Debug, Clone)]
pub struct CheckResult {
    pub name: &'static str,
    /// Usually a check's fixed line; the client checks add a note when the
    /// command gives them no `{out}` folder to look in.
    pub description: Cow<'static, str>,
    pub verdict: Verdict,
    pub elapsed: Duration,
    /// What the check saw that a bare pass would hide, such as which of
    /// two accepted behaviours the server showed; usually `None`.
    pub note: Option<String>,
}

impl CheckResult {
    /// True unless the check failed: a check that does not apply to the
    /// dialect is not held against the server.
    pub fn passed(&self) -> bool {
        !matches!(self.verdict, Verdict::Fail(_))
    }
}

/// What a report is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    /// `streamlab conformance server ADDR`: `server` is the address.
    Server,
    /// `streamlab conformance client -- CMD`: `server` holds the command.
    Client,
}

/// Every check's result, with what was checked.
#[derive(Debug, Clone)]
pub struct Report {
    pub subject: Subject,
    /// The server's address, or the client's command line.
    pub server: String,
    pub dialect: &'static str,
    pub timeout_ms: u64,
    pub results: Vec<CheckResult>,
    /// With `--exec`: the server the checker started, and what became of it.
    pub launched: Option<Launched>,
}

/// A server the checker started itself (`--exec`), and what became of it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Launched {
    /// The command as given, placeholders not filled in.
    pub command: String,
    /// A fresh server for each check, or one for the whole run.
    pub restart_per_check: bool,
    /// How many times it was started and listened.
    pub starts: usize,
    /// Why no check ran: it exited before listening, or never listened
    /// (with its last line of output).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_error: Option<String>,
    /// Each time it ended by itself during a check:
    /// `exited with status 1 during download-integrity`.
    pub deaths: Vec<String>,
    /// Its last lines on stderr (or stdout when stderr had none), when it
    /// did not start or died; else empty.
    pub output: Vec<String>,
}

impl Report {
    pub fn new(config: &Config, results: Vec<CheckResult>) -> Report {
        Report {
            subject: Subject::Server,
            server: config.addr.to_string(),
            dialect: config.dialect.as_str(),
            timeout_ms: u64::try_from(config.limits.timeout.as_millis()).unwrap_or(u64::MAX),
            results,
            launched: None,
        }
    }

    /// The report of a run whose server the checker started.
    pub fn with_launched(mut self, launched: Launched) -> Report {
        self.launched = Some(launched);
        self
    }

    /// With `--exec`, why no check ran, when the server did not start.
    pub fn start_error(&self) -> Option<&str> {
        self.launched.as_ref()?.start_error.as_deref()
    }

    pub fn failed(&self) -> usize {
        self.results.iter().filter(|r| !r.passed()).count()
    }

    /// Checks that are about the other dialect only.
    pub fn not_applicable(&self) -> usize {
        self.results
            .iter()
            .filter(|r| matches!(r.verdict, Verdict::NotApplicable(_)))
            .count()
    }

    pub fn all_passed(&self) -> bool {
        self.failed() == 0
    }

    /// The table, then one block per failure, then a summary line. Times
    /// appear only when `times` (they differ from run to run).
    pub fn render_text(&self, times: bool) -> String {
        let width = self
            .results
            .iter()
            .map(|r| r.name.len())
            .max()
            .unwrap_or(5)
            .max(5);
        let of = match self.subject {
            Subject::Server => self.server.clone(),
            Subject::Client => format!("client {}", self.server),
        };
        let mut out = format!(
            "conformance of {of} ({} dialect, timeout {} ms)\n\n",
            self.dialect, self.timeout_ms
        );
        if let Some(launched) = &self.launched {
            out.insert_str(out.len() - 1, &launched.heading());
            if let Some(error) = &launched.start_error {
                let _ = writeln!(out, "no check ran: {error}");
                if !launched.output.is_empty() {
                    out.push_str(&launched.render_output());
                }
                return out;
            }
        }
        let _ = write!(out, "{:<width$}  result", "check");
        out.push_str(if times { "      ms\n" } else { "\n" });
        for r in &self.results {
            let result = match r.verdict {
                Verdict::Pass => "pass",
                Verdict::NotApplicable(_) => "n/a",
                Verdict::Fail(_) => "FAIL",
            };
            let _ = write!(out, "{:<width$}  {result}", r.name);
            if times {
                let _ = write!(out, "  {:>8}", r.elapsed.as_millis());
            }
            out.push('\n');
        }
        for r in &self.results {
            if let Some(note) = &r.note {
                let _ = write!(out, "\nnote {}: {note}\n", r.name);
            }
        }
        for r in &self.results {
            if let Verdict::Fail(d) = &r.verdict {
                let _ = write!(out, "\nFAIL {}: {}\n{}", r.name, r.description, d.render());
            }
        }
        if let Some(launched) = self.launched.as_ref().filter(|l| !l.deaths.is_empty()) {
            let _ = writeln!(out, "\nthe server {}", launched.deaths.join("; then "));
            out.push_str(&launched.render_output());
        }
        let total = self.results.len();
        let na = self.not_applicable();
        let applied = total - na;
        let _ = write!(
            out,
            "\n{} of {applied} checks passed",
            applied - self.failed()
        );
        if na > 0 {
            let _ = write!(
                out,
                " ({na} not applicable to the {} dialect)",
                self.dialect
            );
        }
        out.push('\n');
        out
    }

    /// The JSON document (see docs/conformance.md).
    pub fn to_json(&self) -> String {
        let checks = self
            .results
            .iter()
            .map(|r| JsonCheck {
                name: r.name,
                description: &r.description,
                result: match r.verdict {
                    Verdict::Pass => "pass",
                    Verdict::NotApplicable(_) => "n/a",
                    Verdict::Fail(_) => "fail",
                },
                ms: u64::try_from(r.elapsed.as_millis()).unwrap_or(u64::MAX),
                diagnosis: match &r.verdict {
                    Verdict::Pass | Verdict::NotApplicable(_) => None,
                    Verdict::Fail(d) => Some(d),
                },
                note: r.note.as_deref(),
            })
            .collect();
        let (server, client) = match self.subject {
            Subject::Server => (Some(self.server.as_str()), None),
            Subject::Client => (None, Some(self.server.as_str())),
        };
        let doc = JsonReport {
            schema: JSON_SCHEMA,
            server,
            client,
            dialect: self.dialect,
            timeout_ms: self.timeout_ms,
            passed: self.results.len() - self.failed() - self.not_applicable(),
            failed: self.failed(),
            not_applicable: self.not_applicable(),
            checks,
            exec: self.launched.as_ref(),
        };
        // Plain structs of strings and numbers always serialize.
        serde_json::to_string_pretty(&doc).unwrap_or_default()
    }

    /// JUnit XML: one testsuite, one testcase per check, a `<failure>`
    /// holding the diagnosis for each failed one.
    pub fn to_junit(&self) -> String {
        let secs = |d: Duration| format!("{:.3}", d.as_secs_f64());
        let total: Duration = self.results.iter().map(|r| r.elapsed).sum();
        let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        let _ = writeln!(
            out,
            "<testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"{}\" time=\"{}\">",
            xml(&format!(
                "streamlab conformance {}{} ({})",
                match self.subject {
                    Subject::Server => "",
                    Subject::Client => "client ",
                },
                self.server,
                self.dialect
            )),
            self.results.len(),
            self.failed(),
            self.not_applicable(),
            secs(total)
        );
        for r in &self.results {
            let _ = write!(
                out,
                "  <testcase classname=\"conformance.{}{}\" name=\"{}\" time=\"{}\"",
                match self.subject {
                    Subject::Server => "",
                    Subject::Client => "client.",
                },
                self.dialect,
                xml(r.name),
                secs(r.elapsed)
            );
            if let (Verdict::Pass, None) = (&r.verdict, &r.note) {
                out.push_str("/>\n");
                continue;
            }
            out.push_str(">\n");
            if let Verdict::NotApplicable(why) = &r.verdict {
                let _ = writeln!(out, "    <skipped message=\"{}\"/>", xml(why));
            }
            if let Verdict::Fail(d) = &r.verdict {
                let _ = writeln!(
                    out,
                    "    <failure message=\"{}\" type=\"conformance\">{}</failure>",
                    xml(&format!("expected {}; got {}", d.expected, d.got)),
                    xml(&format!("{}\n{}", r.description, d.render()))
                );
            }
            if let Some(note) = &r.note {
                let _ = writeln!(out, "    <system-out>{}</system-out>", xml(note));
            }
            out.push_str("  </testcase>\n");
        }
        if let Some(launched) = self.launched.as_ref().filter(|l| !l.output.is_empty()) {
            let _ = writeln!(
                out,
                "  <system-err>{}</system-err>",
                xml(&launched.output.join("\n"))
            );
        }
        out.push_str("</testsuite>\n");
        out
    }
}

impl Launched {
    /// The heading's second line: `started with: CMD (one server for every check)`.
    fn heading(&self) -> String {
        let how = match self.restart_per_check {
            true => "a fresh server for each check",
            false => "one server for every check",
        };
        format!("started with: {} ({how})\n", self.command)
    }

    /// The server's last lines, indented, under a line that says so.
    fn render_output(&self) -> String {
        if self.output.is_empty() {
            return "it printed nothing\n".into();
        }
        let mut out = String::from("its last output:\n");
        for line in &self.output {
            let _ = writeln!(out, "  {line}");
        }
        out
    }
}

#[derive(Serialize)]
struct JsonReport<'a> {
    schema: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    server: Option<&'a str>,
    /// Instead of `server` in a client report: the command line checked.
    #[serde(skip_serializing_if = "Option::is_none")]
    client: Option<&'a str>,
    dialect: &'a str,
    timeout_ms: u64,
    passed: usize,
    failed: usize,
    /// Checks about the other dialect only (`"result": "n/a"`).
    not_applicable: usize,
    checks: Vec<JsonCheck<'a>>,
    /// With `--exec` only.
    #[serde(skip_serializing_if = "Option::is_none")]
    exec: Option<&'a Launched>,
}

#[derive(Serialize)]
struct JsonCheck<'a> {
    name: &'a str,
    description: &'a str,
    result: &'static str,
    ms: u64,
    diagnosis: Option<&'a Diagnosis>,
    #[serde(skip_serializing_if = "Option::is_none")]
    note: Option<&'a str>,
}

/// Text made safe for an XML attribute or element: the five special
/// characters escaped, and characters XML 1.0 forbids replaced by U+FFFD.
pub fn xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' => out.push_str("&#10;"),
            '\t' | '\r' => out.push_str(&format!("&#{};", u32::from(c))),
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_escapes_markup_and_drops_forbidden_characters() {
        assert_eq!(xml("a<b>&\"c\"'"), "a&lt;b&gt;&amp;&quot;c&quot;&apos;");
        assert_eq!(xml("x\u{1}y\nz"), "x\u{fffd}y&#10;z");
    }
}
