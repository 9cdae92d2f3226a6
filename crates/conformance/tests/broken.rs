//! Servers that get one thing wrong: the check about that thing fails, and
//! its diagnosis says what went wrong. The servers are in support/fake.rs.

mod support;

use insta::assert_snapshot;
use streamlab_conformance::{checks, run, run_check, Config, Dialect, Verdict};
use support::fake::{self, Flaw};
use support::{assert_well_formed_xml, config};

fn fake_config(framed: bool, flaw: Flaw) -> Config {
    let dialect = if framed {
        Dialect::Framed
    } else {
        Dialect::Original
    };
    config(fake::start(framed, flaw), dialect)
}

/// Runs one check against a server with `flaw`; it must fail, and its
/// diagnosis must mention `says`.
fn assert_fails(framed: bool, flaw: Flaw, check: &str, says: &str) {
    let config = fake_config(framed, flaw);
    let check = checks::ALL
        .iter()
        .find(|c| c.name == check)
        .expect("a check of that name");
    let result = run_check(check, &config);
    let Verdict::Fail(d) = &result.verdict else {
        panic!("{} passed against a server with {flaw:?}", check.name);
    };
    let text = d.render();
    assert!(
        text.contains(says),
        "the diagnosis should mention {says:?}:\n{text}"
    );
}

macro_rules! broken_servers {
    ($($test:ident: $dialect:ident, $flaw:ident fails $check:literal saying $says:literal;)*) => {
        $(
            #[test]
            fn $test() {
                assert_fails(stringify!($dialect) == "framed", Flaw::$flaw, $check, $says);
            }
        )*
    };
}

broken_servers! {
    list_without_the_last_newline: original, ListWithoutLastNewline fails "list" saying "the last one too";
    list_counting_one_song_too_many: framed, ListCountTooHigh fails "list" saying "\"OK 3 songs\" and 2 lines, then nothing for 1500 ms";
    no_end_marker: original, NoEndMarker fails "download-integrity" saying "must be followed by \"track_data_end\"";
    half_a_frame_of_audio: original, OddAudioLength fails "download-integrity" saying "40001 bytes of audio";
    end_marker_inside_the_audio: original, MarkerInAudio fails "download-integrity" saying "inside the audio, 20000 bytes after";
    a_byte_count_four_too_high: framed, WrongByteCount fails "download-integrity" saying "got:      \"k_data_end RV\"";
    unknown_command_in_english: original, EnglishUnknown fails "unknown-command" saying "got:      \"Unknown command.\"";
    unknown_command_as_a_server_error: framed, Err500ForUnknown fails "unknown-command" saying "got:      \"ERR 500 what?\"";
    not_found_in_english: original, EnglishNotFound fails "song-not-found" saying "não encontrada";
    not_found_as_a_bad_request: framed, NotFoundAs400 fails "song-not-found" saying "expected: \"ERR 404 <message>\"";
    help_that_forgets_a_command: framed, HelpWithoutDevices fails "help" saying "no line for devices";
    a_nameless_download_as_not_found: framed, EmptyDownloadIsNotFound fails "bad-request" saying "expected: \"ERR 400 <message>\"";
    any_state_taken: framed, AnyStatus fails "bad-request" saying "got:      \"OK\"";
    quit_without_goodbye: original, NoGoodbye fails "quit-goodbye" saying "got:      the connection closed";
    goodbye_without_the_close: framed, StaysOpenAfterQuit fails "quit-goodbye" saying "must close its socket";
    att_status_answered: original, AnswersAttStatus fails "devices-status" saying "got:      \"ok\"";
    device_lines_with_colons: original, DevicesWithColons fails "devices-status" saying "<n>-<ip> ; <port> Musica: <song>";
    status_ignored: framed, IgnoresStatus fails "devices-status" saying "idle \"None\"";
    status_keyed_by_ip_framed: framed, StatusByIp fails "devices-status" saying "not to every client of its IP address";
    split_command_reassembled: original, Reassembles fails "split-command" saying "nothing within 1500 ms";
    each_read_taken_as_a_line: framed, ReadIsALine fails "split-command" saying "nothing until the line ends";
    glued_words_carried_out: original, SplitsGluedWords fails "coalesced-commands" saying "got:      \"RV\\ntiny\\ngoodbye\"";
    only_the_first_line_of_a_read: framed, FirstLineOnly fails "coalesced-commands" saying "answer the second one too";
    dies_when_a_client_vanishes_original: original, DiesOnDisconnect fails "vanishing-client" saying "must cost the server only that connection";
    dies_when_a_client_vanishes_framed: framed, DiesOnDisconnect fails "vanishing-client" saying "connection";
    one_client_at_a_time_original: original, SingleThreaded fails "concurrent-clients" saying "(client 2 of 5)";
    one_client_at_a_time_framed: framed, SingleThreaded fails "concurrent-clients" saying "several clients at once";
    closes_on_long_input: original, ClosesOnLongInput fails "over-long-input" saying "got:      the connection";
    long_line_ignored: framed, IgnoresLongLines fails "over-long-input" saying "nothing within 1500 ms";
}

/// Apart on loopback (Linux), a silent client that takes the song is a
/// server with one song for all, whichever way it keys the report.
#[cfg(target_os = "linux")]
#[test]
fn one_song_for_every_client() {
    assert_fails(
        false,
        Flaw::StatusForEveryone,
        "devices-status",
        "came from another IP address",
    );
}

#[test]
fn from_one_address_one_song_for_all_looks_like_ip_keying() {
    let mut config = fake_config(false, Flaw::StatusForEveryone);
    config.same_source = true;
    let check = checks::ALL
        .iter()
        .find(|c| c.name == "devices-status")
        .expect("a check of that name");
    let result = run_check(check, &config);
    assert!(result.passed(), "indistinguishable from one address");
    assert!(result.note.is_some_and(|n| n.contains("IP address")));
}

#[test]
fn the_fake_servers_without_a_flaw_pass_every_check() {
    for framed in [false, true] {
        let report = run(&fake_config(framed, Flaw::None), None).expect("listening");
        assert!(report.all_passed(), "{}", report.render_text(true));
    }
}

fn snapshot_text(framed: bool, flaw: Flaw) -> (String, streamlab_conformance::Report) {
    let report = run(&fake_config(framed, flaw), None).expect("listening");
    (report.render_text(false), report)
}

#[test]
fn the_table_and_diagnoses_for_an_original_server_in_english() {
    let (text, _) = snapshot_text(false, Flaw::EnglishUnknown);
    insta::with_settings!({filters => vec![(r"127\.0\.0\.1:\d+", "127.0.0.1:[port]")]}, {
        assert_snapshot!(text);
    });
}

#[test]
fn the_table_and_diagnoses_for_a_framed_server_that_miscounts() {
    let (text, report) = snapshot_text(true, Flaw::WrongByteCount);
    insta::with_settings!({filters => vec![(r"127\.0\.0\.1:\d+", "127.0.0.1:[port]")]}, {
        assert_snapshot!(text);
    });

    let json: serde_json::Value = serde_json::from_str(&report.to_json()).expect("valid JSON");
    assert_eq!(json["schema"], "streamlab-conformance/1");
    assert_eq!(json["dialect"], "framed");
    assert_eq!(
        json["checks"].as_array().map(Vec::len),
        Some(checks::ALL.len())
    );
    let integrity = &json["checks"][1];
    assert_eq!(integrity["name"], "download-integrity");
    assert_eq!(integrity["result"], "fail");
    assert_eq!(integrity["diagnosis"]["got"], "\"k_data_end RV\"");
    assert_eq!(json["failed"], report.failed());

    let xml = report.to_junit();
    assert_well_formed_xml(&xml);
    assert!(xml.contains("<testcase classname=\"conformance.framed\" name=\"list\""));
    assert!(xml.contains("got &quot;k_data_end RV&quot;"), "{xml}");
    assert_eq!(xml.matches("<failure ").count(), report.failed());
}
