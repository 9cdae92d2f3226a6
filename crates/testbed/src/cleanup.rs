//! Everything a run has made that outlives a return: its namespaces and its
//! children's process groups. Each guard registers here while it lives, so
//! that Ctrl-C (or [`cleanup_now`]) can remove what is still there.
//!
//! The guards ([`crate::netns::Netns`], [`crate::procs::Child`]) clean up
//! when dropped, on every path out of a run. This registry is only for the
//! path that skips destructors: a signal that ends the process.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, Once};

/// Set by the interrupt handler before it removes anything: a run that
/// fails from then on failed because of the interrupt.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Held by the interrupt handler while it removes what is live, so that
/// a run returning meanwhile can wait for it (the process must not end
/// half-way through the removal).
static CLEANING: Mutex<()> = Mutex::new(());

#[derive(Debug, Default)]
struct Live {
    namespaces: Vec<String>,
    groups: Vec<i32>,
}

static LIVE: Mutex<Live> = Mutex::new(Live {
    namespaces: Vec::new(),
    groups: Vec::new(),
});

fn live() -> MutexGuard<'static, Live> {
    // A panic while holding the lock leaves plain lists behind: still usable.
    LIVE.lock().unwrap_or_else(|p| p.into_inner())
}

pub(crate) fn track_namespace(name: &str) {
    live().namespaces.push(name.to_string());
}

pub(crate) fn untrack_namespace(name: &str) {
    live().namespaces.retain(|n| n != name);
}

pub(crate) fn track_group(pgid: i32) {
    live().groups.push(pgid);
}

pub(crate) fn untrack_group(pgid: i32) {
    live().groups.retain(|&g| g != pgid);
}

/// Kills every live child process group and deletes every live namespace
/// of this process. A program with its own Ctrl-C handler calls this from
/// it; [`KernelRun::run`](crate::KernelRun::run) installs one otherwise.
pub fn cleanup_now() {
    let (groups, namespaces) = {
        let mut l = live();
        (
            std::mem::take(&mut l.groups),
            std::mem::take(&mut l.namespaces),
        )
    };
    for pgid in groups {
        crate::procs::kill_group(pgid);
    }
    for name in namespaces {
        crate::netns::delete(&name);
    }
}

/// Installs a Ctrl-C (and SIGTERM, SIGHUP) handler that cleans up and
/// exits with status 130, once per process. If the program already has a
/// handler, that one stays and must call [`cleanup_now`].
pub(crate) fn install_interrupt_handler() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = ctrlc::set_handler(|| {
            let _cleaning = CLEANING.lock().unwrap_or_else(|p| p.into_inner());
            INTERRUPTED.store(true, Ordering::SeqCst);
            eprintln!("streamlab testbed: interrupted, removing namespaces");
            cleanup_now();
            std::process::exit(130);
        });
    });
}

/// True once Ctrl-C (or SIGTERM, SIGHUP) reached the handler. Waits until
/// the handler has removed what was live, so the caller may end the
/// process at once.
pub(crate) fn interrupted() -> bool {
    if !INTERRUPTED.load(Ordering::SeqCst) {
        return false;
    }
    drop(CLEANING.lock().unwrap_or_else(|p| p.into_inner()));
    true
}
