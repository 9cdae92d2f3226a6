//! The outbox: bytes a session wants written, in order, with optional pauses.
//!
//! A session never writes to a socket. It queues *pieces* here and the driver
//! asks for them with [`Outbox::pending`], writes what the transport accepts,
//! and reports it with [`Outbox::consume`]. Audio is queued as a shared slice
//! of the song (an `Arc<[u8]>`), so a thousand clients downloading the same
//! song share one copy of it.
//!
//! A piece may carry a *pause*: once its last byte is written, nothing more
//! is offered until `now + pause`. That is the original project's timing
//! trick — it `sleep()`s after a control message so the next message cannot
//! land in the same `recv()` — expressed without a clock.
//!
//! A piece may also wait behind a *drain barrier*: before its first byte is
//! offered, the peer must have acknowledged every byte written so far, and
//! then a pause must pass. The outbox cannot see acknowledgments, so it
//! says it is waiting ([`Outbox::wants_drain`]) and the driver, which can
//! ask its socket (Linux: `ioctl(SIOCOUTQ)` reaching 0), reports it with
//! [`Outbox::drained`]. The original dialect puts one before
//! `track_data_end`: a pause alone starts when the last audio byte enters
//! the local socket, which may be long before the client has read it.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug)]
enum Bytes {
    Owned(Vec<u8>),
    Shared(Arc<[u8]>),
}

impl Bytes {
    fn as_slice(&self) -> &[u8] {
        match self {
            Bytes::Owned(v) => v,
            Bytes::Shared(a) => a,
        }
    }
}

#[derive(Debug)]
struct Piece {
    bytes: Bytes,
    /// First byte not yet written.
    start: usize,
    /// One past the last byte to write.
    end: usize,
    pause_after: Duration,
    /// `Some(pause)`: a drain barrier before the first byte — wait until
    /// the peer has acknowledged everything written before this piece,
    /// then `pause`. `None` once passed (or if there never was one).
    drain_before: Option<Duration>,
}

/// Bytes waiting to be written, see the module docs.
#[derive(Debug, Default)]
pub struct Outbox {
    queue: VecDeque<Piece>,
    /// Nothing may be written before this time.
    resume_at: Option<Duration>,
    /// Bytes queued and not yet consumed.
    queued: u64,
}

impl Outbox {
    /// Queues a copy-owned message, with an optional pause after it.
    pub fn push(&mut self, bytes: Vec<u8>, pause_after: Duration) {
        let end = bytes.len();
        self.push_piece(Bytes::Owned(bytes), 0, end, pause_after, None);
    }

    /// Queues a copy-owned message behind a drain barrier: it is offered
    /// only once the driver reports (with [`drained`](Outbox::drained))
    /// that the peer acknowledged every byte written before it, and then
    /// `pause_before` has passed. `pause_after` is as for [`push`].
    ///
    /// [`push`]: Outbox::push
    pub fn push_after_drain(
        &mut self,
        bytes: Vec<u8>,
        pause_before: Duration,
        pause_after: Duration,
    ) {
        let end = bytes.len();
        let barrier = Some(pause_before);
        self.push_piece(Bytes::Owned(bytes), 0, end, pause_after, barrier);
    }

    /// Queues `range` of a shared buffer (a song) without copying it.
    pub fn push_shared(&mut self, bytes: Arc<[u8]>, start: usize, end: usize) {
        let end = end.min(bytes.len());
        let start = start.min(end);
        self.push_piece(Bytes::Shared(bytes), start, end, Duration::ZERO, None);
    }

    fn push_piece(
        &mut self,
        bytes: Bytes,
        start: usize,
        end: usize,
        pause_after: Duration,
        drain_before: Option<Duration>,
    ) {
        // An empty piece is dropped, pause and all: `pending` would offer
        // nothing, so the driver would never `consume` it and it would block
        // the queue forever. A pause after nothing has nothing to separate.
        if start == end {
            return;
        }
        self.queued += (end - start) as u64;
        self.queue.push_back(Piece {
            bytes,
            start,
            end,
            pause_after,
            drain_before,
        });
    }

    /// The bytes that may be written at `now`: empty when nothing is queued,
    /// a pause is running, or a drain barrier waits. Write any prefix, then
    /// call [`consume`].
    ///
    /// [`consume`]: Outbox::consume
    pub fn pending(&self, now: Duration) -> &[u8] {
        if self.resume_at.is_some_and(|t| now < t) || self.wants_drain() {
            return &[];
        }
        match self.queue.front() {
            Some(p) => &p.bytes.as_slice()[p.start..p.end],
            None => &[],
        }
    }

    /// Records that the first `n` bytes of [`pending`](Outbox::pending) were
    /// written at `now`.
    pub fn consume(&mut self, now: Duration, mut n: usize) {
        self.resume_at = self.resume_at.filter(|t| now < *t);
        while let Some(p) = self.queue.front_mut() {
            let take = n.min(p.end - p.start);
            p.start += take;
            n -= take;
            self.queued -= take as u64;
            if p.start < p.end {
                break;
            }
            let pause = p.pause_after;
            self.queue.pop_front();
            if !pause.is_zero() {
                self.resume_at = Some(now + pause);
                break;
            }
            if n == 0 {
                break;
            }
        }
    }

    /// True when the next piece waits behind a drain barrier: nothing more
    /// is offered until the driver calls [`drained`](Outbox::drained).
    pub fn wants_drain(&self) -> bool {
        self.queue.front().is_some_and(|p| p.drain_before.is_some())
    }

    /// Records that at `now` the peer has acknowledged every byte written
    /// so far: the barrier in front passes, and its pause starts (a pause
    /// already running keeps its end if that is later).
    pub fn drained(&mut self, now: Duration) {
        let Some(pause) = self.queue.front_mut().and_then(|p| p.drain_before.take()) else {
            return;
        };
        if !pause.is_zero() {
            let end = now + pause;
            self.resume_at = Some(self.resume_at.map_or(end, |t| t.max(end)));
        }
    }

    /// When a running pause ends, if one is holding queued bytes back. None
    /// while a drain barrier waits: that wait ends with the driver's
    /// report, not at a time.
    pub fn wakeup(&self) -> Option<Duration> {
        if self.wants_drain() {
            return None;
        }
        self.resume_at.filter(|_| !self.queue.is_empty())
    }

    /// When the running pause ends, whether or not bytes wait behind it.
    pub fn pause_end(&self) -> Option<Duration> {
        self.resume_at
    }

    /// True when nothing is queued (a pause may still be running).
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// True when nothing is queued and no pause is running at `now`.
    pub fn is_idle(&self, now: Duration) -> bool {
        self.queue.is_empty() && self.resume_at.is_none_or(|t| now >= t)
    }

    /// Bytes queued and not yet written.
    pub fn queued_bytes(&self) -> u64 {
        self.queued
    }

    /// Forgets everything queued (the connection is gone).
    pub fn clear(&mut self) {
        self.queue.clear();
        self.queued = 0;
        self.resume_at = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: Duration = Duration::ZERO;

    #[test]
    fn pieces_come_out_in_order_and_partially() {
        let mut o = Outbox::default();
        o.push(b"hello".to_vec(), Duration::ZERO);
        let song: Arc<[u8]> = Arc::from(&b"0123456789"[..]);
        o.push_shared(song, 2, 6);
        assert_eq!(o.pending(T0), b"hello");
        o.consume(T0, 3);
        assert_eq!(o.pending(T0), b"lo");
        o.consume(T0, 2);
        assert_eq!(o.pending(T0), b"2345");
        assert_eq!(o.queued_bytes(), 4);
        o.consume(T0, 4);
        assert!(o.is_empty());
    }

    #[test]
    fn a_pause_holds_the_next_piece_back_until_its_time() {
        let mut o = Outbox::default();
        let pause = Duration::from_millis(50);
        o.push(b"track_data_start".to_vec(), pause);
        o.push(b"PCM".to_vec(), Duration::ZERO);
        o.consume(T0, 16);
        assert_eq!(o.pending(Duration::from_millis(49)), b"");
        assert_eq!(o.wakeup(), Some(pause));
        assert_eq!(o.pending(pause), b"PCM");
        o.consume(pause, 3);
        assert!(o.is_idle(pause));
    }

    #[test]
    fn a_pause_at_the_end_keeps_the_outbox_busy() {
        let mut o = Outbox::default();
        o.push(b"goodbye".to_vec(), Duration::from_millis(10));
        o.consume(T0, 7);
        assert!(o.is_empty());
        assert!(!o.is_idle(Duration::from_millis(5)));
        assert!(o.is_idle(Duration::from_millis(10)));
    }

    #[test]
    fn an_empty_message_never_blocks_what_follows() {
        // An original server with no songs answers `lista` with zero bytes.
        let mut o = Outbox::default();
        let pause = Duration::from_millis(50);
        o.push(Vec::new(), pause);
        assert!(o.is_empty() && o.is_idle(T0));
        o.push(b"goodbye".to_vec(), pause);
        assert_eq!(o.pending(T0), b"goodbye");
    }

    #[test]
    fn a_drain_barrier_waits_for_the_report_then_for_its_pause() {
        let mut o = Outbox::default();
        let pause = Duration::from_millis(50);
        let ms = Duration::from_millis;
        o.push(b"PCM".to_vec(), Duration::ZERO);
        o.push_after_drain(b"track_data_end".to_vec(), pause, pause);
        assert!(!o.wants_drain(), "the audio goes first");
        o.consume(T0, 3);
        assert!(o.wants_drain());
        // However long the peer takes, the marker waits, and no timer runs.
        assert_eq!(o.pending(ms(5_000)), b"");
        assert_eq!(o.wakeup(), None);
        o.drained(ms(80));
        assert!(!o.wants_drain());
        assert_eq!(o.pending(ms(129)), b"");
        assert_eq!(o.wakeup(), Some(ms(130)));
        assert_eq!(o.pending(ms(130)), b"track_data_end");
        o.consume(ms(130), 14);
        assert!(!o.is_idle(ms(179)), "the pause after the marker");
        assert!(o.is_idle(ms(180)));
    }

    #[test]
    fn a_drain_report_with_no_barrier_changes_nothing() {
        let mut o = Outbox::default();
        o.push(b"lista".to_vec(), Duration::ZERO);
        o.drained(T0);
        assert_eq!(o.pending(T0), b"lista");
        assert_eq!(o.wakeup(), None);
    }
}
