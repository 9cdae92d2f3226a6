//! The player thread's loop.
//!
//! ```text
//! loop:
//!     playing?  take a waiting command if any, else play one chunk
//!     not?      sleep until a command comes
//! ```
//!
//! Playing one chunk: read up to ~20 ms of audio after what was played;
//! if the download has not got there yet, mark a stall and wait for it at
//! most one tick (so commands are still seen); hand the whole frames to the
//! sink and keep a partial frame for next time; at the end, loop or finish.

use std::sync::mpsc::{Receiver, TryRecvError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use streamlab_proto::PcmFormat;

use super::{Command, PlayerState, PlayerStatus, SharedState};
use crate::buffer::{ReadResult, TrackBuffer};
use crate::sink::Sink;

/// The most a read waits for the download before commands are checked.
const TICK: Duration = Duration::from_millis(20);

/// Bytes of ~20 ms of audio, in whole frames (at least one).
fn chunk_bytes(format: PcmFormat) -> usize {
    let frames = (format.sample_rate / 50).max(1) as usize;
    frames * format.frame_bytes()
}

pub(super) struct Worker {
    inbox: Receiver<Command>,
    sink: Box<dyn Sink>,
    shared: Arc<SharedState>,
    /// The song being played (kept after it ends, for `restart`).
    buffer: Option<Arc<TrackBuffer>>,
    /// Read from the buffer but not yet written: less than one frame.
    pending: Vec<u8>,
    /// True between the sink's `begin` and `end`.
    open: bool,
    status: PlayerStatus,
}

impl Worker {
    pub(super) fn new(
        inbox: Receiver<Command>,
        sink: Box<dyn Sink>,
        shared: Arc<SharedState>,
    ) -> Self {
        Self {
            inbox,
            sink,
            shared,
            buffer: None,
            pending: Vec::new(),
            open: false,
            status: PlayerStatus::default(),
        }
    }

    pub(super) fn run(mut self) {
        loop {
            let playing = matches!(
                self.status.state,
                PlayerState::Playing | PlayerState::Buffering
            );
            let command = if playing {
                match self.inbox.try_recv() {
                    Ok(command) => Some(command),
                    Err(TryRecvError::Empty) => None,
                    Err(TryRecvError::Disconnected) => Some(Command::Shutdown),
                }
            } else {
                Some(self.inbox.recv().unwrap_or(Command::Shutdown))
            };
            match command {
                Some(Command::Shutdown) => break,
                Some(command) => {
                    self.apply(command);
                    self.publish(true);
                }
                None => {
                    self.step();
                    self.publish(false);
                }
            }
        }
        self.close();
        self.publish(false);
    }

    fn apply(&mut self, command: Command) {
        let state = self.status.state;
        let active = matches!(
            state,
            PlayerState::Playing | PlayerState::Buffering | PlayerState::Paused
        );
        match command {
            Command::Play(buffer, from) => {
                self.close();
                self.status = PlayerStatus {
                    song: Some(buffer.name().to_string()),
                    format: Some(buffer.format()),
                    looping: self.status.looping,
                    ..PlayerStatus::default()
                };
                let format = buffer.format();
                self.buffer = Some(buffer);
                self.start();
                if from > 0 && self.open {
                    self.status.position_bytes = from;
                    self.status.position_secs = format.seconds(from);
                }
            }
            Command::Pause if state != PlayerState::Paused && active => {
                self.status.state = PlayerState::Paused;
            }
            Command::Resume if state == PlayerState::Paused => {
                self.status.state = PlayerState::Playing
            }
            Command::Restart if self.buffer.is_some() => {
                self.close();
                self.start();
            }
            Command::Stop if active => {
                self.close();
                self.status.state = PlayerState::Stopped;
            }
            Command::SetLoop(looping) => self.status.looping = looping,
            _ => {} // a control that means nothing now, e.g. resume while playing
        }
    }

    /// Starts the song from its first byte.
    fn start(&mut self) {
        let Some(buffer) = self.buffer.clone() else {
            return;
        };
        self.status.position_bytes = 0;
        self.status.position_secs = 0.0;
        self.pending.clear();
        if !buffer.format().is_valid() {
            return self.fail(format!(
                "{}: invalid format {}",
                buffer.name(),
                buffer.format()
            ));
        }
        match self.sink.begin(buffer.name(), buffer.format()) {
            Ok(()) => {
                self.open = true;
                self.status.state = PlayerState::Playing;
            }
            Err(e) => self.fail(e.to_string()),
        }
    }

    /// Plays one chunk, or waits one tick for the download.
    fn step(&mut self) {
        let Some(buffer) = self.buffer.clone() else {
            return;
        };
        let format = buffer.format();
        let want = chunk_bytes(format)
            .saturating_sub(self.pending.len())
            .max(1);
        let offset = self.status.position_bytes + self.pending.len() as u64;
        let mut result = buffer.read_at(offset, want, Duration::ZERO);
        if result == ReadResult::Waiting {
            self.note_wait();
            result = buffer.read_at(offset, want, TICK);
        }
        match result {
            ReadResult::Data(bytes) => self.write(&bytes, format),
            ReadResult::Waiting => {}
            ReadResult::End => self.at_end(),
            ReadResult::Failed(reason) => self.fail(format!("download failed: {reason}")),
        }
        self.status.buffered_bytes = buffer.len();
        self.status.total_bytes_known = match buffer.is_complete() {
            true => Some(self.status.buffered_bytes),
            false => buffer.expected_len(),
        };
    }

    /// Playback caught up with the download. Counted once per wait, and
    /// not before the first byte (that is the start-up delay).
    fn note_wait(&mut self) {
        if self.status.state != PlayerState::Buffering {
            if self.status.first_audio_at.is_some() {
                self.status.stalls += 1;
            }
            self.status.state = PlayerState::Buffering;
            self.publish(false);
        }
    }

    /// Hands the whole frames of `pending + bytes` to the sink.
    fn write(&mut self, bytes: &[u8], format: PcmFormat) {
        self.status.state = PlayerState::Playing;
        self.pending.extend_from_slice(bytes);
        let whole = self.pending.len() - self.pending.len() % format.frame_bytes();
        if whole == 0 {
            return;
        }
        if let Err(e) = self.sink.write(&self.pending[..whole]) {
            return self.fail(e.to_string());
        }
        self.pending.drain(..whole);
        self.status.first_audio_at.get_or_insert_with(Instant::now);
        self.status.position_bytes += whole as u64;
        self.status.position_secs = format.seconds(self.status.position_bytes);
    }

    /// The song ended: start again if looping (and it was not empty),
    /// else finish. A trailing partial frame is dropped.
    fn at_end(&mut self) {
        self.close();
        if self.status.state == PlayerState::Stopped {
            return; // the sink failed to end the track
        }
        if self.status.looping && self.status.position_bytes > 0 {
            self.start();
        } else {
            self.status.state = PlayerState::Finished;
        }
    }

    /// Ends the track in the sink if it was begun.
    fn close(&mut self) {
        if std::mem::take(&mut self.open) {
            if let Err(e) = self.sink.end() {
                self.fail(e.to_string());
            }
        }
    }

    /// Stops playback because of `error`.
    fn fail(&mut self, error: String) {
        tracing::warn!("playback stopped: {error}");
        self.status.last_error = Some(error);
        self.status.state = PlayerState::Stopped;
        if std::mem::take(&mut self.open) {
            let _ = self.sink.end(); // already failing: the first error is the one to report
        }
    }

    /// Copies the status out to the controlling side; `applied` counts one
    /// more command as done.
    fn publish(&self, applied: bool) {
        let mut shared = self.shared.lock();
        shared.status = self.status.clone();
        shared.applied += u64::from(applied);
        self.shared.changed.notify_all();
    }
}
