//! Our own server passes every check, in both dialects, whether it is
//! forced to the dialect or tells it from the first bytes.

mod support;

use streamlab_conformance::{checks, run, run_check, run_with, Dialect, Report};
use streamlab_proto::DialectChoice;
use support::{catalogue, config, reference_server};

fn check_all(server: DialectChoice, dialect: Dialect) -> Report {
    let running = reference_server(server, catalogue());
    let mut config = config(running.addr, dialect);
    config.reference = Some(catalogue());
    let report = run(&config, None).expect("the server is listening");
    running.shutdown();
    report
}

fn assert_all_pass(report: &Report) {
    assert_eq!(report.results.len(), checks::ALL.len());
    assert!(report.all_passed(), "{}", report.render_text(true));
}

#[test]
fn our_server_passes_every_original_check() {
    assert_all_pass(&check_all(DialectChoice::Original, Dialect::Original));
}

#[test]
fn our_server_passes_every_framed_check() {
    assert_all_pass(&check_all(DialectChoice::Framed, Dialect::Framed));
}

#[test]
fn our_auto_detecting_server_passes_both_dialects() {
    assert_all_pass(&check_all(DialectChoice::Auto, Dialect::Original));
    assert_all_pass(&check_all(DialectChoice::Auto, Dialect::Framed));
}

#[test]
fn a_framed_checker_against_an_original_server_fails_at_the_greeting() {
    let report = check_all(DialectChoice::Original, Dialect::Framed);
    let list = &report.results[0];
    let text = report.render_text(false);
    assert!(!list.passed(), "{text}");
    assert!(
        text.contains("got:      \"Comando Inexistente.\""),
        "{text}"
    );
    assert!(text.contains("try --dialect original"), "{text}");
}

#[test]
fn a_dead_address_is_an_error_before_any_check() {
    let running = reference_server(DialectChoice::Auto, catalogue());
    let addr = running.addr;
    running.shutdown();
    let e = run(&config(addr, Dialect::Original), None).expect_err("nobody listens");
    assert!(
        e.to_string()
            .starts_with(&format!("cannot connect to {addr}")),
        "{e}"
    );
}

#[test]
fn from_one_address_our_server_is_noted_as_keeping_status_per_connection() {
    let running = reference_server(DialectChoice::Original, catalogue());
    let mut config = config(running.addr, Dialect::Original);
    config.same_source = true;
    let check = checks::ALL
        .iter()
        .find(|c| c.name == "devices-status")
        .expect("a check of that name");
    let result = run_check(check, &config);
    running.shutdown();
    assert!(result.passed(), "{:?}", result.verdict);
    assert_eq!(
        result.note.as_deref(),
        Some("both clients came from 127.0.0.1: the server keeps att_status per connection")
    );
}

#[test]
fn each_result_is_told_as_its_check_finishes_in_the_reports_order() {
    let running = reference_server(DialectChoice::Framed, catalogue());
    let config = config(running.addr, Dialect::Framed);
    let only = ["quit-goodbye".to_string(), "list".to_string()];
    let mut told = Vec::new();
    let report = run_with(&config, Some(&only), &mut |result, total| {
        told.push((result.name, result.passed(), total));
    })
    .expect("the server is listening");
    running.shutdown();
    let reported: Vec<_> = report
        .results
        .iter()
        .map(|r| (r.name, r.passed(), 2))
        .collect();
    // In the order of checks::ALL, not of the command line.
    assert_eq!(told, [("list", true, 2), ("quit-goodbye", true, 2)]);
    assert_eq!(told, reported);
}
