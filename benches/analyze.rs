//! How fast `streamlab analyze` reads a big capture, beside tshark.
//!
//! ```sh
//! cargo bench --bench analyze              # 512 MiB of audio, about 540 MB of capture
//! cargo bench --bench analyze -- 2048      # another size, in MiB of audio
//! SEGMENT=1448 cargo bench --bench analyze # Ethernet-sized segments
//! cargo bench --bench analyze -- syns      # 1M SYNs from distinct hosts
//! cargo bench --bench analyze -- syns 5000 # another count of SYNs
//! ```
//!
//! Writes a pcapng like a Linux loopback capture of one download (framed
//! dialect, then original dialect, whose end marker must be searched for
//! in all the audio) (Ethernet, 65,000-byte TSO segments, an ACK every two), then
//! times the release `streamlab analyze` on it as a child process (wall
//! time, MB/s, peak resident memory from `getrusage`), then
//! `tshark -qz follow,tcp,raw,0` on the same file when tshark is on PATH.
//! The file is fresh, so both read it from the page cache. Nothing is
//! asserted: the figures are printed (goals: ≥ 1 GB/s, ≥ 10× tshark,
//! < 100 MB peak memory).
//!
//! `syns` writes instead a classic pcap of SYNs, each from another host
//! (70 bytes a SYN, 10 µs apart), and runs `streamlab analyze` on it three
//! ways (text, `--json`, `--stream 0`) with the output thrown away: the
//! peak memory must not grow with the number of connections (goal: under
//! 100 MB for a million).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::net::Ipv4Addr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use streamlab_netsim::pcapng::PcapngWriter;
use streamlab_netsim::wire::{emit_frame, EthernetRepr, Ipv4Repr, TcpFlags, TcpRepr};

/// Payload per data segment, as Linux loopback's segmentation offload
/// leaves them in a capture (`SEGMENT=1448` in the environment gives an
/// Ethernet-sized capture instead).
fn segment() -> usize {
    std::env::var("SEGMENT")
        .ok()
        .and_then(|s| s.parse().ok())
        .filter(|&n| (1..=65_000).contains(&n))
        .unwrap_or(65_000)
}
const CLIENT: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 1);

fn main() {
    if std::env::args().any(|a| a == "syns") {
        return syn_flood();
    }
    let mib: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(512);
    let dir = tempfile::tempdir().expect("a temporary directory");
    for original in [true, false] {
        let name = if original { "original" } else { "framed" };
        println!("-- {name} dialect");
        let path = dir.path().join(format!("{name}.pcapng"));
        let start = Instant::now();
        let frames = write_capture(&path, mib << 20, original);
        let size = std::fs::metadata(&path).expect("the capture").len();
        println!(
            "wrote {:.0} MB ({frames} frames) in {:.1} s",
            size as f64 / 1e6,
            start.elapsed().as_secs_f64()
        );
        compare(&path, size);
        if std::env::var_os("KEEP").is_some() {
            println!("kept {}", path.display());
            std::mem::forget(dir);
            return;
        }
        // Free the disk before the next one.
        let _ = std::fs::remove_file(&path);
    }
}

/// `syns [N]`: N SYNs from N hosts, analysed three ways.
fn syn_flood() {
    let count: u32 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("syns.pcap");
    write_syns(&path, count);
    let size = std::fs::metadata(&path).expect("the capture").len();
    println!("wrote {:.0} MB ({count} SYNs)", size as f64 / 1e6);
    let bin = Path::new(env!("CARGO_BIN_EXE_streamlab"));
    for flags in [&[][..], &["--json"], &["--stream", "0"]] {
        let mut cmd = Command::new(bin);
        cmd.arg("analyze").args(flags).arg(&path);
        let (secs, peak, _) = time_child(&mut cmd, false);
        println!(
            "streamlab analyze {}: {secs:.2} s, peak memory {:.1} MB",
            flags.join(" "),
            peak as f64 / 1e6
        );
    }
    if std::env::var_os("KEEP").is_some() {
        println!("kept {}", path.display());
        std::mem::forget(dir);
    }
}

/// A classic pcap (microseconds, Ethernet) of `count` SYNs to
/// 10.0.0.7:2635, the i-th from 10.x.y.z, i counted from 10.1.0.0 up.
fn write_syns(path: &Path, count: u32) {
    let file = File::create(path).expect("create the capture");
    let mut out = BufWriter::with_capacity(1 << 20, file);
    // Magic (microseconds), version 2.4, zone, accuracy, snapshot length,
    // link type Ethernet; all little-endian.
    let mut header = 0xa1b2_c3d4u32.to_le_bytes().to_vec();
    header.extend_from_slice(&[2, 0, 4, 0]);
    for word in [0u32, 0, 65_535, 1] {
        header.extend_from_slice(&word.to_le_bytes());
    }
    out.write_all(&header).expect("write the header");
    let server = Ipv4Addr::new(10, 0, 0, 7);
    for i in 0..count {
        let client = Ipv4Addr::from(0x0a01_0000 + i);
        let mut side = Side::new(40_000 + (i % 20_000) as u16, 2635, i.wrapping_mul(7919));
        let ip = Ipv4Repr {
            src: client,
            dst: server,
            ttl: 64,
            ident: 0,
        };
        let eth = EthernetRepr::between(client, server);
        let frame = emit_frame(&eth, &ip, &side.syn()).expect("a SYN that fits");
        let micros = u64::from(i) * 10;
        let mut record = Vec::with_capacity(16 + frame.len());
        for word in [
            1_700_000_000 + (micros / 1_000_000) as u32,
            (micros % 1_000_000) as u32,
            frame.len() as u32,
            frame.len() as u32,
        ] {
            record.extend_from_slice(&word.to_le_bytes());
        }
        record.extend_from_slice(&frame);
        out.write_all(&record).expect("write a SYN");
    }
    out.flush().expect("flush");
}

/// Times streamlab and tshark on the capture at `path`.
fn compare(path: &Path, size: u64) {
    let bin = Path::new(env!("CARGO_BIN_EXE_streamlab"));
    let (ours, peak, report) = time_child(Command::new(bin).arg("analyze").arg(path), true);
    for line in report.lines().filter(|l| l.contains("audio:")) {
        println!("  the report says:{line}");
    }
    println!(
        "streamlab analyze: {ours:.3} s, {:.2} GB/s, peak memory {:.1} MB",
        size as f64 / ours / 1e9,
        peak as f64 / 1e6
    );
    let tshark = Command::new("tshark").arg("--version").output();
    if tshark.is_err() {
        println!("tshark: not on PATH, skipped");
        return;
    }
    let (theirs, peak, _) = time_child(
        Command::new("tshark")
            .args(["-n", "-r"])
            .arg(path)
            .args(["-qz", "follow,tcp,raw,0"]),
        false,
    );
    println!(
        "tshark -qz follow,tcp,raw,0: {theirs:.3} s, {:.3} GB/s, peak memory {:.1} MB",
        size as f64 / theirs / 1e9,
        peak as f64 / 1e6
    );
    println!("streamlab is {:.1}× faster", theirs / ours);
}

/// Runs `cmd` to its end; wall seconds, its peak resident set in bytes
/// (0 where unknown), and what it printed if `keep_output` (tshark's raw
/// follow output is twice the capture: it is thrown away instead, as
/// holding it would inflate this process and so what later children
/// report, since they start as copies of it).
// The child is reaped by `wait` (wait4, for its own resource usage), which
// clippy cannot see.
#[allow(clippy::zombie_processes)]
fn time_child(cmd: &mut Command, keep_output: bool) -> (f64, u64, String) {
    let start = Instant::now();
    let stdout = if keep_output {
        Stdio::piped()
    } else {
        Stdio::null()
    };
    let child = cmd
        .stdout(stdout)
        .stderr(Stdio::null())
        .spawn()
        .expect("start the command");
    let pid = child.id();
    let out = read_all(child.stdout);
    let (ok, peak) = wait(pid);
    let secs = start.elapsed().as_secs_f64();
    assert!(ok, "{cmd:?} failed");
    (secs, peak, out)
}

fn read_all(out: Option<std::process::ChildStdout>) -> String {
    let mut text = String::new();
    if let Some(mut out) = out {
        let _ = std::io::Read::read_to_string(&mut out, &mut text);
    }
    text
}

/// Waits for `pid`: whether it succeeded, and its own peak resident set.
#[cfg(unix)]
fn wait(pid: u32) -> (bool, u64) {
    let mut status = 0;
    // SAFETY: wait4 fills the status and the rusage struct it is given;
    // zeroed is a valid value for this plain C struct.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let r = unsafe { libc::wait4(pid as libc::pid_t, &mut status, 0, &mut usage) };
    let ok = r == pid as libc::pid_t && libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0;
    // Linux reports kilobytes.
    (ok, usage.ru_maxrss.max(0) as u64 * 1024)
}

#[cfg(not(unix))]
fn wait(_pid: u32) -> (bool, u64) {
    (true, 0)
}

/// One download of `audio` bytes on loopback, in the framed dialect or the
/// original one (where the analyzer must search all the audio for the end
/// marker); returns the number of frames.
fn write_capture(path: &Path, audio: usize, original: bool) -> u64 {
    let file = File::create(path).expect("create the capture");
    let mut pcap = PcapngWriter::new(BufWriter::with_capacity(1 << 20, file), "bench")
        .expect("a pcapng header");
    let mut c = Side::new(45_926, 2635, 1_000);
    let mut s = Side::new(2635, 45_926, 9_000_000);
    let mut t = 1_700_000_000_000_000_000u64;
    let mut frames = 0u64;
    let mut put = |pcap: &mut PcapngWriter<_>, seg: TcpRepr, t: &mut u64| {
        let ip = Ipv4Repr {
            src: CLIENT,
            dst: CLIENT,
            ttl: 64,
            ident: 0,
        };
        let eth = EthernetRepr::between(CLIENT, CLIENT);
        let frame = emit_frame(&eth, &ip, &seg).expect("a segment that fits");
        *t += 20_000;
        pcap.write_packet(*t, &frame, None).expect("write a frame");
        frames += 1;
    };
    put(&mut pcap, c.syn(), &mut t);
    put(&mut pcap, s.syn_ack(&c), &mut t);
    put(&mut pcap, c.ack(&s), &mut t);
    let (mut stream, end): (Vec<u8>, &[u8]) = if original {
        put(&mut pcap, c.data(b"download song", &s), &mut t);
        (b"track_data_start".to_vec(), b"track_data_end")
    } else {
        put(
            &mut pcap,
            c.data(b"hello streamlab/1 bench\ndownload song\nquit\n", &s),
            &mut t,
        );
        put(&mut pcap, s.data(b"OK streamlab/1 ready\n", &c), &mut t);
        let header = format!("track_data_start {audio} 44100 2 s16le song\n");
        (header.into_bytes(), b"track_data_end song\nOK goodbye\n")
    };
    let size = segment();
    let pattern: Vec<u8> = (0..size).map(|i| (i * 31 % 251) as u8).collect();
    let mut left = audio;
    let mut n = 0u64;
    while left > 0 || !stream.is_empty() {
        let take = size.saturating_sub(stream.len()).min(left);
        stream.extend_from_slice(&pattern[..take]);
        left -= take;
        if left == 0 {
            stream.extend_from_slice(end);
        }
        put(&mut pcap, s.data(&stream, &c), &mut t);
        stream.clear();
        n += 1;
        if n % 2 == 0 {
            put(&mut pcap, c.ack(&s), &mut t);
        }
    }
    put(&mut pcap, s.fin(&c), &mut t);
    put(&mut pcap, c.fin(&s), &mut t);
    put(&mut pcap, s.ack(&c), &mut t);
    pcap.finish()
        .expect("finish the capture")
        .flush()
        .expect("flush");
    frames
}

/// One end's sequence numbers.
struct Side {
    port: u16,
    peer_port: u16,
    seq: u32,
}

impl Side {
    fn new(port: u16, peer_port: u16, isn: u32) -> Self {
        Side {
            port,
            peer_port,
            seq: isn,
        }
    }

    fn seg(&mut self, flags: TcpFlags, ack: u32, payload: &[u8]) -> TcpRepr {
        let seg = TcpRepr {
            src_port: self.port,
            dst_port: self.peer_port,
            seq: self.seq,
            ack,
            flags,
            window: 65_535,
            mss: None,
            options: Default::default(),
            payload: payload.to_vec(),
        };
        let syn_fin = flags.contains(TcpFlags::SYN) || flags.contains(TcpFlags::FIN);
        self.seq = self
            .seq
            .wrapping_add(payload.len() as u32 + u32::from(syn_fin));
        seg
    }

    fn syn(&mut self) -> TcpRepr {
        self.seg(TcpFlags::SYN, 0, b"")
    }

    fn syn_ack(&mut self, peer: &Side) -> TcpRepr {
        self.seg(TcpFlags::SYN | TcpFlags::ACK, peer.seq, b"")
    }

    fn ack(&mut self, peer: &Side) -> TcpRepr {
        self.seg(TcpFlags::ACK, peer.seq, b"")
    }

    fn data(&mut self, payload: &[u8], peer: &Side) -> TcpRepr {
        self.seg(TcpFlags::ACK | TcpFlags::PSH, peer.seq, payload)
    }

    fn fin(&mut self, peer: &Side) -> TcpRepr {
        self.seg(TcpFlags::FIN | TcpFlags::ACK, peer.seq, b"")
    }
}
