//! Graceful shutdown: one flag, and a way to wake every blocked thread.
//!
//! Connection threads block in `read` or `write`, and the accept loop blocks
//! in `accept`. Rather than poll a flag with timeouts, shutdown wakes them:
//! it calls `shutdown(Both)` on every open connection (their blocked calls
//! return at once) and connects to the listener once so `accept` returns.
//! Each thread then sees the flag and ends; the server joins them all.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, Shutdown as Both, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Debug)]
struct Inner {
    stopping: AtomicBool,
    listen_addr: SocketAddr,
    conns: Mutex<BTreeMap<u64, Arc<TcpStream>>>,
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
            }),
        }
    }

    /// Asks the server to stop: it closes every connection, stops accepting,
    /// and [`Server::run`](crate::Server::run) returns once all threads end.
    pub fn shutdown(&self) {
        if self.inner.stopping.swap(true, Ordering::SeqCst) {
            return;
        }
        for stream in self.lock().values() {
            let _ = stream.shutdown(Both::Both);
        }
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

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, Arc<TcpStream>>> {
        self.inner.conns.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Remembers a connection so shutdown can wake it. (A shared handle,
    /// not `try_clone`: a duplicated descriptor would cost a second open
    /// file per client.)
    pub(crate) fn track(&self, id: u64, stream: &Arc<TcpStream>) {
        self.lock().insert(id, Arc::clone(stream));
        // A connection accepted while shutdown ran is woken here.
        if self.is_stopping() {
            let _ = stream.shutdown(Both::Both);
        }
    }

    pub(crate) fn forget(&self, id: u64) {
        self.lock().remove(&id);
    }
}
