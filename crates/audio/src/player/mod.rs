//! The client's player: a thread that plays one [`TrackBuffer`] at a time
//! into a [`Sink`].
//!
//! The controls (`play`, `pause`, `resume`, `restart`, `stop`, `set_loop`)
//! return at once: they are sent over a channel that the thread checks
//! between writes of ~20 ms of audio, so they act within one such chunk
//! (plus whatever a real-time sink still has queued, ~250 ms).
//!
//! ```text
//! network thread ──append──> TrackBuffer ──read_at──> player thread ──write──> Sink
//!                                                          ^
//!                          play / pause / stop … ──────────┘ (channel)
//! ```
//!
//! The thread writes only whole frames, waits (and counts a *stall*) when
//! playback catches up with the download, and reports everything in
//! [`PlayerStatus`]. A sink error stops the track and is reported in
//! [`PlayerStatus::last_error`]; nothing here panics on bad input.

mod worker;

use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use streamlab_proto::PcmFormat;

use crate::buffer::TrackBuffer;
use crate::sink::Sink;
use crate::AudioError;

/// What the player is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PlayerState {
    /// Nothing was ever played.
    #[default]
    Idle,
    /// Handing audio to the sink.
    Playing,
    /// Paused by [`Player::pause`].
    Paused,
    /// Stopped by [`Player::stop`], a failed download or a sink error.
    Stopped,
    /// Played to the end (and not looping).
    Finished,
    /// Waiting for the download to catch up.
    Buffering,
}

/// A snapshot of the player, from [`Player::status`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PlayerStatus {
    /// What the player is doing.
    pub state: PlayerState,
    /// The current (or last) song.
    pub song: Option<String>,
    /// Its format.
    pub format: Option<PcmFormat>,
    /// Bytes of the song handed to the sink since it (re)started.
    pub position_bytes: u64,
    /// The same, as seconds of audio.
    pub position_secs: f64,
    /// Bytes of the song downloaded so far.
    pub buffered_bytes: u64,
    /// The song's full length, once known: announced by the server, or
    /// because the download finished.
    pub total_bytes_known: Option<u64>,
    /// True when the song starts again at its end.
    pub looping: bool,
    /// Times playback caught up with the download and had to wait for it
    /// (the wait before the very first byte is not counted: see
    /// `first_audio_at`). Reset by each `play`.
    pub stalls: u64,
    /// When the first bytes of the current `play` were handed to the sink:
    /// the end of a time-to-first-audio measurement.
    pub first_audio_at: Option<Instant>,
    /// The error that last stopped playback (sink or download).
    pub last_error: Option<String>,
}

/// A control sent to the player thread.
#[derive(Debug)]
enum Command {
    /// A song, and the byte to start at.
    Play(Arc<TrackBuffer>, u64),
    Pause,
    Resume,
    Restart,
    Stop,
    SetLoop(bool),
    Shutdown,
}

/// What the player thread and the controlling side share.
#[derive(Debug, Default)]
struct Control {
    status: PlayerStatus,
    /// Commands sent and commands applied: `wait_until_done` must not
    /// mistake the previous song's end for the end of one just requested.
    sent: u64,
    applied: u64,
}

#[derive(Debug, Default)]
struct SharedState {
    inner: Mutex<Control>,
    changed: Condvar,
}

impl SharedState {
    fn lock(&self) -> MutexGuard<'_, Control> {
        // A panic while holding the lock leaves at worst a stale status.
        crate::sync::lock(&self.inner)
    }
}

/// A playback thread and the controls to drive it.
pub struct Player {
    commands: Sender<Command>,
    shared: Arc<SharedState>,
    thread: Option<JoinHandle<()>>,
    realtime: bool,
    describe: String,
}

impl Player {
    /// Starts a player thread that plays into `sink`.
    pub fn new(sink: Box<dyn Sink>) -> Result<Player, AudioError> {
        let (commands, inbox) = mpsc::channel();
        let shared = Arc::new(SharedState::default());
        let (realtime, describe) = (sink.realtime(), sink.describe());
        let worker = worker::Worker::new(inbox, sink, Arc::clone(&shared));
        let thread = thread::Builder::new()
            .name("streamlab-player".into())
            .spawn(move || worker.run())
            .map_err(AudioError::Thread)?;
        Ok(Player {
            commands,
            shared,
            thread: Some(thread),
            realtime,
            describe,
        })
    }

    /// Plays `track` from its start, replacing whatever was playing.
    pub fn play(&self, track: Arc<TrackBuffer>) {
        self.send(Command::Play(track, 0));
    }

    /// Plays `track` from `at` into it (rounded down to a whole frame), as
    /// a listener joining another device's song does: the bytes before it
    /// are skipped, and the position counts from the song's start.
    pub fn play_from(&self, track: Arc<TrackBuffer>, at: Duration) {
        let format = track.format();
        let frame = (format.frame_bytes() as u64).max(1);
        let bytes = at.as_nanos() * u128::from(format.bytes_per_second()) / 1_000_000_000;
        let bytes = u64::try_from(bytes).unwrap_or(u64::MAX) / frame * frame;
        self.send(Command::Play(track, bytes));
    }

    /// Pauses; [`resume`](Self::resume) goes on from the same byte.
    pub fn pause(&self) {
        self.send(Command::Pause);
    }

    /// Goes on after [`pause`](Self::pause).
    pub fn resume(&self) {
        self.send(Command::Resume);
    }

    /// Starts the current song again from its first byte (also after it
    /// finished or was stopped).
    pub fn restart(&self) {
        self.send(Command::Restart);
    }

    /// Stops the current song.
    pub fn stop(&self) {
        self.send(Command::Stop);
    }

    /// When on, a song that reaches its end starts again from 0.
    pub fn set_loop(&self, looping: bool) {
        self.send(Command::SetLoop(looping));
    }

    /// What the player is doing now.
    pub fn status(&self) -> PlayerStatus {
        self.shared.lock().status.clone()
    }

    /// True when the sink plays in real time (a sound card).
    pub fn realtime(&self) -> bool {
        self.realtime
    }

    /// The sink's description.
    pub fn describe(&self) -> String {
        self.describe.clone()
    }

    /// Waits until every control sent so far was applied and the song
    /// finished or stopped (or nothing was ever played). Returns false if
    /// `timeout` passed first (e.g. a looping or paused song).
    pub fn wait_until_done(&self, timeout: Duration) -> bool {
        self.wait_for(timeout, |shared| {
            let idle = matches!(
                shared.status.state,
                PlayerState::Idle | PlayerState::Stopped | PlayerState::Finished
            );
            shared.applied >= shared.sent && idle
        })
    }

    /// Waits until every control sent so far has been applied, so that
    /// [`status`](Self::status) reflects it. False if `timeout` passed.
    pub fn sync(&self, timeout: Duration) -> bool {
        self.wait_for(timeout, |shared| shared.applied >= shared.sent)
    }

    /// Waits until `done` holds for the shared state; false if `timeout`
    /// passed or the player thread is gone.
    fn wait_for(&self, timeout: Duration, done: impl Fn(&Control) -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        let mut shared = self.shared.lock();
        loop {
            if done(&shared) {
                return true;
            }
            let now = Instant::now();
            if now >= deadline || self.thread.as_ref().is_none_or(|t| t.is_finished()) {
                return false;
            }
            shared = crate::sync::wait(&self.shared.changed, shared, deadline - now);
        }
    }

    fn send(&self, command: Command) {
        let mut shared = self.shared.lock();
        // Counted under the lock so `applied` can never overtake `sent`.
        if self.commands.send(command).is_ok() {
            shared.sent += 1;
        }
    }
}

impl Drop for Player {
    /// Stops the thread (ending the current song in the sink) and waits
    /// for it.
    fn drop(&mut self) {
        let _ = self.commands.send(Command::Shutdown);
        if let Some(thread) = self.thread.take() {
            if thread.join().is_err() {
                tracing::error!("the player thread panicked");
            }
        }
    }
}

#[cfg(test)]
mod tests;
