//! Network namespaces, made and removed with iproute2's `ip`.
//!
//! Each run makes two, named `sl-<pid>-<n>-srv` and `sl-<pid>-<n>-cli`
//! (`pid` is this process, `n` counts runs within it), so that a later run
//! can tell a namespace left behind by a dead process from one in use and
//! remove only the first kind ([`remove_stale`]).

use std::path::Path;
use std::process::Command;

use crate::{cleanup, TestbedError};

/// The prefix of every namespace the testbed makes.
pub const PREFIX: &str = "sl-";

/// The `ip` program: where distributions put it, or the PATH's.
pub fn ip_program() -> &'static str {
    ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .unwrap_or("ip")
}

/// Runs `ip ARGS...`; its stdout, or an error naming the command.
pub fn ip(args: &[&str]) -> Result<String, TestbedError> {
    run(ip_program(), args)
}

/// Runs a program to completion; its stdout, or an error with its stderr.
pub fn run(program: &str, args: &[&str]) -> Result<String, TestbedError> {
    let command = format!("{program} {}", args.join(" "));
    let out = Command::new(program)
        .args(args)
        .output()
        .map_err(|e| TestbedError::Command {
            command: command.clone(),
            message: e.to_string(),
        })?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        return Err(TestbedError::Command {
            command,
            message: format!("{} ({})", stderr.trim(), out.status),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// A network namespace this process made; deleted when dropped.
#[derive(Debug)]
pub struct Netns {
    name: String,
}

impl Netns {
    /// `ip netns add NAME`.
    pub fn add(name: &str) -> Result<Netns, TestbedError> {
        ip(&["netns", "add", name])?;
        cleanup::track_namespace(name);
        Ok(Netns {
            name: name.to_string(),
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Runs `program ARGS...` inside the namespace; its stdout.
    pub fn exec(&self, program: &str, args: &[&str]) -> Result<String, TestbedError> {
        let mut all = vec!["netns", "exec", &self.name, program];
        all.extend_from_slice(args);
        ip(&all)
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        delete(&self.name);
        cleanup::untrack_namespace(&self.name);
    }
}

/// `ip netns del NAME`, quietly: it may be gone already.
pub fn delete(name: &str) {
    let _ = Command::new(ip_program())
        .args(["netns", "del", name])
        .stderr(std::process::Stdio::null())
        .status();
}

/// The names `ip netns list` gives (first word of each line).
pub fn list() -> Vec<String> {
    ip(&["netns", "list"])
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_string)
        .collect()
}

/// The pid a testbed namespace's name carries (`sl-<pid>-...`).
pub fn owner(name: &str) -> Option<u32> {
    name.strip_prefix(PREFIX)?.split('-').next()?.parse().ok()
}

/// Deletes the testbed namespaces whose process is gone; returns them.
pub fn remove_stale() -> Vec<String> {
    let stale: Vec<String> = list()
        .into_iter()
        .filter(|n| owner(n).is_some_and(|pid| !Path::new(&format!("/proc/{pid}")).exists()))
        .collect();
    for name in &stale {
        delete(name);
    }
    stale
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_namespace_name_tells_its_owner() {
        assert_eq!(owner("sl-4242-0-srv"), Some(4242));
        assert_eq!(owner("sl-4242-cli"), Some(4242));
        assert_eq!(owner("slx-4242-srv"), None);
        assert_eq!(owner("sl-abc-srv"), None);
        assert_eq!(owner("other"), None);
    }
}
