//! The bounded queue between the player thread and the sound card.
//!
//! The player pushes samples and *blocks* while the queue is full; the
//! sound card's callback pulls what it needs and never blocks, playing
//! silence when the queue runs dry (an underrun). Because the queue holds
//! only ~250 ms, the player can never get further ahead than that: the
//! sound card's clock paces the whole client, and with it how fast the
//! client reads from its TCP socket.

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Why [`Ring::push`] gave up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PushError {
    /// [`Ring::close`] was called.
    Closed,
    /// The queue stayed full for the whole patience given: nothing is
    /// pulling (the sound card stopped).
    Stuck,
}

#[derive(Debug, Default)]
struct State {
    samples: VecDeque<f32>,
    closed: bool,
    underruns: u64,
}

/// A bounded, blocking-on-push queue of interleaved samples.
#[derive(Debug)]
pub(crate) struct Ring {
    state: Mutex<State>,
    changed: Condvar,
    capacity: usize,
}

impl Ring {
    /// A queue holding at most `capacity` samples (at least 1).
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            state: Mutex::new(State::default()),
            changed: Condvar::new(),
            capacity: capacity.max(1),
        }
    }

    /// Queues all of `samples`, waiting for room as long as the queue keeps
    /// draining; gives up if no room appears for `patience`.
    pub(crate) fn push(&self, mut samples: &[f32], patience: Duration) -> Result<(), PushError> {
        let mut state = self.lock();
        let mut last_progress = Instant::now();
        while !samples.is_empty() {
            if state.closed {
                return Err(PushError::Closed);
            }
            let room = self.capacity - state.samples.len();
            if room > 0 {
                let n = room.min(samples.len());
                state.samples.extend(&samples[..n]);
                samples = &samples[n..];
                last_progress = Instant::now();
                continue;
            }
            let waited = last_progress.elapsed();
            if waited >= patience {
                return Err(PushError::Stuck);
            }
            state = self.wait(state, patience - waited);
        }
        Ok(())
    }

    /// Fills `out` from the queue and the rest with silence; never waits.
    /// Returns how many real samples it gave.
    pub(crate) fn pull(&self, out: &mut [f32]) -> usize {
        let mut state = self.lock();
        let n = out.len().min(state.samples.len());
        for (slot, sample) in out.iter_mut().zip(state.samples.drain(..n)) {
            *slot = sample;
        }
        out[n..].fill(0.0);
        if n < out.len() && !state.closed {
            state.underruns += 1;
        }
        self.changed.notify_all();
        n
    }

    /// Waits until the queue is empty (everything pushed was played), at
    /// most `timeout`. Returns true if it emptied.
    pub(crate) fn drain(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut state = self.lock();
        while !state.samples.is_empty() && !state.closed {
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            state = self.wait(state, deadline - now);
        }
        state.samples.is_empty()
    }

    /// Drops what is queued and makes every push fail from now on.
    pub(crate) fn close(&self) {
        let mut state = self.lock();
        state.closed = true;
        state.samples.clear();
        self.changed.notify_all();
    }

    /// How many pulls found the queue short of samples.
    pub(crate) fn underruns(&self) -> u64 {
        self.lock().underruns
    }

    fn wait<'a>(&self, state: MutexGuard<'a, State>, timeout: Duration) -> MutexGuard<'a, State> {
        crate::sync::wait(&self.changed, state, timeout)
    }

    /// The state even after a panic elsewhere: a queue of floats cannot be
    /// left inconsistent, and the audio callback must never panic.
    fn lock(&self) -> MutexGuard<'_, State> {
        crate::sync::lock(&self.state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::thread;

    const PATIENCE: Duration = Duration::from_secs(5);

    #[test]
    fn pull_gives_samples_then_silence_and_counts_underruns() {
        let ring = Ring::new(8);
        ring.push(&[0.1, 0.2, 0.3], PATIENCE).unwrap();
        let mut out = [9.0; 2];
        assert_eq!(ring.pull(&mut out), 2);
        assert_eq!(out, [0.1, 0.2]);
        assert_eq!(ring.underruns(), 0);
        assert_eq!(ring.pull(&mut out), 1);
        assert_eq!(out, [0.3, 0.0]);
        assert_eq!(ring.underruns(), 1);
    }

    #[test]
    fn push_blocks_while_full_and_resumes_as_the_reader_pulls() {
        let ring = Arc::new(Ring::new(4));
        let reader = {
            let ring = Arc::clone(&ring);
            thread::spawn(move || {
                let mut got = Vec::new();
                while got.len() < 10 {
                    thread::sleep(Duration::from_millis(5));
                    let mut out = [0.0; 3];
                    let n = ring.pull(&mut out);
                    got.extend_from_slice(&out[..n]);
                }
                got
            })
        };
        let samples: Vec<f32> = (0..10).map(|i| i as f32).collect();
        ring.push(&samples, PATIENCE).unwrap();
        assert!(ring.drain(PATIENCE));
        assert_eq!(reader.join().unwrap(), samples);
    }

    #[test]
    fn a_full_ring_with_no_reader_gets_stuck_and_a_closed_one_refuses() {
        let ring = Ring::new(2);
        let started = Instant::now();
        let err = ring.push(&[1.0, 2.0, 3.0], Duration::from_millis(30));
        assert_eq!(err, Err(PushError::Stuck));
        assert!(started.elapsed() >= Duration::from_millis(30));
        assert!(!ring.drain(Duration::from_millis(10)));
        ring.close();
        assert_eq!(ring.push(&[1.0], PATIENCE), Err(PushError::Closed));
        assert!(ring.drain(Duration::ZERO));
    }
}
