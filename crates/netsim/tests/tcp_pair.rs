//! Two TCP endpoints on a wire the test controls: the stories the simulator
//! relies on — handshake, bulk transfer, coalesced writes, losses repaired
//! by retransmission, a reader that stalls the sender, FIN and RST.
//!
//! [`Pair`] moves virtual time from one event (a segment arriving, a timer)
//! to the next, and lets every endpoint send what it has after each one,
//! as the run-loop contract in `tcp/mod.rs` asks. Every drive is bounded:
//! a connection that gets stuck fails with a dump of both endpoints.

use std::time::Duration;

use streamlab_netsim::rng::SimRng;
use streamlab_netsim::sim::Side;
use streamlab_netsim::tcp::pair::{
    Fate, PairApp, Sent, TcpPair as Pair, CLIENT_ISN, DELAY, SERVER_ISN,
};
use streamlab_netsim::tcp::{RetransmitReason, TcpConfig, TcpError, TcpEvent, TcpState};
use streamlab_netsim::time::SimTime;
use streamlab_netsim::wire::TcpFlags;
use Side::{Client, Server};

const MS: Duration = Duration::from_millis(1);

/// Two endpoints of the first teaching model, `gbn`, which these stories
/// were written for.
fn pair() -> Pair {
    Pair::new(TcpConfig::gbn(), TcpConfig::gbn())
}

/// `n` bytes that do not repeat with any short period.
fn data(n: usize, seed: u64) -> Vec<u8> {
    let mut rng = SimRng::new(seed);
    (0..n).map(|_| rng.next_u32() as u8).collect()
}

/// Fails with the length and first difference, not a megabyte of `Debug`.
#[track_caller]
fn assert_same(got: &[u8], want: &[u8], context: &str) {
    if got != want {
        let first = got.iter().zip(want).position(|(a, b)| a != b);
        panic!(
            "{context}: got {} bytes, want {}; first difference at {first:?}",
            got.len(),
            want.len()
        );
    }
}

fn is_retransmit(e: &TcpEvent) -> bool {
    matches!(e, TcpEvent::Retransmit { .. })
}

fn rtos(app: &PairApp) -> Vec<Duration> {
    let rto = |(_, e): &(SimTime, TcpEvent)| match e {
        TcpEvent::RtoFired { rto } => Some(*rto),
        _ => None,
    };
    app.events.iter().filter_map(rto).collect()
}

// ---- opening ----------------------------------------------------------

#[test]
fn the_handshake_is_syn_syn_ack_ack_with_the_mss() {
    let mut p = pair();
    p.drive();
    assert_eq!(
        p.trace(),
        "\
0.000000 c>s 45926 > 2635 [SYN] seq=1000 ack=0 win=65535 mss=1460 len=0
0.010000 s>c 2635 > 45926 [SYN,ACK] seq=9000 ack=1001 win=65535 mss=1460 len=0
0.020000 c>s 45926 > 2635 [ACK] seq=1001 ack=9001 win=65535 len=0
"
    );
    let connected = |side: Side| p.apps[side.index()].events.clone();
    let at = |ms| SimTime::from_millis(ms);
    assert_eq!(connected(Client), [(at(20), TcpEvent::Connected)]);
    assert_eq!(connected(Server), [(at(30), TcpEvent::Connected)]);
    assert!(p.client.is_established() && p.server().is_established());
}

#[test]
fn segments_respect_the_peers_smaller_mss() {
    let small = TcpConfig {
        mss: 500,
        ..TcpConfig::gbn()
    };
    let mut p = Pair::with_isns(CLIENT_ISN, SERVER_ISN, TcpConfig::gbn(), small);
    let (up, down) = (data(5_000, 1), data(5_000, 2));
    p.write(Client, &up);
    p.write(Server, &down);
    p.drive();
    assert_same(&p.apps[Server.index()].inbox, &up, "server inbox");
    assert_same(&p.apps[Client.index()].inbox, &down, "client inbox");
    assert!(
        p.log.iter().all(|s| s.seg.payload.len() <= 500),
        "{}",
        p.trace()
    );
    assert_eq!(p.client.send_mss(), 500);
}

// ---- the byte stream --------------------------------------------------

#[test]
fn a_megabyte_arrives_bit_exact_in_mss_sized_segments() {
    let mut p = pair();
    let sent = data(1 << 20, 3);
    p.write(Client, &sent);
    p.drive();
    assert_same(&p.apps[Server.index()].inbox, &sent, "server inbox");
    let sizes: Vec<usize> = p.data_from(Client).map(|s| s.seg.payload.len()).collect();
    assert!(sizes.iter().all(|&n| n <= 1460));
    assert_eq!(
        sizes.iter().sum::<usize>(),
        1 << 20,
        "nothing was sent twice"
    );
    // The window is 65535 = 44 × 1460 + 1295 bytes, so each window's
    // worth ends in one shorter segment; the stream's last one is short too.
    let (last, rest) = sizes.split_last().unwrap();
    assert!(
        rest.iter().all(|&n| n == 1460 || n == 65535 % 1460),
        "{sizes:?}"
    );
    assert!(*last <= 1460);
    assert_eq!(p.apps[Client.index()].count(is_retransmit), 0);
}

#[test]
fn small_writes_before_a_poll_share_one_segment() {
    let mut p = pair();
    p.established();
    // The original client's habit: two commands written back to back.
    p.client.send(b"lista");
    p.client.send(b"quit");
    p.drive();
    // Written with a chance to send in between, they stay apart.
    p.client.send(b"lista");
    p.flush();
    p.client.send(b"quit");
    p.drive();
    let payloads: Vec<&[u8]> = p.data_from(Client).map(|s| &s.seg.payload[..]).collect();
    assert_eq!(payloads, [&b"listaquit"[..], b"lista", b"quit"]);
    assert_eq!(p.apps[Server.index()].inbox, b"listaquitlistaquit");
}

#[test]
fn reads_and_writes_can_be_partial() {
    let small_buffer = TcpConfig {
        send_buffer: 4096,
        ..TcpConfig::gbn()
    };
    let mut p = Pair::with_isns(CLIENT_ISN, SERVER_ISN, small_buffer, TcpConfig::gbn());
    p.app(Server).reading = false;
    p.established();
    let sent = data(10_000, 4);
    assert_eq!(p.client.send(&sent), 4096, "the send buffer holds 4096");
    assert_eq!(p.client.send_space(), 0);
    p.drive();
    assert_eq!(p.client.send_space(), 4096, "all of it was acknowledged");
    let server = p.ep(Server);
    assert_eq!(server.recv_available(), 4096);
    let mut buf = [0; 1000];
    let mut got = Vec::new();
    for want in [1000, 1000, 1000, 1000, 96, 0] {
        let n = server.recv(&mut buf);
        assert_eq!(n, want);
        got.extend_from_slice(&buf[..n]);
    }
    assert_same(&got, &sent[..4096], "what the server read");
}

#[test]
fn duplicated_segments_are_acked_and_ignored() {
    let mut p = pair().with_fault(|from, seg| {
        if from == Client && !seg.payload.is_empty() {
            Fate::Duplicate
        } else {
            Fate::Pass
        }
    });
    let sent = data(100_000, 5);
    p.write(Client, &sent);
    p.drive();
    assert_same(&p.apps[Server.index()].inbox, &sent, "server inbox");
    let data_segments = p.data_from(Client).count();
    let server_acks = p.log.iter().filter(|s| s.from == Server).count();
    assert!(
        server_acks >= 2 * data_segments,
        "each copy is acknowledged"
    );
    assert_eq!(p.apps[Client.index()].count(is_retransmit), 0);
}

// ---- loss and retransmission --------------------------------------------

#[test]
fn a_lost_segment_is_sent_again_after_the_rto() {
    let mut nth = 0;
    let mut p = pair().with_fault(move |from, seg| {
        if from == Client && !seg.payload.is_empty() {
            nth += 1;
            if nth == 3 {
                return Fate::Drop;
            }
        }
        Fate::Pass
    });
    p.established();
    let sent = data(20_000, 6);
    p.write(Client, &sent);
    p.drive();
    assert_same(&p.apps[Server.index()].inbox, &sent, "server inbox");

    let lost = CLIENT_ISN + 1 + 2 * 1460;
    let client = &p.apps[Client.index()];
    assert_eq!(rtos(client), [200 * MS]);
    let (fired_at, _) = client
        .events
        .iter()
        .find(|(_, e)| matches!(e, TcpEvent::RtoFired { .. }))
        .unwrap();
    let retransmit = TcpEvent::Retransmit {
        seq: lost,
        len: 1460,
        attempt: 1,
        why: RetransmitReason::Rto,
    };
    assert!(
        client.events.contains(&(*fired_at, retransmit)),
        "{:?}",
        client.events
    );
    // The timer was last restarted by the ACK that moved up to the hole;
    // the duplicate ACKs after it do not restart it.
    let hole_ack = p
        .log
        .iter()
        .find(|s| s.from == Server && s.seg.ack == lost)
        .unwrap();
    assert_eq!(*fired_at, hole_ack.at + DELAY + 200 * MS);
}

#[test]
fn backoff_doubles_while_the_loss_goes_on() {
    let mut drops = 0;
    let mut p = pair().with_fault(move |from, seg| {
        let first_data = from == Client && seg.seq == CLIENT_ISN + 1 && !seg.payload.is_empty();
        if first_data && drops < 4 {
            drops += 1;
            return Fate::Drop;
        }
        Fate::Pass
    });
    p.established();
    let sent = data(1000, 7);
    p.write(Client, &sent);
    p.drive();
    assert_same(&p.apps[Server.index()].inbox, &sent, "server inbox");

    let sends: Vec<SimTime> = p.data_from(Client).map(|s| s.at).collect();
    let gaps: Vec<Duration> = sends.windows(2).map(|w| w[1] - w[0]).collect();
    assert_eq!(gaps, [200 * MS, 400 * MS, 800 * MS, 1600 * MS]);
    let client = &p.apps[Client.index()];
    assert_eq!(rtos(client), gaps);
    let attempts: Vec<u32> = client
        .events
        .iter()
        .filter_map(|(_, e)| match e {
            TcpEvent::Retransmit { attempt, .. } => Some(*attempt),
            _ => None,
        })
        .collect();
    assert_eq!(attempts, [1, 2, 3, 4]);
}

/// 200 KB from client to server over a wire that loses 20% of the segments
/// in both directions, handshake and FIN included.
fn lossy_run(seed: u64) -> (Pair, Vec<u8>) {
    let mut rng = SimRng::new(seed);
    let mut p = pair().with_fault(move |_, _| {
        if rng.chance(0.2) {
            Fate::Drop
        } else {
            Fate::Pass
        }
    });
    let sent = data(200_000, seed);
    p.write(Client, &sent);
    p.app(Client).close_when_written = true;
    p.drive();
    (p, sent)
}

#[test]
fn twenty_percent_loss_still_delivers_bit_exact() {
    for seed in 1..=8 {
        let (p, sent) = lossy_run(seed);
        let replay = format!(
            "seed {seed} (replay: cargo test -p streamlab-netsim --test tcp_pair twenty_percent)"
        );
        assert_same(&p.apps[Server.index()].inbox, &sent, &replay);
        assert!(p.server().peer_closed(), "{replay}: no FIN\n{}", p.dump());
        assert_eq!(p.client.error(), None, "{replay}");
        assert!(p.apps[Client.index()].count(is_retransmit) > 0, "{replay}");
    }
}

#[test]
fn a_lossy_run_is_deterministic() {
    let (first, _) = lossy_run(42);
    let (second, _) = lossy_run(42);
    assert_eq!(first.trace(), second.trace());
    assert_eq!(first.now, second.now);
}

#[test]
fn unanswered_retransmissions_abort_the_connection() {
    let impatient = TcpConfig {
        max_retries: 4,
        max_rto: Duration::from_secs(1),
        ..TcpConfig::gbn()
    };
    let mut p = Pair::with_isns(CLIENT_ISN, SERVER_ISN, impatient, TcpConfig::gbn());
    p.established();
    p.cut = Some(Client);
    let start = p.now;
    p.write(Client, b"lista");
    p.drive();
    assert!(p.client.is_closed());
    let timed_out = TcpError::TimedOut { retries: 4 };
    assert_eq!(p.client.error(), Some(&timed_out));
    let client = &p.apps[Client.index()];
    assert_eq!(
        rtos(client),
        [200 * MS, 400 * MS, 800 * MS, 1000 * MS],
        "doubling, capped"
    );
    assert_eq!(client.count(is_retransmit), 4);
    // The fifth timeout gives up: 0.2 + 0.4 + 0.8 + 1 + 1 s after the send.
    let last = client.events.last().unwrap();
    assert_eq!(
        last,
        &(start + 3400 * MS, TcpEvent::Aborted { reason: timed_out })
    );
    let final_seg = &p.log.last().unwrap().seg;
    assert_eq!(
        final_seg.flags,
        TcpFlags::RST,
        "the peer is told (if it can hear)"
    );
    assert!(
        p.server().is_established(),
        "the server never heard a thing"
    );
}

#[test]
fn a_syn_nobody_answers_times_out_without_an_rst() {
    let mut p = pair();
    p.cut = Some(Client);
    p.drive();
    assert_eq!(p.client.error(), Some(&TcpError::TimedOut { retries: 15 }));
    assert_eq!(
        p.log.len(),
        16,
        "the SYN and 15 retransmissions:\n{}",
        p.trace()
    );
    assert!(p.log.iter().all(|s| s.seg.flags == TcpFlags::SYN));
    // 0.2 s doubling to 51.2 s, then 60 s (max_rto) seven times.
    assert_eq!(p.now, SimTime::from_millis(102_200 + 7 * 60_000));
}

#[test]
fn sequence_numbers_wrap_around_mid_transfer() {
    let client_isn = u32::MAX - 1000;
    let mut dropped = false;
    let mut p = Pair::with_isns(
        client_isn,
        u32::MAX - 10,
        TcpConfig::gbn(),
        TcpConfig::gbn(),
    )
    .with_fault(move |from, seg| {
        // Lose the client's first data segment: it spans the wrap.
        if from == Client && !seg.payload.is_empty() && !dropped {
            dropped = true;
            return Fate::Drop;
        }
        Fate::Pass
    });
    let (up, down) = (data(100_000, 8), data(100_000, 9));
    p.write(Client, &up);
    p.write(Server, &down);
    p.app(Client).close_when_written = true;
    p.app(Server).close_when_written = true;
    p.drive();
    assert_same(&p.apps[Server.index()].inbox, &up, "server inbox");
    assert_same(&p.apps[Client.index()].inbox, &down, "client inbox");
    assert!(p.client.is_closed() && p.server().is_closed());
    assert_eq!((p.client.error(), p.server().error()), (None, None));
    let resent = TcpEvent::Retransmit {
        seq: client_isn.wrapping_add(1),
        len: 1460,
        attempt: 1,
        why: RetransmitReason::Rto,
    };
    assert!(p.apps[Client.index()]
        .events
        .iter()
        .any(|(_, e)| *e == resent));
    let seqs = || p.data_from(Client).map(|s| s.seg.seq);
    assert!(seqs().any(|s| s > u32::MAX - 2000) && seqs().any(|s| s < 100_000));
}

// ---- flow control -------------------------------------------------------

#[test]
fn a_reader_that_stops_closes_the_window_and_the_sender_probes() {
    let mut p = pair();
    p.app(Server).reading = false;
    let sent = data(200_000, 10);
    p.write(Client, &sent);
    let probes =
        |p: &mut Pair| p.apps[Client.index()].count(|e| matches!(e, TcpEvent::WindowProbe { .. }));
    p.drive_until(|p| probes(p) >= 3);

    let client = &p.apps[Client.index()];
    let when = |pred: fn(&TcpEvent) -> bool| -> Vec<SimTime> {
        client
            .events
            .iter()
            .filter(|(_, e)| pred(e))
            .map(|(t, _)| *t)
            .collect()
    };
    let zero = when(|e| *e == TcpEvent::ZeroWindow);
    let probe_times = when(|e| matches!(e, TcpEvent::WindowProbe { .. }));
    assert_eq!(zero.len(), 1);
    let gaps: Vec<Duration> = [zero[0]]
        .iter()
        .chain(&probe_times)
        .collect::<Vec<_>>()
        .windows(2)
        .map(|w| *w[1] - *w[0])
        .collect();
    assert_eq!(
        gaps,
        [200 * MS, 400 * MS, 800 * MS],
        "the persist timer backs off"
    );
    let probe_segs: Vec<&Sent> = p
        .data_from(Client)
        .filter(|s| s.at >= probe_times[0])
        .collect();
    assert!(probe_segs.iter().all(|s| s.seg.payload.len() == 1));
    let answers = p.log.iter().filter(|s| s.from == Server && s.at > zero[0]);
    // Each probe but the last (still on its way) was answered: still zero.
    assert!(answers.clone().count() == 2 && answers.into_iter().all(|s| s.seg.window == 0));
    assert_eq!(p.server().recv_available(), 65535, "the buffer is full");

    p.app(Server).reading = true;
    p.drive();
    assert_same(&p.apps[Server.index()].inbox, &sent, "server inbox");
    let opened = p.apps[Client.index()].count(|e| matches!(e, TcpEvent::WindowOpened { .. }));
    assert_eq!(opened, 1);
}

// ---- closing ------------------------------------------------------------

#[test]
fn fin_both_ways_closes_both() {
    let mut p = pair();
    p.established();
    p.write(Client, b"quit");
    p.app(Client).close_when_written = true;
    p.drive();
    assert_eq!(p.apps[Server.index()].inbox, b"quit");
    assert!(p.server().peer_closed());
    assert_eq!(p.client.state(), TcpState::FinWait2);
    assert_eq!(p.server().state(), TcpState::CloseWait);
    let quit = p.data_from(Client).next().unwrap();
    assert_eq!(
        quit.seg.flags.to_string(),
        "FIN,PSH,ACK",
        "the FIN rides on the data"
    );

    p.write(Server, b"goodbye");
    p.app(Server).close_when_written = true;
    p.drive_until(|p| p.client.state() == TcpState::TimeWait);
    let time_wait_from = p.now;
    p.drive();
    assert_eq!(p.apps[Client.index()].inbox, b"goodbye");
    assert_eq!(
        p.now - time_wait_from,
        Duration::from_secs(60),
        "TIME-WAIT lingers"
    );
    assert!(p.client.is_closed() && p.server().is_closed());
    assert_eq!((p.client.error(), p.server().error()), (None, None));
    use TcpState::*;
    let states = |side: Side| p.apps[side.index()].states.clone();
    assert_eq!(
        states(Client),
        [SynSent, Established, FinWait1, FinWait2, TimeWait, Closed]
    );
    assert_eq!(
        states(Server),
        [SynReceived, Established, CloseWait, LastAck, Closed]
    );
}

#[test]
fn closing_at_the_same_time_goes_through_closing() {
    let mut p = pair();
    p.established();
    p.app(Client).close_when_written = true;
    p.app(Server).close_when_written = true;
    p.drive();
    use TcpState::*;
    let after_handshake = [Established, FinWait1, Closing, TimeWait, Closed];
    assert_eq!(p.apps[Client.index()].states[1..], after_handshake);
    assert_eq!(p.apps[Server.index()].states[1..], after_handshake);
    assert_eq!((p.client.error(), p.server().error()), (None, None));
}

#[test]
fn an_abort_resets_the_peer() {
    let mut p = pair();
    p.established();
    p.write(Client, b"lista");
    p.drive();
    p.ep(Server).abort();
    p.drive();
    let rst = &p.log.last().unwrap();
    assert_eq!((rst.from, rst.seg.flags), (Server, TcpFlags::RST));
    assert_eq!(rst.seg.seq, SERVER_ISN + 1);
    assert!(p.client.is_closed());
    assert_eq!(p.client.error(), Some(&TcpError::Reset));
    assert_eq!(
        p.apps[Client.index()].events.last().unwrap().1,
        TcpEvent::Reset
    );
    assert_eq!(p.server().error(), Some(&TcpError::LocalAbort));
    assert_eq!(
        p.client.send(b"quit"),
        0,
        "a reset connection takes no data"
    );
}

#[test]
fn a_closed_endpoint_answers_with_an_rst() {
    // The server's RST is lost, so the client does not know and sends on.
    let mut p = pair().with_fault(|from, seg| {
        if from == Server && seg.flags.contains(TcpFlags::RST) {
            return Fate::Drop;
        }
        Fate::Pass
    });
    p.established();
    p.ep(Server).abort();
    p.flush();
    assert!(p.client.is_established());
    p.set_fault(|_, _| Fate::Pass);
    p.write(Client, b"lista");
    p.drive();
    let answer = p.log.last().unwrap();
    assert_eq!((answer.from, answer.seg.flags), (Server, TcpFlags::RST));
    assert_eq!(
        answer.seg.seq,
        SERVER_ISN + 1,
        "the number the client expects"
    );
    assert_eq!(p.client.error(), Some(&TcpError::Reset));
}
