//! Deliberately broken clients, each a few lines of bash talking through
//! `/dev/tcp`, each failing one client check with a diagnosis that names
//! its fault; and the table and diagnoses of one naive client per dialect,
//! as snapshots.
//!
//! Every script gets `{port} {out} {song}` as `$1 $2 $3`. The clients that
//! hang are killed at the checker's timeout; every `sleep` is short.

#![cfg(unix)]

use std::time::Duration;

use insta::assert_snapshot;
use streamlab_conformance::client::{self, ClientConfig};
use streamlab_conformance::{Dialect, Report, Verdict};

/// `wav N`: the 44-byte header of a CD-audio WAV holding N bytes.
const WAV: &str = r#"
le32() { printf "\\x$(printf %02x $(($1 & 255)))\\x$(printf %02x $((($1 >> 8) & 255)))\\x$(printf %02x $((($1 >> 16) & 255)))\\x$(printf %02x $((($1 >> 24) & 255)))"; }
wav() { printf RIFF; le32 $((36 + $1)); printf 'WAVEfmt '; le32 16; printf '\x01\x00\x02\x00'; le32 44100; le32 176400; printf '\x04\x00\x10\x00'; printf data; le32 $1; }
"#;

/// Connects and, in the framed dialect, says hello.
const FRAMED: &str = "exec 3<>/dev/tcp/127.0.0.1/$1\n\
                      printf 'hello streamlab/1 bash\\n' >&3; read -r ok <&3\n";
const ORIGINAL: &str = "exec 3<>/dev/tcp/127.0.0.1/$1\n";

fn config(dialect: Dialect, script: &str, timeout_ms: u64) -> ClientConfig {
    let command = [
        "bash",
        "-c",
        &format!("{WAV}{script}"),
        "bash",
        "{port}",
        "{out}",
        "{song}",
    ];
    let mut config = ClientConfig::new(command.map(String::from).to_vec(), dialect);
    config.timeout = Duration::from_millis(timeout_ms);
    config
}

fn run(config: &ClientConfig, check: &str) -> Report {
    client::run(config, Some(&[check.to_string()])).expect("the checks start")
}

/// Runs `check` alone and asserts that it fails with a diagnosis holding
/// every piece of `says`.
fn assert_fails(config: &ClientConfig, check: &str, says: &[&str]) {
    let report = run(config, check);
    let text = report.render_text(false);
    let Verdict::Fail(d) = &report.results[0].verdict else {
        panic!("{check} should fail:\n{text}");
    };
    let rendered = d.render();
    for piece in says {
        assert!(
            rendered.contains(piece),
            "{check}: no {piece:?} in:\n{text}"
        );
    }
}

#[test]
fn a_framed_client_that_forgets_hello_fails_lists_songs() {
    let script = "exec 3<>/dev/tcp/127.0.0.1/$1\n\
                  printf 'list\\n' >&3; read -r status <&3; n=${status#OK }; n=${n%% *}\n\
                  for i in $(seq 1 \"$n\"); do read -r name <&3; echo \"$name\"; done\n";
    let c = config(Dialect::Framed, script, 5000);
    assert_fails(
        &c,
        "lists-songs",
        &[
            "expected: \"hello streamlab/1 <agent>\\n\", then \"list\\n\"",
            "got:      \"list\\n\" first",
            "a framed client greets the server first",
        ],
    );
}

#[test]
fn a_client_that_writes_no_wav_fails_downloads_a_song() {
    let script = format!(
        "{FRAMED}printf 'download %s\\n' \"$3\" >&3; read -r header <&3\n\
         bytes=$(echo \"$header\" | cut -d' ' -f2); head -c \"$bytes\" <&3 >/dev/null\n\
         read -r end <&3; printf 'quit\\n' >&3; read -r bye <&3\n"
    );
    let c = config(Dialect::Framed, &script, 5000);
    assert_fails(
        &c,
        "downloads-a-song",
        &[
            "expected: a WAV file in {out} whose data chunk is the 44100 bytes of audio served",
            "got:      no file at all in {out}; it exited with status 0",
        ],
    );
}

#[test]
fn a_client_that_wants_the_start_marker_alone_fails_glued_marker() {
    // The original Python client's defect: one recv must be the marker.
    let script = format!(
        "{ORIGINAL}printf 'download %s' \"$3\" >&3\n\
         n=$(dd bs=1024 count=1 <&3 2>/dev/null | wc -c)\n\
         [ \"$n\" = 16 ] || {{ echo \"UnicodeDecodeError: 'utf-8' codec can't decode ($n bytes)\"; exit 1; }}\n"
    );
    let c = config(Dialect::Original, &script, 5000);
    assert_fails(
        &c,
        "glued-marker",
        &[
            "take \"track_data_start\" as a prefix",
            "UnicodeDecodeError",
        ],
    );
}

#[test]
fn a_client_that_wants_the_end_marker_in_one_read_hangs_on_split_end_marker() {
    // Looks for track_data_end at the end of each read, not of the stream.
    let script = format!(
        "{ORIGINAL}printf 'download %s' \"$3\" >&3\n\
         for i in $(seq 1 500); do\n\
           dd bs=65536 count=1 <&3 2>/dev/null >\"$2/chunk\"; [ -s \"$2/chunk\" ] || exit 1\n\
           [ \"$(tail -c 14 \"$2/chunk\")\" = track_data_end ] && exit 0\n\
         done\n"
    );
    let c = config(Dialect::Original, &script, 4000);
    assert_fails(
        &c,
        "split-end-marker",
        &[
            "expected: the client exits within 4000 ms",
            "it was still running after 4000 ms (killed)",
            "not in one recv: it can arrive in pieces",
        ],
    );
}

#[test]
fn a_client_with_a_traceback_on_not_found_fails_song_not_found() {
    let script = format!(
        "{FRAMED}printf 'download %s\\n' \"$3\" >&3; read -r reply <&3\n\
         case $reply in ERR*) printf 'Traceback (most recent call last):\\nKeyError: %s\\n' \"$3\" >&2; exit 1;; esac\n"
    );
    let c = config(Dialect::Framed, &script, 5000);
    assert_fails(
        &c,
        "song-not-found",
        &[
            "stderr: \"Traceback (most recent call last):\\nKeyError: alpha\"",
            "a panic or a traceback is a crash",
        ],
    );
}

#[test]
fn a_client_that_closes_right_after_quit_fails_quit_goodbye() {
    let script = format!("{FRAMED}printf 'quit\\n' >&3\n");
    let c = config(Dialect::Framed, &script, 5000);
    assert_fails(
        &c,
        "quit-goodbye",
        &[
            "expected: the client keeps the connection open until \"OK goodbye\\n\" is sent",
            "got:      the client closed the connection before the server wrote \"OK goodbye\\n\"",
        ],
    );
}

#[test]
fn a_client_that_waits_forever_after_the_close_fails_server_vanishes() {
    // Reads to the end of the stream, then keeps waiting for an end
    // marker that will never come (here: a sleep, killed with its group).
    let script =
        format!("{ORIGINAL}printf 'download %s' \"$3\" >&3; cat <&3 >/dev/null; sleep 5\n");
    let c = config(Dialect::Original, &script, 1500);
    assert_fails(
        &c,
        "server-vanishes",
        &[
            "sent:     \"track_data_start\", then (pause 50 ms), then <22050 bytes of audio>, then (the server closed)",
            "it was still running after 1500 ms (killed)",
            "when recv returns nothing (b'')",
        ],
    );
}

#[test]
fn a_client_that_gives_up_after_300_ms_fails_slow_server() {
    let script = format!(
        "{FRAMED}printf 'download %s\\n' \"$3\" >&3; read -r header <&3\n\
         timeout 0.3 cat <&3 >\"$2/raw\"; n=$(wc -c <\"$2/raw\")\n\
         {{ wav \"$n\"; cat \"$2/raw\"; }} >\"$2/$3.wav\"; rm \"$2/raw\"; echo saved\n"
    );
    let c = config(Dialect::Framed, &script, 5000);
    assert_fails(
        &c,
        "slow-server",
        &[
            "expected: the client reads the whole song",
            "the connection ended before the whole song was written",
            "a slow server is not a dead one",
        ],
    );
}

/// A framed client that lists, downloads and writes its WAV correctly, but
/// crashes (SIGSEGV) on an error reply and closes without reading the
/// goodbye.
const NAIVE_FRAMED: &str = "printf 'list\\n' >&3; read -r status <&3; n=${status#OK }; n=${n%% *}\n\
    for i in $(seq 1 \"$n\"); do read -r name <&3; echo \"$name\"; done\n\
    printf 'download %s\\n' \"$3\" >&3; read -r header <&3\n\
    case $header in ERR*) kill -SEGV $$;; esac\n\
    bytes=$(echo \"$header\" | cut -d' ' -f2); head -c \"$bytes\" <&3 >\"$2/raw\"; read -r end <&3\n\
    { wav $(wc -c <\"$2/raw\"); cat \"$2/raw\"; } >\"$2/$3.wav\"; rm \"$2/raw\"\n\
    printf 'quit\\n' >&3\n";

/// An original client that prints only the first song, and assumes every
/// song is 44100 bytes long (so it waits forever for a song that is not
/// there).
const NAIVE_ORIGINAL: &str = "printf lista >&3; dd bs=1024 count=1 <&3 2>/dev/null | head -n 1\n\
    printf 'download %s' \"$3\" >&3; read -r -N 16 marker <&3\n\
    head -c 44100 <&3 >\"$2/raw\"; read -r -N 14 end <&3\n\
    { wav $(wc -c <\"$2/raw\"); cat \"$2/raw\"; } >\"$2/$3.wav\"; rm \"$2/raw\"\n\
    printf quit >&3; read -r -N 7 bye <&3\n";

fn snapshot(dialect: Dialect, script: String) -> (String, Report) {
    let mut report = client::run(&config(dialect, &script, 3000), None).expect("the checks start");
    // The heading would hold the whole script: name it instead.
    report.server = "naive-client.sh".into();
    (report.render_text(false), report)
}

#[test]
fn the_table_and_diagnoses_for_a_naive_framed_client() {
    let (text, report) = snapshot(Dialect::Framed, format!("{FRAMED}{NAIVE_FRAMED}"));
    assert_eq!(report.failed(), 2, "{text}");
    assert_snapshot!(text);
}

#[test]
fn the_table_and_diagnoses_for_a_naive_original_client() {
    let (text, report) = snapshot(Dialect::Original, format!("{ORIGINAL}{NAIVE_ORIGINAL}"));
    assert_eq!(report.failed(), 2, "{text}");
    assert_snapshot!(text);
}

#[test]
fn json_and_junit_of_a_client_report() {
    let (_, report) = snapshot(Dialect::Framed, format!("{FRAMED}{NAIVE_FRAMED}"));
    let json: serde_json::Value = serde_json::from_str(&report.to_json()).expect("JSON");
    assert_eq!(json["schema"], "streamlab-conformance/1");
    assert_eq!(json["client"], "naive-client.sh");
    assert!(json.get("server").is_none());
    assert_eq!(json["passed"], 6);
    assert_eq!(json["checks"][5]["name"], "quit-goodbye");
    assert_eq!(json["checks"][5]["result"], "fail");
    assert!(json["checks"][5]["diagnosis"]["expected"].is_string());
    let xml = report.to_junit();
    assert!(xml.contains("tests=\"8\" failures=\"2\""), "{xml}");
    assert!(
        xml.contains("classname=\"conformance.client.framed\""),
        "{xml}"
    );
    assert_eq!(xml.matches("<testcase ").count(), 8);
    assert_eq!(
        xml.matches("<failure ").count(),
        xml.matches("</failure>").count()
    );
    assert!(!xml.contains("'"), "attribute text is escaped: {xml}");
}
