//! `streamlab analyze` as a user runs it, on the captures the kit ships:
//! the text and JSON reports (snapshots), the songs extracted back to WAV
//! files, and one-line errors with distinct exit codes for files that are
//! not captures or are cut off.

use std::path::{Path, PathBuf};

use assert_cmd::Command;

mod support;
use support::streamlab;

use streamlab_testkit::captures as testutil;

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

/// A pcap (raw IPv4) of TCP segments `(ms, src host, flags)`, each from
/// 10.0.0.`host`:1000 to the server, 10.0.0.7:2635.
fn segments_pcap(dir: &Path, name: &str, segments: &[(u64, u8, u8)]) -> PathBuf {
    let mut pcap = testutil::PcapFile::new(false, false, 101, 65_535);
    for &(ms, host, flags) in segments {
        let tcp = testutil::tcp(1000, 2635, 7, 0, flags, b"");
        let ip = testutil::ipv4([10, 0, 0, host], [10, 0, 0, 7], 6, &tcp);
        pcap.packet(ms * 1_000_000, &ip, ip.len() as u32);
    }
    let path = dir.join(name);
    std::fs::write(&path, &pcap.bytes).unwrap();
    path
}

const SYN: u8 = 0x02;
const RST: u8 = 0x04;
const ACK: u8 = 0x10;

/// The stream numbers of the report's sections, in the order printed.
fn sections(text: &str) -> Vec<&str> {
    let streams = text.lines().filter_map(|l| l.strip_prefix("TCP stream "));
    streams.map(|l| &l[..l.find(':').unwrap_or(0)]).collect()
}

#[test]
fn connections_are_printed_as_they_finish() {
    let dir = tempfile::tempdir().unwrap();
    // Stream 1 resets at once; stream 0 is silent for 20 s, then acks.
    let file = segments_pcap(
        dir.path(),
        "two.pcap",
        &[(0, 1, SYN), (1, 2, SYN), (2, 2, RST), (20_000, 1, ACK)],
    );
    // Stream 1 finished 10 s after its RST, before the capture ended.
    let text = stdout(streamlab().arg("analyze").arg(&file));
    assert_eq!(sections(&text), ["1", "0"], "{text}");
    let json = stdout(streamlab().args(["analyze", "--json"]).arg(&file));
    let doc: serde_json::Value = serde_json::from_str(&json).expect("valid JSON");
    let order: Vec<u64> = doc["connections"]
        .as_array()
        .expect("an array")
        .iter()
        .filter_map(|c| c["stream"].as_u64())
        .collect();
    assert_eq!(order, [1, 0]);
    // Silent past the idle timeout, stream 0 finishes first (at 5 s, its
    // deadline, before stream 1's at 10 s); the ACK starts stream 2.
    let idle = stdout(
        streamlab()
            .args(["analyze", "--idle-timeout", "5"])
            .arg(&file),
    );
    assert_eq!(sections(&idle), ["0", "1", "2"], "{idle}");
}

#[test]
fn a_full_connection_table_skips_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let syns: Vec<(u64, u8, u8)> = (0..250).map(|n| (n, n as u8 + 1, SYN)).collect();
    let file = segments_pcap(dir.path(), "syns.pcap", &syns);
    let text = stdout(
        streamlab()
            .args(["analyze", "--max-connections", "100"])
            .arg(&file),
    );
    let warning = "warning: more than 100 connections at once: 150 TCP segments from \
                   frame 101 on were skipped (150 of them SYNs opening a connection)";
    assert!(text.contains(warning), "{text}");
    assert!(
        text.contains("--max-connections raises the limit"),
        "{text}"
    );
    assert!(
        text.contains("in all: 250 frames, 250 TCP segments in 100 connection(s) reported"),
        "{text}"
    );
    let json = stdout(
        streamlab()
            .args(["analyze", "--json", "--max-connections", "100"])
            .arg(&file),
    );
    let doc: serde_json::Value = serde_json::from_str(&json).expect("valid JSON");
    assert_eq!(doc["connections"].as_array().map(Vec::len), Some(100));
    assert_eq!(doc["skipped_segments"], 150);
    assert_eq!(doc["warnings"].as_array().map(Vec::len), Some(1));
}

#[test]
fn progress_goes_to_stderr_and_leaves_the_report_alone() {
    let file = "captures/loopback-framed.pcapng";
    let plain = streamlab()
        .args(["analyze", file, "--json"])
        .assert()
        .success();
    let plain = plain.get_output();
    // Piped (as here), `auto` and `never` show nothing.
    for mode in ["auto", "never"] {
        let out = streamlab()
            .args(["analyze", file, "--json", "--progress", mode])
            .assert()
            .success();
        assert!(out.get_output().stderr.is_empty(), "{mode}");
        assert_eq!(out.get_output().stdout, plain.stdout, "{mode}");
    }
    // `always` prints a line per tenth, then the end, on stderr only.
    let out = streamlab()
        .args(["analyze", file, "--json", "--progress", "always"])
        .assert()
        .success();
    assert_eq!(out.get_output().stdout, plain.stdout);
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 10, "{err}");
    assert!(
        lines[0].starts_with(&format!("reading {file}: 10% (")),
        "{err}"
    );
    assert!(
        lines[9].starts_with(&format!("reading {file}: done, ")),
        "{err}"
    );
}
