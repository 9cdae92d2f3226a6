//! A simulated listener: plays a downloaded track in virtual real time, as
//! the real client's player does, so a run can say when the first sound
//! came out and how often the music stopped because the network was slow.
//!
//! ```text
//!  bytes
//!   ^                       received ___________
//!   |                ______/     ___/
//!   |         ______/        ___/  played (a slope of the byte rate,
//!   |   _____/          ___/        flat while stalled)
//!   |  /            ___/
//!   | /  prebuffer /    stall
//!   +-------------|-----|=====|------------------> virtual time
//!              first   dry   resumed
//!              audio
//! ```
//!
//! The player waits until it holds [`PlayerConfig::prebuffer`] of audio
//! (or the whole track, if shorter), then plays at the track's byte rate.
//! When it has played everything received before the track is complete,
//! it *stalls*, and waits for a prebuffer's worth again. Everything is in
//! integer nanoseconds and bytes, so a run is exact and repeatable.
//!
//! The model is sans-IO like the rest: the client application tells it
//! what arrived and when ([`PlayerModel::start`], [`PlayerModel::data`],
//! [`PlayerModel::end`]), asks when it next needs waking
//! ([`PlayerModel::poll_timeout`]), and wakes it ([`PlayerModel::advance`]).

use std::collections::VecDeque;
use std::time::Duration;

use streamlab_proto::PcmFormat;

use crate::time::SimTime;

const NANOS: u128 = 1_000_000_000;

/// How the simulated player behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlayerConfig {
    /// Audio to hold before starting, and again before resuming after a
    /// stall. Real players buffer a little so one late segment does not
    /// stop the music; 200 ms is a common choice.
    pub prebuffer: Duration,
}

impl Default for PlayerConfig {
    fn default() -> Self {
        PlayerConfig {
            prebuffer: Duration::from_millis(200),
        }
    }
}

/// One interruption of playback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stall {
    /// When the buffer ran dry.
    pub at: SimTime,
    /// How long the music stopped.
    pub length: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// No track yet.
    Idle,
    /// Filling the first prebuffer.
    Buffering,
    /// Playing since `since`, when `base` bytes had been played.
    Playing { since: SimTime, base: u64 },
    /// The buffer ran dry at `since`; waiting for a prebuffer.
    Stalled { since: SimTime },
    /// Everything played, at the given time.
    Done { at: SimTime },
}

/// The simulated player. See the [module documentation](self).
#[derive(Debug, Clone)]
pub struct PlayerModel {
    config: PlayerConfig,
    /// Bytes per second of the track.
    rate: u64,
    state: State,
    /// When the listener asked for the track.
    requested_at: Option<SimTime>,
    received: u64,
    /// Bytes played when the state last changed.
    played: u64,
    complete: bool,
    first_audio: Option<SimTime>,
    stalls: Vec<Stall>,
    notes: VecDeque<(SimTime, String)>,
}

impl PlayerModel {
    pub fn new(config: PlayerConfig) -> Self {
        PlayerModel {
            config,
            rate: 0,
            state: State::Idle,
            requested_at: None,
            received: 0,
            played: 0,
            complete: false,
            first_audio: None,
            stalls: Vec::new(),
            notes: VecDeque::new(),
        }
    }

    // ---- getters -------------------------------------------------------

    /// From the request to the first sound, once there was one.
    pub fn time_to_first_audio(&self) -> Option<Duration> {
        Some(self.first_audio?.since(self.requested_at?))
    }

    /// Every stall so far (one still going counts once it ends).
    pub fn stalls(&self) -> &[Stall] {
        &self.stalls
    }

    /// The time spent stalled, in all.
    pub fn stalled_for(&self) -> Duration {
        self.stalls.iter().map(|s| s.length).sum()
    }

    /// When the last byte was played, once it was.
    pub fn finished_at(&self) -> Option<SimTime> {
        match self.state {
            State::Done { at } => Some(at),
            _ => None,
        }
    }

    /// The track's length in time, by the bytes received.
    pub fn audio_length(&self) -> Duration {
        self.duration_of(self.received)
    }

    /// The audio held at `now` and not yet played (at or after the last
    /// event the player was told of).
    pub fn buffered_at(&self, now: SimTime) -> Duration {
        let played = match self.state {
            State::Playing { since, base } => {
                let ns = u128::from(now.since(since).as_nanos() as u64);
                let bytes = ns * u128::from(self.rate) / NANOS;
                (base + u64::try_from(bytes).unwrap_or(u64::MAX)).min(self.received)
            }
            State::Done { .. } => self.received,
            _ => self.played,
        };
        self.duration_of(self.received - played)
    }

    /// True while playing (not waiting, not stalled, not done).
    pub fn is_playing(&self) -> bool {
        matches!(self.state, State::Playing { .. })
    }

    // ---- handle_* --------------------------------------------------------

    /// The listener asked for a track at `now`.
    pub fn requested(&mut self, now: SimTime) {
        self.requested_at.get_or_insert(now);
    }

    /// A track of `format` begins arriving.
    pub fn start(&mut self, now: SimTime, format: PcmFormat) {
        self.requested(now);
        self.rate = format.bytes_per_second();
        if self.state == State::Idle {
            self.state = State::Buffering;
        }
    }

    /// `n` more bytes arrived at `now`.
    pub fn data(&mut self, now: SimTime, n: usize) {
        self.advance(now);
        self.received += n as u64;
        self.maybe_play(now);
    }

    /// The track is complete at `now`.
    pub fn end(&mut self, now: SimTime) {
        self.advance(now);
        self.complete = true;
        self.maybe_play(now);
        // A track that ended with everything already played.
        self.advance(now);
    }

    /// Brings the playback up to `now`: the buffer may have run dry.
    pub fn advance(&mut self, now: SimTime) {
        let State::Playing { since, base } = self.state else {
            return;
        };
        let Some(dry) = self.dry_at(since, base) else {
            return;
        };
        if dry > now {
            return;
        }
        self.played = self.received;
        if self.complete {
            self.state = State::Done { at: dry };
            let stalls = self.stalls.len();
            self.note(
                dry,
                format!(
                    "player finished: {} of audio, {stalls} stall{}, {} stalled",
                    secs(self.audio_length()),
                    if stalls == 1 { "" } else { "s" },
                    secs(self.stalled_for())
                ),
            );
        } else {
            self.state = State::Stalled { since: dry };
            self.note(
                dry,
                format!(
                    "player stalls: buffer empty after {} of audio",
                    secs(self.duration_of(self.played))
                ),
            );
        }
    }

    /// When [`advance`](PlayerModel::advance) next has something to do.
    pub fn poll_timeout(&self) -> Option<SimTime> {
        match self.state {
            State::Playing { since, base } => self.dry_at(since, base),
            _ => None,
        }
    }

    /// The next note for the trace, with the time it happened.
    pub fn poll_note(&mut self) -> Option<(SimTime, String)> {
        self.notes.pop_front()
    }

    // ---- internals -------------------------------------------------------

    /// Starts or resumes playing if enough is buffered.
    fn maybe_play(&mut self, now: SimTime) {
        if !matches!(self.state, State::Buffering | State::Stalled { .. }) || self.rate == 0 {
            return;
        }
        let buffered = self.received - self.played;
        let enough = self.bytes_of(self.config.prebuffer);
        if buffered == 0 || (buffered < enough && !self.complete) {
            return;
        }
        match self.state {
            State::Stalled { since } => {
                let length = now.since(since);
                self.stalls.push(Stall { at: since, length });
                self.note(
                    now,
                    format!("player resumes after a {} stall", secs(length)),
                );
            }
            _ => {
                self.first_audio = Some(now);
                let waited = self.requested_at.map(|r| now.since(r)).unwrap_or_default();
                self.note(
                    now,
                    format!(
                        "player starts: first audio {} after the request",
                        secs(waited)
                    ),
                );
            }
        }
        self.state = State::Playing {
            since: now,
            base: self.played,
        };
    }

    /// When playing from `since` (with `base` played then) empties the
    /// buffer; `None` without a byte rate.
    fn dry_at(&self, since: SimTime, base: u64) -> Option<SimTime> {
        if self.rate == 0 {
            return None;
        }
        let left = u128::from(self.received - base);
        // Rounded up: the last byte is played by then, not just before.
        let ns = (left * NANOS).div_ceil(u128::from(self.rate));
        Some(since.after(Duration::from_nanos(u64::try_from(ns).ok()?)))
    }

    fn duration_of(&self, bytes: u64) -> Duration {
        if self.rate == 0 {
            return Duration::ZERO;
        }
        let ns = u128::from(bytes) * NANOS / u128::from(self.rate);
        Duration::from_nanos(u64::try_from(ns).unwrap_or(u64::MAX))
    }

    fn bytes_of(&self, d: Duration) -> u64 {
        let bytes = d.as_nanos() * u128::from(self.rate) / NANOS;
        u64::try_from(bytes).unwrap_or(u64::MAX)
    }

    fn note(&mut self, at: SimTime, text: String) {
        self.notes.push_back((at, text));
    }
}

/// How one track arrived: what a player needs to play it back afterwards.
/// The simulated client fills it as it reads; the kernel testbed fills it
/// from the bytes a capture shows arriving in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Arrivals {
    /// When the track was asked for.
    pub requested: Option<SimTime>,
    /// When its first byte (header or marker) arrived, and its format.
    pub start: Option<(SimTime, PcmFormat)>,
    /// Each delivery of audio: when, and how many bytes.
    pub data: Vec<(SimTime, usize)>,
    /// When the track was complete.
    pub end: Option<SimTime>,
}

impl Arrivals {
    /// Takes note of a client event (only the first track counts).
    pub fn record(&mut self, now: SimTime, e: &streamlab_proto::ClientEvent) {
        use streamlab_proto::ClientEvent;
        if self.end.is_some() {
            return;
        }
        match e {
            ClientEvent::TrackStart { format, .. } if self.start.is_none() => {
                self.start = Some((now, *format));
            }
            ClientEvent::TrackData { data, .. } => self.data.push((now, data.len())),
            ClientEvent::TrackEnd { .. } if self.start.is_some() => self.end = Some(now),
            _ => {}
        }
    }

    /// The audio bytes that arrived.
    pub fn bytes(&self) -> u64 {
        self.data.iter().map(|&(_, n)| n as u64).sum()
    }
}

/// What a listener heard: the figures of a replayed track.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Playback {
    /// From the request to the first sound (`None`: never played).
    pub first_audio: Option<Duration>,
    pub stalls: Vec<Stall>,
    pub stalled: Duration,
    /// The audio buffered over time: just before and just after each
    /// arrival, and where the buffer ran dry (a saw-tooth: it falls while
    /// playing and jumps at each arrival).
    pub levels: Vec<(SimTime, Duration)>,
}

/// Plays `arrivals` back through a fresh [`PlayerModel`]: the same figures the
/// player gives when it listens along, computed afterwards. `requested` is
/// when the track was asked for (the start's time if `None`).
pub fn replay(config: PlayerConfig, arrivals: &Arrivals) -> Option<Playback> {
    let (start, format) = arrivals.start?;
    let mut p = PlayerModel::new(config);
    p.requested(arrivals.requested.unwrap_or(start));
    p.start(start, format);
    let mut levels = vec![(start, Duration::ZERO)];
    for &(at, n) in &arrivals.data {
        // A buffer that ran dry since the last arrival touches zero.
        if let Some(dry) = p.poll_timeout().filter(|&dry| dry < at) {
            p.advance(dry);
            levels.push((dry, Duration::ZERO));
        }
        levels.push((at, p.buffered_at(at)));
        p.data(at, n);
        levels.push((at, p.buffered_at(at)));
    }
    if let Some(end) = arrivals.end {
        p.end(end);
        // Play to the end: each step reaches the next moment the buffer
        // runs dry, so a few steps finish any track.
        while let Some(at) = p.poll_timeout() {
            p.advance(at);
            levels.push((at, p.buffered_at(at)));
        }
    }
    Some(Playback {
        first_audio: p.time_to_first_audio(),
        stalled: p.stalled_for(),
        stalls: p.stalls().to_vec(),
        levels,
    })
}

/// A duration as seconds with three decimals: `0.250 s`.
pub fn secs(d: Duration) -> String {
    format!("{}.{:03} s", d.as_secs(), d.subsec_millis())
}

#[cfg(test)]
mod tests {
    use super::*;
    use streamlab_proto::SampleFormat;

    /// 1000 bytes per second: one byte per millisecond.
    const SLOW: PcmFormat = PcmFormat {
        sample_rate: 1000,
        channels: 1,
        sample: SampleFormat::U8,
    };

    fn ms(n: u64) -> SimTime {
        SimTime::from_millis(n)
    }

    fn player() -> PlayerModel {
        let mut p = PlayerModel::new(PlayerConfig {
            prebuffer: Duration::from_millis(100),
        });
        p.requested(ms(0));
        p.start(ms(10), SLOW);
        p
    }

    #[test]
    fn a_fast_download_plays_without_a_stall() {
        let mut p = player();
        p.data(ms(20), 50);
        assert!(!p.is_playing(), "50 ms of audio is less than the prebuffer");
        p.data(ms(30), 450);
        assert_eq!(p.time_to_first_audio(), Some(Duration::from_millis(30)));
        p.end(ms(40));
        assert_eq!(p.poll_timeout(), Some(ms(530)));
        p.advance(ms(529));
        assert_eq!(p.finished_at(), None);
        p.advance(ms(530));
        assert_eq!(p.finished_at(), Some(ms(530)));
        assert!(p.stalls().is_empty());
    }

    #[test]
    fn a_slow_download_stalls_and_resumes_after_a_prebuffer() {
        let mut p = player();
        p.data(ms(100), 100); // starts at 100 ms with 100 ms of audio
        assert_eq!(p.poll_timeout(), Some(ms(200)));
        p.data(ms(150), 20); // now runs dry at 220 ms
        p.advance(ms(300));
        assert!(!p.is_playing());
        p.data(ms(350), 60);
        assert!(!p.is_playing(), "60 ms is less than the prebuffer");
        p.data(ms(400), 40);
        assert!(p.is_playing());
        assert_eq!(
            p.stalls(),
            [Stall {
                at: ms(220),
                length: Duration::from_millis(180)
            }]
        );
        // The end of the track lets a short remainder play at once.
        p.advance(ms(500));
        p.data(ms(550), 10);
        p.end(ms(560));
        assert_eq!(p.stalls().len(), 2);
        assert_eq!(p.poll_timeout(), Some(ms(570)));
        p.advance(ms(570));
        assert_eq!(p.finished_at(), Some(ms(570)));
        assert_eq!(p.stalled_for(), Duration::from_millis(240));
        let notes: Vec<String> = std::iter::from_fn(|| p.poll_note().map(|(_, n)| n)).collect();
        assert_eq!(
            notes,
            [
                "player starts: first audio 0.100 s after the request",
                "player stalls: buffer empty after 0.120 s of audio",
                "player resumes after a 0.180 s stall",
                "player stalls: buffer empty after 0.220 s of audio",
                "player resumes after a 0.060 s stall",
                "player finished: 0.230 s of audio, 2 stalls, 0.240 s stalled",
            ]
        );
    }

    #[test]
    fn a_track_shorter_than_the_prebuffer_plays_when_complete() {
        let mut p = player();
        p.data(ms(20), 30);
        p.end(ms(25));
        assert_eq!(p.time_to_first_audio(), Some(Duration::from_millis(25)));
        p.advance(ms(55));
        assert_eq!(p.finished_at(), Some(ms(55)));
    }

    #[test]
    fn replay_draws_the_buffer_as_a_saw_tooth() {
        // 300 ms of audio at once, then nothing until 1 s: the buffer
        // falls to zero at 0.3 s, the music stalls, and 300 ms more arrive.
        let arrivals = Arrivals {
            requested: Some(ms(0)),
            start: Some((ms(0), SLOW)),
            data: vec![(ms(0), 300), (ms(1000), 300)],
            end: Some(ms(1000)),
        };
        let config = PlayerConfig {
            prebuffer: Duration::from_millis(200),
        };
        let playback = replay(config, &arrivals).expect("a track");
        let levels: Vec<(u64, u128)> = playback
            .levels
            .iter()
            .map(|&(at, d)| (at.since(SimTime::ZERO).as_millis() as u64, d.as_millis()))
            .collect();
        assert_eq!(
            levels,
            vec![
                (0, 0),
                (0, 0),
                (0, 300),
                (300, 0),
                (1000, 0),
                (1000, 300),
                (1300, 0)
            ]
        );
        assert_eq!(playback.stalls.len(), 1);
        assert_eq!(playback.stalled, Duration::from_millis(700));
    }
}
