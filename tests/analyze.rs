//! `streamlab analyze` as a user runs it, on the captures the kit ships:
//! the text and JSON reports (snapshots), the songs extracted back to WAV
//! files, and one-line errors with distinct exit codes for files that are
//! not captures or are cut off.

use std::path::{Path, PathBuf};
use std::time::Duration;

use assert_cmd::cargo::cargo_bin_cmd;
use assert_cmd::Command;

fn streamlab() -> Command {
    let mut cmd = cargo_bin_cmd!("streamlab");
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
        .timeout(Duration::from_secs(120));
    cmd
}

fn capture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("captures")
        .join(name)
}

/// Every capture under captures/.
const CAPTURES: [&str; 14] = [
    "sim-report.pcapng",
    "sim-framing-original.pcapng",
    "sim-framing-framed.pcapng",
    "sim-lossy.pcapng",
    "sim-slow-reader.pcapng",
    "sim-starved.pcapng",
    "loopback-framed.pcapng",
    "loopback-original.pcapng",
    "loopback-original-glued.pcapng",
    "any-sll2-framed.pcap",
    "any-sll-original.pcapng",
    "loopback-ipv6-framed.pcapng",
    "edited-original-midstream.pcapng",
    "edited-framed-snaplen200.pcapng",
];

fn stdout(cmd: &mut Command) -> String {
    let out = cmd.assert().success().get_output().stdout.clone();
    String::from_utf8(out).expect("UTF-8 output")
}

#[test]
fn every_capture_gets_a_text_and_a_json_report() {
    for name in CAPTURES {
        let path = format!("captures/{name}");
        let text = stdout(streamlab().args(["analyze", &path]));
        insta::assert_snapshot!(format!("analyze_{name}"), text);
        let json = stdout(streamlab().args(["analyze", "--json", &path]));
        let doc: serde_json::Value = serde_json::from_str(&json).expect("valid JSON");
        assert_eq!(doc["schema"], "streamlab-analyze/1", "{name}");
        insta::assert_snapshot!(format!("analyze_json_{name}"), json);
    }
}

#[test]
fn the_report_capture_answers_the_questions() {
    let text = stdout(streamlab().args(["analyze", "captures/sim-report.pcapng"]));
    for line in [
        "A. IP version: IPv4",
        "B. server 10.0.0.7, client 10.0.0.10 (the client sent the SYN)",
        "C. transport: TCP",
        "D. client port 45926, server port 2635",
        "client  \"lista\"",
        "server  \"RV\\nVL\\n\"",
        "client  \"quit\"",
        "server  \"goodbye\"",
    ] {
        assert!(text.contains(line), "{line:?} missing from\n{text}");
    }
}

#[test]
fn a_framed_song_extracts_to_the_served_file_bit_for_bit() {
    let dir = tempfile::tempdir().unwrap();
    let out = stdout(
        streamlab()
            .args(["analyze", "captures/loopback-framed.pcapng", "--extract"])
            .arg(dir.path()),
    );
    let wav = dir.path().join("stream0-1-frere_jacques.wav");
    assert!(out.contains("extracted"), "{out}");
    let served =
        std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("music/frere_jacques.wav"))
            .unwrap();
    assert!(
        std::fs::read(&wav).unwrap() == served,
        "{} differs",
        wav.display()
    );
}

#[test]
fn an_original_song_extracts_its_raw_audio_as_cd_audio() {
    let dir = tempfile::tempdir().unwrap();
    stdout(
        streamlab()
            .args([
                "analyze",
                "captures/loopback-original-glued.pcapng",
                "--extract",
            ])
            .arg(dir.path()),
    );
    let wav = std::fs::read(dir.path().join("stream0-1-frere_jacques.wav")).unwrap();
    let served = std::fs::read(capture("../music/frere_jacques.wav")).unwrap();
    // The served file's audio (after its 44-byte header) is the extracted
    // file's audio: the original dialect sends raw PCM.
    assert_eq!(&wav[44..], &served[44..]);
    // Written as 44.1 kHz stereo 16-bit, as the original client assumes.
    assert_eq!(
        u32::from_le_bytes([wav[24], wav[25], wav[26], wav[27]]),
        44_100
    );
    assert_eq!(u16::from_le_bytes([wav[22], wav[23]]), 2);
}

#[test]
fn filters_pick_connections() {
    let one = stdout(streamlab().args(["analyze", "captures/sim-lossy.pcapng", "--stream", "0"]));
    assert!(one.contains("TCP stream 0:"), "{one}");
    let none = stdout(streamlab().args(["analyze", "captures/sim-lossy.pcapng", "--port", "9"]));
    assert!(none.contains("no TCP connection matches"), "{none}");
}

#[test]
fn follow_shows_the_conversation_with_the_audio_elided() {
    let out = stdout(streamlab().args([
        "analyze",
        "--follow",
        "captures/sim-framing-original.pcapng",
    ]));
    insta::assert_snapshot!("follow_framing_original", out);
}

#[test]
fn bad_files_get_one_line_and_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "these are not packets\n").unwrap();
    let empty = dir.path().join("empty.pcap");
    std::fs::write(&empty, "").unwrap();
    for (file, says) in [
        (dir.path().join("missing.pcap"), "opening"),
        (text, "not a pcap or pcapng file"),
        (empty, "not a pcap or pcapng file"),
    ] {
        let out = streamlab()
            .arg("analyze")
            .arg(&file)
            .assert()
            .code(1)
            .get_output()
            .clone();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(
            stderr.starts_with("streamlab: ") && stderr.contains(says),
            "{stderr}"
        );
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn a_capture_cut_off_mid_record_is_reported_and_exits_3() {
    let dir = tempfile::tempdir().unwrap();
    let whole = std::fs::read(capture("sim-report.pcapng")).unwrap();
    let cut = dir.path().join("cut.pcapng");
    std::fs::write(&cut, &whole[..whole.len() - 30]).unwrap();
    let out = streamlab()
        .arg("analyze")
        .arg(&cut)
        .assert()
        .code(3)
        .get_output()
        .clone();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stdout.contains("TCP stream 0:"), "{stdout}");
    assert!(stdout.contains("cut off"), "{stdout}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("cut off"), "{stderr}");
}

#[test]
fn a_teacher_grades_a_capture_for_lab_2() {
    let whole = stdout(streamlab().args([
        "analyze",
        "--check",
        "lab2",
        "captures/loopback-original.pcapng",
    ]));
    assert!(whole.ends_with("4 of 4 found\n"), "{whole}");
    for (file, says) in [
        (
            "captures/edited-framed-snaplen200.pcapng",
            "117064 B of the song are missing",
        ),
        ("captures/edited-original-midstream.pcapng", "no SYN"),
        ("captures/sim-report.pcapng", "play a song while capturing"),
    ] {
        let out = streamlab()
            .args(["analyze", "--check", "lab2", file])
            .assert()
            .code(4)
            .get_output()
            .clone();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("MISSING") && text.contains(says),
            "{file}: {text}"
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
    }
    let unknown = streamlab()
        .args(["analyze", "--check", "lab9", "captures/sim-report.pcapng"])
        .assert()
        .code(2);
    let _ = unknown;
}
