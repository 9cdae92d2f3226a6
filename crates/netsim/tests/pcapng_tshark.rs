//! Writes a small capture — the original report's conversation — and has
//! tshark read it back: the fields, the checksums, the stream, and not a
//! single warning. Without tshark on PATH the tshark part is skipped (and
//! says so); the file is always checked with a small block walker of our own.

use std::net::Ipv4Addr;
use std::path::Path;

use tempfile::TempDir;

mod tshark;
mod walk;

use streamlab_netsim::pcapng::PcapngWriter;
use streamlab_netsim::wire::{emit_frame, parse_frame, EthernetRepr, Ipv4Repr, TcpFlags, TcpRepr};

const CLIENT: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 10);
const SERVER: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 7);
const DROPPED: &str = "dropped by the network";
const APP_NAME: &str = "streamlab-netsim test";

/// One end of the connection and what it has sent and received so far.
struct Host {
    ip: Ipv4Addr,
    port: u16,
    window: u16,
    /// The next sequence number to send.
    snd_nxt: u32,
    /// The next sequence number expected from the peer (what it ACKs).
    rcv_nxt: u32,
    ident: u16,
}

#[derive(Clone, Copy, PartialEq)]
enum Fate {
    Delivered,
    /// Lost on the way: the receiver never sees it, the capture comments it.
    Dropped,
    /// Sends again what the peer is still waiting for.
    Retransmitted,
}

/// A packet as written: when, the segment, and its comment.
struct Packet {
    at_ns: u64,
    ip: Ipv4Repr,
    tcp: TcpRepr,
    comment: Option<&'static str>,
}

/// Both hosts, and every packet either of them put on the wire.
struct Conversation {
    client: Host,
    server: Host,
    packets: Vec<Packet>,
}

impl Conversation {
    fn new() -> Self {
        let host = |ip, port, isn, window| Host {
            ip,
            port,
            window,
            snd_nxt: isn,
            rcv_nxt: 0,
            ident: 0,
        };
        Conversation {
            // The client's ISN is close to 2^32 so that its sequence numbers
            // wrap around in the middle of `quit`.
            client: host(CLIENT, 45926, 0xffff_fff8, 64240),
            server: host(SERVER, 2635, 0x7f3a_1c05, 65160),
            packets: Vec::new(),
        }
    }

    fn client(&mut self, at_ns: u64, flags: TcpFlags, data: &[u8], fate: Fate) {
        let (from, to) = (&mut self.client, &mut self.server);
        self.packets.push(send(at_ns, from, to, flags, data, fate));
    }

    fn server(&mut self, at_ns: u64, flags: TcpFlags, data: &[u8], fate: Fate) {
        let (from, to) = (&mut self.server, &mut self.client);
        self.packets.push(send(at_ns, from, to, flags, data, fate));
    }
}

fn send(
    at_ns: u64,
    from: &mut Host,
    to: &mut Host,
    flags: TcpFlags,
    data: &[u8],
    fate: Fate,
) -> Packet {
    let syn = flags.contains(TcpFlags::SYN);
    let seq = if fate == Fate::Retransmitted {
        to.rcv_nxt
    } else {
        from.snd_nxt
    };
    let tcp = TcpRepr {
        src_port: from.port,
        dst_port: to.port,
        seq,
        ack: if flags.contains(TcpFlags::ACK) {
            from.rcv_nxt
        } else {
            0
        },
        flags,
        window: from.window,
        mss: syn.then_some(1460),
        options: Default::default(),
        payload: data.to_vec(),
    };
    let end = seq.wrapping_add(tcp.sequence_len() as u32);
    if fate != Fate::Retransmitted {
        from.snd_nxt = end;
    }
    if fate != Fate::Dropped {
        to.rcv_nxt = end;
    }
    from.ident += 1;
    let ip = Ipv4Repr {
        src: from.ip,
        dst: to.ip,
        ttl: 64,
        ident: from.ident,
    };
    let comment = (fate == Fate::Dropped).then_some(DROPPED);
    Packet {
        at_ns,
        ip,
        tcp,
        comment,
    }
}

/// The conversation of the original report: handshake, `lista` and its
/// reply, a `quit` the network drops and the client sends again,
/// `goodbye`, and both FINs. Times are in nanoseconds, deliberately not
/// round, so that the file's nanosecond resolution shows.
fn report_conversation() -> Conversation {
    use Fate::*;
    const SYN: TcpFlags = TcpFlags::SYN;
    const ACK: TcpFlags = TcpFlags::ACK;
    let psh_ack = TcpFlags::PSH | ACK;
    let fin_ack = TcpFlags::FIN | ACK;
    let ms = 1_000_000;
    let mut c = Conversation::new();
    c.client(0, SYN, b"", Delivered);
    c.server(10 * ms + 3, SYN | ACK, b"", Delivered);
    c.client(20 * ms + 7, ACK, b"", Delivered);
    c.client(20 * ms + 51, psh_ack, b"lista", Delivered);
    c.server(30 * ms + 90, psh_ack, b"RV\nVL\n", Delivered);
    c.client(40 * ms + 91, ACK, b"", Delivered);
    c.client(1_000 * ms + 7, psh_ack, b"quit", Dropped);
    c.client(1_200 * ms + 7, psh_ack, b"quit", Retransmitted);
    c.server(1_210 * ms + 11, psh_ack, b"goodbye", Delivered);
    c.server(1_210 * ms + 12, fin_ack, b"", Delivered);
    c.client(1_220 * ms + 13, ACK, b"", Delivered);
    c.client(1_220 * ms + 500, fin_ack, b"", Delivered);
    c.server(1_230 * ms + 501, ACK, b"", Delivered);
    c
}

fn write_capture(packets: &[Packet], path: &Path) {
    let file = std::fs::File::create(path).expect("create the capture file");
    let mut pcap = PcapngWriter::new(std::io::BufWriter::new(file), APP_NAME).unwrap();
    for p in packets {
        let eth = EthernetRepr::between(p.ip.src, p.ip.dst);
        let frame = emit_frame(&eth, &p.ip, &p.tcp).unwrap();
        pcap.write_packet(p.at_ns, &frame, p.comment).unwrap();
    }
    pcap.finish().unwrap();
}

/// Writes the report conversation into a fresh temporary directory.
fn report_capture() -> (TempDir, std::path::PathBuf, Vec<Packet>) {
    let dir = tempfile::tempdir().expect("create a temporary directory");
    let path = dir.path().join("report.pcapng");
    let packets = report_conversation().packets;
    write_capture(&packets, &path);
    (dir, path, packets)
}

#[test]
fn our_block_walker_reads_back_every_packet() {
    let (_dir, path, packets) = report_capture();
    let bytes = std::fs::read(&path).unwrap();
    let read = walk::read(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(read.app_name, APP_NAME);
    assert_eq!(read.packets.len(), packets.len());
    for (n, (want, got)) in packets.iter().zip(&read.packets).enumerate() {
        assert_eq!(got.timestamp_ns, want.at_ns, "packet {}", n + 1);
        assert_eq!(got.comment.as_deref(), want.comment, "packet {}", n + 1);
        let (eth, ip, tcp) = parse_frame(&got.frame).unwrap();
        assert_eq!(eth, EthernetRepr::between(want.ip.src, want.ip.dst));
        assert_eq!((ip, &tcp), (want.ip, &want.tcp), "packet {}", n + 1);
    }
}

#[test]
fn tshark_reads_the_capture_like_we_wrote_it() {
    if !tshark::available() {
        return;
    }
    let (_dir, path, packets) = report_capture();
    let file = path.to_str().expect("temporary paths are UTF-8 here");

    // Every field of every packet, as tshark decodes it.
    let mut args = vec!["-r", file, "-T", "fields"];
    for field in FIELDS {
        args.extend(["-e", field]);
    }
    let fields = tshark::run(&args);
    let want: String = packets
        .iter()
        .enumerate()
        .map(|(i, p)| expected_fields(i + 1, p))
        .collect();
    assert_eq!(fields, want);

    // With checksum validation on (it is off by default), all 13 frames
    // are good at both layers, none is bad, and there is no expert warning
    // or error (a bad checksum would be an error).
    let validate = [
        "-o",
        "tcp.check_checksum:TRUE",
        "-o",
        "ip.check_checksum:TRUE",
    ];
    let good = r#"tcp.checksum.status == "Good" && ip.checksum.status == "Good""#;
    let bad = r#"tcp.checksum.status == "Bad" || ip.checksum.status == "Bad""#;
    let count = |filter: &str| {
        let out = tshark::run(&[&["-r", file], &validate[..], &["-Y", filter]].concat());
        out.lines().count()
    };
    assert_eq!(count(good), packets.len());
    assert_eq!(count(bad), 0);
    let expert = tshark::run(&[&["-r", file, "-q", "-z", "expert,warn"], &validate[..]].concat());
    assert_eq!(expert.trim(), "", "tshark's expert warnings and errors");

    // The stream, reassembled: the retransmitted `quit` appears once.
    let follow = tshark::run(&["-r", file, "-q", "-z", "follow,tcp,ascii,0"]);
    let chunks = tshark::follow_chunks(&follow);
    let want: Vec<(bool, String)> = packets
        .iter()
        .filter(|p| p.comment.is_none() && !p.tcp.payload.is_empty())
        .map(|p| {
            (
                p.ip.src == CLIENT,
                String::from_utf8(p.tcp.payload.clone()).unwrap(),
            )
        })
        .collect();
    assert_eq!(chunks, want, "follow output:\n{follow}");
    let words: Vec<&str> = chunks.iter().map(|(_, text)| text.as_str()).collect();
    assert_eq!(words, ["lista", "RV\nVL\n", "quit", "goodbye"]);
}

/// The fields compared, in the order `expected_fields` writes them. (In
/// tshark 4.0 the comment is `frame.comment`; `pkt_comment` names the
/// comment *protocol* and prints nothing with `-e`.)
const FIELDS: [&str; 13] = [
    "frame.number",
    "frame.time_epoch",
    "ip.src",
    "tcp.srcport",
    "ip.dst",
    "tcp.dstport",
    "tcp.seq_raw",
    "tcp.ack_raw",
    "tcp.flags",
    "tcp.window_size_value",
    "tcp.options.mss_val",
    "tcp.len",
    "frame.comment",
];

/// One line of the `-T fields` output we expect for packet `number`.
fn expected_fields(number: usize, p: &Packet) -> String {
    let t = &p.tcp;
    let (secs, nanos) = (p.at_ns / 1_000_000_000, p.at_ns % 1_000_000_000);
    let mss = t.mss.map(|m| m.to_string()).unwrap_or_default();
    format!(
        "{number}\t{secs}.{nanos:09}\t{}\t{}\t{}\t{}\t{}\t{}\t0x{:04x}\t{}\t{mss}\t{}\t{}\n",
        p.ip.src,
        t.src_port,
        p.ip.dst,
        t.dst_port,
        t.seq,
        t.ack,
        t.flags.bits(),
        t.window,
        t.payload.len(),
        p.comment.unwrap_or(""),
    )
}
