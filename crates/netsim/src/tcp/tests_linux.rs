//! The Linux and NewReno models' mechanisms, one at a time, on two
//! endpoints joined by a wire with a fixed delay that the test may make
//! lose chosen segments.

use std::time::Duration;

use super::pair::{Fate, Sent, TcpPair, DELAY};
use super::*;
use crate::sim::Side::{Client, Server};

fn ms(n: u64) -> SimTime {
    SimTime::from_millis(n)
}

fn data(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + i / 251) as u8).collect()
}

#[test]
fn window_scaling_is_used_only_when_both_syns_carry_it() {
    let mut d = TcpPair::new(TcpConfig::linux(), TcpConfig::linux());
    d.run_until(ms(100));
    let syn = &d.log[0].seg;
    assert_eq!(syn.options.window_scale, Some(7));
    assert!(syn.options.sack_permitted && syn.options.timestamp.is_some());
    assert_eq!(syn.window, 45 * 1448, "whole segments of 1448 bytes");
    assert_eq!(
        d.server().send_mss(),
        1448,
        "1460 less 12 bytes of timestamps"
    );

    let mut d = TcpPair::new(TcpConfig::gbn(), TcpConfig::linux());
    d.run_until(ms(100));
    let syn_ack = &d.log[1].seg;
    assert_eq!(
        syn_ack.options,
        crate::wire::TcpOptions::default(),
        "nothing offered"
    );
    d.write(Server, &data(200_000));
    d.run_until(ms(2_000));
    assert!(d.log.iter().all(|l| l.seg.options.sack_blocks.is_empty()));
    assert!(d.server().peer_window() <= 65535, "an unscaled peer");
}

#[test]
fn slow_start_sends_ten_segments_then_twice_as_many_per_round_trip() {
    let no_delack = TcpConfig {
        delayed_ack: false,
        ..TcpConfig::linux()
    };
    let mut d = TcpPair::new(no_delack.clone(), no_delack);
    d.run_until(ms(30));
    d.write(Server, &data(400_000));
    d.run_until(ms(31));
    d.run_until(ms(200));
    let burst = |from: SimTime, to: SimTime| {
        d.data_from(Server)
            .filter(|l| l.at >= from && l.at < to)
            .count()
    };
    assert_eq!(burst(ms(30), ms(31)), 10, "IW10");
    assert_eq!(burst(ms(50), ms(51)), 20, "each ACK released two segments");
}

#[test]
fn three_dup_acks_trigger_one_fast_retransmit() {
    let newreno = TcpConfig::newreno();
    let mut d = TcpPair::new(newreno.clone(), newreno);
    d.drop_nth_server_segment(3);
    d.run_until(ms(30));
    let song = data(60_000);
    d.write(Server, &song);
    d.run_until(ms(3_000));
    assert!(d.apps[0].inbox == song, "bit-exact");
    let server: Vec<&TcpEvent> = d.apps[1].events.iter().map(|e| &e.1).collect();
    let retx: Vec<_> = server
        .iter()
        .filter_map(|e| match e {
            TcpEvent::Retransmit { why, .. } => Some(*why),
            _ => None,
        })
        .collect();
    assert_eq!(retx, [RetransmitReason::DupAcks]);
    let stats = d.server().stats();
    assert_eq!(
        (stats.fast_retransmits, stats.timeouts, stats.retransmitted),
        (1, 0, 1)
    );
}

#[test]
fn sack_blocks_report_what_came_after_the_hole_newest_first() {
    let linux = TcpConfig::linux();
    let mut d = TcpPair::new(linux.clone(), linux);
    let mut n = 0;
    d.set_fault(move |from, seg| {
        if from == Server && !seg.payload.is_empty() {
            n += 1;
            if n == 2 || n == 4 {
                return Fate::Drop;
            }
        }
        Fate::Pass
    });
    d.run_until(ms(30));
    d.write(Server, &data(30_000));
    d.run_until(ms(3_000));
    let acks: Vec<&TcpRepr> = d.sent(Client).map(|l| &l.seg).collect();
    let with_sack: Vec<&Vec<(u32, u32)>> = acks
        .iter()
        .map(|a| &a.options.sack_blocks)
        .filter(|b| !b.is_empty())
        .collect();
    // Segments 1..5 of 1448 bytes from 9001: 2 and 4 are lost.
    let seg = |i: u32| 9001 + 1448 * (i - 1);
    assert_eq!(with_sack[0], &vec![(seg(3), seg(4))], "after segment 3");
    assert_eq!(
        with_sack[1],
        &vec![(seg(5), seg(6)), (seg(3), seg(4))],
        "5 is newest"
    );
    assert!(d.apps[0].inbox == data(30_000), "bit-exact");
    assert!(d.apps[1].events.iter().any(|e| matches!(
        e.1,
        TcpEvent::Retransmit {
            why: RetransmitReason::SackHole | RetransmitReason::DupAcks,
            ..
        }
    )));
}

#[test]
fn delayed_acks_cover_two_segments_or_wait_40_ms() {
    let linux = TcpConfig::linux();
    let mut d = TcpPair::new(linux.clone(), linux);
    d.run_until(ms(30));
    d.write(Server, &data(200_000));
    d.run_until(ms(1_000));
    let data_in = d.data_from(Server).count();
    let acks = d.sent(Client).filter(|l| l.seg.payload.is_empty()).count();
    assert!(acks < data_in * 2 / 3, "{acks} ACKs for {data_in} segments");
    assert!(acks > data_in / 3, "{acks} ACKs for {data_in} segments");

    // A lone small segment is acknowledged 40 ms later, after quick ACKs.
    let mut d = TcpPair::new(TcpConfig::linux(), TcpConfig::linux());
    d.run_until(ms(30));
    for i in 0..20 {
        d.write(Server, &[1; 100]);
        d.run_until(ms(100 + 100 * i));
    }
    let last_data = d.data_from(Server).last().unwrap().at;
    let ack = d.sent(Client).find(|l| l.at > last_data).unwrap().at;
    // 40 ms is 10 ticks of 4 ms, counted from the tick the data came in;
    // the timer fires on the tick after.
    let wait = ack.since(last_data) - DELAY;
    assert!(
        (Duration::from_millis(40)..=Duration::from_millis(48)).contains(&wait),
        "delayed by {wait:?}"
    );
    assert_eq!(ack.as_nanos() % 4_000_000, 0, "on a tick: {ack}");
}

#[test]
fn a_zero_window_is_probed_with_no_byte_at_una_minus_one() {
    let linux = TcpConfig::linux();
    let mut d = TcpPair::new(linux.clone(), linux);
    d.app(Client).reading = false;
    d.run_until(ms(30));
    d.write(Server, &data(300_000));
    d.run_until(ms(5_000));
    let probes: Vec<&Sent> = d
        .sent(Server)
        .filter(|l| {
            l.seg.payload.is_empty() && SeqNum(l.seg.seq) + 1 == SeqNum(d.server().snd.una.get())
        })
        .collect();
    assert!(probes.len() >= 3, "{} probes", probes.len());
    let gaps: Vec<Duration> = probes.windows(2).map(|w| w[1].at.since(w[0].at)).collect();
    // Each wait doubles, give or take the timer wheel's slots (4 ms
    // ticks, 32 ms slots past 252 ms).
    assert!(
        gaps.windows(2)
            .all(|g| g[1] >= g[0] * 15 / 8 && g[1] <= g[0] * 17 / 8),
        "backing off: {gaps:?}"
    );
    assert_eq!(d.server().stats().zero_window_probes as usize, probes.len());
    // Each probe is answered with the (zero) window.
    let answers = d
        .sent(Client)
        .filter(|l| l.at > probes[0].at && l.seg.window == 0)
        .count();
    assert!(answers >= probes.len());
    d.app(Client).reading = true;
    d.run_until(ms(10_000));
    assert!(d.apps[0].inbox == data(300_000), "bit-exact");
}

#[test]
fn prr_sends_new_data_while_the_pipe_drains_instead_of_waiting_for_it() {
    // One segment lost from a window of about 40: the fast retransmit, then
    // with PRR new data goes out with the ACKs at 7 for every 10
    // delivered; without it, nothing new until the pipe is below ssthresh.
    let first_new_after_retransmit = |prr: bool| {
        let config = TcpConfig {
            prr,
            ..TcpConfig::linux()
        };
        let mut d = TcpPair::new(config.clone(), config);
        // About 11.6 Mbit/s: a window of ~20 segments fills the pipe.
        d.spacing = Duration::from_millis(1);
        d.drop_nth_server_segment(60);
        d.run_until(ms(30));
        let song = data(300_000);
        d.write(Server, &song);
        d.run_until(ms(5_000));
        assert!(d.apps[0].inbox == song, "bit-exact");
        let mut highest = 0u32;
        let mut retransmitted_at = None;
        for Sent { at: t, seg, .. } in d.data_from(Server) {
            let end = seg.seq.wrapping_add(seg.payload.len() as u32);
            if end <= highest && retransmitted_at.is_none() {
                retransmitted_at = Some(*t);
            } else if end > highest {
                if let Some(r) = retransmitted_at {
                    return t.since(r);
                }
                highest = end;
            }
        }
        panic!("no retransmission followed by new data");
    };
    let with = first_new_after_retransmit(true);
    let without = first_new_after_retransmit(false);
    assert!(
        with < without,
        "PRR lets new data follow the retransmission sooner: {with:?} vs {without:?}"
    );
}

#[test]
fn a_reply_makes_the_receiver_interactive_so_its_acks_cover_two_segments() {
    // The server greets; the client answers within 40 ms (or says
    // nothing); then the server sends 100 kB. ACKs from the client that
    // cover the first 16 segments of it: one per segment in quick-ACK mode,
    // one per two once the client is interactive (Linux's pingpong mode).
    let acks_for_first_16 = |reply: bool| {
        let mut d = TcpPair::new(TcpConfig::linux(), TcpConfig::linux());
        d.run_until(ms(30));
        d.write(Server, b"OK ready\n");
        d.run_until(ms(31) + DELAY);
        if reply {
            d.write(Client, b"download song\n");
        }
        d.run_until(ms(100));
        assert_eq!(d.client.acks.pingpong, reply);
        let start = d.server().snd.nxt.get();
        d.write(Server, &data(100_000));
        d.run_until(ms(2_000));
        let end = start.wrapping_add(16 * 1448);
        d.sent(Client)
            .filter(|l| l.seg.payload.is_empty())
            .filter(|l| {
                let acked = l.seg.ack.wrapping_sub(start);
                acked > 0 && acked <= end.wrapping_sub(start)
            })
            .count()
    };
    assert_eq!(
        acks_for_first_16(false),
        15,
        "quick ACKs (the greeting had one of the 16)"
    );
    assert_eq!(acks_for_first_16(true), 8, "every second segment");
}

#[test]
fn a_delayed_ack_that_has_to_fire_ends_interactive_mode() {
    let mut d = TcpPair::new(TcpConfig::linux(), TcpConfig::linux());
    d.run_until(ms(30));
    d.write(Server, b"OK ready\n");
    d.run_until(ms(31) + DELAY);
    d.write(Client, b"status playing\n");
    d.run_until(ms(200));
    assert!(d.client.acks.pingpong);
    // A lone segment: the ACK waits for the timer, which ends the mode.
    d.write(Server, b"x");
    d.run_until(ms(210) + DELAY);
    assert!(d.client.acks.pingpong, "the ACK is still waiting");
    d.run_until(ms(300));
    assert!(!d.client.acks.pingpong);
}

#[test]
fn a_fin_waits_to_ride_on_our_own_fin_but_one_after_ours_is_acked_at_once() {
    let mut d = TcpPair::new(TcpConfig::linux(), TcpConfig::linux());
    d.run_until(ms(30));
    d.ep(Client).close();
    d.run_until(ms(35) + DELAY);
    let client_fin = d.sent(Client).find(|l| l.seg.flags.contains(TcpFlags::FIN));
    let client_fin = client_fin.expect("the client's FIN").clone();
    assert_eq!(d.server().state(), TcpState::CloseWait);
    assert_eq!(
        d.sent(Server).filter(|l| l.at > client_fin.at).count(),
        0,
        "no bare ACK of the FIN"
    );
    // The server's application closes 5 ms later: one segment, FIN and
    // the ACK of the client's FIN together (as Linux's captures show).
    d.ep(Server).close();
    d.run_until(ms(500));
    let answers: Vec<&Sent> = d.sent(Server).filter(|l| l.at > client_fin.at).collect();
    assert_eq!(answers.len(), 1, "{}", d.dump());
    assert!(answers[0].seg.flags.contains(TcpFlags::FIN));
    assert_eq!(answers[0].seg.ack, client_fin.seg.seq.wrapping_add(1));
    // The client, in FIN-WAIT-2, ACKs the server's FIN the moment it comes.
    let server_fin_at = answers[0].at;
    let ack = d
        .sent(Client)
        .find(|l| l.at > server_fin_at)
        .expect("an ACK");
    assert_eq!(ack.at, server_fin_at + DELAY);
}

#[test]
fn resending_the_oldest_segment_gives_it_a_whole_rto() {
    // Segment 20 is lost; when SACKs show it, it goes again. Linux starts
    // the retransmission timer again then; RFC 6298 alone leaves it
    // running from the last new ACK, so it would fire a round trip sooner.
    let deadline_after_fast_retransmit = |linux_rto: bool| {
        let config = TcpConfig {
            linux_rto,
            ..TcpConfig::linux()
        };
        let mut d = TcpPair::new(config.clone(), config);
        // About 5.8 Mbit/s: the SACKs that show the hole come 2 ms apart,
        // after the last new ACK.
        d.spacing = Duration::from_millis(2);
        d.drop_nth_server_segment(20);
        d.run_until(ms(30));
        d.write(Server, &data(100_000));
        d.drive_until(|d| d.server().stats().fast_retransmits > 0);
        let t = &d.server().timers;
        let whole = t.expiry(d.now, t.rto);
        (t.retransmit_deadline().expect("armed"), whole)
    };
    let (linux, whole) = deadline_after_fast_retransmit(true);
    assert_eq!(linux, whole);
    let (rfc, whole) = deadline_after_fast_retransmit(false);
    assert!(rfc < whole, "{rfc} before {whole}");
}
