//! The accept loop's two hard cases: `accept` failing, and a client the
//! server has no room for (who gets room is [`crate::admission`]'s call).

use std::io::{ErrorKind, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tracing::{debug, info, warn};

use crate::conn::linger_close;

/// What the accept loop does after `accept` fails.
///
/// Most failures concern one connection (it was reset before we took it),
/// and the next `accept` works: wait a moment and go on. Running out of
/// file descriptors (`EMFILE`, `ENFILE`) or kernel memory is different:
/// the connection stays queued, so accepting again at once fails again at
/// once, a busy loop that floods the log. Then the wait grows from 100 ms,
/// doubling up to 1 s, until an `accept` works. Either way only the first
/// failure of a run of them is logged.
#[derive(Debug, Default)]
pub(crate) struct Backoff {
    /// Failed accepts since the last one that worked.
    failures: u32,
}

impl Backoff {
    const BRIEF: Duration = Duration::from_millis(10);
    const FIRST: Duration = Duration::from_millis(100);
    const LONGEST: Duration = Duration::from_secs(1);

    /// Counts a failed `accept`, logs it if it starts a run of failures,
    /// and says how long to wait before the next one.
    pub(crate) fn failed(&mut self, e: &std::io::Error) -> Duration {
        self.failures = self.failures.saturating_add(1);
        if self.failures == 1 {
            warn!("accept failed: {e} (further failures are not logged until one works)");
        }
        if !out_of_resources(e) {
            return Self::BRIEF;
        }
        let doublings = (self.failures - 1).min(4);
        (Self::FIRST * (1 << doublings)).min(Self::LONGEST)
    }

    /// An `accept` worked: a run of failures, if any, is over.
    pub(crate) fn succeeded(&mut self) {
        if self.failures > 1 {
            info!("accepting again after {} failed accepts", self.failures);
        }
        self.failures = 0;
    }
}

/// Out of descriptors or memory: retrying at once cannot help.
fn out_of_resources(e: &std::io::Error) -> bool {
    #[cfg(unix)]
    if let Some(code) = e.raw_os_error() {
        return matches!(
            code,
            libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM
        );
    }
    e.kind() == ErrorKind::OutOfMemory
}

/// At most this many refused clients linger at once. Past that (a flood
/// of them), a refused client is closed at once, and may lose the reply
/// to a RST (see [`linger_close`]): the server keeps its threads and
/// descriptors for the clients it serves.
const MAX_LINGERING: usize = 32;

/// Sends a client the server will not serve its busy `reply`, then closes;
/// `why` is for the log.
///
/// The reply is written at once: a fresh socket's send buffer is empty, so
/// this small write does not wait (and the timeout makes sure of it). The
/// lingering close that follows may take up to [`LINGER`](crate::conn::LINGER),
/// so it runs on a short-lived thread of its own: a flood of refused
/// clients never stalls the accept loop. Those threads are not joined at
/// shutdown; each ends by itself within that second. `lingering` counts
/// them, to at most [`MAX_LINGERING`].
pub(crate) fn refuse(
    stream: Arc<TcpStream>,
    peer: SocketAddr,
    why: &str,
    reply: Vec<u8>,
    lingering: &Arc<AtomicUsize>,
) {
    warn!(%peer, "refused: {why}");
    let _ = stream.set_write_timeout(Some(Duration::from_millis(100)));
    if (&*stream).write_all(&reply).is_err() {
        return;
    }
    if lingering.fetch_add(1, Ordering::SeqCst) >= MAX_LINGERING {
        lingering.fetch_sub(1, Ordering::SeqCst);
        let _ = stream.shutdown(Shutdown::Write);
        return;
    }
    // The count goes down however the thread ends, or if it never starts
    // (then the closure, and the slot with it, is dropped unrun).
    let slot = Slot(Arc::clone(lingering));
    let spawned = std::thread::Builder::new()
        .name("refused".into())
        .stack_size(64 * 1024)
        .spawn(move || {
            let _slot = slot;
            linger_close(&stream);
        });
    if let Err(e) = spawned {
        debug!(%peer, "closed at once: cannot start a thread to linger: {e}");
    }
}

/// One place among the [`MAX_LINGERING`], given back on drop.
struct Slot(Arc<AtomicUsize>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn millis(waits: impl IntoIterator<Item = Duration>) -> Vec<u128> {
        waits.into_iter().map(|d| d.as_millis()).collect()
    }

    #[cfg(unix)]
    #[test]
    fn out_of_descriptors_the_wait_doubles_to_a_second_and_resets() {
        let mut backoff = Backoff::default();
        let emfile = std::io::Error::from_raw_os_error(libc::EMFILE);
        let waits = millis((0..6).map(|_| backoff.failed(&emfile)));
        assert_eq!(waits, [100, 200, 400, 800, 1000, 1000]);
        backoff.succeeded();
        let enfile = std::io::Error::from_raw_os_error(libc::ENFILE);
        assert_eq!(millis([backoff.failed(&enfile)]), [100]);
    }

    #[test]
    fn other_failures_wait_only_a_moment() {
        let mut backoff = Backoff::default();
        let aborted = std::io::Error::from(ErrorKind::ConnectionAborted);
        let waits = millis((0..3).map(|_| backoff.failed(&aborted)));
        assert_eq!(waits, [10, 10, 10]);
    }
}
