//! The bundled songs: short public-domain melodies synthesised from their
//! scores, bit for bit the same on every machine.
//!
//! Each song is in a different PCM format, so the kit exercises every
//! sample format, mono and stereo, and five sample rates:
//!
//! ```text
//! name            rate      ch  sample  melody
//! ode_to_joy      44100 Hz  2   s16le   Beethoven, 9th symphony (CD format:
//!                                       what the original client assumes)
//! frere_jacques   22050 Hz  1   u8      French round
//! twinkle         48000 Hz  1   f32le   Twinkle, Twinkle, Little Star
//! greensleeves    32000 Hz  1   s24le   English, 16th century
//! amazing_grace   16000 Hz  2   s32le   hymn, tune "New Britain"
//! frere_jacques_whole  8000 Hz  1   u8  the whole round, twice: 32 s,
//!                                       small (256 KB) for its length
//! ```
//!
//! The first five last 3 to 6 s; the last one lasts half a minute, so a
//! listener can pause, resume and follow it for a while.
//!
//! `cargo run -p streamlab-audio --example make_music -- music` writes them
//! to `music/`; the test `bundled_music_is_up_to_date` checks that the
//! files there still equal [`bundled_songs`]. The instrument is simple:
//! five harmonics under an attack / decay / release envelope, the upper
//! harmonics fading faster, so notes sound plucked rather than beeped.
//!
//! # Reproducibility
//!
//! The same source gives the same bytes on any machine: the arithmetic is
//! only `+ - * /` on `f64`, integer phase accumulators and casts.

mod tone;

use std::path::{Path, PathBuf};

use streamlab_proto::{PcmFormat, SampleFormat, Track};

pub use tone::frequency;

use crate::wav::write_wav;
use crate::AudioError;

/// How loud a note peaks (full scale is 1.0).
const AMPLITUDE: f64 = 0.8;

/// One song's score: a melody of (note, beats) and how to render it.
struct Score {
    name: &'static str,
    format: PcmFormat,
    beats_per_minute: u32,
    notes: &'static [(&'static str, f64)],
    /// How many times the notes are played, one after another.
    repeats: usize,
}

const fn pcm(sample_rate: u32, channels: u16, sample: SampleFormat) -> PcmFormat {
    PcmFormat {
        sample_rate,
        channels,
        sample,
    }
}

/// The scores, in C major / A minor / G major, one note per syllable.
#[rustfmt::skip]
const SCORES: [Score; 6] = [
    Score {
        name: "ode_to_joy",
        format: PcmFormat::CD,
        beats_per_minute: 200,
        repeats: 1,
        notes: &[
            ("E4", 1.0), ("E4", 1.0), ("F4", 1.0), ("G4", 1.0),
            ("G4", 1.0), ("F4", 1.0), ("E4", 1.0), ("D4", 1.0),
            ("C4", 1.0), ("C4", 1.0), ("D4", 1.0), ("E4", 1.0),
            ("E4", 1.5), ("D4", 0.5), ("D4", 2.0),
        ],
    },
    Score {
        name: "frere_jacques",
        format: pcm(22_050, 1, SampleFormat::U8),
        beats_per_minute: 180,
        repeats: 1,
        notes: &[
            ("C4", 1.0), ("D4", 1.0), ("E4", 1.0), ("C4", 1.0),
            ("C4", 1.0), ("D4", 1.0), ("E4", 1.0), ("C4", 1.0),
            ("E4", 1.0), ("F4", 1.0), ("G4", 2.0),
            ("E4", 1.0), ("F4", 1.0), ("G4", 2.0),
        ],
    },
    Score {
        name: "twinkle",
        format: pcm(48_000, 1, SampleFormat::F32),
        beats_per_minute: 140,
        repeats: 1,
        notes: &[
            ("C5", 1.0), ("C5", 1.0), ("G5", 1.0), ("G5", 1.0),
            ("A5", 1.0), ("A5", 1.0), ("G5", 2.0),
        ],
    },
    Score {
        name: "greensleeves",
        format: pcm(32_000, 1, SampleFormat::S24),
        beats_per_minute: 200,
        repeats: 1,
        notes: &[
            ("A4", 1.0),
            ("C5", 2.0), ("D5", 1.0),
            ("E5", 1.5), ("F5", 0.5), ("E5", 1.0),
            ("D5", 2.0), ("B4", 1.0),
            ("G4", 1.5), ("A4", 0.5), ("B4", 1.0),
            ("C5", 2.0), ("A4", 1.0),
        ],
    },
    Score {
        name: "amazing_grace",
        format: pcm(16_000, 2, SampleFormat::S32),
        beats_per_minute: 160,
        repeats: 1,
        notes: &[
            ("D4", 1.0),
            ("G4", 2.0), ("B4", 0.5), ("G4", 0.5),
            ("B4", 2.0), ("A4", 1.0),
            ("G4", 2.0), ("E4", 1.0),
            ("D4", 3.0),
        ],
    },
    Score {
        name: "frere_jacques_whole",
        format: pcm(8_000, 1, SampleFormat::U8),
        beats_per_minute: 120,
        // The whole round, twice.
        repeats: 2,
        notes: &[
            // Are you sleeping, twice; Brother John, twice.
            ("C4", 1.0), ("D4", 1.0), ("E4", 1.0), ("C4", 1.0),
            ("C4", 1.0), ("D4", 1.0), ("E4", 1.0), ("C4", 1.0),
            ("E4", 1.0), ("F4", 1.0), ("G4", 2.0),
            ("E4", 1.0), ("F4", 1.0), ("G4", 2.0),
            // Morning bells are ringing, twice.
            ("G4", 0.5), ("A4", 0.5), ("G4", 0.5), ("F4", 0.5), ("E4", 1.0), ("C4", 1.0),
            ("G4", 0.5), ("A4", 0.5), ("G4", 0.5), ("F4", 0.5), ("E4", 1.0), ("C4", 1.0),
            // Ding, dang, dong, twice.
            ("C4", 1.0), ("G3", 1.0), ("C4", 2.0),
            ("C4", 1.0), ("G3", 1.0), ("C4", 2.0),
        ],
    },
];

/// The bundled songs, synthesised: the same bytes on every machine.
pub fn bundled_songs() -> Vec<Track> {
    SCORES.iter().map(render).collect()
}

/// Writes every bundled song to `dir/<name>.wav`; returns the paths.
pub fn write_bundled(dir: impl AsRef<Path>) -> Result<Vec<PathBuf>, AudioError> {
    let dir = dir.as_ref();
    let mut paths = Vec::new();
    for track in bundled_songs() {
        let path = dir.join(format!("{}.wav", track.name));
        write_wav(&path, track.format, &track.pcm)?;
        paths.push(path);
    }
    Ok(paths)
}

fn render(score: &Score) -> Track {
    let rate = score.format.sample_rate;
    let melody = melody(score);
    // The second channel (if any) gets a soft echo 150 ms later: a little
    // width, and channels that differ (for stereo → mono tests by ear).
    let delay = (rate as usize) * 3 / 20;
    let channels = usize::from(score.format.channels);
    let mut pcm = Vec::with_capacity(melody.len() * score.format.frame_bytes());
    for (i, &dry) in melody.iter().enumerate() {
        let echo = if i >= delay { melody[i - delay] } else { 0.0 };
        for c in 0..channels {
            let x = if c % 2 == 0 {
                dry
            } else {
                0.7 * dry + 0.3 * echo
            };
            tone::encode(score.format.sample, x, &mut pcm);
        }
    }
    Track {
        name: score.name.into(),
        format: score.format,
        pcm: pcm.into(),
    }
}

/// The melody as one channel of samples in -1..=1.
fn melody(score: &Score) -> Vec<f64> {
    let rate = score.format.sample_rate;
    let samples_per_beat = f64::from(rate) * 60.0 / f64::from(score.beats_per_minute);
    let notes = || {
        score
            .notes
            .iter()
            .cycle()
            .take(score.notes.len() * score.repeats)
    };
    let total_beats: f64 = notes().map(|(_, beats)| beats).sum();
    let len = (total_beats * samples_per_beat) as usize;
    let mut out = vec![0.0; len];
    let mut beat = 0.0;
    for &(note, beats) in notes() {
        let start = (beat * samples_per_beat) as usize;
        beat += beats;
        let end = ((beat * samples_per_beat) as usize).min(len);
        // The scores are constants checked by the tests: a bad name is a bug.
        let freq = frequency(note).unwrap_or_else(|| panic!("bad note {note} in {}", score.name));
        tone::add_note(&mut out[start..end], freq, rate, AMPLITUDE);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn six_songs_in_every_format() {
        let songs = bundled_songs();
        let names: Vec<&str> = songs.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "ode_to_joy",
                "frere_jacques",
                "twinkle",
                "greensleeves",
                "amazing_grace",
                "frere_jacques_whole"
            ]
        );
        assert_eq!(
            songs[0].format,
            PcmFormat::CD,
            "the original client assumes CD audio"
        );
        let samples: std::collections::HashSet<SampleFormat> =
            songs.iter().map(|t| t.format.sample).collect();
        assert_eq!(samples.len(), 5, "every sample format once");

        let mut total = 0;
        for song in &songs {
            let secs = song.format.seconds(song.pcm.len() as u64);
            let long = song.name == "frere_jacques_whole";
            let range = if long { 25.0..=35.0 } else { 3.0..=6.0 };
            assert!(range.contains(&secs), "{} lasts {secs} s", song.name);
            assert_eq!(song.pcm.len() % song.format.frame_bytes(), 0);
            assert!(song
                .name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b == b'_'));
            total += song.pcm.len();
        }
        assert!(
            total < 3_000_000,
            "music/ must stay under 3 MB: {total} bytes"
        );
    }

    #[test]
    fn synthesis_is_repeatable() {
        let (a, b) = (bundled_songs(), bundled_songs());
        for (a, b) in a.iter().zip(&b) {
            assert_eq!(a.pcm, b.pcm, "{}", a.name);
        }
    }

    #[test]
    fn every_score_note_is_a_note() {
        for score in &SCORES {
            for (note, beats) in score.notes {
                assert!(frequency(note).is_some(), "{note} in {}", score.name);
                assert!(*beats > 0.0);
            }
        }
    }

    #[test]
    fn songs_start_silent_and_are_audible() {
        for song in bundled_songs() {
            let mut samples = Vec::new();
            crate::convert::decode(song.format, &song.pcm, &mut samples);
            assert_eq!(samples[0], 0.0, "{}", song.name);
            let peak = samples.iter().fold(0.0f32, |m, s| m.max(s.abs()));
            assert!(
                (0.3..=AMPLITUDE as f32 + 0.01).contains(&peak),
                "{} peaks at {peak}",
                song.name
            );
        }
    }
}
