//! One kernel run, step by step. Every resource is a guard declared in the
//! order it is made, so any `?` below unwinds them in reverse: client,
//! server, emulator thread (which holds the TUN devices), namespaces.

use std::ffi::CStr;
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use streamlab_audio::Library;
use streamlab_netsim::link::LinkConfig;
use streamlab_proto::Track;

use crate::counters::{Counters, TcpCounters};
use crate::emulator::Emulator;
use crate::netns::{self, Netns};
use crate::procs::Child;
use crate::pump::Pump;
use crate::tun::Tun;
use crate::watch::Watch;
use crate::{cleanup, KernelConfig, KernelOutcome, Lateness, NamespaceTcp, TestbedError};
use streamlab_netsim::figures::{seconds, Engine, Network, RunFigures, SCHEMA};

/// The server's and the client's addresses, inside their namespaces.
pub const SERVER_ADDR: &str = "10.99.0.1";
pub const CLIENT_ADDR: &str = "10.99.0.2";
const PREFIX_LEN: &str = "24";
const SUBNET: &str = "10.99.0.0/24";
/// The MTU of both TUN devices: Ethernet's.
pub const MTU: u16 = 1500;
/// The congestion control both sides use (the host may default to another).
pub const CONGESTION_CONTROL: &str = "cubic";
/// How long the link must be quiet after the client ends before the
/// counters are read, so the last ACKs and FINs have crossed.
const SETTLE: Duration = Duration::from_millis(300);
const SETTLE_MAX: Duration = Duration::from_secs(3);

/// The TUN devices' names before they move: the kernel fills in the number.
const TUN_PATTERN: &CStr = c"sltun%d";

static RUNS: AtomicU32 = AtomicU32::new(0);

pub(crate) fn run(config: &KernelConfig) -> Result<KernelOutcome, TestbedError> {
    // SAFETY: geteuid cannot fail and touches no memory.
    if unsafe { libc::geteuid() } != 0 {
        return Err(TestbedError::NotPermitted);
    }
    if !config.binary.exists() {
        return Err(TestbedError::NoBinary(config.binary.clone()));
    }
    let song = load_song(&config.music, &config.song)?;
    cleanup::install_interrupt_handler();
    netns::remove_stale();
    let deadline = Instant::now() + config.timeout;
    let n = RUNS.fetch_add(1, Ordering::Relaxed);
    let pid = std::process::id();
    let srv = Netns::add(&format!("{}{pid}-{n}-srv", netns::PREFIX))?;
    let cli = Netns::add(&format!("{}{pid}-{n}-cli", netns::PREFIX))?;
    let tun_srv = Tun::open(TUN_PATTERN)?;
    let tun_cli = Tun::open(TUN_PATTERN)?;
    let tcp_srv = configure(&srv, &tun_srv, SERVER_ADDR)?;
    let tcp_cli = configure(&cli, &tun_cli, CLIENT_ADDR)?;

    let start = Instant::now();
    let emu = Emulator::new(config.uplink.clone(), config.downlink.clone(), config.seed);
    let watch = Watch::new(config.dialect, song.clone());
    let pump = Pump::start(tun_srv, tun_cli, emu, watch, config.capture.clone(), start)?;

    let port = streamlab_proto::original::PORT.to_string();
    let music = config.music.to_string_lossy().into_owned();
    let dialect = config.dialect.as_str();
    let server_args = [
        "server",
        "--music",
        &music,
        "--port",
        &port,
        "--bind",
        SERVER_ADDR,
        "--dialect",
        dialect,
        "-q",
    ];
    let mut server = Child::spawn(&srv, &config.binary, &server_args, "the server")?;
    wait_listening(
        &mut server,
        streamlab_proto::original::PORT,
        deadline,
        config,
    )?;

    let target = format!("{SERVER_ADDR}:{port}");
    let script = format!("play {}; wait; quit", song.name);
    let mut client_args = vec![
        "client".to_string(),
        target,
        "--dialect".into(),
        dialect.into(),
        "--output".into(),
        "null".into(),
        "--script".into(),
        script,
        "-q".into(),
    ];
    if let Some((from, until)) = config.stop_reading {
        let len = until.saturating_sub(from);
        client_args.push("--stop-reading".into());
        client_args.push(format!("{}us,{}us", from.as_micros(), len.as_micros()));
    }
    let client_args: Vec<&str> = client_args.iter().map(String::as_str).collect();
    let mut client = Child::spawn(&cli, &config.binary, &client_args, "the client")?;
    let status = wait_exit(&mut client, deadline, config)?;
    if !status.success() {
        return Err(client.failed(&format!("exited with {status}")));
    }
    let settle_until = Instant::now() + SETTLE_MAX;
    while pump.quiet_for() < SETTLE && Instant::now() < settle_until {
        std::thread::sleep(Duration::from_millis(20));
    }
    let counters_srv = read_counters(&srv)?;
    let counters_cli = read_counters(&cli)?;
    drop(server);
    let report = pump.finish()?;
    drop(client);

    let tcp = counters_srv + counters_cli;
    let w = &report.watched;
    let figures = RunFigures {
        schema: SCHEMA.into(),
        engine: Engine::Kernel,
        tcp: CONGESTION_CONTROL.into(),
        scenario: config.scenario.clone(),
        dialect: dialect.into(),
        seed: config.seed,
        song: Some(song.name.clone()),
        song_bytes: Some(song.pcm.len() as u64),
        network: network(&config.downlink),
        download_s: w.download.map(seconds),
        first_audio_s: w.first_audio.map(seconds),
        stalls: w.stalls.map(|n| u32::try_from(n).unwrap_or(u32::MAX)),
        stalled_s: w.stalled.map(seconds),
        dropped: report.dropped_to_server + report.dropped_to_client,
        retransmitted: tcp.retransmitted,
        fast_retransmits: tcp.fast_retransmits,
        timeouts: tcp.timeouts,
        loss_probes: tcp.loss_probes,
        zero_window_probes: tcp.zero_window_probes,
        bit_exact: Some(w.bit_exact),
    };
    Ok(KernelOutcome {
        figures,
        server_tcp: tcp_srv,
        client_tcp: tcp_cli,
        server_counters: counters_srv,
        client_counters: counters_cli,
        lateness: Lateness::of(&report.lateness),
        dropped_uplink: report.dropped_to_server,
        captured: report.captured,
        write_errors: report.write_errors,
    })
}

/// The song as the server will find it (the same case-insensitive rule).
fn load_song(music: &Path, name: &str) -> Result<Track, TestbedError> {
    let fail = |message: String| TestbedError::Song {
        name: name.into(),
        dir: music.to_path_buf(),
        message,
    };
    let library = Library::scan(music).map_err(|e| fail(e.to_string()))?;
    let found = library
        .find(name)
        .ok_or_else(|| TestbedError::SongNotFound {
            name: name.into(),
            dir: music.to_path_buf(),
        })?;
    found.track().map_err(|e| fail(e.to_string()))
}

/// Moves `tun` into `ns` as `tun0` with `addr`, brings it and `lo` up, and
/// sets the congestion control; returns the namespace's TCP settings.
fn configure(ns: &Netns, tun: &Tun, addr: &str) -> Result<NamespaceTcp, TestbedError> {
    let name = ns.name();
    let mtu = MTU.to_string();
    let cidr = format!("{addr}/{PREFIX_LEN}");
    // No IPv6: its router solicitations would cross the emulated link and
    // take its time and its random draws. (Before the device moves in, so
    // it never gets an IPv6 address.) Best effort: IPv6 may be absent.
    let _ = ns.exec(
        "sh",
        &[
            "-c",
            "for f in all default; do echo 1 > /proc/sys/net/ipv6/conf/$f/disable_ipv6; done",
        ],
    );
    netns::ip(&["link", "set", tun.name(), "netns", name])?;
    netns::ip(&["-n", name, "link", "set", tun.name(), "name", "tun0"])?;
    netns::ip(&["-n", name, "link", "set", "lo", "up"])?;
    netns::ip(&["-n", name, "addr", "add", &cidr, "dev", "tun0"])?;
    netns::ip(&["-n", name, "link", "set", "tun0", "mtu", &mtu, "up"])?;
    // A namespace other than the first may only *default* to an algorithm
    // in the host's tcp_allowed_congestion_control; a route may name any.
    // So: try the default, and set it on the route in any case.
    let default_set = ns
        .exec(
            "sh",
            &[
                "-c",
                &format!("echo {CONGESTION_CONTROL} > /proc/sys/net/ipv4/tcp_congestion_control"),
            ],
        )
        .is_ok();
    netns::ip(&[
        "-n",
        name,
        "route",
        "replace",
        SUBNET,
        "dev",
        "tun0",
        "proto",
        "kernel",
        "scope",
        "link",
        "src",
        addr,
        "congctl",
        CONGESTION_CONTROL,
    ])?;
    read_tcp_settings(ns, default_set)
}

fn read_tcp_settings(ns: &Netns, default_set: bool) -> Result<NamespaceTcp, TestbedError> {
    let keys = [
        "tcp_congestion_control",
        "tcp_sack",
        "tcp_timestamps",
        "tcp_window_scaling",
        "tcp_rmem",
        "tcp_wmem",
    ];
    let paths: Vec<String> = keys
        .iter()
        .map(|k| format!("/proc/sys/net/ipv4/{k}"))
        .collect();
    let args: Vec<&str> = paths.iter().map(String::as_str).collect();
    let text = ns.exec("cat", &args)?;
    let v: Vec<String> = text
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    let get = |i: usize| v.get(i).cloned().unwrap_or_default();
    Ok(NamespaceTcp {
        congestion_control: CONGESTION_CONTROL.into(),
        congestion_control_by: if default_set {
            "sysctl and route"
        } else {
            "route congctl"
        }
        .into(),
        namespace_default: get(0),
        sack: get(1) == "1",
        timestamps: get(2) == "1",
        window_scaling: get(3) == "1",
        rmem: get(4),
        wmem: get(5),
    })
}

/// Waits until the server listens on `port` (read from its own
/// namespace's `/proc/<pid>/net/tcp`), or fails if it ends first.
fn wait_listening(
    server: &mut Child,
    port: u16,
    deadline: Instant,
    config: &KernelConfig,
) -> Result<(), TestbedError> {
    let wanted = format!(":{port:04X}");
    let table = format!("/proc/{}/net/tcp", server.pid());
    loop {
        if let Some(status) = server.try_wait()? {
            return Err(server.failed(&format!("exited with {status} before listening")));
        }
        let text = std::fs::read_to_string(&table).unwrap_or_default();
        let listening = text.lines().skip(1).any(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            f.len() > 3 && f[1].ends_with(&wanted) && f[3] == "0A"
        });
        if listening {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(TestbedError::Timeout(config.timeout.as_secs()));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn wait_exit(
    child: &mut Child,
    deadline: Instant,
    config: &KernelConfig,
) -> Result<std::process::ExitStatus, TestbedError> {
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(status);
        }
        if Instant::now() >= deadline {
            return Err(TestbedError::Timeout(config.timeout.as_secs()));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn read_counters(ns: &Netns) -> Result<TcpCounters, TestbedError> {
    let text = ns.exec("cat", &["/proc/net/snmp", "/proc/net/netstat"])?;
    Ok(Counters::parse(&text).tcp())
}

fn network(link: &LinkConfig) -> Network {
    Network {
        latency_s: link.latency.as_secs_f64(),
        jitter_s: link.jitter.as_secs_f64(),
        bandwidth_bps: link.bandwidth,
        loss: link.loss,
        queue_s: link.queue_limit.as_secs_f64(),
        // What the MTU allows and both ends announce; with timestamps on,
        // 1448 bytes of data ride in each full segment.
        mss: MTU - 40,
    }
}
