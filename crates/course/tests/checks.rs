//! Each lab's check on hand-ins made the way a student makes them, on the
//! wrong student's files, on the handouts' examples and on edited files.
//!
//! Real captures (labs 1 and 2) are stood in for by simulated sessions
//! whose server listens on the student's port: a test may not bind a fixed
//! port, and the check reads a capture the same whoever wrote it.

mod support;

use std::path::PathBuf;

use streamlab_course::checks;
use streamlab_course::Lab;
use streamlab_netsim::scenario::{experiment_csv, experiment_runs};
use streamlab_netsim::tcp::TcpFlavor;
use streamlab_proto::Dialect;
use support::{answers_file, cx, repo, session, variant};

/// Writes `files` (name, bytes) into a fresh folder; answers their paths.
fn hand_in(files: &[(&str, &[u8])]) -> (tempfile::TempDir, Vec<PathBuf>) {
    let dir = tempfile::tempdir().expect("a temp dir");
    let paths = files
        .iter()
        .map(|(name, bytes)| {
            let p = dir.path().join(name);
            std::fs::write(&p, bytes).expect("writing a hand-in file");
            p
        })
        .collect();
    (dir, paths)
}

fn check(lab: Lab, id: &str, files: &[(&str, &[u8])]) -> streamlab_course::Graded {
    let (_dir, paths) = hand_in(files);
    checks::check(lab, &variant(id), &paths, &cx()).expect("the check runs")
}

fn failing(g: &streamlab_course::Graded) -> Vec<String> {
    g.verdicts
        .iter()
        .filter(|v| !v.passed)
        .map(|v| format!("{}: {}", v.name, v.detail))
        .collect()
}

#[test]
fn lab2_takes_the_students_own_session_only() {
    let me = variant("2023-0001");
    let mine = session(me.port(), me.song(), Dialect::Original);
    let g = check(Lab::Lab2, "2023-0001", &[("my-session.pcapng", &mine)]);
    assert!(g.passed(), "{}", g.render());
    assert!(g.verdicts.len() >= 7, "{}", g.render());

    // Another student's capture: wrong port, in one line.
    let g = check(Lab::Lab2, "2023-0002", &[("my-session.pcapng", &mine)]);
    let fails = failing(&g);
    assert_eq!(fails.len(), 1, "{fails:?}");
    assert!(fails[0].contains(&format!(
        "student 2023-0002's is {}",
        variant("2023-0002").port()
    )));

    // The handout's example capture.
    let example =
        std::fs::read(repo().join("captures/loopback-original.pcapng")).expect("a capture");
    let g = check(
        Lab::Lab2,
        "2023-0001",
        &[("loopback-original.pcapng", &example)],
    );
    let fails = failing(&g);
    assert!(fails[0].contains("2635 is the handouts' port"), "{fails:?}");

    // The right port, the wrong song; and the framed dialect.
    let other = if me.song() == "twinkle" {
        "ode_to_joy"
    } else {
        "twinkle"
    };
    let g = check(
        Lab::Lab2,
        "2023-0001",
        &[("s.pcapng", &session(me.port(), other, Dialect::Original))],
    );
    let fails = failing(&g);
    assert_eq!(fails.len(), 1, "{fails:?}");
    assert!(fails[0].starts_with("your song"), "{fails:?}");
    let g = check(
        Lab::Lab2,
        "2023-0001",
        &[("s.pcapng", &session(me.port(), me.song(), Dialect::Framed))],
    );
    assert!(
        failing(&g)
            .iter()
            .any(|f| f.starts_with("the original dialect")),
        "{}",
        g.render()
    );

    // No capture at all.
    let g = check(Lab::Lab2, "2023-0001", &[("notes.txt", b"I forgot")]);
    assert_eq!(
        failing(&g),
        vec!["capture handed in: no capture among the files; capture your session as part 2 of the handout says".to_string()]
    );
}

#[test]
fn lab1_ties_the_transcript_to_the_capture() {
    let me = variant("2023-0001");
    let capture = session(me.port(), me.song(), Dialect::Framed);
    // The simulated client is 10.0.0.10:45926. A transcript as the client
    // writes it: each command echoed, then its answer.
    let song = me.song();
    let transcript = |port: u16, commands: &[(&str, String)]| -> String {
        commands
            .iter()
            .map(|(c, answer)| format!("> {c}\n{answer}\n"))
            .collect::<String>()
            .replace("PORT", &port.to_string())
    };
    let all: Vec<(&str, String)> = vec![
        ("list", "5 songs:".into()),
        (
            "play x",
            format!("playing '{song}' (44100 Hz, 2 ch, s16le, streaming)"),
        ),
        ("pause", format!("paused {song} 0.6/3.4 s, downloaded")),
        ("resume", format!("playing {song} 0.6/3.4 s, downloaded")),
        ("restart", format!("playing {song} 0.0/3.4 s, downloaded")),
        ("loop on", "loop on".into()),
        ("stop", format!("stopped {song} 0.1/3.4 s, downloaded")),
        (
            "devices",
            format!("1 device:\n  1. 10.0.0.10:PORT stopped {song}  (this client)"),
        ),
        ("quit", "goodbye".into()),
    ];
    let good = transcript(45926, &all);
    let g = check(
        Lab::Lab1,
        "2023-0001",
        &[("session.txt", good.as_bytes()), ("lab1.pcapng", &capture)],
    );
    assert!(g.passed(), "{}", g.render());
    // Another student's name on it, and the handouts' example capture.
    let g = check(
        Lab::Lab1,
        "2023-0002",
        &[("session.txt", good.as_bytes()), ("lab1.pcapng", &capture)],
    );
    assert!(
        failing(&g).iter().any(|f| f.starts_with("your own server")),
        "{}",
        g.render()
    );
    let example =
        std::fs::read(repo().join("captures/loopback-original.pcapng")).expect("a capture");
    let g = check(
        Lab::Lab1,
        "2023-0001",
        &[("session.txt", good.as_bytes()), ("lab1.pcapng", &example)],
    );
    assert!(
        failing(&g)
            .iter()
            .any(|f| f.contains("2635 is the handouts' port")),
        "{}",
        g.render()
    );

    // Commands left out; and a pause that did nothing, as without
    // --realtime, when the song is over before the script pauses it.
    let short = transcript(45926, &all[..6]);
    let g = check(
        Lab::Lab1,
        "2023-0001",
        &[("session.txt", short.as_bytes()), ("lab1.pcapng", &capture)],
    );
    let fails = failing(&g);
    assert!(
        fails[0].starts_with(
            "every menu command: session.txt: stop never used; devices never used; quit never used"
        ),
        "{fails:?}"
    );
    // Without quit no goodbye, without devices no client port to tie.
    assert!(
        fails[1].starts_with("goodbye:") && fails[2].starts_with("one session:"),
        "{fails:?}"
    );
    let mut idle = all.clone();
    idle[2].1 = "nothing is playing".into();
    let g = check(
        Lab::Lab1,
        "2023-0001",
        &[
            ("session.txt", transcript(45926, &idle).as_bytes()),
            ("lab1.pcapng", &capture),
        ],
    );
    let fails = failing(&g);
    assert!(
        fails[0].contains("pause said \"nothing is playing\""),
        "{fails:?}"
    );
    let elsewhere = transcript(50000, &all);
    let g = check(
        Lab::Lab1,
        "2023-0001",
        &[
            ("session.txt", elsewhere.as_bytes()),
            ("lab1.pcapng", &capture),
        ],
    );
    let fails = failing(&g);
    assert_eq!(fails.len(), 1, "{fails:?}");
    assert!(
        fails[0].contains("port 50000, which the capture never shows"),
        "{fails:?}"
    );
}

#[test]
fn lab3_takes_the_students_own_runs_byte_for_byte() {
    let own = checks::framing_runs(Some(&variant("s1"))).expect("runs");
    let example = checks::framing_runs(None).expect("runs");
    let answers = answers_file(Lab::Lab3, "s1");
    let files: Vec<(&str, &[u8])> = vec![
        ("framing-original.pcapng", &own[0].capture),
        ("framing-framed.pcapng", &own[1].capture),
        ("answers.txt", answers.as_bytes()),
    ];
    let g = check(Lab::Lab3, "s1", &files);
    assert!(g.passed(), "{}", g.render());

    // Another student's runs, and the handout's.
    let g = check(Lab::Lab3, "s2", &files[..2]);
    assert!(
        failing(&g)
            .iter()
            .any(|f| f.contains("no capture handed in is student s2's")),
        "{}",
        g.render()
    );
    let g = check(
        Lab::Lab3,
        "s1",
        &[
            ("a.pcapng", &example[0].capture),
            ("b.pcapng", &example[1].capture),
        ],
    );
    assert!(
        failing(&g)
            .iter()
            .filter(|f| f.contains("made without --student"))
            .count()
            == 2,
        "{}",
        g.render()
    );

    // One byte changed.
    let mut edited = own[0].capture.clone();
    let last = edited.len() - 20;
    edited[last] ^= 1;
    let g = check(
        Lab::Lab3,
        "s1",
        &[
            ("framing-original.pcapng", &edited),
            ("framing-framed.pcapng", &own[1].capture),
        ],
    );
    assert!(
        failing(&g)
            .iter()
            .any(|f| f.starts_with("framing capture, original dialect")),
        "{}",
        g.render()
    );
}

#[test]
fn lab4_takes_the_students_table_and_grades_the_answers() {
    let v = variant("s1");
    let table =
        experiment_csv(&experiment_runs(v.seed("experiment"), TcpFlavor::Linux).expect("runs"));
    let good = answers_file(Lab::Lab4, "s1");
    let g = check(
        Lab::Lab4,
        "s1",
        &[
            ("table.csv", table.as_bytes()),
            ("answers.txt", good.as_bytes()),
        ],
    );
    assert!(g.passed(), "{}", g.render());
    // The same files under another student's name.
    let g = check(
        Lab::Lab4,
        "s2",
        &[
            ("table.csv", table.as_bytes()),
            ("answers.txt", good.as_bytes()),
        ],
    );
    assert!(
        failing(&g)[0].contains("is not student s2's table"),
        "{}",
        g.render()
    );

    // A table saved with Windows line ends still counts.
    let crlf = table.replace('\n', "\r\n");
    let g = check(
        Lab::Lab4,
        "s1",
        &[
            ("table.csv", crlf.as_bytes()),
            ("answers.txt", good.as_bytes()),
        ],
    );
    assert!(g.passed(), "{}", g.render());

    // The handout's table, one figure edited, wrong and missing answers.
    let handout = experiment_csv(&experiment_runs(1, TcpFlavor::Linux).expect("runs"));
    let g = check(Lab::Lab4, "s1", &[("table.csv", handout.as_bytes())]);
    assert!(
        failing(&g)[0].contains("the handout's table (seed 1)"),
        "{}",
        g.render()
    );
    let edited = table.replacen(",true,", ",false,", 1);
    let g = check(Lab::Lab4, "s1", &[("table.csv", edited.as_bytes())]);
    assert!(
        failing(&g)[0].contains("is not student s1's table"),
        "{}",
        g.render()
    );
    let wrong: String = good
        .lines()
        .filter(|l| !l.starts_with("lossy_retransmitted"))
        .map(|l| {
            if l.starts_with("starved_stalls") {
                "starved_stalls: 99\n".to_string()
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    let g = check(
        Lab::Lab4,
        "s1",
        &[
            ("table.csv", table.as_bytes()),
            ("answers.txt", wrong.as_bytes()),
        ],
    );
    let fails = failing(&g);
    assert_eq!(fails.len(), 2, "{fails:?}");
    assert!(
        fails.iter().any(|f| f.contains("99 is not right")),
        "{fails:?}"
    );
    assert!(
        fails
            .iter()
            .any(|f| f.contains("no line 'lossy_retransmitted: …'")),
        "{fails:?}"
    );
}

#[test]
fn lab5_reads_the_conformance_report_of_the_students_server() {
    let v = variant("s1");
    let report = |port: u16, result: &str| {
        serde_json::json!({
            "schema": "streamlab-conformance/1",
            "server": format!("127.0.0.1:{port}"),
            "dialect": "original",
            "timeout_ms": 2000,
            "passed": 1, "failed": 0,
            "checks": [
                {"name": "list", "description": "", "result": "pass", "ms": 3, "diagnosis": null},
                {"name": "help", "description": "not applicable: the original dialect has no help command",
                 "result": "n/a", "ms": 0, "diagnosis": null},
                {"name": "download", "description": "", "result": result, "ms": 3,
                 "diagnosis": {"sent": "download x", "expected": "track_data_start", "got": "a close", "hint": "look at recv"}},
            ]
        })
        .to_string()
    };
    let g = check(
        Lab::Lab5,
        "s1",
        &[("conformance.json", report(v.port(), "pass").as_bytes())],
    );
    assert!(g.passed(), "{}", g.render());
    let g = check(
        Lab::Lab5,
        "s2",
        &[("conformance.json", report(v.port(), "pass").as_bytes())],
    );
    assert!(
        failing(&g)[0].starts_with("your own server"),
        "{}",
        g.render()
    );
    // The check that does not apply to the dialect gives no verdict.
    assert!(
        !g.verdicts.iter().any(|v| v.name == "check help"),
        "{}",
        g.render()
    );
    let g = check(
        Lab::Lab5,
        "s1",
        &[("conformance.json", report(v.port(), "fail").as_bytes())],
    );
    assert_eq!(
        failing(&g),
        vec![
            "check download: fail: expected track_data_start, got a close (look at recv)"
                .to_string()
        ]
    );
    let g = check(
        Lab::Lab5,
        "s1",
        &[("conformance.json", report(2635, "pass").as_bytes())],
    );
    assert!(failing(&g)[0].contains("port 2635"), "{}", g.render());
    let g = check(
        Lab::Lab5,
        "s1",
        &[("conformance.json", b"{not json".as_slice())],
    );
    assert!(failing(&g)[0].contains("is not JSON"), "{}", g.render());
}

#[test]
fn the_bundled_songs_are_there() {
    for song in streamlab_course::variant::BUNDLED_SONGS {
        assert!(
            repo().join("music").join(format!("{song}.wav")).is_file(),
            "{song}"
        );
    }
}

#[test]
fn a_file_that_is_no_hand_in_is_one_line_of_error() {
    let (_dir, paths) = hand_in(&[("song.wav", &[0xff, 0xfe, 0, 0x80])]);
    let e = checks::check(Lab::Lab2, &variant("s1"), &paths, &cx()).expect_err("refused");
    let text = e.to_string();
    assert!(text.contains("song.wav") && !text.contains('\n'), "{text}");
    let missing = [PathBuf::from("/nonexistent/capture.pcapng")];
    assert!(checks::check(Lab::Lab2, &variant("s1"), &missing, &cx()).is_err());
}
