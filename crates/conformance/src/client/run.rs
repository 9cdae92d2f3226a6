//! Running the client under test: placeholders substituted, standard input
//! fed, standard output and error captured (bounded), a timeout after which
//! it is killed, with its whole process group on Unix, and always reaped.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How much of each output stream is kept (the rest is read and dropped,
/// so the client never blocks on a full pipe).
pub const OUTPUT_LIMIT: usize = 1024 * 1024;
/// How long to wait for the output pipes to close after the client ended.
const DRAIN: Duration = Duration::from_secs(1);

/// The values the placeholders stand for.
#[derive(Debug, Clone)]
pub struct Vars {
    pub host: String,
    pub port: u16,
    pub song: String,
    pub out: PathBuf,
}

impl Vars {
    /// `text` with `{addr}`, `{host}`, `{port}`, `{song}` and `{out}` replaced.
    pub fn substitute(&self, text: &str) -> String {
        text.replace("{addr}", &format!("{}:{}", self.host, self.port))
            .replace("{host}", &self.host)
            .replace("{port}", &self.port.to_string())
            .replace("{song}", &self.song)
            .replace("{out}", &self.out.to_string_lossy())
    }
}

/// How the client ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Code(i32),
    /// Killed by this signal (not by us).
    Signal(i32),
    /// Still running at the timeout: killed by the checker.
    TimedOut,
}

/// A finished run of the client.
#[derive(Debug, Clone)]
pub struct Finished {
    pub exit: Exit,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub elapsed: Duration,
}

/// Runs `argv` (placeholders already substituted) to its end or the
/// timeout. An error means it could not be started at all.
pub fn run(argv: &[String], stdin: Option<&[u8]>, timeout: Duration) -> std::io::Result<Finished> {
    let (program, args) = argv.split_first().ok_or(std::io::ErrorKind::InvalidInput)?;
    let mut command = Command::new(program);
    command
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    #[cfg(unix)]
    crate::process::lead_own_group(&mut command);
    let start = Instant::now();
    let mut child = command.spawn()?;
    if let (Some(mut pipe), Some(bytes)) = (child.stdin.take(), stdin) {
        let bytes = bytes.to_vec();
        // A client that never reads its input must not block us: write on
        // a thread; a broken pipe (the client exited) is no error here.
        std::thread::spawn(move || drop(pipe.write_all(&bytes)));
    }
    let stdout = capture(child.stdout.take());
    let stderr = capture(child.stderr.take());
    let exit = wait(&mut child, start + timeout);
    let elapsed = start.elapsed();
    Ok(Finished {
        exit,
        stdout: collect(stdout),
        stderr: collect(stderr),
        elapsed,
    })
}

type Captured = (Arc<Mutex<Vec<u8>>>, Option<JoinHandle<()>>);

fn capture(pipe: Option<impl Read + Send + 'static>) -> Captured {
    let kept = Arc::new(Mutex::new(Vec::new()));
    let handle = pipe.map(|mut pipe| {
        let kept = Arc::clone(&kept);
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while let Ok(n @ 1..) = pipe.read(&mut buf) {
                let mut kept = kept.lock().unwrap_or_else(|p| p.into_inner());
                let room = OUTPUT_LIMIT.saturating_sub(kept.len()).min(n);
                kept.extend_from_slice(&buf[..room]);
            }
        })
    });
    (kept, handle)
}

/// What was captured, once the pipe closed or [`DRAIN`] passed.
fn collect((kept, handle): Captured) -> Vec<u8> {
    let until = Instant::now() + DRAIN;
    if let Some(h) = handle {
        while !h.is_finished() && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(5));
        }
        if h.is_finished() {
            let _ = h.join();
        }
    }
    let kept = kept.lock().unwrap_or_else(|p| p.into_inner());
    kept.clone()
}

/// Waits for the child until `deadline`, then kills it. On Unix, whatever
/// it left running in its process group is killed too, before the child
/// is reaped (so the group's id cannot have been reused).
fn wait(child: &mut Child, deadline: Instant) -> Exit {
    let mut timed_out = false;
    loop {
        if exited_unreaped(child) {
            break;
        }
        if Instant::now() >= deadline {
            timed_out = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    kill_group(child);
    if timed_out {
        let _ = child.kill();
    }
    match child.wait() {
        _ if timed_out => Exit::TimedOut,
        Ok(status) => exit_of(status),
        // `wait` fails only if the child was already reaped: not here.
        Err(_) => Exit::TimedOut,
    }
}

#[cfg(unix)]
fn exit_of(status: std::process::ExitStatus) -> Exit {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => Exit::Code(code),
        (None, Some(sig)) => Exit::Signal(sig),
        (None, None) => Exit::Code(-1),
    }
}

#[cfg(not(unix))]
fn exit_of(status: std::process::ExitStatus) -> Exit {
    Exit::Code(status.code().unwrap_or(-1))
}

/// Whether the child has exited, leaving it a zombie (not reaped).
#[cfg(unix)]
fn exited_unreaped(child: &mut Child) -> bool {
    crate::process::Group::of(child).ended().is_some()
}

#[cfg(not(unix))]
fn exited_unreaped(child: &mut Child) -> bool {
    matches!(child.try_wait(), Ok(Some(_)))
}

/// Kills whatever the client left running in its group; the child is not
/// reaped yet, so the group's id is still its own.
#[cfg(unix)]
fn kill_group(child: &Child) {
    crate::process::Group::of(child).signal(libc::SIGKILL);
}

#[cfg(not(unix))]
fn kill_group(_child: &Child) {}

/// A fresh, empty folder for `{out}`.
pub fn fresh_dir(check: &str) -> std::io::Result<PathBuf> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::SeqCst);
    let dir = std::env::temp_dir().join(format!(
        "streamlab-conformance-{}-{n}-{check}",
        std::process::id()
    ));
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// Where `program` would be run from, or why it cannot be.
pub fn find_program(program: &str) -> Result<PathBuf, String> {
    let path = Path::new(program);
    if program.contains(std::path::MAIN_SEPARATOR) || program.contains('/') {
        return match path.is_file() {
            true => Ok(path.to_path_buf()),
            false => Err("no such file".into()),
        };
    }
    let dirs = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&dirs)
        .map(|d| d.join(program))
        .find(|p| is_executable(p))
        .ok_or_else(|| "not found on PATH".into())
}

#[cfg(unix)]
fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    p.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(p: &Path) -> bool {
    p.is_file()
}
