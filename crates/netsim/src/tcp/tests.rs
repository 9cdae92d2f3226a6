//! Single segments, crafted by hand, against one endpoint: the corner
//! cases of "SEGMENT ARRIVES" that a whole transfer rarely reaches. The
//! stories (transfers, losses, closes) are in `tests/tcp_pair.rs`.

use std::net::{Ipv4Addr, SocketAddrV4};

use super::*;

const CLIENT: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 10), 45926);
const SERVER: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 7), 2635);
const T0: SimTime = SimTime::ZERO;

fn small_config() -> TcpConfig {
    TcpConfig {
        recv_buffer: 100,
        mss: 40,
        ..TcpConfig::gbn()
    }
}

/// A client and a server that finished the handshake by hand.
fn established() -> (TcpEndpoint, TcpEndpoint) {
    let mut c = TcpEndpoint::connect(CLIENT, SERVER, 1000, small_config(), T0);
    let syn = c.poll_segment(T0).expect("a SYN");
    let mut s = TcpEndpoint::accept(&syn, SERVER, CLIENT, 5000, small_config(), T0)
        .expect("a plain SYN is accepted");
    let syn_ack = s.poll_segment(T0).expect("a SYN-ACK");
    c.handle_segment(T0, &syn_ack);
    let ack = c.poll_segment(T0).expect("the third ACK");
    s.handle_segment(T0, &ack);
    assert!(c.is_established() && s.is_established());
    (c, s)
}

/// A segment from the client to the server.
fn from_client(seq: u32, flags: TcpFlags, payload: &[u8]) -> TcpRepr {
    TcpRepr {
        src_port: CLIENT.port(),
        dst_port: SERVER.port(),
        seq,
        ack: 5001,
        flags: flags | TcpFlags::ACK,
        window: 1000,
        mss: None,
        options: Default::default(),
        payload: payload.to_vec(),
    }
}

fn drain(ep: &mut TcpEndpoint) -> Vec<TcpRepr> {
    std::iter::from_fn(|| ep.poll_segment(T0)).collect()
}

fn events(ep: &mut TcpEndpoint) -> Vec<TcpEvent> {
    std::iter::from_fn(|| ep.poll_event()).collect()
}

#[test]
fn the_syn_carries_the_mss_and_the_whole_buffer_as_window() {
    let mut c = TcpEndpoint::connect(CLIENT, SERVER, 7, small_config(), T0);
    let syn = c.poll_segment(T0).unwrap();
    assert_eq!(syn.flags, TcpFlags::SYN);
    assert_eq!(
        (syn.seq, syn.ack, syn.mss, syn.window),
        (7, 0, Some(40), 100)
    );
    assert_eq!(c.poll_segment(T0), None);
    assert_eq!(c.state(), TcpState::SynSent);
    assert_eq!(
        c.poll_timeout(),
        Some(T0 + std::time::Duration::from_millis(200))
    );
}

#[test]
fn accept_wants_a_plain_syn_for_its_ports() {
    let syn = TcpRepr {
        flags: TcpFlags::SYN,
        ack: 0,
        ..from_client(1000, TcpFlags::empty(), b"")
    };
    assert!(TcpEndpoint::accept(&syn, SERVER, CLIENT, 1, small_config(), T0).is_some());
    let ack = from_client(1000, TcpFlags::empty(), b"");
    assert!(TcpEndpoint::accept(&ack, SERVER, CLIENT, 1, small_config(), T0).is_none());
    let other_port = SocketAddrV4::new(*SERVER.ip(), 80);
    assert!(TcpEndpoint::accept(&syn, other_port, CLIENT, 1, small_config(), T0).is_none());
}

#[test]
fn the_smaller_mss_wins() {
    let mut c = TcpEndpoint::connect(CLIENT, SERVER, 1, TcpConfig::gbn(), T0);
    let syn = c.poll_segment(T0).unwrap();
    let s = TcpEndpoint::accept(&syn, SERVER, CLIENT, 9, small_config(), T0).unwrap();
    assert_eq!(s.send_mss(), 40);
    let mut no_option = syn.clone();
    no_option.mss = None;
    let s = TcpEndpoint::accept(&no_option, SERVER, CLIENT, 9, TcpConfig::gbn(), T0);
    assert_eq!(s.unwrap().send_mss(), 536, "RFC 9293's default");
}

#[test]
fn data_beyond_the_window_is_trimmed_and_acked() {
    let (_, mut s) = established();
    s.handle_segment(T0, &from_client(1001, TcpFlags::empty(), &[b'x'; 150]));
    assert_eq!(s.recv_available(), 100, "the buffer holds 100");
    let ack = drain(&mut s);
    assert_eq!(ack.len(), 1);
    assert_eq!((ack[0].ack, ack[0].window), (1101, 0));
}

#[test]
fn a_duplicate_is_acked_again_and_ignored() {
    let (_, mut s) = established();
    let seg = from_client(1001, TcpFlags::PSH, b"lista");
    s.handle_segment(T0, &seg);
    assert_eq!(drain(&mut s)[0].ack, 1006);
    s.handle_segment(T0, &seg);
    let again = drain(&mut s);
    assert_eq!(again.len(), 1, "a duplicate ACK");
    assert_eq!(again[0].ack, 1006);
    let mut buf = [0; 16];
    assert_eq!(s.recv(&mut buf), 5);
    assert_eq!(&buf[..5], b"lista");
}

#[test]
fn a_segment_after_a_hole_is_dropped_with_a_duplicate_ack() {
    let (_, mut s) = established();
    s.handle_segment(T0, &from_client(1011, TcpFlags::empty(), b"later"));
    assert_eq!(s.recv_available(), 0);
    assert_eq!(drain(&mut s)[0].ack, 1001);
}

#[test]
fn an_rst_outside_the_window_is_ignored() {
    let (_, mut s) = established();
    let rst = |seq| TcpRepr {
        flags: TcpFlags::RST,
        ack: 0,
        ..from_client(seq, TcpFlags::empty(), b"")
    };
    s.handle_segment(T0, &rst(900));
    assert!(
        s.is_established(),
        "an old RST must not kill the connection"
    );
    s.handle_segment(T0, &rst(1001));
    assert!(s.is_closed());
    assert_eq!(s.error(), Some(&TcpError::Reset));
    assert_eq!(events(&mut s), [TcpEvent::Connected, TcpEvent::Reset]);
}

#[test]
fn a_repeated_syn_gets_the_syn_ack_again() {
    let mut c = TcpEndpoint::connect(CLIENT, SERVER, 1000, small_config(), T0);
    let syn = c.poll_segment(T0).unwrap();
    let mut s = TcpEndpoint::accept(&syn, SERVER, CLIENT, 5000, small_config(), T0).unwrap();
    let first = s.poll_segment(T0).unwrap();
    s.handle_segment(T0, &syn);
    let again = s.poll_segment(T0).unwrap();
    assert_eq!(again, first);
    let retransmit = TcpEvent::Retransmit {
        seq: 5000,
        len: 0,
        attempt: 1,
        why: crate::tcp::RetransmitReason::Rto,
    };
    assert_eq!(events(&mut s), [retransmit]);
}

#[test]
fn a_repeated_syn_ack_is_acked_again() {
    let mut c = TcpEndpoint::connect(CLIENT, SERVER, 1000, small_config(), T0);
    let syn = c.poll_segment(T0).unwrap();
    let mut s = TcpEndpoint::accept(&syn, SERVER, CLIENT, 5000, small_config(), T0).unwrap();
    let syn_ack = s.poll_segment(T0).unwrap();
    c.handle_segment(T0, &syn_ack);
    assert_eq!(drain(&mut c).len(), 1);
    c.handle_segment(T0, &syn_ack);
    let ack = drain(&mut c);
    assert_eq!(ack.len(), 1);
    assert_eq!(
        (ack[0].flags, ack[0].seq, ack[0].ack),
        (TcpFlags::ACK, 1001, 5001)
    );
}

#[test]
fn an_rst_answering_our_syn_means_refused() {
    let mut c = TcpEndpoint::connect(CLIENT, SERVER, 1000, small_config(), T0);
    c.poll_segment(T0);
    let rst = TcpRepr {
        src_port: SERVER.port(),
        dst_port: CLIENT.port(),
        seq: 0,
        ack: 1001,
        flags: TcpFlags::RST | TcpFlags::ACK,
        window: 0,
        mss: None,
        options: Default::default(),
        payload: Vec::new(),
    };
    c.handle_segment(T0, &rst);
    assert_eq!(c.error(), Some(&TcpError::Refused));
    assert_eq!(c.poll_segment(T0), None);
    assert_eq!(c.poll_timeout(), None);
}

#[test]
fn simultaneous_open_connects_both() {
    let mut a = TcpEndpoint::connect(CLIENT, SERVER, 100, small_config(), T0);
    let mut b = TcpEndpoint::connect(SERVER, CLIENT, 900, small_config(), T0);
    let (syn_a, syn_b) = (a.poll_segment(T0).unwrap(), b.poll_segment(T0).unwrap());
    a.handle_segment(T0, &syn_b);
    b.handle_segment(T0, &syn_a);
    assert_eq!(
        (a.state(), b.state()),
        (TcpState::SynReceived, TcpState::SynReceived)
    );
    let (from_a, from_b) = (drain(&mut a), drain(&mut b));
    for seg in &from_b {
        a.handle_segment(T0, seg);
    }
    for seg in &from_a {
        b.handle_segment(T0, seg);
    }
    assert!(a.is_established() && b.is_established());
}

#[test]
fn send_and_recv_have_bounded_buffers() {
    let (mut c, _) = established();
    let config = c.config().clone();
    assert_eq!(
        c.send(&vec![0; config.send_buffer + 10]),
        config.send_buffer
    );
    assert_eq!(c.send_space(), 0);
    assert_eq!(c.send(b"more"), 0);
    c.close();
    assert_eq!(c.state(), TcpState::FinWait1);
    assert_eq!(c.send_space(), 0, "no writes after close");
}

/// An endpoint in one of the states a test can reach by hand.
fn endpoint_for_round(round: u32) -> TcpEndpoint {
    match round % 4 {
        0 => TcpEndpoint::connect(CLIENT, SERVER, 1000, small_config(), T0),
        1 => {
            let mut c = TcpEndpoint::connect(CLIENT, SERVER, 1000, small_config(), T0);
            let syn = c.poll_segment(T0).expect("a SYN");
            TcpEndpoint::accept(&syn, SERVER, CLIENT, 5000, small_config(), T0).expect("accepted")
        }
        2 => established().0,
        _ => {
            let (mut c, _) = established();
            c.close();
            c
        }
    }
}

/// A segment to `ep` with numbers mostly near `seq` and `ack`.
fn random_segment(rng: &mut crate::rng::SimRng, ep: &TcpEndpoint, seq: u32, ack: u32) -> TcpRepr {
    let mut near = |base: u32| {
        if rng.chance(0.8) {
            base.wrapping_add(rng.below(4000) as u32).wrapping_sub(2000)
        } else {
            rng.next_u32()
        }
    };
    let (seq, ack) = (near(seq), near(ack));
    let mut flags = TcpFlags::from_bits(rng.below(64) as u8);
    if !rng.chance(0.05) {
        flags = TcpFlags::from_bits(flags.bits() & !TcpFlags::RST.bits());
    }
    TcpRepr {
        src_port: ep.remote().port(),
        dst_port: ep.local().port(),
        seq,
        ack,
        flags,
        window: rng.below(3000) as u16,
        mss: rng.chance(0.1).then(|| rng.below(3000) as u16),
        options: Default::default(),
        payload: vec![7; rng.below(100) as usize],
    }
}

#[test]
fn random_segments_never_panic() {
    // Outside input must never panic: throw random segments (any flags,
    // numbers near the connection's and far from them, any window) at
    // endpoints in each opening state, polling after each, as time passes.
    let mut rng = crate::rng::SimRng::new(3);
    let mut seen = Vec::new();
    for round in 0..80 {
        let mut ep = endpoint_for_round(round);
        ep.send(&[1; 3000]);
        let (seq, ack) = if ep.local() == CLIENT {
            (5001, 1001)
        } else {
            (1001, 5001)
        };
        let mut now = T0;
        for _ in 0..300 {
            now = now + std::time::Duration::from_millis(rng.below(300));
            let seg = random_segment(&mut rng, &ep, seq, ack);
            ep.handle_segment(now, &seg);
            if rng.chance(0.2) {
                ep.handle_timeout(now);
            }
            ep.recv(&mut [0; 64]);
            while let Some(out) = ep.poll_segment(now) {
                assert!(out.payload.len() <= ep.send_mss(), "{out}");
            }
            while ep.poll_event().is_some() {}
            assert!(ep.bytes_in_flight() <= 3000 + 2);
            if !seen.contains(&ep.state()) {
                seen.push(ep.state());
            }
        }
    }
    // Deterministic: SYN-RECEIVED, CLOSED, ESTABLISHED, FIN-WAIT-1,
    // SYN-SENT, CLOSE-WAIT and CLOSING are reached with this seed.
    assert!(seen.len() >= 7, "only reached {seen:?}");
}
