//! A program that leads a process group of its own (Unix): how the checker
//! runs the programs it checks (a client per check, a server with
//! `--exec`), so that whatever they start can be stopped with them.
//!
//! The rules this module keeps:
//!
//! * The program starts in a new group whose id is its own pid
//!   (`process_group(0)`), so one signal to `-pid` reaches every process it
//!   started, and the terminal's Ctrl-C reaches only the checker, which then
//!   stops the group itself.
//! * Asking whether it ended ([`Group::ended`]) leaves it a zombie: an
//!   unreaped leader keeps the group's id from being reused, so a signal to
//!   `-pid` can never hit somebody else's processes.
//! * [`Group::kill_and_reap`] reaps the leader, then, when the checker is a child
//!   subreaper ([`become_subreaper`]), the members its death orphaned.

use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// How a program ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// It exited with this status.
    Code(i32),
    /// A signal killed it.
    Signal(i32),
}

impl std::fmt::Display for Ended {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Ended::Code(code) => write!(f, "exited with status {code}"),
            Ended::Signal(sig) => write!(f, "was killed by signal {sig}"),
        }
    }
}

/// Makes `command` start its program as the leader of a new process group.
/// On Linux the program is also sent SIGTERM if the checker dies first
/// (even of SIGKILL, which leaves no time to stop it).
pub fn lead_own_group(command: &mut Command) {
    std::os::unix::process::CommandExt::process_group(command, 0);
    #[cfg(target_os = "linux")]
    {
        // SAFETY: the closure runs in the child between fork and exec and
        // calls only async-signal-safe functions (prctl, getppid, _exit).
        let parent = unsafe { libc::getpid() };
        unsafe {
            std::os::unix::process::CommandExt::pre_exec(command, move || {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
                // The checker died before the prctl: nobody is left to stop us.
                if libc::getppid() != parent {
                    libc::_exit(1);
                }
                Ok(())
            });
        }
    }
}

/// Asks the kernel to hand this process the orphans of its children
/// (Linux's `PR_SET_CHILD_SUBREAPER`), so that a server's own children,
/// killed with it, are reaped here and not left as zombies for an `init`
/// that may never reap them (a container's). Elsewhere a no-op.
pub fn become_subreaper() {
    #[cfg(target_os = "linux")]
    // SAFETY: prctl with these arguments only sets a flag on this process.
    unsafe {
        libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1);
    }
}

/// A started program's process group, named by its leader's pid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Group {
    pid: libc::pid_t,
}

impl Group {
    /// The group `child` leads (it was started with [`lead_own_group`]).
    pub fn of(child: &Child) -> Group {
        Group {
            // A pid always fits in pid_t: the kernel hands out no larger ones.
            pid: libc::pid_t::try_from(child.id()).unwrap_or(libc::pid_t::MAX),
        }
    }

    /// The group's id (its leader's pid).
    pub fn id(&self) -> i32 {
        self.pid
    }

    /// Sends `signal` to every process of the group.
    pub fn signal(&self, signal: libc::c_int) {
        // SAFETY: kill has no memory preconditions; the leader is not
        // reaped yet, so `-pid` still names its group.
        unsafe {
            libc::kill(-self.pid, signal);
        }
    }

    /// How the leader ended, if it has, leaving it unreaped.
    pub fn ended(&self) -> Option<Ended> {
        // SAFETY: `info` is a plain C struct that waitid fills in; WNOWAIT
        // leaves the leader to be reaped by `kill_and_reap`.
        unsafe {
            let mut info: libc::siginfo_t = std::mem::zeroed();
            let flags = libc::WEXITED | libc::WNOHANG | libc::WNOWAIT;
            let id = libc::id_t::try_from(self.pid).unwrap_or(0);
            if libc::waitid(libc::P_PID, id, &mut info, flags) != 0 || info.si_pid() == 0 {
                return None;
            }
            Some(match info.si_code {
                libc::CLD_EXITED => Ended::Code(info.si_status()),
                _ => Ended::Signal(info.si_status()),
            })
        }
    }

    /// Waits until the leader ends or `until`, whichever comes first.
    pub fn wait_until(&self, until: Instant) -> Option<Ended> {
        loop {
            if let Some(ended) = self.ended() {
                return Some(ended);
            }
            if Instant::now() >= until {
                return None;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Kills what is left of the group and reaps it: the leader, then its
    /// orphans that were handed to this process, until no process of the
    /// group is left or a second has passed. Whether the group is gone.
    pub fn kill_and_reap(&self) -> bool {
        self.signal(libc::SIGKILL);
        let mut status = 0;
        // SAFETY: waitpid writes one int; the leader is our child, killed
        // just above, so this returns at once (or ECHILD if reaped before).
        unsafe {
            libc::waitpid(self.pid, &mut status, 0);
        }
        let until = Instant::now() + Duration::from_secs(1);
        loop {
            // SAFETY: as above; WNOHANG never blocks.
            while unsafe { libc::waitpid(-self.pid, &mut status, libc::WNOHANG) } > 0 {}
            if self.is_gone() || Instant::now() >= until {
                return self.is_gone();
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Whether no process of the group is left (zombies count as left).
    pub fn is_gone(&self) -> bool {
        // SAFETY: signal 0 checks existence only.
        let rc = unsafe { libc::kill(-self.pid, 0) };
        rc == -1 && std::io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH)
    }
}
