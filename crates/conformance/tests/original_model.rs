//! The original dialect is what the original Python server does, so its
//! checks must pass a model of that server (support/original_model.rs),
//! defects and all: one recv per command, no pauses, `att_status` keyed by
//! IP address (streamlab issue 14).

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use streamlab_conformance::{checks, run, run_check, Config, Dialect, Track};
use streamlab_proto::PcmFormat;
use support::{config, original_model};

/// The model's songs, as `--music` would load them.
fn reference() -> Vec<Track> {
    support::fake::songs()
        .into_iter()
        .map(|(name, pcm)| Track {
            name,
            format: PcmFormat::CD,
            pcm: pcm.into(),
        })
        .collect()
}

fn model_config() -> Config {
    let mut config = config(original_model::start(), Dialect::Original);
    config.reference = Some(reference());
    config
}

fn devices_status() -> &'static checks::Check {
    checks::ALL
        .iter()
        .find(|c| c.name == "devices-status")
        .expect("a check of that name")
}

/// One command as the original client sends it, and what one read gets
/// back after a moment (the model answers at once, or never).
fn say(s: &mut TcpStream, command: &str) -> String {
    s.write_all(command.as_bytes()).expect("writing");
    std::thread::sleep(Duration::from_millis(150));
    let _ = s.set_read_timeout(Some(Duration::from_millis(300)));
    let mut buf = [0u8; 4096];
    match s.read(&mut buf) {
        Ok(n) => String::from_utf8_lossy(&buf[..n]).into_owned(),
        Err(_) => String::new(),
    }
}

#[test]
fn the_model_keys_att_status_by_ip_address_as_the_original_does() {
    let addr = original_model::start();
    let mut first = TcpStream::connect(addr).expect("connecting");
    let mut second = TcpStream::connect(addr).expect("connecting");
    assert_eq!(say(&mut first, "att_status RV"), "", "never answered");
    let list = say(&mut second, "lista_dispositivos");
    let port = |s: &TcpStream| s.local_addr().expect("bound").port();
    assert_eq!(
        list,
        format!(
            "1-127.0.0.1 ; {} Musica: RV\n2-127.0.0.1 ; {} Musica: RV",
            port(&first),
            port(&second)
        ),
        "the silent client takes the song of its IP address"
    );
}

#[test]
fn the_model_of_the_original_server_passes_every_original_check() {
    let report = run(&model_config(), None).expect("listening");
    assert_eq!(report.results.len(), checks::ALL.len());
    assert!(report.all_passed(), "{}", report.render_text(true));
}

#[cfg(target_os = "linux")]
#[test]
fn on_linux_loopback_the_silent_client_comes_from_127_0_0_2_and_nothing_is_noted() {
    let result = run_check(devices_status(), &model_config());
    assert!(result.passed(), "{:?}", result.verdict);
    assert_eq!(result.note, None);
}

#[test]
fn from_one_address_the_model_passes_and_the_note_says_it_keys_by_ip() {
    let mut config = model_config();
    config.same_source = true;
    let result = run_check(devices_status(), &config);
    assert!(result.passed(), "{:?}", result.verdict);
    let note = result.note.expect("a note on the keying");
    assert_eq!(
        note,
        "both clients came from 127.0.0.1: the server records att_status for every \
         client of that IP address, as the original does (docs/protocol.md 2.4, defect 5)"
    );
}

#[test]
fn the_note_is_in_the_table_the_json_and_the_junit() {
    let mut config = model_config();
    config.same_source = true;
    let only = ["devices-status".to_string()];
    let report = run(&config, Some(&only)).expect("listening");
    let text = report.render_text(false);
    assert!(
        text.contains("\nnote devices-status: both clients came from 127.0.0.1: "),
        "{text}"
    );
    let json: serde_json::Value = serde_json::from_str(&report.to_json()).expect("valid JSON");
    let note = json["checks"][0]["note"].as_str().expect("a note field");
    assert!(note.contains("every client of that IP address"), "{note}");
    let xml = report.to_junit();
    support::assert_well_formed_xml(&xml);
    assert!(xml.contains("<system-out>both clients came from"), "{xml}");
}
