//! A song being downloaded: a buffer one thread fills while another plays.
//!
//! The client's network thread [`append`](TrackBuffer::append)s PCM bytes as
//! they arrive and finally calls [`finish`](TrackBuffer::finish) (or
//! [`fail`](TrackBuffer::fail) if the connection breaks). The player reads
//! with [`read_at`](TrackBuffer::read_at), which waits (up to a timeout)
//! for bytes that have not arrived yet. That wait is what a listener hears
//! as a stall, and what the player counts.
//!
//! The buffer grows and is never trimmed, so a song can be restarted or
//! looped without downloading it again.

use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use streamlab_proto::{PcmFormat, Track};

/// What [`TrackBuffer::read_at`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadResult {
    /// Bytes from the requested offset (at least one, at most `max`).
    Data(Vec<u8>),
    /// Nothing there yet, and the timeout passed: the download is behind.
    Waiting,
    /// The offset is at (or past) the end of a complete song.
    End,
    /// The download failed before reaching the offset.
    Failed(String),
}

/// How far the download got.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Progress {
    Downloading,
    Complete,
    Failed(String),
}

#[derive(Debug)]
struct State {
    data: Vec<u8>,
    progress: Progress,
}

/// The most memory reserved up front for an announced length.
const PRESIZE_LIMIT: u64 = 256 << 20;

/// The PCM of one song, shared (in an `Arc`) between the thread that
/// downloads it and the thread that plays it.
#[derive(Debug)]
pub struct TrackBuffer {
    name: String,
    format: PcmFormat,
    expected_len: Option<u64>,
    state: Mutex<State>,
    grew: Condvar,
}

impl TrackBuffer {
    /// An empty buffer for a song about to be downloaded. `expected_len` is
    /// the length the server announced, if it did (the framed dialect does,
    /// the original one does not).
    pub fn new(name: impl Into<String>, format: PcmFormat, expected_len: Option<u64>) -> Self {
        Self {
            name: name.into(),
            format,
            expected_len,
            state: Mutex::new(State {
                // Reserving the announced length once saves the copies of a
                // growing Vec and most page-fault churn (see benches/). A
                // server's word is not proof, so the reservation is capped.
                data: Vec::with_capacity(expected_len.unwrap_or(0).min(PRESIZE_LIMIT) as usize),
                progress: Progress::Downloading,
            }),
            grew: Condvar::new(),
        }
    }

    /// A buffer already holding all of `track`.
    pub fn from_track(track: Track) -> Self {
        let buffer = Self::new(track.name, track.format, Some(track.pcm.len() as u64));
        buffer.append(&track.pcm);
        buffer.finish();
        buffer
    }

    /// The song's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// How the bytes are laid out.
    pub fn format(&self) -> PcmFormat {
        self.format
    }

    /// The length announced when the download started, if any.
    pub fn expected_len(&self) -> Option<u64> {
        self.expected_len
    }

    /// Adds downloaded bytes and wakes a waiting reader. Bytes that arrive
    /// after [`finish`](Self::finish) or [`fail`](Self::fail) are ignored.
    pub fn append(&self, bytes: &[u8]) {
        let mut state = self.lock();
        if state.progress == Progress::Downloading {
            state.data.extend_from_slice(bytes);
            self.grew.notify_all();
        } else {
            tracing::warn!(
                "{}: {} bytes after the end of the song ignored",
                self.name,
                bytes.len()
            );
        }
    }

    /// Marks the download complete.
    pub fn finish(&self) {
        self.end_with(Progress::Complete);
    }

    /// Marks the download failed; readers get [`ReadResult::Failed`] once
    /// they have read what did arrive.
    pub fn fail(&self, reason: impl Into<String>) {
        self.end_with(Progress::Failed(reason.into()));
    }

    fn end_with(&self, progress: Progress) {
        let mut state = self.lock();
        if state.progress == Progress::Downloading {
            state.progress = progress;
        }
        self.grew.notify_all();
    }

    /// Bytes downloaded so far.
    pub fn len(&self) -> u64 {
        self.lock().data.len() as u64
    }

    /// True before the first byte arrives.
    pub fn is_empty(&self) -> bool {
        self.lock().data.is_empty()
    }

    /// True once [`finish`](Self::finish) was called.
    pub fn is_complete(&self) -> bool {
        self.lock().progress == Progress::Complete
    }

    /// The reason given to [`fail`](Self::fail), if it was called.
    pub fn failure(&self) -> Option<String> {
        match &self.lock().progress {
            Progress::Failed(reason) => Some(reason.clone()),
            _ => None,
        }
    }

    /// Up to `max` bytes from `offset`, waiting at most `timeout` for them
    /// to arrive. Returns as soon as at least one byte is there.
    pub fn read_at(&self, offset: u64, max: usize, timeout: Duration) -> ReadResult {
        let deadline = Instant::now() + timeout;
        let mut state = self.lock();
        loop {
            let len = state.data.len() as u64;
            if offset < len && max > 0 {
                // offset < len, which is a usize, so offset fits in one.
                let start = offset as usize;
                let end = start.saturating_add(max).min(state.data.len());
                return ReadResult::Data(state.data[start..end].to_vec());
            }
            match &state.progress {
                Progress::Complete => return ReadResult::End,
                Progress::Failed(reason) => return ReadResult::Failed(reason.clone()),
                Progress::Downloading => {}
            }
            let now = Instant::now();
            if now >= deadline || max == 0 {
                return ReadResult::Waiting;
            }
            state = crate::sync::wait(&self.grew, state, deadline - now);
        }
    }

    /// The state, even if a thread panicked while holding the lock (the
    /// data is a plain byte vector: it cannot be left half-updated).
    fn lock(&self) -> MutexGuard<'_, State> {
        crate::sync::lock(&self.state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::thread;

    const SHORT: Duration = Duration::from_millis(10);

    #[test]
    fn reads_what_was_appended_then_ends() {
        let buffer = TrackBuffer::new("song", PcmFormat::CD, None);
        buffer.append(&[1, 2, 3, 4, 5]);
        assert_eq!(buffer.read_at(0, 3, SHORT), ReadResult::Data(vec![1, 2, 3]));
        assert_eq!(buffer.read_at(3, 100, SHORT), ReadResult::Data(vec![4, 5]));
        assert_eq!(buffer.read_at(5, 100, SHORT), ReadResult::Waiting);
        assert!(!buffer.is_complete());
        buffer.finish();
        assert!(buffer.is_complete());
        assert_eq!(buffer.read_at(5, 100, SHORT), ReadResult::End);
        assert_eq!(buffer.read_at(99, 100, SHORT), ReadResult::End);
        buffer.append(&[6]); // too late: ignored
        assert_eq!(buffer.len(), 5);
    }

    #[test]
    fn a_reader_waits_for_the_writer() {
        let buffer = Arc::new(TrackBuffer::new("song", PcmFormat::CD, Some(4)));
        let writer = {
            let buffer = Arc::clone(&buffer);
            thread::spawn(move || {
                thread::sleep(Duration::from_millis(50));
                buffer.append(&[9, 9, 9, 9]);
            })
        };
        let start = Instant::now();
        let got = buffer.read_at(0, 100, Duration::from_secs(10));
        assert_eq!(got, ReadResult::Data(vec![9, 9, 9, 9]));
        assert!(start.elapsed() >= Duration::from_millis(40));
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "woken by append, not the timeout"
        );
        writer.join().unwrap();
    }

    #[test]
    fn a_failure_comes_after_the_bytes_that_arrived() {
        let buffer = TrackBuffer::new("song", PcmFormat::CD, Some(100));
        buffer.append(&[1, 2]);
        buffer.fail("connection reset");
        assert_eq!(buffer.read_at(0, 10, SHORT), ReadResult::Data(vec![1, 2]));
        assert_eq!(
            buffer.read_at(2, 10, SHORT),
            ReadResult::Failed("connection reset".into())
        );
        assert_eq!(buffer.failure().as_deref(), Some("connection reset"));
        buffer.finish(); // does not undo the failure
        assert!(!buffer.is_complete());
    }

    #[test]
    fn from_track_is_complete() {
        let track = Track {
            name: "t".into(),
            format: PcmFormat::CD,
            pcm: vec![1u8, 2, 3, 4].into(),
        };
        let buffer = TrackBuffer::from_track(track);
        assert!(buffer.is_complete());
        assert_eq!(buffer.expected_len(), Some(4));
        assert_eq!(
            buffer.read_at(0, 10, Duration::ZERO),
            ReadResult::Data(vec![1, 2, 3, 4])
        );
        assert_eq!(buffer.read_at(4, 10, Duration::ZERO), ReadResult::End);
    }
}
