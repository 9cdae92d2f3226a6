//! One run of the server under test: a free loopback port, `sh -c CMD` in a
//! process group of its own, the wait until it accepts connections, and
//! the stop (SIGTERM to the group, SIGKILL after the grace, reaped) that
//! happens on every path: at the end, on a panic (`Drop`), on Ctrl-C
//! ([`Stopper::stop_now`]).

use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::tail::Tail;
use super::Exec;
use crate::process::{self, Ended, Group};

/// How many free ports are tried when the server finds its port taken
/// (another program bound it between our look and the server's bind).
const PORT_ATTEMPTS: usize = 3;
/// How many lines of a server's last output a report shows.
pub const OUTPUT_LINES: usize = 20;

/// The server group running now, shared with a signal handler: whoever
/// stops the server takes it from here first, under the lock, so the group
/// is signalled and reaped exactly once and a Ctrl-C in the middle of a
/// start or a stop waits for it to finish.
#[derive(Clone, Debug)]
pub struct Stopper {
    running: Arc<Mutex<Option<Group>>>,
    grace: Duration,
}

impl Stopper {
    /// A stopper that gives a server `grace` between SIGTERM and SIGKILL.
    /// Makes this process a child subreaper ([`process::become_subreaper`]).
    pub fn new(grace: Duration) -> Stopper {
        process::become_subreaper();
        Stopper {
            running: Arc::new(Mutex::new(None)),
            grace,
        }
    }

    /// Stops the server running now, if there is one: for a Ctrl-C
    /// handler, which exits right after.
    pub fn stop_now(&self) {
        let mut running = self.running.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(group) = running.take() {
            self.terminate(group);
        }
    }

    /// Stops `group` if nobody did yet.
    fn stop(&self, group: Group) {
        let mut running = self.running.lock().unwrap_or_else(|p| p.into_inner());
        if *running == Some(group) {
            *running = None;
            self.terminate(group);
        }
    }

    /// SIGTERM to the group, up to the grace for the leader to end, then
    /// SIGKILL to whatever is left, and every member reaped.
    fn terminate(&self, group: Group) {
        group.signal(libc::SIGTERM);
        group.wait_until(Instant::now() + self.grace);
        group.kill_and_reap();
    }
}

/// Why the server could not be started.
#[derive(Debug, Clone)]
pub struct StartFailure {
    /// The address it was told to listen on.
    pub addr: SocketAddr,
    /// What went wrong, in one line.
    pub what: String,
    /// Its last lines of output.
    pub output: Vec<String>,
}

impl StartFailure {
    /// `what`, then the server's last line: the one-line error.
    pub fn line(&self) -> String {
        match self.output.last() {
            Some(last) => format!("{}: {last}", self.what),
            None => format!("{} (it printed nothing)", self.what),
        }
    }

    /// A server that found its port taken: worth another port.
    fn port_taken(&self) -> bool {
        self.output
            .iter()
            .any(|l| l.to_ascii_lowercase().contains("in use"))
    }
}

/// A server the checker started, not yet stopped.
pub struct ServerProcess {
    group: Group,
    pub addr: SocketAddr,
    stdout: Tail,
    stderr: Tail,
    stopper: Stopper,
}

impl ServerProcess {
    /// Starts `exec`'s command on a free loopback port and waits until the
    /// port accepts a connection, or the server exits, or the start
    /// timeout passes (then it is stopped). A server that exits saying its
    /// port is in use is tried again on another port.
    pub fn start(exec: &Exec, stopper: &Stopper) -> Result<ServerProcess, StartFailure> {
        let mut attempt = 1;
        loop {
            let failure = match Self::spawn(exec, stopper) {
                Ok(mut server) => match server.wait_listening(exec.start_timeout) {
                    Ok(()) => return Ok(server),
                    Err(what) => {
                        server.stop();
                        server.failure(what)
                    }
                },
                Err(failure) => failure,
            };
            if attempt == PORT_ATTEMPTS || !failure.port_taken() {
                return Err(failure);
            }
            attempt += 1;
        }
    }

    fn spawn(exec: &Exec, stopper: &Stopper) -> Result<ServerProcess, StartFailure> {
        let loopback = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
        let io_failure = |addr, what: String| StartFailure {
            addr,
            what,
            output: Vec::new(),
        };
        // The small race: the port is free now, and someone else may take
        // it before the server binds it (then `start` tries another).
        let addr = TcpListener::bind(loopback)
            .and_then(|l| l.local_addr())
            .map_err(|e| io_failure(loopback, format!("no free port on 127.0.0.1: {e}")))?;
        let mut command = Command::new("sh");
        command
            .arg("-c")
            .arg(exec.command.for_port(addr.port()))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // A Python server's prints reach the tail as they happen.
            .env("PYTHONUNBUFFERED", "1");
        process::lead_own_group(&mut command);
        // Under the lock, so a Ctrl-C cannot fall between the spawn and
        // the moment the stopper knows the group.
        let mut running = stopper.running.lock().unwrap_or_else(|p| p.into_inner());
        let mut child = command
            .spawn()
            .map_err(|e| io_failure(addr, format!("cannot run sh: {e}")))?;
        let group = Group::of(&child);
        *running = Some(group);
        drop(running);
        Ok(ServerProcess {
            group,
            addr,
            stdout: Tail::read(child.stdout.take()),
            stderr: Tail::read(child.stderr.take()),
            stopper: stopper.clone(),
        })
    }

    /// Polls the port until it takes a connection (`Ok`), or says why not.
    fn wait_listening(&self, timeout: Duration) -> Result<(), String> {
        let start = Instant::now();
        loop {
            if let Some(ended) = self.group.ended() {
                return Err(format!(
                    "the server {ended} before listening on {}",
                    self.addr
                ));
            }
            let left = timeout.saturating_sub(start.elapsed());
            if left.is_zero() {
                return Err(format!(
                    "the server did not accept connections on {} within {} ms",
                    self.addr,
                    timeout.as_millis()
                ));
            }
            match TcpStream::connect_timeout(&self.addr, left.min(Duration::from_millis(250))) {
                Ok(_) => return Ok(()),
                Err(_) => std::thread::sleep(left.min(Duration::from_millis(20))),
            }
        }
    }

    fn failure(&self, what: String) -> StartFailure {
        StartFailure {
            addr: self.addr,
            what,
            output: self.last_output(),
        }
    }

    /// The group's id, for tests that check it is gone.
    pub fn group_id(&self) -> i32 {
        self.group.id()
    }

    /// How the server ended, if it did, waiting up to `patience` for it:
    /// a server killed by a check's input often exits a moment after the
    /// check saw its connection close.
    pub fn ended_within(&self, patience: Duration) -> Option<Ended> {
        self.group.wait_until(Instant::now() + patience)
    }

    /// Stops the server (if nobody has yet) and waits a moment for the
    /// last of its output.
    pub fn stop(&mut self) {
        self.stopper.stop(self.group);
        self.stderr.drain(Duration::from_millis(500));
        self.stdout.drain(Duration::from_millis(100));
    }

    /// Its last lines on stderr, or on stdout when stderr had none.
    pub fn last_output(&self) -> Vec<String> {
        let lines = self.stderr.last_lines(OUTPUT_LINES);
        match lines.is_empty() {
            true => self.stdout.last_lines(OUTPUT_LINES),
            false => lines,
        }
    }
}

impl Drop for ServerProcess {
    /// A check that panicked, or a caller that forgot: the server stops.
    fn drop(&mut self) {
        self.stopper.stop(self.group);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::launch::{ServerCommand, GRACE};

    fn spawn(command: &str, stopper: &Stopper) -> ServerProcess {
        let exec = Exec::new(ServerCommand::parse(command).expect("a command with {port}"));
        ServerProcess::spawn(&exec, stopper).expect("sh runs")
    }

    #[test]
    fn a_check_that_panics_still_stops_the_server() {
        let stopper = Stopper::new(GRACE);
        let server = spawn("sleep 30 & sleep 30 # {port}", &stopper);
        let group = server.group;
        let check = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
            let _server = server;
            panic!("a bug in a check");
        }));
        assert!(check.is_err());
        assert!(group.is_gone(), "the server outlived the panic");
    }

    #[test]
    fn a_server_deaf_to_sigterm_is_killed_after_the_grace() {
        let grace = Duration::from_millis(300);
        let stopper = Stopper::new(grace);
        let mut server = spawn("trap '' TERM; echo ready; sleep 30 # {port}", &stopper);
        let until = Instant::now() + Duration::from_secs(5);
        while server.last_output().is_empty() && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(5));
        }
        let start = Instant::now();
        server.stop();
        assert!(
            start.elapsed() >= grace,
            "stopped after {:?}",
            start.elapsed()
        );
        assert!(server.group.is_gone());
        assert_eq!(server.last_output(), ["ready"]);
    }

    #[test]
    fn a_ctrl_c_handler_stops_the_server_running_now() {
        let stopper = Stopper::new(GRACE);
        let server = spawn("sleep 30 # {port}", &stopper);
        stopper.clone().stop_now();
        assert!(server.group.is_gone());
        // The owner's own stop, later, finds nothing left to do.
        drop(server);
    }
}
