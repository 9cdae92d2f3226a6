//! What one frame costs to build and to parse: the three kinds the `linux`
//! model sends most (a full data segment with timestamps, a pure ACK with
//! SACK blocks, a SYN with every option), each emitted and parsed many
//! times. Prints nanoseconds per frame.
//!
//! ```sh
//! cargo bench -p streamlab-netsim --bench wire
//! ```

use std::hint::black_box;
use std::net::Ipv4Addr;
use std::time::Instant;

use streamlab_netsim::wire::{
    emit_frame, parse_frame, EthernetRepr, Ipv4Repr, TcpFlags, TcpOptions, TcpRepr,
};

const ROUNDS: usize = 200_000;
const CLIENT: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 10);
const SERVER: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 7);

fn main() {
    let eth = EthernetRepr::between(SERVER, CLIENT);
    let ip = Ipv4Repr {
        src: SERVER,
        dst: CLIENT,
        ttl: 64,
        ident: 7,
    };
    let base = TcpRepr {
        src_port: 2635,
        dst_port: 45926,
        seq: 1,
        ack: 1,
        flags: TcpFlags::ACK,
        window: 502,
        mss: None,
        options: TcpOptions {
            timestamp: Some((1000, 2000)),
            ..TcpOptions::default()
        },
        payload: Vec::new(),
    };
    let data = TcpRepr {
        flags: TcpFlags::PSH | TcpFlags::ACK,
        payload: (0..1448u32).map(|i| i as u8).collect(),
        ..base.clone()
    };
    let sack = TcpRepr {
        options: TcpOptions {
            timestamp: Some((1000, 2000)),
            sack_blocks: vec![(5000, 6448), (9000, 10448), (12000, 13448)],
            ..TcpOptions::default()
        },
        ..base.clone()
    };
    let syn = TcpRepr {
        flags: TcpFlags::SYN,
        ack: 0,
        mss: Some(1460),
        options: TcpOptions {
            window_scale: Some(7),
            sack_permitted: true,
            timestamp: Some((1000, 0)),
            sack_blocks: Vec::new(),
        },
        ..base
    };
    for (name, tcp) in [
        ("data 1448 B", &data),
        ("ACK + 3 SACK", &sack),
        ("SYN", &syn),
    ] {
        let start = Instant::now();
        let mut bytes = 0;
        for _ in 0..ROUNDS {
            let frame = emit_frame(black_box(&eth), black_box(&ip), black_box(tcp));
            bytes += frame.map_or(0, |f| f.len());
        }
        let emit = start.elapsed().as_nanos() as f64 / ROUNDS as f64;
        let Ok(frame) = emit_frame(&eth, &ip, tcp) else {
            eprintln!("wire: {name} does not build");
            std::process::exit(1);
        };
        let start = Instant::now();
        let mut ok = 0;
        for _ in 0..ROUNDS {
            ok += usize::from(parse_frame(black_box(&frame)).is_ok());
        }
        let parse = start.elapsed().as_nanos() as f64 / ROUNDS as f64;
        println!(
            "{name:>13}: emit {emit:6.0} ns, parse {parse:6.0} ns per frame \
             ({} B, {ok} parsed)",
            bytes / ROUNDS
        );
    }
}
