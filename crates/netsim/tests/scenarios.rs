//! Every named scenario, run as `streamlab sim` runs it: what each one
//! shows (asserted), its summary and trace (snapshots), and tshark's
//! reading of its capture (frame count, endpoints, each direction's
//! bytes, retransmissions, zero windows).
//!
//! Replay any of them with `streamlab sim NAME --trace`.

mod tshark;

use std::path::Path;
use std::time::Duration;

use streamlab_netsim::apps::{ClientApp, NaiveClient};
use streamlab_netsim::scenario::{marker_frames, stream_bytes, Options, Run, Scenario};
use streamlab_netsim::sim::{CapturePoint, Side};
use streamlab_netsim::trace::TraceRow;
use streamlab_proto::observe::Marker;
use streamlab_proto::{ClientEvent, Dialect};

const MAX_EVENTS: usize = 1_000_000;

/// Every run of `scenario` with `options`, each run to its end.
fn runs(scenario: Scenario, options: &Options) -> Vec<Run> {
    let mut runs = scenario.build(options);
    for run in &mut runs {
        if let Err(e) = run.sim.run_until_idle(MAX_EVENTS) {
            panic!("{scenario}: {e}\nreplay: streamlab sim {scenario} --trace");
        }
    }
    runs
}

fn one(scenario: Scenario, options: &Options) -> Run {
    runs(scenario, options).remove(0)
}

fn client(run: &Run) -> &ClientApp {
    run.sim.app::<ClientApp>(Side::Client).expect("a ClientApp")
}

fn bit_exact(run: &Run) -> bool {
    let song = run.song.as_ref().expect("a song");
    client(run).audio()[..] == song.pcm[..]
}

/// The rows a reader looks for in a long trace: everything but plain ACKs,
/// data segments and the client's audio deliveries.
fn notable(row: &TraceRow) -> bool {
    let segment = row.who.contains('→');
    let routine = segment && (row.what == "ACK" || row.what.starts_with("data "));
    let audio = row.what.starts_with("client got ") && row.what.contains(" B of track ");
    !routine && !audio
}

fn notable_rows(run: &Run) -> String {
    let mut s = String::new();
    for row in run.sim.trace().rows().iter().filter(|r| notable(r)) {
        s += &format!(
            "{:>10}  {:<31}  {}\n",
            row.at.to_string(),
            row.who,
            row.what
        );
    }
    s
}

#[test]
fn framing_breaks_the_original_client_and_not_the_framed_one() {
    let runs = runs(Scenario::Framing, &Options::new(1));
    let [original, framed] = &runs[..] else {
        panic!("framing runs both dialects");
    };
    assert_eq!(original.dialect, Dialect::Original);

    // The original dialect: each message boundary TCP moved is a failure.
    let naive = original
        .sim
        .app::<NaiveClient>(Side::Client)
        .expect("a NaiveClient");
    let failures: Vec<&str> = naive
        .outcomes()
        .iter()
        .map(|o| o.failure.as_deref().unwrap_or("ok"))
        .collect();
    assert_eq!(
        failures,
        [
            "expected \"song\\n\", read \"Comando Inexistente.\"",
            "expected \"track_data_start\" alone, read \"track_data_start\" and 1008 B more: \
             gives up on the song",
            "expected \"goodbye\", read 1024 B of binary data",
        ]
    );
    let spots = marker_frames(&original.sim);
    assert_eq!(spots.len(), 2, "{spots:?}");
    // 1448 B segments (1460 less 12 of timestamps), 16 of them the marker.
    assert_eq!((spots[0].frames.len(), spots[0].after), (1, 1432), "glued");
    assert_eq!(spots[1].frames.len(), 2, "split: {:?}", spots[1]);

    // The framed dialect on the same network gets everything.
    let events = client(framed).events();
    assert!(events.contains(&ClientEvent::Songs(vec!["song".into()])));
    assert!(events
        .iter()
        .any(|e| matches!(e, ClientEvent::Devices(d) if d.len() == 1)));
    assert!(events.contains(&ClientEvent::Goodbye));
    assert!(bit_exact(framed));

    for run in &runs {
        let name = run.label();
        insta::assert_snapshot!(format!("{name}_summary"), run.summary());
        insta::assert_snapshot!(format!("{name}_trace"), run.sim.trace().to_string());
    }
}

#[test]
fn a_slow_reader_closes_the_window_and_the_sender_probes() {
    let run = one(Scenario::SlowReader, &Options::new(1));
    let trace = run.sim.trace();
    assert!(trace.matching("client stops reading").count() == 1);
    assert!(trace.matching("tcp zero window").count() >= 1);
    assert!(trace.matching("tcp window probe").count() >= 1);
    assert!(trace.matching("tcp window opened").count() >= 1);
    // Probes back off: each waits longer than the one before.
    let probes: Vec<_> = trace.matching("tcp window probe").map(|r| r.at).collect();
    for pair in probes.windows(3) {
        assert!(pair[2] - pair[1] > pair[1] - pair[0], "{probes:?}");
    }
    assert!(bit_exact(&run), "the download survives the pause");
    insta::assert_snapshot!("slow-reader_summary", run.summary());
    insta::assert_snapshot!("slow-reader_notable", notable_rows(&run));
}

#[test]
fn recording_the_windows_changes_nothing_and_shows_them_move() {
    let mut plain = Scenario::SlowReader.build(&Options::new(1)).remove(0);
    let mut recorded = Scenario::SlowReader.build(&Options::new(1)).remove(0);
    recorded.sim.record_windows();
    for run in [&mut plain, &mut recorded] {
        run.sim.run_until_idle(MAX_EVENTS).expect("a finished run");
    }
    assert!(plain.sim.windows().is_empty());
    assert_eq!(plain.sim.pcapng_bytes(), recorded.sim.pcapng_bytes());
    let samples = recorded.sim.windows();
    // In time order; each differs from the one before.
    for pair in samples.windows(2) {
        assert!(pair[0].at <= pair[1].at);
        assert_ne!(
            (pair[0].cwnd, pair[0].in_flight, pair[0].peer_window),
            (pair[1].cwnd, pair[1].in_flight, pair[1].peer_window)
        );
    }
    // The slow reader's window closes and opens again; slow start grows
    // the congestion window past its initial 10 segments.
    let closed = samples
        .iter()
        .position(|w| w.peer_window == 0)
        .expect("a zero window");
    assert!(samples[closed..].iter().any(|w| w.peer_window > 0));
    let mss = recorded.sim.tcp(Side::Server).expect("a server").send_mss() as u64;
    assert!(samples.iter().filter_map(|w| w.cwnd).any(|c| c > 10 * mss));
    // Go-back-N has no congestion window to show.
    let options = Options {
        tcp: Some(streamlab_netsim::tcp::TcpFlavor::Gbn),
        ..Options::new(1)
    };
    let mut gbn = Scenario::Lossy.build(&options).remove(0);
    gbn.sim.record_windows();
    gbn.sim.run_until_idle(MAX_EVENTS).expect("a finished run");
    assert!(!gbn.sim.windows().is_empty());
    assert!(gbn.sim.windows().iter().all(|w| w.cwnd.is_none()));
}

#[test]
fn the_trace_numbers_each_segment_as_the_capture_does() {
    let run = one(Scenario::Lossy, &Options::new(1));
    let sim = &run.sim;
    // The lossy run drops frames both ways, so the rules below are tested.
    let dropped = sim.frames().iter().filter(|f| f.2.is_some()).count();
    assert!(dropped > 1, "{dropped} drops");
    for point in [CapturePoint::Client, CapturePoint::Server] {
        let numbers = sim.frame_numbers(point);
        let capture = sim.capture(point);
        // Frame n of the capture is the frame the trace numbers n.
        for (index, n) in numbers.iter().enumerate() {
            if let Some(n) = n {
                assert_eq!(
                    capture[n - 1].bytes,
                    &sim.frames()[index].1[..],
                    "{point}: {n}"
                );
            }
        }
        // A frame the network dropped reaches no capture but its sender's.
        for (index, (_, bytes, dropped)) in sim.frames().iter().enumerate() {
            if dropped.is_some() {
                let from_server = capture_side_is_server(bytes);
                let seen = numbers[index].is_some();
                assert_eq!(
                    seen,
                    from_server == (point == CapturePoint::Server),
                    "{point}: frame {index}"
                );
            }
        }
    }
    let text = sim.trace_numbered(CapturePoint::Client);
    assert!(text.starts_with("   No.        time  who"), "{text}");
    // Every drop row of a server segment has no number at the client.
    let server_drops: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("10.0.0.7:2635 → ") && l.contains("drop ("))
        .collect();
    assert!(!server_drops.is_empty(), "{text}");
    for line in server_drops {
        assert!(line.starts_with("      "), "{line}");
    }
}

/// True when a frame's IPv4 source is the server (10.0.0.7).
fn capture_side_is_server(frame: &[u8]) -> bool {
    frame.get(26..30) == Some(&[10, 0, 0, 7][..])
}

#[test]
fn a_starved_link_stalls_playback_and_a_fast_one_does_not() {
    let run = one(Scenario::Starved, &Options::new(1));
    let player = client(&run).player().expect("a player");
    assert!(
        !player.stalls().is_empty(),
        "1 Mbit/s cannot carry 1.4 Mbit/s"
    );
    assert!(player.finished_at().is_some());
    assert!(bit_exact(&run));
    insta::assert_snapshot!("starved_summary", run.summary());
    insta::assert_snapshot!("starved_notable", notable_rows(&run));

    // The same song over 10 Mbit/s plays through.
    let fast = one(
        Scenario::Starved,
        &Options {
            bandwidth: Some(10_000_000),
            ..Options::new(1)
        },
    );
    let fast_player = client(&fast).player().expect("a player");
    assert!(fast_player.stalls().is_empty(), "{}", fast.summary());
    assert!(fast_player.time_to_first_audio() < player.time_to_first_audio());
}

#[test]
fn lossy_and_report_summaries() {
    let lossy = one(Scenario::Lossy, &Options::new(1));
    assert!(bit_exact(&lossy));
    insta::assert_snapshot!("lossy_summary", lossy.summary());
    insta::assert_snapshot!("lossy_notable", notable_rows(&lossy));
    let report = one(Scenario::Report, &Options::new(1));
    insta::assert_snapshot!("report_summary", report.summary());
}

#[test]
fn a_download_is_the_same_conversation_as_the_kits_client_makes() {
    // `streamlab client` running `play NAME; wait; quit` (what `sim
    // --kernel` runs): the greeting's answer first, then the download, a
    // status report when the track starts, and quit at its end.
    let mut options = Options::new(1);
    options.loss = Some(0.0);
    let run = one(Scenario::Lossy, &options);
    let sent = String::from_utf8_lossy(&stream_bytes(&run.sim, Side::Client)).into_owned();
    let lines: Vec<&str> = sent.lines().collect();
    assert_eq!(lines.len(), 4, "{sent:?}");
    assert!(lines[0].starts_with("hello streamlab/1 "), "{sent:?}");
    assert_eq!(lines[1], "download song");
    assert_eq!(lines[2], "status playing @0.000 song");
    assert_eq!(lines[3], "quit");
    let when = |pred: &dyn Fn(&TraceRow) -> bool| {
        let rows = run.sim.trace().rows();
        rows.iter()
            .find(|r| pred(r))
            .map(|r| r.at)
            .expect("in the trace")
    };
    let from_client = |r: &TraceRow| r.who.starts_with("10.0.0.10:") && r.who.contains('→');
    let greeted = when(&|r| r.what.starts_with("client got the server's greeting"));
    let asked = when(&|r| from_client(r) && r.what.contains("download song"));
    let started = when(&|r| r.what.starts_with("client got the start of track"));
    let reported = when(&|r| from_client(r) && r.what.contains("status playing"));
    let ended = when(&|r| r.what.starts_with("client got the end of track"));
    let quit = when(&|r| from_client(r) && r.what.contains("quit"));
    assert!(greeted <= asked && started <= reported && ended <= quit);
    assert!(asked < started && reported < ended);
}

#[test]
fn the_knobs_reach_the_network() {
    let run = one(
        Scenario::Lossy,
        &Options {
            mss: Some(536),
            loss: Some(0.0),
            ..Options::new(1)
        },
    );
    let biggest = run
        .sim
        .trace()
        .rows()
        .iter()
        .filter_map(|r| r.what.strip_prefix("data "))
        .filter_map(|d| d.split(' ').next()?.parse::<usize>().ok())
        .max();
    // The timestamps option takes 12 of the 536 bytes, as on Linux.
    assert_eq!(biggest, Some(536 - 12));
    assert!(run.summary().contains("loss 0%, MSS 536"));
}

// ---- tshark ---------------------------------------------------------------

/// One direction of `follow,tcp,raw`: the hex chunks of the first node
/// (the client, which sent the SYN) or of the second.
fn follow_raw(out: &str, first_node: bool) -> Vec<u8> {
    let body = out.split_once("Node 1:").map_or("", |(_, b)| b);
    let mut bytes = Vec::new();
    for line in body.lines().skip(1) {
        if line.starts_with("=====") {
            break;
        }
        if line.starts_with('\t') == first_node {
            continue;
        }
        let hex = line.trim();
        for i in (0..hex.len()).step_by(2) {
            bytes.push(u8::from_str_radix(&hex[i..i + 2], 16).expect("hex from tshark"));
        }
    }
    bytes
}

/// tshark reads each scenario's capture, taken at the client and at the
/// server, as the simulator wrote it: the frames, the endpoints, each
/// side's stream, and — on the capture of the host that sent them — every
/// retransmission, window probe and drop. (A host's own capture shows every
/// frame it sent, dropped ones too; the other host never sees a dropped
/// original, so tshark cannot call its resend a retransmission there.)
#[test]
fn tshark_reads_every_scenario_as_the_simulator_wrote_it() {
    if !tshark::available() {
        return;
    }
    let dir = tempfile::tempdir().expect("a temporary directory");
    for scenario in Scenario::ALL {
        for run in runs(scenario, &Options::new(1)) {
            for point in [CapturePoint::Client, CapturePoint::Server] {
                let name = format!("{}-at-{point}", run.label());
                let path = dir.path().join(format!("{name}.pcapng"));
                let file = std::fs::File::create(&path).expect("create the capture");
                run.sim
                    .write_pcapng_at(point, file)
                    .expect("write the capture");
                check_capture_with_tshark(&run, point, &path, &name);
            }
        }
    }
}

fn check_capture_with_tshark(run: &Run, point: CapturePoint, path: &Path, name: &str) {
    let sim = &run.sim;
    let fields = tshark::read(
        path,
        &[
            "-T",
            "fields",
            "-e",
            "ip.src",
            "-e",
            "tcp.srcport",
            "-e",
            "ip.dst",
        ],
    );
    assert_eq!(fields.lines().count(), sim.capture(point).len(), "{name}");
    let (c, s) = (sim.config().client, sim.config().server);
    let up = format!("{}\t{}\t{}", c.ip(), c.port(), s.ip());
    let down = format!("{}\t{}\t{}", s.ip(), s.port(), c.ip());
    assert!(fields.lines().all(|l| l == up || l == down), "{name}");

    if point == CapturePoint::Client {
        let follow = tshark::read(path, &["-qz", "follow,tcp,raw,0"]);
        assert!(
            follow_raw(&follow, true) == stream_bytes(sim, Side::Client),
            "{name}: client bytes differ"
        );
        assert!(
            follow_raw(&follow, false) == stream_bytes(sim, Side::Server),
            "{name}: server bytes differ"
        );
    }

    // What the capture's own host sent: its retransmissions, probes, drops.
    let host = match point {
        CapturePoint::Server => s,
        _ => c,
    };
    let count = |filter: &str| {
        let filter = format!("ip.src == {} && ({filter})", host.ip());
        tshark::read(path, &["-Y", &filter, "-T", "fields", "-e", "frame.number"])
            .lines()
            .count()
    };
    let traced = |needle: &str| {
        sim.trace()
            .rows()
            .iter()
            .filter(|r| r.who == host.to_string() && r.what.starts_with(needle))
            .count()
    };
    // A host's own segment sent again is a retransmission to Wireshark,
    // or "out-of-order" when it follows newer data by less than the
    // handshake's round trip (Wireshark's timing rule: a SACK-driven
    // resend right after new data looks like that).
    assert_eq!(
        count("tcp.analysis.retransmission || tcp.analysis.out_of_order"),
        traced("tcp retransmit"),
        "{name}: retransmissions"
    );
    // Linux's probe is 0 bytes at SND.UNA - 1, which Wireshark calls a
    // keep-alive; the gbn model's 1-byte probe is its zero-window probe.
    assert_eq!(
        count("tcp.analysis.zero_window_probe || tcp.analysis.keep_alive"),
        traced("tcp window probe"),
        "{name}: window probes"
    );
    let from_host =
        |f: &&streamlab_netsim::sim::CapturedFrame| f.bytes[26..30] == host.ip().octets();
    let dropped = sim
        .capture(point)
        .iter()
        .filter(from_host)
        .filter(|f| f.comment.is_some())
        .count();
    let sent_dropped = sim
        .frames()
        .iter()
        .filter(|(_, bytes, note)| bytes[26..30] == host.ip().octets() && note.is_some())
        .count();
    assert_eq!(
        dropped, sent_dropped,
        "{name}: every drop of its own frames"
    );
    assert_eq!(count("frame.comment"), dropped, "{name}: comments");
}

#[test]
fn the_experiment_table_shows_what_bandwidth_and_loss_do() {
    let table = streamlab_netsim::scenario::experiment(1, streamlab_netsim::tcp::TcpFlavor::Linux)
        .expect("every run finishes");
    let rows: Vec<Vec<&str>> = table
        .lines()
        .skip(3)
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(rows.len(), 12, "{table}");
    // At the same loss rate, more bandwidth brings the first audio sooner
    // (rows go by bandwidth, then loss: 0%, 1%, 5%).
    for loss in 0..3 {
        let first: Vec<f64> = (0..4)
            .map(|bw| rows[bw * 3 + loss][3].parse().expect("seconds"))
            .collect();
        assert!(first.windows(2).all(|w| w[1] <= w[0]), "{first:?}\n{table}");
    }
    insta::assert_snapshot!("experiment", table);
}

/// Issue 9: a scenario's song and router queue can be the user's, and the
/// run's figures say what happened in the numbers the summary gives.
#[test]
fn a_users_song_and_queue_reach_the_run_and_its_figures() {
    let song = streamlab_netsim::scenario::patterned_track("mine", 30_000);
    let options = Options {
        song: Some(song.clone()),
        queue: Some(Duration::from_millis(1)),
        bandwidth: Some(1_000_000),
        loss: Some(0.0),
        ..Options::new(7)
    };
    let mut run = Scenario::Lossy.build(&options).remove(0);
    run.sim.run_until_idle(1_000_000).expect("finishes");
    let f = run.figures();
    assert_eq!(f.song.as_deref(), Some("mine"));
    assert_eq!(f.song_bytes, Some(30_000));
    assert_eq!(f.network.queue_s, 0.001);
    assert_eq!(f.bit_exact, Some(true));
    // A 1 ms queue at 1 Mbit/s holds less than one full frame behind the
    // one on the wire: a window's burst overflows it, and TCP repairs it.
    assert!(f.dropped > 0, "{f:?}");
    assert!(f.retransmitted > 0, "{f:?}");
    let summary = run.summary();
    assert!(
        summary.contains(&format!("{} dropped", f.dropped)),
        "{summary}"
    );
    // 30 kB at 1 Mbit/s take at least 0.24 s on the wire.
    let download = f.download_s.expect("downloaded");
    assert!(download > 0.24, "{download}");
}

/// Lab 3, question 4: where TCP cuts the stream depends on the MSS. The
/// handout's three values must show both answers.
#[test]
fn lab_3s_mss_values_split_the_end_marker_or_not_and_the_pause_keeps_it_alone() {
    let split_at = |mss: u16| {
        let options = Options {
            mss: Some(mss),
            dialect: Some(Dialect::Original),
            ..Options::new(1)
        };
        let run = one(Scenario::Framing, &options);
        let spots = marker_frames(&run.sim);
        let end = spots
            .iter()
            .find(|s| s.marker == Marker::End)
            .expect("the end marker was sent");
        end.frames.len() == 2
    };
    assert!(split_at(1460), "the default MSS splits it");
    assert!(!split_at(536), "536 leaves it whole");
    assert!(split_at(426), "426 splits it");

    // With the original's 50 ms pause both markers travel alone, and the
    // naive client plays the song.
    let options = Options {
        pause: Some(Duration::from_millis(50)),
        dialect: Some(Dialect::Original),
        ..Options::new(1)
    };
    let run = one(Scenario::Framing, &options);
    for spot in marker_frames(&run.sim) {
        assert_eq!(
            (spot.frames.len(), spot.before, spot.after),
            (1, 0, 0),
            "{spot}"
        );
    }
    let naive = run
        .sim
        .app::<NaiveClient>(Side::Client)
        .expect("a naive client");
    assert_eq!(naive.outcomes()[1].failure, None, "the download");
}
