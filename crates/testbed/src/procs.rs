//! The real server and client, each started inside its namespace with
//! `ip netns exec`, each in a process group of its own so that a kill
//! reaches all of it. A [`Child`] kills its group when dropped, and asks
//! the kernel to kill the child should this process die first.

use std::fs::File;
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};

use crate::netns::{ip_program, Netns};
use crate::{cleanup, TestbedError};

/// A running program inside a namespace.
#[derive(Debug)]
pub struct Child {
    child: std::process::Child,
    what: String,
    stderr: tempfile::NamedTempFile,
    done: bool,
}

impl Child {
    /// Starts `binary ARGS...` in `ns`; `what` names it in errors.
    pub fn spawn(
        ns: &Netns,
        binary: &Path,
        args: &[&str],
        what: &str,
    ) -> Result<Child, TestbedError> {
        let stderr =
            tempfile::NamedTempFile::new().map_err(|e| TestbedError::io("a temporary file", e))?;
        let err_file = stderr
            .reopen()
            .map_err(|e| TestbedError::io("a temporary file", e))?;
        let mut command = Command::new(ip_program());
        command
            .args(["netns", "exec", ns.name()])
            .arg(binary)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(err_file)
            .process_group(0);
        // SAFETY: prctl is async-signal-safe and touches no memory; the
        // closure allocates nothing. `ip netns exec` execs the program in
        // place, so the death signal reaches it.
        unsafe {
            command.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong);
                Ok(())
            });
        }
        let child = command
            .spawn()
            .map_err(|e| TestbedError::io(format!("starting {what}"), e))?;
        cleanup::track_group(child.id() as i32);
        Ok(Child {
            child,
            what: what.to_string(),
            stderr,
            done: false,
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Its exit status, if it has ended.
    pub fn try_wait(&mut self) -> Result<Option<ExitStatus>, TestbedError> {
        let status = self
            .child
            .try_wait()
            .map_err(|e| TestbedError::io(format!("waiting for {}", self.what), e))?;
        self.done |= status.is_some();
        Ok(status)
    }

    /// What it wrote on stderr (the last 2000 bytes), for an error.
    pub fn stderr_tail(&self) -> String {
        let mut text = String::new();
        if let Ok(mut f) = File::open(self.stderr.path()) {
            let _ = f.read_to_string(&mut text);
        }
        let text = text.trim();
        let mut cut = text.len().saturating_sub(2000);
        while !text.is_char_boundary(cut) {
            cut += 1;
        }
        if text.is_empty() {
            "(empty)".into()
        } else {
            text[cut..].replace('\n', " | ")
        }
    }

    /// An error saying it failed, with its stderr.
    pub fn failed(&self, how: &str) -> TestbedError {
        TestbedError::Child {
            what: format!("{} {how}", self.what),
            stderr: self.stderr_tail(),
        }
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        let pgid = self.child.id() as i32;
        if !self.done {
            kill_group(pgid);
            let _ = self.child.wait();
        }
        cleanup::untrack_group(pgid);
    }
}

/// SIGKILL to the process group `pgid`.
pub fn kill_group(pgid: i32) {
    if pgid > 1 {
        // SAFETY: kill takes two integers and touches no memory.
        unsafe {
            libc::kill(-pgid, libc::SIGKILL);
        }
    }
}
