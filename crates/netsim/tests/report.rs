//! The original report's conversation, replayed in the simulator with the
//! real protocol sessions: what the client learns, the trace table (a
//! snapshot), the same bytes for the same seed, and tshark's reading of
//! the capture. Then the original dialect's flaw at its smallest: two
//! commands written at once are read as one.
//!
//! Every run is bounded; a stuck run fails with its seed and a dump of
//! both connections. Replay one with `cargo test -p streamlab-netsim
//! --test report`.

mod tshark;

use streamlab_netsim::apps::{Catalogue, ClientApp, ScriptedPeer, ServerApp};
use streamlab_netsim::rules::Rule;
use streamlab_netsim::scenario::{synthetic_track, Options, Scenario};
use streamlab_netsim::sim::{Side, Sim, SimConfig};
use streamlab_netsim::time::SimTime;
use streamlab_proto::{ClientEvent, DialectChoice, ServerConfig};

/// No story here needs more than a few dozen events.
const MAX_EVENTS: usize = 10_000;

/// Runs a scenario to its end, or fails with its seed and state.
fn run(mut sim: Sim) -> Sim {
    if let Err(e) = sim.run_until_idle(MAX_EVENTS) {
        panic!("{e}\ntrace so far:\n{}", sim.trace());
    }
    sim
}

/// The `report` scenario with `seed`, not yet run.
fn report(seed: u64) -> Sim {
    let mut runs = Scenario::Report.build(&Options::new(seed));
    runs.pop().expect("the report scenario has one run").sim
}

/// A scripted peer writes `lista` and `quit` at the same instant, as the
/// original client could; a second `quit` follows 500 ms later.
fn coalesced_original(seed: u64) -> Sim {
    let at = SimTime::from_millis;
    let peer = ScriptedPeer::new(vec![
        (at(0), b"lista".to_vec()),
        (at(0), b"quit".to_vec()),
        (at(500), b"quit".to_vec()),
    ]);
    let songs = vec![synthetic_track("RV"), synthetic_track("VL")];
    let config = ServerConfig {
        dialect: DialectChoice::Original,
        ..ServerConfig::default()
    };
    let server = ServerApp::new(config, Catalogue::new(songs, Vec::new()));
    Sim::new(SimConfig::new(seed), Box::new(peer), Box::new(server))
}

fn client_events(sim: &Sim) -> &[ClientEvent] {
    sim.app::<ClientApp>(Side::Client)
        .expect("the client is a ClientApp")
        .events()
}

#[test]
fn the_report_conversation_lists_the_songs_and_says_goodbye() {
    let sim = run(report(1));
    assert_eq!(
        client_events(&sim),
        [
            ClientEvent::Songs(vec!["RV".into(), "VL".into()]),
            ClientEvent::Goodbye,
            ClientEvent::Closed { reason: None },
        ]
    );
    assert!(sim.all_closed(), "{}", sim.dump());
    // Nothing was lost on this quiet LAN.
    assert!(sim.frames().iter().all(|(_, _, comment)| comment.is_none()));
    insta::assert_snapshot!("report_trace", sim.trace().to_string());
}

#[test]
fn the_same_seed_gives_the_same_bytes_and_another_seed_other_isns() {
    let a = run(report(1));
    let b = run(report(1));
    assert_eq!(a.trace().to_string(), b.trace().to_string());
    assert_eq!(a.pcapng_bytes(), b.pcapng_bytes());

    let c = run(report(2));
    // Timing does not depend on the seed on a link without randomness,
    // so the trace is the same; the ISNs, and so the frames, are not.
    assert_eq!(a.trace().to_string(), c.trace().to_string());
    assert_ne!(a.pcapng_bytes(), c.pcapng_bytes());
    let isn = |sim: &Sim| sim.frames()[0].1[38..42].to_vec(); // TCP seq of the SYN
    assert_ne!(isn(&a), isn(&c));
}

#[test]
fn tshark_follows_the_report_stream() {
    if !tshark::available() {
        return;
    }
    let sim = run(report(1));
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("report.pcapng");
    sim.save_pcapng(&path).expect("write the capture");

    let follow = tshark::read(&path, &["-qz", "follow,tcp,ascii,0"]);
    let chunks = tshark::follow_chunks(&follow);
    let want = [
        (true, "lista"),
        (false, "RV\nVL\n"),
        (true, "quit"),
        (false, "goodbye"),
    ];
    let got: Vec<(bool, &str)> = chunks.iter().map(|(c, t)| (*c, t.as_str())).collect();
    assert_eq!(got, want, "{follow}");

    let fields = tshark::read(
        &path,
        &[
            "-T",
            "fields",
            "-e",
            "ip.src",
            "-e",
            "tcp.srcport",
            "-e",
            "ip.dst",
            "-e",
            "tcp.dstport",
        ],
    );
    let lines: Vec<&str> = fields.lines().collect();
    assert_eq!(lines.len(), sim.captured().len());
    for line in lines {
        assert!(
            line == "10.0.0.10\t45926\t10.0.0.7\t2635"
                || line == "10.0.0.7\t2635\t10.0.0.10\t45926",
            "{line:?}"
        );
    }
}

#[test]
fn two_commands_in_one_segment_are_one_unknown_command_to_the_original_server() {
    let sim = run(coalesced_original(1));
    // `lista` and `quit`, written at one instant, left in one segment...
    assert_eq!(sim.trace().matching("data 9 B \"listaquit\"").count(), 1);
    // ...were read by one recv(1024), and so as one command.
    assert_eq!(sim.trace().matching("server read \"listaquit\"").count(), 1);
    let peer = sim
        .app::<ScriptedPeer>(Side::Client)
        .expect("the client is a ScriptedPeer");
    assert_eq!(peer.received(), b"Comando Inexistente.goodbye");
    assert!(sim.all_closed(), "{}", sim.dump());
    insta::assert_snapshot!("coalesced_original_trace", sim.trace().to_string());
}

#[test]
fn a_lost_quit_is_retransmitted_and_the_capture_says_so() {
    let mut sim = report(1);
    sim.rule(Rule::drop_containing(b"quit"));
    let sim = run(sim);
    assert_eq!(
        client_events(&sim)[1..],
        [ClientEvent::Goodbye, ClientEvent::Closed { reason: None }]
    );
    let comments: Vec<&str> = sim
        .frames()
        .iter()
        .filter_map(|(_, _, c)| c.as_deref())
        .collect();
    assert_eq!(
        comments,
        ["dropped by the network: rule: contains \"quit\""]
    );
    assert_eq!(sim.trace().matching("drop (rule").count(), 1);
    assert_eq!(sim.trace().matching("tcp retransmit").count(), 1);

    if !tshark::available() {
        return;
    }
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("lost-quit.pcapng");
    sim.save_pcapng(&path).expect("write the capture");
    let flagged = tshark::read(
        &path,
        &[
            "-Y",
            "tcp.analysis.retransmission",
            "-T",
            "fields",
            "-e",
            "tcp.payload",
        ],
    );
    assert_eq!(flagged.trim(), "71756974", "one retransmission, of `quit`");
    let commented = tshark::read(
        &path,
        &["-Y", "frame.comment", "-T", "fields", "-e", "frame.number"],
    );
    assert_eq!(commented.lines().count(), 1);
}
