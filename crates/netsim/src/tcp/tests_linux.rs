//! The Linux and NewReno models' mechanisms, one at a time, on two
//! endpoints joined by a wire with a fixed delay that the test may make
//! lose chosen segments.

use std::collections::VecDeque;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Duration;

use super::*;

const CLIENT: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 10), 45926);
const SERVER: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 7), 2635);
const DELAY: Duration = Duration::from_millis(10);

type Drop = Box<dyn FnMut(bool, &TcpRepr) -> bool>;

/// Client and server; `log` holds (time, from_client, segment, dropped).
struct Duo {
    now: SimTime,
    c: TcpEndpoint,
    s: Option<TcpEndpoint>,
    s_config: TcpConfig,
    wire: VecDeque<(SimTime, bool, TcpRepr)>,
    log: Vec<(SimTime, bool, TcpRepr, bool)>,
    drop: Drop,
    events: Vec<(bool, TcpEvent)>,
    /// Bytes the server still has to write, and what the client read.
    outbox: Vec<u8>,
    inbox: Vec<u8>,
    reading: bool,
    /// How long each server segment holds the wire (zero: no bandwidth
    /// limit), and when it is free again.
    spacing: Duration,
    busy_until: SimTime,
}

impl Duo {
    fn new(c: TcpConfig, s: TcpConfig) -> Duo {
        Duo {
            now: SimTime::ZERO,
            c: TcpEndpoint::connect(CLIENT, SERVER, 1000, c, SimTime::ZERO),
            s: None,
            s_config: s,
            wire: VecDeque::new(),
            log: Vec::new(),
            drop: Box::new(|_, _| false),
            events: Vec::new(),
            outbox: Vec::new(),
            inbox: Vec::new(),
            reading: true,
            spacing: Duration::ZERO,
            busy_until: SimTime::ZERO,
        }
    }

    fn flush(&mut self) {
        let now = self.now;
        if let Some(s) = &mut self.s {
            let n = s.send(&self.outbox);
            self.outbox.drain(..n);
        }
        if self.reading {
            let mut buf = [0; 65536];
            let n = self.c.recv(&mut buf);
            self.inbox.extend_from_slice(&buf[..n]);
        }
        for from_client in [true, false] {
            let ep = if from_client {
                Some(&mut self.c)
            } else {
                self.s.as_mut()
            };
            let Some(ep) = ep else { continue };
            while let Some(seg) = ep.poll_segment(now) {
                let lost = (self.drop)(from_client, &seg);
                self.log.push((now, from_client, seg.clone(), lost));
                if !lost {
                    let mut at = now + DELAY;
                    if !from_client {
                        self.busy_until = self.busy_until.max(now) + self.spacing;
                        at = self.busy_until + DELAY;
                    }
                    let pos = self.wire.partition_point(|w| w.0 <= at);
                    self.wire.insert(pos, (at, from_client, seg));
                }
            }
            while let Some(e) = ep.poll_event() {
                self.events.push((from_client, e));
            }
        }
    }

    /// Moves time to the next arrival or timer, until `until`.
    fn run(&mut self, until: SimTime) {
        self.flush();
        for _ in 0..1_000_000 {
            let timers = [
                self.c.poll_timeout(),
                self.s.as_ref().and_then(|s| s.poll_timeout()),
            ];
            let arrival = self.wire.front().map(|w| w.0);
            let Some(next) = timers.into_iter().chain([arrival]).flatten().min() else {
                return;
            };
            if next > until {
                self.now = until;
                return;
            }
            self.now = next;
            if arrival == Some(next) {
                let (_, to_server, seg) = self.wire.pop_front().expect("an arrival");
                if to_server {
                    match &mut self.s {
                        Some(s) => s.handle_segment(next, &seg),
                        None => {
                            let cfg = self.s_config.clone();
                            self.s = TcpEndpoint::accept(&seg, SERVER, CLIENT, 9000, cfg, next);
                        }
                    }
                } else {
                    self.c.handle_segment(next, &seg);
                }
            }
            self.c.handle_timeout(next);
            if let Some(s) = &mut self.s {
                s.handle_timeout(next);
            }
            self.flush();
        }
        panic!("no end in sight");
    }

    fn server(&self) -> &TcpEndpoint {
        self.s.as_ref().expect("the server exists")
    }

    fn sent(&self, from_client: bool) -> impl Iterator<Item = &(SimTime, bool, TcpRepr, bool)> {
        self.log.iter().filter(move |l| l.1 == from_client)
    }
}

fn ms(n: u64) -> SimTime {
    SimTime::from_millis(n)
}

fn data(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + i / 251) as u8).collect()
}

#[test]
fn window_scaling_is_used_only_when_both_syns_carry_it() {
    let mut d = Duo::new(TcpConfig::linux(), TcpConfig::linux());
    d.run(ms(100));
    let syn = &d.log[0].2;
    assert_eq!(syn.options.window_scale, Some(7));
    assert!(syn.options.sack_permitted && syn.options.timestamp.is_some());
    assert_eq!(syn.window, 45 * 1448, "whole segments of 1448 bytes");
    assert_eq!(
        d.server().send_mss(),
        1448,
        "1460 less 12 bytes of timestamps"
    );

    let mut d = Duo::new(TcpConfig::gbn(), TcpConfig::linux());
    d.run(ms(100));
    let syn_ack = &d.log[1].2;
    assert_eq!(
        syn_ack.options,
        crate::wire::TcpOptions::default(),
        "nothing offered"
    );
    d.outbox = data(200_000);
    d.run(ms(2_000));
    assert!(d.log.iter().all(|l| l.2.options.sack_blocks.is_empty()));
    assert!(d.server().peer_window() <= 65535, "an unscaled peer");
}

#[test]
fn slow_start_sends_ten_segments_then_twice_as_many_per_round_trip() {
    let no_delack = TcpConfig {
        delayed_ack: false,
        ..TcpConfig::linux()
    };
    let mut d = Duo::new(no_delack.clone(), no_delack);
    d.run(ms(30));
    d.outbox = data(400_000);
    d.run(ms(31));
    d.run(ms(200));
    let burst = |from: SimTime, to: SimTime| {
        d.sent(false)
            .filter(|l| l.0 >= from && l.0 < to && !l.2.payload.is_empty())
            .count()
    };
    assert_eq!(burst(ms(30), ms(31)), 10, "IW10");
    assert_eq!(burst(ms(50), ms(51)), 20, "each ACK released two segments");
}

#[test]
fn three_dup_acks_trigger_one_fast_retransmit() {
    let newreno = TcpConfig::newreno();
    let mut d = Duo::new(newreno.clone(), newreno);
    let mut data_segs = 0;
    d.drop = Box::new(move |from_client, seg| {
        if !from_client && !seg.payload.is_empty() {
            data_segs += 1;
            return data_segs == 3;
        }
        false
    });
    d.run(ms(30));
    let song = data(60_000);
    d.outbox = song.clone();
    d.run(ms(3_000));
    assert!(d.inbox == song, "bit-exact");
    let server: Vec<&TcpEvent> = d.events.iter().filter(|e| !e.0).map(|e| &e.1).collect();
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
    let mut d = Duo::new(linux.clone(), linux);
    let mut n = 0;
    d.drop = Box::new(move |from_client, seg| {
        if !from_client && !seg.payload.is_empty() {
            n += 1;
            return n == 2 || n == 4;
        }
        false
    });
    d.run(ms(30));
    d.outbox = data(30_000);
    d.run(ms(3_000));
    let acks: Vec<&TcpRepr> = d.sent(true).map(|l| &l.2).collect();
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
    assert!(d.inbox == data(30_000), "bit-exact");
    assert!(d.events.iter().any(|e| matches!(
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
    let mut d = Duo::new(linux.clone(), linux);
    d.run(ms(30));
    d.outbox = data(200_000);
    d.run(ms(1_000));
    let data_in = d.sent(false).filter(|l| !l.2.payload.is_empty()).count();
    let acks = d.sent(true).filter(|l| l.2.payload.is_empty()).count();
    assert!(acks < data_in * 2 / 3, "{acks} ACKs for {data_in} segments");
    assert!(acks > data_in / 3, "{acks} ACKs for {data_in} segments");

    // A lone small segment is acknowledged 40 ms later, after quick ACKs.
    let mut d = Duo::new(TcpConfig::linux(), TcpConfig::linux());
    d.run(ms(30));
    for i in 0..20 {
        d.outbox = vec![1; 100];
        d.run(ms(100 + 100 * i));
    }
    let last_data = d
        .sent(false)
        .filter(|l| !l.2.payload.is_empty())
        .last()
        .unwrap()
        .0;
    let ack = d.sent(true).find(|l| l.0 > last_data).unwrap().0;
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
    let mut d = Duo::new(linux.clone(), linux);
    d.reading = false;
    d.run(ms(30));
    d.outbox = data(300_000);
    d.run(ms(5_000));
    let probes: Vec<&(SimTime, bool, TcpRepr, bool)> = d
        .sent(false)
        .filter(|l| {
            l.2.payload.is_empty() && SeqNum(l.2.seq) + 1 == SeqNum(d.server().snd.una.get())
        })
        .collect();
    assert!(probes.len() >= 3, "{} probes", probes.len());
    let gaps: Vec<Duration> = probes.windows(2).map(|w| w[1].0.since(w[0].0)).collect();
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
        .sent(true)
        .filter(|l| l.0 > probes[0].0 && l.2.window == 0)
        .count();
    assert!(answers >= probes.len());
    d.reading = true;
    d.run(ms(10_000));
    assert!(d.inbox == data(300_000), "bit-exact");
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
        let mut d = Duo::new(config.clone(), config);
        // About 11.6 Mbit/s: a window of ~20 segments fills the pipe.
        d.spacing = Duration::from_millis(1);
        let mut data_segs = 0;
        d.drop = Box::new(move |from_client, seg| {
            if !from_client && !seg.payload.is_empty() {
                data_segs += 1;
                return data_segs == 60;
            }
            false
        });
        d.run(ms(30));
        let song = data(300_000);
        d.outbox = song.clone();
        d.run(ms(5_000));
        assert!(d.inbox == song, "bit-exact");
        let mut highest = 0u32;
        let mut retransmitted_at = None;
        for (t, _, seg, _) in d.sent(false).filter(|l| !l.2.payload.is_empty()) {
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
