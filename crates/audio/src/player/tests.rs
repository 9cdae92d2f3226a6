//! Stories of the player: a song played to the end, fed slowly, paused,
//! restarted, looped, stopped, replaced, and broken in the middle.

use std::sync::Mutex;
use std::thread;

use streamlab_proto::{PcmFormat, SampleFormat, Track};

use super::*;
use crate::sink::WavSink;
use crate::AudioError;

const LONG: Duration = Duration::from_secs(10);

/// What the sink was asked to do.
#[derive(Debug, Clone, PartialEq)]
enum Event {
    Begin(String),
    Write(Vec<u8>),
    End,
}

type Log = Arc<Mutex<Vec<Event>>>;

/// A sink that records every call, optionally slowly or failing.
struct TestSink {
    log: Log,
    delay: Duration,
    fail_after: Option<usize>,
    written: usize,
}

impl Sink for TestSink {
    fn begin(&mut self, name: &str, _format: PcmFormat) -> Result<(), AudioError> {
        self.log.lock().unwrap().push(Event::Begin(name.into()));
        Ok(())
    }

    fn write(&mut self, pcm: &[u8]) -> Result<(), AudioError> {
        thread::sleep(self.delay);
        self.written += pcm.len();
        if self.fail_after.is_some_and(|n| self.written > n) {
            return Err(AudioError::Sink {
                sink: "test".into(),
                reason: "disk full".into(),
            });
        }
        self.log.lock().unwrap().push(Event::Write(pcm.to_vec()));
        Ok(())
    }

    fn end(&mut self) -> Result<(), AudioError> {
        self.log.lock().unwrap().push(Event::End);
        Ok(())
    }

    fn describe(&self) -> String {
        "test".into()
    }
}

fn player(delay: Duration, fail_after: Option<usize>) -> (Player, Log) {
    let log = Log::default();
    let sink = TestSink {
        log: Arc::clone(&log),
        delay,
        fail_after,
        written: 0,
    };
    (Player::new(Box::new(sink)).unwrap(), log)
}

/// Each track the sink saw: its name, its bytes, and whether it ended.
fn tracks(log: &Log) -> Vec<(String, Vec<u8>, bool)> {
    let mut out: Vec<(String, Vec<u8>, bool)> = Vec::new();
    for event in log.lock().unwrap().iter() {
        match (event, out.last_mut()) {
            (Event::Begin(name), _) => out.push((name.clone(), Vec::new(), false)),
            (Event::Write(bytes), Some(track)) => track.1.extend_from_slice(bytes),
            (Event::End, Some(track)) => track.2 = true,
            (event, None) => panic!("{event:?} before any begin"),
        }
    }
    out
}

fn song(name: &str, len: usize) -> (Arc<TrackBuffer>, Vec<u8>) {
    let pcm: Vec<u8> = (0..len).map(|i| (i * 7 % 256) as u8).collect();
    let track = Track {
        name: name.into(),
        format: PcmFormat::CD,
        pcm: pcm.clone().into(),
    };
    (Arc::new(TrackBuffer::from_track(track)), pcm)
}

/// Polls the status until `pred` holds (panics after 10 s).
fn wait_for(player: &Player, what: &str, pred: impl Fn(&PlayerStatus) -> bool) -> PlayerStatus {
    let deadline = Instant::now() + LONG;
    loop {
        let status = player.status();
        if pred(&status) {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}: {status:?}"
        );
        thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn a_complete_song_plays_to_the_end_bit_exactly() {
    let (player, log) = player(Duration::ZERO, None);
    assert!(
        player.wait_until_done(Duration::ZERO),
        "idle counts as done"
    );
    let (buffer, pcm) = song("ode", 100_000);
    player.play(buffer);
    assert!(player.wait_until_done(LONG));

    assert_eq!(tracks(&log), [("ode".to_string(), pcm, true)]);
    let status = player.status();
    assert_eq!(status.state, PlayerState::Finished);
    assert_eq!(status.position_bytes, 100_000);
    assert_eq!(status.total_bytes_known, Some(100_000));
    assert!((status.position_secs - 100_000.0 / 176_400.0).abs() < 1e-9);
    assert!(status.first_audio_at.is_some());
    assert_eq!((status.stalls, status.last_error), (0, None));
}

#[test]
fn a_song_fed_slowly_plays_exactly_and_counts_its_stalls() {
    let (player, log) = player(Duration::ZERO, None);
    let format = PcmFormat {
        sample_rate: 48_000,
        channels: 2,
        sample: SampleFormat::S24,
    };
    let buffer = Arc::new(TrackBuffer::new("slow", format, None));
    player.play(Arc::clone(&buffer));
    // Waiting for the first byte is start-up delay, not a stall.
    wait_for(&player, "buffering", |s| s.state == PlayerState::Buffering);

    // Five pieces of 1001 bytes, not whole frames (6 bytes). After each,
    // the player plays what it can and waits for more: one stall each.
    let pcm: Vec<u8> = (0..5005).map(|i| (i % 253) as u8).collect();
    let first_append = Instant::now();
    for (i, piece) in pcm.chunks(1001).enumerate() {
        buffer.append(piece);
        let whole = (i as u64 + 1) * 1001 / 6 * 6;
        wait_for(&player, "a stall", |s| {
            s.position_bytes == whole && s.state == PlayerState::Buffering
        });
    }
    assert_eq!(
        player.status().total_bytes_known,
        None,
        "no length was announced"
    );
    buffer.finish();
    assert!(player.wait_until_done(LONG));

    let played = tracks(&log);
    // 5005 = 834 frames + 1 byte: the partial frame at the end is dropped.
    assert_eq!(played, [("slow".to_string(), pcm[..5004].to_vec(), true)]);
    for event in log.lock().unwrap().iter() {
        if let Event::Write(bytes) = event {
            assert_eq!(bytes.len() % 6, 0, "only whole frames are written");
        }
    }
    let status = player.status();
    assert_eq!(status.stalls, 5);
    assert_eq!(status.total_bytes_known, Some(5005));
    assert!(status.first_audio_at.unwrap() >= first_append);
}

#[test]
fn pause_holds_the_position_and_resume_goes_on() {
    let (player, log) = player(Duration::from_millis(2), None);
    let (buffer, pcm) = song("long", 176_400); // 50 chunks of 20 ms
    player.play(buffer);
    wait_for(&player, "some audio", |s| s.position_bytes > 0);
    player.pause();
    let paused = wait_for(&player, "pause", |s| s.state == PlayerState::Paused);
    thread::sleep(Duration::from_millis(50));
    assert_eq!(player.status().position_bytes, paused.position_bytes);
    assert!(
        !player.wait_until_done(Duration::from_millis(10)),
        "paused is not done"
    );

    player.resume();
    assert!(player.wait_until_done(LONG));
    assert_eq!(tracks(&log), [("long".to_string(), pcm, true)]);
}

#[test]
fn restart_begins_the_song_again() {
    let (player, log) = player(Duration::from_millis(2), None);
    let (buffer, pcm) = song("again", 176_400);
    player.play(buffer);
    wait_for(&player, "some audio", |s| s.position_bytes > 10_000);
    player.restart();
    assert!(player.wait_until_done(LONG));

    let played = tracks(&log);
    assert_eq!(played.len(), 2);
    assert!(played[0].2, "the first run was ended");
    assert!(played[0].1.len() < pcm.len() && pcm.starts_with(&played[0].1));
    assert_eq!(played[1], ("again".to_string(), pcm, true));
}

#[test]
fn a_looping_song_starts_again_until_the_loop_is_turned_off() {
    let (player, log) = player(Duration::ZERO, None);
    let (buffer, pcm) = song("round", 4_000);
    player.set_loop(true);
    player.play(buffer);
    wait_for(&player, "three rounds", |_| tracks(&log).len() >= 3);
    assert!(player.status().looping);
    player.set_loop(false);
    assert!(player.wait_until_done(LONG));

    let played = tracks(&log);
    assert!(played.len() >= 3);
    for round in &played {
        assert_eq!(round, &("round".to_string(), pcm.clone(), true));
    }
}

#[test]
fn stop_ends_the_song_early() {
    let (player, log) = player(Duration::from_millis(2), None);
    let (buffer, pcm) = song("cut", 176_400);
    player.play(buffer);
    wait_for(&player, "some audio", |s| s.position_bytes > 0);
    player.stop();
    assert!(player.wait_until_done(LONG));
    assert_eq!(player.status().state, PlayerState::Stopped);

    let played = tracks(&log);
    assert_eq!(played.len(), 1);
    assert!(played[0].2, "the sink was told the track ended");
    assert!(played[0].1.len() < pcm.len());
}

#[test]
fn play_replaces_the_current_song() {
    let (player, log) = player(Duration::from_millis(2), None);
    let (first, _) = song("first", 176_400);
    let (second, pcm) = song("second", 8_000);
    player.play(first);
    wait_for(&player, "some audio", |s| s.position_bytes > 0);
    player.play(second);
    assert!(player.wait_until_done(LONG));

    let played = tracks(&log);
    assert_eq!(played.len(), 2);
    assert_eq!((played[0].0.as_str(), played[0].2), ("first", true));
    assert_eq!(played[1], ("second".to_string(), pcm, true));
    assert_eq!(player.status().song.as_deref(), Some("second"));
}

#[test]
fn a_sink_error_stops_playback_and_is_reported() {
    let (player, log) = player(Duration::ZERO, Some(10_000));
    let (buffer, _) = song("doomed", 100_000);
    player.play(buffer);
    assert!(player.wait_until_done(LONG));
    let status = player.status();
    assert_eq!(status.state, PlayerState::Stopped);
    assert_eq!(status.last_error.as_deref(), Some("test: disk full"));
    assert!(tracks(&log)[0].2, "the sink was told the track ended");
}

#[test]
fn a_failed_download_stops_playback_after_what_arrived() {
    let (player, log) = player(Duration::ZERO, None);
    let buffer = Arc::new(TrackBuffer::new("broken", PcmFormat::CD, Some(1_000)));
    buffer.append(&[1, 2, 3, 4, 5, 6, 7, 8]);
    buffer.fail("connection reset");
    player.play(buffer);
    assert!(player.wait_until_done(LONG));
    let status = player.status();
    assert_eq!(status.state, PlayerState::Stopped);
    assert_eq!(
        status.last_error.as_deref(),
        Some("download failed: connection reset")
    );
    assert_eq!(tracks(&log)[0].1, [1, 2, 3, 4, 5, 6, 7, 8]);
}

#[test]
fn songs_played_into_a_wav_directory_come_out_bit_exact() {
    let dir = tempfile::tempdir().unwrap();
    let player = Player::new(Box::new(WavSink::new(dir.path()))).unwrap();
    assert!(!player.realtime());
    let (one, pcm_one) = song("one", 30_000);
    let (two, pcm_two) = song("two", 12_344);
    player.play(one);
    assert!(player.wait_until_done(LONG));
    player.play(two);
    player.pause(); // may land before or after the first chunk
    player.resume();
    assert!(player.wait_until_done(LONG));
    drop(player);

    let one = crate::wav::load_wav(dir.path().join("01-one.wav")).unwrap();
    let two = crate::wav::load_wav(dir.path().join("02-two.wav")).unwrap();
    assert_eq!((&one.pcm[..], &two.pcm[..]), (&pcm_one[..], &pcm_two[..]));
}

#[test]
fn dropping_the_player_ends_the_song_and_joins_the_thread() {
    let (player, log) = player(Duration::from_millis(1), None);
    let (buffer, _) = song("endless", 176_400);
    player.set_loop(true);
    player.play(buffer);
    wait_for(&player, "some audio", |s| s.position_bytes > 0);
    drop(player);
    let events = log.lock().unwrap();
    assert_eq!(events.last(), Some(&Event::End));
}
