//! Server memory per idle client: the release `streamlab server` in a
//! process of its own, read from `/proc` before and after 1,000 clients
//! connect, greet and wait.
//!
//! The binary is the one Cargo built for this bench
//! (`CARGO_BIN_EXE_streamlab`). A thread reads its stderr: the address comes
//! from the `listening on ADDR` line, and the rest is drained so the server
//! never blocks on a full pipe. Each client sends the framed greeting and
//! reads `OK streamlab/1 ready`, so it is a registered, greeted session
//! whose thread waits in `read`. RSS counts the memory the server process
//! touched; socket buffers belong to the kernel and are not in it.
//!
//! At the end the server gets SIGINT with every client still connected and
//! must exit by itself (it is killed if it does not).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, ChildStderr, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};

const CLIENTS: usize = 1000;
/// The longest the server may take to say where it listens, a client to be
/// greeted, or the server to exit after SIGINT.
const TIMEOUT: Duration = Duration::from_secs(10);

pub fn run() -> Result<()> {
    let mut server = ServerProcess::start()?;
    let before = Usage::of(server.pid())?;
    let clients = (0..CLIENTS)
        .map(|i| greet(server.addr).with_context(|| format!("client {i}")))
        .collect::<Result<Vec<_>>>()?;
    let after = Usage::of(server.pid())?;
    let exit = server.interrupt();
    drop(clients);
    print_usage(server.pid(), &before, &after);
    let (status, took) = exit?;
    println!();
    println!(
        "SIGINT with {CLIENTS} clients connected: the server ended ({status}) after {:.0} ms",
        took.as_secs_f64() * 1e3
    );
    Ok(())
}

fn print_usage(pid: u32, before: &Usage, after: &Usage) {
    println!("3. server memory with {CLIENTS} idle greeted clients (release binary, pid {pid})");
    println!();
    println!(
        "{:<20} {:>12} {:>12} {:>12}",
        "", "before", "after", "per client"
    );
    let per = |b: u64, a: u64| a.saturating_sub(b) as f64 / CLIENTS as f64;
    for (label, b, a) in [
        ("VmRSS (resident)", before.rss_kib, after.rss_kib),
        ("VmHWM (peak RSS)", before.hwm_kib, after.hwm_kib),
        ("VmSize (virtual)", before.size_kib, after.size_kib),
    ] {
        let (b_mib, a_mib) = (b as f64 / 1024.0, a as f64 / 1024.0);
        let per_kib = per(b, a);
        println!("{label:<20} {b_mib:>8.1} MiB {a_mib:>8.1} MiB {per_kib:>8.1} KiB");
    }
    for (label, b, a) in [
        ("threads", before.threads, after.threads),
        ("open files", before.fds, after.fds),
    ] {
        println!("{label:<20} {b:>12} {a:>12} {:>12.2}", per(b, a));
    }
}

/// Connects and greets in the framed dialect; the server's answer proves
/// the session is registered and waiting for a command.
fn greet(addr: SocketAddr) -> Result<TcpStream> {
    let mut stream = TcpStream::connect_timeout(&addr, TIMEOUT)?;
    stream.set_read_timeout(Some(TIMEOUT))?;
    stream.write_all(b"hello streamlab/1 bench\n")?;
    let (mut reply, mut buf) = (Vec::new(), [0u8; 256]);
    while !reply.ends_with(b"\n") && reply.len() < 1024 {
        match stream.read(&mut buf)? {
            0 => bail!("closed before greeting us"),
            n => reply.extend_from_slice(&buf[..n]),
        }
    }
    let reply = String::from_utf8_lossy(&reply);
    ensure!(reply.starts_with("OK "), "greeted with {reply:?}");
    Ok(stream)
}

/// What `/proc` says about a process (sizes in KiB).
struct Usage {
    rss_kib: u64,
    hwm_kib: u64,
    size_kib: u64,
    threads: u64,
    fds: u64,
}

impl Usage {
    fn of(pid: u32) -> Result<Usage> {
        let path = format!("/proc/{pid}/status");
        let text = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
        let field = |name: &str| {
            text.lines()
                .find_map(|line| line.strip_prefix(name))
                .and_then(|value| value.split_whitespace().next()?.parse().ok())
                .with_context(|| format!("no {name} in {path}"))
        };
        let fds = std::fs::read_dir(format!("/proc/{pid}/fd"))?.count() as u64;
        Ok(Usage {
            rss_kib: field("VmRSS:")?,
            hwm_kib: field("VmHWM:")?,
            size_kib: field("VmSize:")?,
            threads: field("Threads:")?,
            fds,
        })
    }
}

/// The `streamlab server` child process; killed if dropped still running.
struct ServerProcess {
    child: Child,
    addr: SocketAddr,
}

impl ServerProcess {
    fn start() -> Result<ServerProcess> {
        let mut child = Command::new(env!("CARGO_BIN_EXE_streamlab"))
            .args(["server", "--port", "0", "--max-clients", "2000"])
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .context("starting streamlab server")?;
        let stderr = child.stderr.take().context("the server has no stderr")?;
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || read_log(stderr, tx));
        // Owned before the wait, so that a server that never answers is
        // killed on the way out.
        let mut server = ServerProcess {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        };
        server.addr = rx
            .recv_timeout(TIMEOUT)
            .context("the server never said 'listening on'")?;
        Ok(server)
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGINT (what Ctrl-C sends) and waits for the exit.
    fn interrupt(&mut self) -> Result<(ExitStatus, Duration)> {
        let pid = libc::pid_t::try_from(self.pid())?;
        // SAFETY: kill only sends a signal, to our own child, not yet reaped
        // (so its pid cannot have been reused).
        if unsafe { libc::kill(pid, libc::SIGINT) } != 0 {
            return Err(std::io::Error::last_os_error().into());
        }
        let start = Instant::now();
        while start.elapsed() < TIMEOUT {
            if let Some(status) = self.child.try_wait()? {
                return Ok((status, start.elapsed()));
            }
            thread::sleep(Duration::from_millis(5));
        }
        bail!("the server still runs {TIMEOUT:?} after SIGINT")
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Sends the address of the `listening on ADDR` line, then drains the log
/// until the server exits.
fn read_log(stderr: ChildStderr, tx: mpsc::Sender<SocketAddr>) {
    for line in BufReader::new(stderr).lines().map_while(Result::ok) {
        let addr = line
            .split_once("listening on ")
            .and_then(|(_, rest)| rest.split_whitespace().next()?.parse().ok());
        if let Some(addr) = addr {
            let _ = tx.send(addr);
        }
    }
}
