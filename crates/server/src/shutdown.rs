//! Graceful shutdown: one flag, and a way to wake every blocked thread.
//!
//! Connection threads block in `read` or `write`, sleep through a session's
//! pause, and the accept loop blocks in `accept` (or sleeps after a failed
//! one). Rather than poll a flag with timeouts, shutdown wakes them: it
//! calls `shutdown(Both)` on every open connection (their blocked calls
//! return at once), wakes every [`ShutdownHandle::sleep`] through a
//! condition variable, and connects to the listener once so `accept`
//! returns. Each thread then sees the flag and ends; the server joins them
//! all.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

#[derive(Debug)]
struct Inner {
    stopping: AtomicBool,
    listen_addr: SocketAddr,
    /// The open connections, by id. Each entry shares the connection
    /// thread's socket (an `Arc`, not a second descriptor).
    conns: Mutex<BTreeMap<u64, Arc<TcpStream>>>,
    /// Signalled, with `conns` locked, when shutdown begins: wakes sleepers.
    woken: Condvar,
}

/// A cloneable handle that stops the server it came from.
#[derive(Debug, Clone)]
pub struct ShutdownHandle {
    inner: Arc<Inner>,
}

impl ShutdownHandle {
    pub(crate) fn new(listen_addr: SocketAddr) -> Self {
        ShutdownHandle {
            inner: Arc::new(Inner {
                stopping: AtomicBool::new(false),
                listen_addr,
                conns: Mutex::new(BTreeMap::new()),
                woken: Condvar::new(),
            }),
        }
    }

    /// Asks the server to stop: it closes every connection, stops accepting,
    /// and [`Server::run`](crate::Server::run) returns once all threads end.
    pub fn shutdown(&self) {
        if self.inner.stopping.swap(true, Ordering::SeqCst) {
            return;
        }
        // The flag is set before the lock is taken, and `sleep` checks it
        // with the lock held, so no sleeper can miss this notification.
        let conns = self.lock();
        for stream in conns.values() {
            let _ = stream.shutdown(Shutdown::Both);
        }
        self.inner.woken.notify_all();
        drop(conns);
        // Wake the accept loop. An unspecified bind address is reached
        // through loopback of the same family.
        let mut addr = self.inner.listen_addr;
        if addr.ip().is_unspecified() {
            addr.set_ip(match addr.ip() {
                IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
                IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::LOCALHOST),
            });
        }
        let _ = TcpStream::connect_timeout(&addr, Duration::from_secs(1));
    }

    pub fn is_stopping(&self) -> bool {
        self.inner.stopping.load(Ordering::SeqCst)
    }

    /// Sleeps for `duration`, or less if shutdown begins meanwhile (a
    /// session's pause, the accept loop's back-off). Returns whether the
    /// server is stopping, so the caller can end instead of going on.
    pub fn sleep(&self, duration: Duration) -> bool {
        let conns = self.lock();
        // The wait re-checks the flag after every wake-up, spurious or not.
        let (_conns, _) = self
            .inner
            .woken
            .wait_timeout_while(conns, duration, |_| !self.is_stopping())
            .unwrap_or_else(|p| p.into_inner());
        self.is_stopping()
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<u64, Arc<TcpStream>>> {
        // A panic while holding this lock leaves the map consistent (every
        // change is one insert or remove), so keep using it.
        self.inner.conns.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Remembers a connection so shutdown can wake it. (A shared handle,
    /// not `try_clone`: a duplicated descriptor would cost a second open
    /// file per client.)
    pub(crate) fn track(&self, id: u64, stream: &Arc<TcpStream>) {
        self.lock().insert(id, Arc::clone(stream));
        // A connection accepted while shutdown ran is woken here.
        if self.is_stopping() {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }

    /// Drops the shared handle to a connection's socket; with the
    /// connection thread's own gone, that closes the descriptor.
    pub(crate) fn forget(&self, id: u64) {
        self.lock().remove(&id);
    }

    /// Whether shutdown still holds connection `id` (for tests).
    #[cfg(test)]
    pub(crate) fn is_tracking(&self, id: u64) -> bool {
        self.lock().contains_key(&id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shutdown_wakes_a_sleeper_at_once() {
        let stop = ShutdownHandle::new("127.0.0.1:9".parse().unwrap());
        let (tx, rx) = std::sync::mpsc::channel();
        let sleeper = stop.clone();
        // An hour: only the wake-up can end this sleep within the test.
        std::thread::spawn(move || tx.send(sleeper.sleep(Duration::from_secs(3600))));
        stop.shutdown();
        let stopping = rx
            .recv_timeout(Duration::from_secs(20))
            .expect("the sleeper wakes up");
        assert!(stopping, "the sleeper sees the shutdown");
        assert!(stop.sleep(Duration::from_secs(3600)), "and later ones too");
    }

    #[test]
    fn a_sleep_without_shutdown_runs_its_course() {
        let stop = ShutdownHandle::new("127.0.0.1:9".parse().unwrap());
        assert!(!stop.sleep(Duration::from_millis(1)));
    }
}
