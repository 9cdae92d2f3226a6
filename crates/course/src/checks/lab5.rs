//! Lab 5: the conformance report of the student's server
//! (`streamlab conformance server … --json`).

use serde_json::Value;

use super::{missing, of_kind, Input, Kind};
use crate::{Variant, Verdict};

/// The report's schema, and the one version read.
pub const SCHEMA: &str = "streamlab-conformance/1";

pub fn check(v: &Variant, inputs: &[Input]) -> Vec<Verdict> {
    let how = format!(
        "make it with `streamlab conformance server 127.0.0.1:{} --json > conformance.json` while your server runs on port {}",
        v.port(),
        v.port()
    );
    let reports = of_kind(inputs, Kind::Report);
    let Some(input) = reports.first() else {
        return vec![missing(Kind::Report, &how)];
    };
    let doc: Value = match serde_json::from_slice(&input.bytes) {
        Ok(d) => d,
        Err(e) => {
            return vec![Verdict::fail(
                "a conformance report",
                format!("{} is not JSON ({e}); {how}", input.name()),
            )]
        }
    };
    if doc["schema"] != SCHEMA {
        return vec![Verdict::fail(
            "a conformance report",
            format!(
                "{} is not a conformance report (schema {}); {how}",
                input.name(),
                doc["schema"]
            ),
        )];
    }
    if doc.get("server").is_none() {
        return vec![Verdict::fail(
            "a conformance report",
            format!("{} checks a client, not a server; {how}", input.name()),
        )];
    }
    let mut verdicts = vec![Verdict::pass(
        "a conformance report",
        format!(
            "{}: {} dialect",
            input.name(),
            doc["dialect"].as_str().unwrap_or("unknown")
        ),
    )];
    // A server checked by address must be the student's: its port.
    let server = doc["server"].as_str().unwrap_or_default();
    let port = server
        .rsplit_once(':')
        .and_then(|(_, p)| p.parse::<u16>().ok());
    verdicts.push(match port {
        Some(p) if p == v.port() => {
            Verdict::pass("your own server", format!("checked on port {p}"))
        }
        Some(p) => Verdict::fail(
            "your own server",
            format!(
                "the report checks a server on port {p}; student {}'s listens on port {}: {how}",
                v.student,
                v.port()
            ),
        ),
        None => Verdict::fail(
            "your own server",
            format!("the report does not say which server it checked ({server:?}); {how}"),
        ),
    });
    verdicts.extend(check_verdicts(&doc));
    verdicts
}

/// A verdict per check of a conformance report (JSON): passed, or failed
/// with what was expected and what came.
pub fn check_verdicts(doc: &Value) -> Vec<Verdict> {
    let mut verdicts = Vec::new();
    let checks = doc["checks"].as_array().cloned().unwrap_or_default();
    if checks.is_empty() {
        verdicts.push(Verdict::fail("the checks", "the report holds no check"));
    }
    for c in checks {
        let name = c["name"].as_str().unwrap_or("a check").to_string();
        let result = c["result"].as_str().unwrap_or("missing");
        // A check about the other dialect only is no verdict at all: it
        // neither counts for the server nor against it.
        if result == "n/a" {
            continue;
        }
        let d = &c["diagnosis"];
        let mut why = format!(
            "expected {}, got {}",
            d["expected"].as_str().unwrap_or("?"),
            d["got"].as_str().unwrap_or("?")
        );
        if let Some(hint) = d["hint"].as_str() {
            why += &format!(" ({hint})");
        }
        verdicts.push(match result {
            "pass" => Verdict::pass(format!("check {name}"), "passed"),
            other => Verdict::fail(format!("check {name}"), format!("{other}: {why}")),
        });
    }
    verdicts
}
