//! A client that reads the way the original Python client does, so a run
//! shows what the original dialect's missing framing costs it.
//!
//! The original client (`SpotClient.py`) sends a command and then makes
//! *one* `recv(1024)` call, with a 3 s timeout, and compares what that one
//! call returned with what it expects: the reply to `lista`, `goodbye`, or
//! exactly `track_data_start` before a song. Only then does it gather the
//! song, with large reads, until the bytes gathered end in
//! `track_data_end`. Whatever TCP does to the boundaries between messages
//! — two replies in one read, a marker glued to audio, half a marker — it
//! sees as a wrong answer. [`NaiveClient`] does the same, step by step,
//! and records a verdict for each step.
//!
//! Its player then plays the song read by read, and stops at the read that
//! ends in `track_data_end` without playing it (defect 8 in
//! docs/protocol.md): audio that arrived in that read is never heard.
//! [`NaiveOutcome::played`] is what it would play.
//!
//! This is a model of the original client's *reading habits*, written from
//! its behaviour and the report; it is not its code.

use std::any::Any;
use std::collections::VecDeque;
use std::time::Duration;

use streamlab_proto::original;

use super::SimApp;
use crate::time::SimTime;
use crate::trace::preview;

/// One `recv` of a reply: the original client's `recv(1024)`.
const REPLY_READ: usize = 1024;
/// One `recv` while gathering a song, as the original: `44100 * 2 * 30`
/// bytes (its comment says 30 seconds; of CD audio it is 15).
const TRACK_READ: usize = 44_100 * 2 * 30;
/// How long the original client waits for a reply.
const REPLY_TIMEOUT: Duration = Duration::from_secs(3);

/// What a step expects back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expect {
    /// Exactly these bytes, in one read.
    Reply(Vec<u8>),
    /// `track_data_start` alone in one read, then a song ending in
    /// `track_data_end`.
    Track,
    /// No reply (`att_status`).
    Nothing,
}

/// One step of the script: write `commands` (at one instant, so they may
/// share a segment) at `at` or as soon as the step before is done, then
/// read as [`Expect`] says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NaiveStep {
    pub at: SimTime,
    pub commands: Vec<String>,
    pub expect: Expect,
}

impl NaiveStep {
    pub fn new(at: SimTime, commands: &[&str], expect: Expect) -> Self {
        NaiveStep {
            at,
            commands: commands.iter().map(|c| c.to_string()).collect(),
            expect,
        }
    }
}

/// How one step went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NaiveOutcome {
    /// The commands written, quoted and joined by ` + `.
    pub sent: String,
    /// `None` when the client got what it expected; else what went wrong.
    pub failure: Option<String>,
    /// The song's bytes, for a [`Expect::Track`] step that succeeded.
    pub audio: Option<Vec<u8>>,
    /// What the original player would play of it: every read but the one
    /// that ended in `track_data_end`.
    pub played: Option<Vec<u8>>,
}

#[derive(Debug)]
enum Phase {
    /// Waiting to start the next step.
    Idle,
    /// Waiting for the one read of a reply (or of the start marker).
    Reply { deadline: SimTime },
    /// Gathering a song after its start marker; `last_read` is where the
    /// latest read begins in `gathered`.
    Track { gathered: Vec<u8>, last_read: usize },
    /// Every step is done, or the server closed.
    Done,
}

/// The original client's reading habits. See the [module docs](self).
#[derive(Debug)]
pub struct NaiveClient {
    /// The least time between two reads of a song (see
    /// [`NaiveClient::song_reads_every`]).
    read_gap: Duration,
    /// No read of a song before this time.
    next_read: SimTime,
    steps: VecDeque<NaiveStep>,
    /// The step under way.
    step: Option<NaiveStep>,
    phase: Phase,
    out: Vec<u8>,
    outcomes: Vec<NaiveOutcome>,
    notes: VecDeque<String>,
}

impl NaiveClient {
    pub fn new(steps: Vec<NaiveStep>) -> Self {
        NaiveClient {
            read_gap: Duration::ZERO,
            next_read: SimTime::ZERO,
            steps: steps.into(),
            step: None,
            phase: Phase::Idle,
            out: Vec::new(),
            outcomes: Vec::new(),
            notes: VecDeque::new(),
        }
    }

    /// Reads a song at most once per `gap`, as the Python loop does on a
    /// fast network: it copies the whole song so far on every read, so
    /// bytes pile up in the socket between reads and one read takes many
    /// segments. (By default the client reads each segment as it arrives.)
    pub fn song_reads_every(mut self, gap: Duration) -> Self {
        self.read_gap = gap;
        self
    }

    /// How each finished step went, in order.
    pub fn outcomes(&self) -> &[NaiveOutcome] {
        &self.outcomes
    }

    /// Starts every step that is due; a step without a reply finishes at
    /// once.
    fn advance(&mut self, now: SimTime) {
        while matches!(self.phase, Phase::Idle) {
            let Some(step) = self.steps.front() else {
                self.phase = Phase::Done;
                return;
            };
            if step.at > now {
                return;
            }
            let Some(step) = self.steps.pop_front() else {
                return;
            };
            for c in &step.commands {
                self.out.extend_from_slice(c.as_bytes());
            }
            self.phase = match step.expect {
                Expect::Nothing => Phase::Idle,
                _ => Phase::Reply {
                    deadline: now.after(REPLY_TIMEOUT),
                },
            };
            self.step = Some(step);
            if matches!(self.phase, Phase::Idle) {
                self.finish(None, None, None);
            }
        }
    }

    /// Ends the step under way.
    fn finish(&mut self, failure: Option<String>, audio: Option<Vec<u8>>, played: Option<Vec<u8>>) {
        let Some(step) = self.step.take() else { return };
        let quoted: Vec<String> = step
            .commands
            .iter()
            .map(|c| preview(c.as_bytes()))
            .collect();
        let sent = quoted.join(" + ");
        let mut note = match &failure {
            None => format!("naive client: {sent} → as expected"),
            Some(why) => format!("naive client: {sent} → {why}"),
        };
        if let (Some(audio), Some(played)) = (&audio, &played) {
            note += &format!("; {}", played_text(played.len(), audio.len()));
        }
        self.notes.push_back(note);
        self.outcomes.push(NaiveOutcome {
            sent,
            failure,
            audio,
            played,
        });
        if !matches!(self.phase, Phase::Done) {
            self.phase = Phase::Idle;
        }
    }

    /// The one read of a reply.
    fn reply(&mut self, data: &[u8]) {
        let Some(expect) = self.step.as_ref().map(|s| s.expect.clone()) else {
            return;
        };
        match expect {
            Expect::Reply(want) if data == want => self.finish(None, None, None),
            Expect::Reply(want) => {
                let why = format!("expected {}, read {}", preview(&want), shown(data));
                self.finish(Some(why), None, None);
            }
            Expect::Track if data == original::TRACK_START => {
                self.phase = Phase::Track {
                    gathered: Vec::new(),
                    last_read: 0,
                };
            }
            Expect::Track => {
                let why = format!(
                    "expected \"track_data_start\" alone, read {}: gives up on the song",
                    shown(data)
                );
                self.finish(Some(why), None, None);
            }
            Expect::Nothing => {}
        }
    }
}

/// How much of a song the original player plays, e.g. `plays 1436 of
/// 2896 B of audio`.
pub(crate) fn played_text(played: usize, audio: usize) -> String {
    if played == audio {
        format!("plays all {audio} B of audio")
    } else {
        format!(
            "plays {played} of {audio} B of audio (the read with the end marker is never played)"
        )
    }
}

/// What one read returned: its start and how much more there was, or, for
/// bytes that are not text, how many.
fn shown(data: &[u8]) -> String {
    const MARKER: usize = 16;
    let text = |b: &[u8]| {
        std::str::from_utf8(b).is_ok_and(|s| s.chars().all(|c| !c.is_control() || c == '\n'))
    };
    if !text(&data[..data.len().min(MARKER)]) {
        format!("{} B of binary data", data.len())
    } else if data.len() > MARKER + 4 {
        format!(
            "{} and {} B more",
            preview(&data[..MARKER]),
            data.len() - MARKER
        )
    } else {
        preview(data)
    }
}

impl SimApp for NaiveClient {
    fn on_connected(&mut self, now: SimTime) {
        self.advance(now);
    }

    fn pending(&self, _now: SimTime) -> &[u8] {
        &self.out
    }

    fn consume(&mut self, _now: SimTime, n: usize) {
        self.out.drain(..n.min(self.out.len()));
    }

    fn read_size(&self, now: SimTime) -> usize {
        match self.phase {
            Phase::Reply { .. } => REPLY_READ,
            Phase::Track { .. } if now < self.next_read => 0,
            Phase::Track { .. } => TRACK_READ,
            Phase::Idle | Phase::Done => 0,
        }
    }

    fn handle_read(&mut self, now: SimTime, data: &[u8]) {
        self.notes.push_back(format!(
            "naive client read {} B {}",
            data.len(),
            preview(data)
        ));
        match &mut self.phase {
            Phase::Reply { .. } => self.reply(data),
            Phase::Track {
                gathered,
                last_read,
            } => {
                self.next_read = now.after(self.read_gap);
                *last_read = gathered.len();
                gathered.extend_from_slice(data);
                if gathered.ends_with(original::TRACK_END) {
                    let played = gathered[..*last_read].to_vec();
                    let mut audio = std::mem::take(gathered);
                    audio.truncate(audio.len() - original::TRACK_END.len());
                    self.finish(None, Some(audio), Some(played));
                }
            }
            Phase::Idle | Phase::Done => {}
        }
        self.advance(now);
    }

    fn handle_eof(&mut self, _now: SimTime) {
        self.notes
            .push_back("naive client read end of stream".into());
        self.phase = Phase::Done;
        self.finish(Some("the server closed the connection".into()), None, None);
        self.steps.clear();
    }

    fn poll_timeout(&self) -> Option<SimTime> {
        match self.phase {
            Phase::Idle => self.steps.front().map(|s| s.at),
            Phase::Reply { deadline } => Some(deadline),
            // The next song read, if the client is holding off.
            Phase::Track { .. } => (!self.read_gap.is_zero()).then_some(self.next_read),
            Phase::Done => None,
        }
    }

    fn handle_timeout(&mut self, now: SimTime) {
        if let Phase::Reply { deadline } = self.phase {
            if deadline <= now {
                self.finish(Some("no reply within 3 s".into()), None, None);
            }
        }
        self.advance(now);
    }

    fn wants_close(&self, _now: SimTime) -> bool {
        matches!(self.phase, Phase::Done) && self.out.is_empty()
    }

    fn poll_note(&mut self) -> Option<String> {
        self.notes.pop_front()
    }

    fn describe(&self) -> String {
        format!(
            "naive client: {} steps left, {} done, phase {:?}",
            self.steps.len(),
            self.outcomes.len(),
            match self.phase {
                Phase::Idle => "idle",
                Phase::Reply { .. } => "reply",
                Phase::Track { .. } => "track",
                Phase::Done => "done",
            }
        )
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
