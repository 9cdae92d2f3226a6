//! `grade` on a class: 100 generated submissions, each made to be good,
//! partly wrong or broken, and the CSV, JUnit XML and HTML must say of each
//! exactly what it was made to be.

mod support;

use std::collections::BTreeMap;
use std::path::Path;

use streamlab_conformance::launch::{Stopper, GRACE};
use streamlab_course::grade::{self, Batch};
use streamlab_course::Lab;
use streamlab_proto::Dialect;
use support::{answers_file, cx, session, variant};

/// What a submission was made to be: every verdict passing, or exactly
/// these verdicts failing.
#[derive(Debug, Clone)]
enum Made {
    Good,
    Failing(Vec<&'static str>),
}

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    std::fs::write(dir.join(name), bytes).expect("writing a hand-in file");
}

fn manifest(dir: &Path, id: &str, lab: Lab) {
    write(
        dir,
        "submission.txt",
        format!("student: {id}\nlab: {lab}\n").as_bytes(),
    );
}

/// A conformance report of a server on `port`, with `failing` checks.
fn report(port: u16, failing: &[&str]) -> String {
    let names = [
        "list",
        "download-integrity",
        "unknown-command",
        "quit-goodbye",
    ];
    let checks: Vec<serde_json::Value> = names
        .iter()
        .map(|n| {
            let bad = failing.contains(n);
            serde_json::json!({
                "name": n, "description": "", "ms": 1,
                "result": if bad { "fail" } else { "pass" },
                "diagnosis": if bad {
                    serde_json::json!({"sent": "x", "expected": "y", "got": "z"})
                } else {
                    serde_json::Value::Null
                },
            })
        })
        .collect();
    serde_json::json!({
        "schema": "streamlab-conformance/1",
        "server": format!("127.0.0.1:{port}"),
        "dialect": "original", "timeout_ms": 3000,
        "passed": names.len() - failing.len(), "failed": failing.len(),
        "checks": checks,
    })
    .to_string()
}

/// Makes submission `i` in `root`; says what it was made to be.
fn make(root: &Path, i: usize) -> (String, Made) {
    let folder = format!("s{i:03}");
    let dir = root.join(&folder);
    std::fs::create_dir_all(&dir).expect("a folder");
    let id = format!("2024-{i:04}");
    let v = variant(&id);
    let made = match i % 10 {
        // Lab 5: a good report, one with a failing check, one of another
        // student's server.
        0 | 1 => {
            manifest(&dir, &id, Lab::Lab5);
            write(&dir, "conformance.json", report(v.port(), &[]).as_bytes());
            Made::Good
        }
        2 => {
            manifest(&dir, &id, Lab::Lab5);
            write(
                &dir,
                "conformance.json",
                report(v.port(), &["unknown-command"]).as_bytes(),
            );
            Made::Failing(vec!["check unknown-command"])
        }
        3 => {
            manifest(&dir, &id, Lab::Lab5);
            let other = variant("someone-else").port();
            write(&dir, "conformance.json", report(other, &[]).as_bytes());
            Made::Failing(vec!["your own server"])
        }
        // Lab 2: a good session, the wrong song, the framed dialect.
        4 | 5 => {
            manifest(&dir, &id, Lab::Lab2);
            write(
                &dir,
                "s.pcapng",
                &session(v.port(), v.song(), Dialect::Original),
            );
            Made::Good
        }
        6 => {
            manifest(&dir, &id, Lab::Lab2);
            let other = if v.song() == "twinkle" {
                "ode_to_joy"
            } else {
                "twinkle"
            };
            write(
                &dir,
                "s.pcapng",
                &session(v.port(), other, Dialect::Original),
            );
            Made::Failing(vec!["your song"])
        }
        // Lab 3: good runs with answers; the same without answers.
        7 if i < 40 => {
            manifest(&dir, &id, Lab::Lab3);
            let runs = streamlab_course::checks::framing_runs(Some(&v)).expect("runs");
            write(&dir, "framing-original.pcapng", &runs[0].capture);
            write(&dir, "framing-framed.pcapng", &runs[1].capture);
            write(&dir, "answers.txt", answers_file(Lab::Lab3, &id).as_bytes());
            Made::Good
        }
        7 => {
            manifest(&dir, &id, Lab::Lab3);
            let runs = streamlab_course::checks::framing_runs(Some(&v)).expect("runs");
            write(&dir, "framing-original.pcapng", &runs[0].capture);
            write(&dir, "framing-framed.pcapng", &runs[1].capture);
            Made::Failing(vec!["answers.txt handed in"])
        }
        // Broken: no manifest; a file that is no hand-in.
        8 => {
            write(&dir, "notes.txt", b"I forgot the manifest");
            Made::Failing(vec!["the submission"])
        }
        _ => {
            manifest(&dir, &id, Lab::Lab2);
            write(&dir, "song.wav", &[0xff, 0xfe, 0x00, 0x80]);
            Made::Failing(vec!["the submission"])
        }
    };
    (folder, made)
}

#[test]
fn a_class_of_100_is_graded_as_each_hand_in_was_made() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let made: BTreeMap<String, Made> = (0..100).map(|i| make(dir.path(), i)).collect();
    let stoppers = [Stopper::new(GRACE), Stopper::new(GRACE)];
    let mut seen = 0;
    let batch: Batch = grade::grade_dir(dir.path(), &cx(), &stoppers, &mut |_, n, _| {
        seen += 1;
        assert_eq!(n, 100);
    })
    .expect("the class is graded");
    assert_eq!(seen, 100);
    assert_eq!(batch.submissions.len(), 100);

    // Each submission's verdicts are what it was made to be.
    for s in &batch.submissions {
        let failed: Vec<&str> = s.graded.failed_names();
        match &made[&s.folder] {
            Made::Good => assert!(failed.is_empty(), "{}: {}", s.folder, s.graded.render()),
            Made::Failing(names) => {
                assert_eq!(&failed, names, "{}: {}", s.folder, s.graded.render())
            }
        }
    }

    // The three outputs agree with the verdicts.
    let csv = grade::csv(&batch);
    let rows = csv.lines().count() - 1;
    let verdicts: usize = batch
        .submissions
        .iter()
        .map(|s| s.graded.verdicts.len())
        .sum();
    assert_eq!(rows, verdicts);
    let failing_rows = csv.lines().filter(|l| l.contains(",false,")).count();
    let failing: usize = batch
        .submissions
        .iter()
        .map(|s| s.graded.verdicts.iter().filter(|v| !v.passed).count())
        .sum();
    assert_eq!(failing_rows, failing);
    let junit = grade::junit(&batch);
    assert!(
        junit.contains(&format!("tests=\"{verdicts}\" failures=\"{failing}\"")),
        "{junit}"
    );
    let html = grade::html(&batch, "class").expect("a page");
    let (good, bad) = batch.counts();
    let expected_good = made.values().filter(|m| matches!(m, Made::Good)).count();
    assert_eq!((good, bad), (expected_good, 100 - expected_good));
    assert!(
        html.contains(&format!(
            "{good} passed every check, {bad} failed at least one"
        )),
        "{html}"
    );
    for s in &batch.submissions {
        assert!(html.contains(&s.graded.student), "{}", s.graded.student);
    }
}
