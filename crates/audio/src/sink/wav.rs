//! `wav:PATH`: recording what the player plays into WAV files, byte for
//! byte, as fast as it arrives.
//!
//! * PATH an existing directory: one file per track played,
//!   `01-ode_to_joy.wav`, `02-twinkle.wav`, … (a restart or a loop is a new
//!   track, so it gets a new file).
//! * Otherwise PATH is a file that collects everything played while the
//!   format stays the same. A track in another format closes it and goes on
//!   in `PATH-stem.2.wav`, then `.3.wav`, … beside it.
//!
//! The header is patched at every `end()` and when the sink is dropped, so
//! the files are valid WAVs even if the client stops between tracks.

use std::path::{Path, PathBuf};

use streamlab_proto::PcmFormat;

use crate::sink::Sink;
use crate::wav::WavFileWriter;
use crate::AudioError;

/// A sink writing WAV files (see the module docs for the naming rules).
#[derive(Debug)]
pub struct WavSink {
    path: PathBuf,
    is_dir: bool,
    writer: Option<WavFileWriter>,
    /// Files opened so far, in order.
    files: Vec<PathBuf>,
    /// Audio written since the header last told the truth.
    unsynced: u64,
}

impl WavSink {
    /// A sink for `path`; nothing is created before the first track.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        let path = path.into();
        Self {
            is_dir: path.is_dir(),
            path,
            writer: None,
            files: Vec::new(),
            unsynced: 0,
        }
    }

    /// Every file this sink has created, in order.
    pub fn files(&self) -> &[PathBuf] {
        &self.files
    }

    /// The file the next track of `format` goes to, or `None` to go on
    /// writing the open file.
    fn next_file(&self, name: &str, format: PcmFormat) -> Option<PathBuf> {
        let n = self.files.len() + 1;
        if self.is_dir {
            return Some(
                self.path
                    .join(format!("{n:02}-{}.wav", safe_file_name(name))),
            );
        }
        match &self.writer {
            Some(w) if w.format() == format => None,
            _ if n == 1 => Some(self.path.clone()),
            _ => Some(numbered_sibling(&self.path, n)),
        }
    }

    fn close(&mut self) -> Result<(), AudioError> {
        match self.writer.take() {
            Some(writer) => writer.finish(),
            None => Ok(()),
        }
    }
}

impl Sink for WavSink {
    fn begin(&mut self, name: &str, format: PcmFormat) -> Result<(), AudioError> {
        if let Some(file) = self.next_file(name, format) {
            self.close()?;
            self.writer = Some(WavFileWriter::create(&file, format)?);
            self.files.push(file);
        }
        Ok(())
    }

    fn write(&mut self, pcm: &[u8]) -> Result<(), AudioError> {
        match &mut self.writer {
            Some(writer) => {
                writer.write(pcm)?;
                // Keep the header's lengths at most about a second behind,
                // so a client killed mid-song (Ctrl-C) leaves a playable file.
                self.unsynced += pcm.len() as u64;
                if self.unsynced >= writer.format().bytes_per_second() {
                    self.unsynced = 0;
                    writer.sync()?;
                }
                Ok(())
            }
            None => Err(AudioError::Sink {
                sink: self.describe(),
                reason: "write before begin".into(),
            }),
        }
    }

    fn end(&mut self) -> Result<(), AudioError> {
        if self.is_dir {
            self.close()
        } else {
            self.writer.as_mut().map_or(Ok(()), WavFileWriter::sync)
        }
    }

    fn realtime(&self) -> bool {
        false
    }

    fn describe(&self) -> String {
        let kind = if self.is_dir { "directory" } else { "file" };
        format!("wav {kind} {}", self.path.display())
    }
}

/// `song.wav`, 3 → `song.3.wav` (in the same directory).
fn numbered_sibling(path: &Path, n: usize) -> PathBuf {
    let stem = path.file_stem().unwrap_or_default().to_string_lossy();
    let ext = path
        .extension()
        .map_or("wav".into(), |e| e.to_string_lossy());
    path.with_file_name(format!("{stem}.{n}.{ext}"))
}

/// A song name made safe as a file name: it comes from the server, so it
/// must not climb out of the directory (`../x`) or hide (`.x`).
fn safe_file_name(name: &str) -> String {
    let safe: String = name
        .chars()
        .map(|c| match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' | '-' | '_' | '.' => c,
            _ => '_',
        })
        .collect();
    match safe.trim_start_matches('.') {
        "" => "track".into(),
        rest => rest.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wav::load_wav;
    use streamlab_proto::SampleFormat;

    const MONO_U8: PcmFormat = PcmFormat {
        sample_rate: 8000,
        channels: 1,
        sample: SampleFormat::U8,
    };

    #[test]
    fn a_client_killed_mid_song_leaves_a_playable_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.wav");
        let mut sink = WavSink::new(&path);
        sink.begin("song", MONO_U8).unwrap();
        for _ in 0..25 {
            sink.write(&[128; 800]).unwrap(); // 0.1 s each, 2.5 s in all
        }
        // No end(), no Drop: what a killed process leaves behind.
        std::mem::forget(sink);
        let track = load_wav(&path).unwrap();
        assert!(
            track.pcm.len() >= 16_000,
            "{} bytes readable",
            track.pcm.len()
        );
    }

    fn play(sink: &mut WavSink, name: &str, format: PcmFormat, pieces: &[&[u8]]) {
        sink.begin(name, format).unwrap();
        for piece in pieces {
            sink.write(piece).unwrap();
        }
        sink.end().unwrap();
    }

    #[test]
    fn a_directory_gets_one_numbered_file_per_track() {
        let dir = tempfile::tempdir().unwrap();
        let mut sink = WavSink::new(dir.path());
        assert_eq!(
            sink.describe(),
            format!("wav directory {}", dir.path().display())
        );
        play(
            &mut sink,
            "ode",
            PcmFormat::CD,
            &[&[1, 2], &[3, 4, 5, 6, 7, 8]],
        );
        play(&mut sink, "../evil name", MONO_U8, &[&[9]]);
        play(&mut sink, "ode", PcmFormat::CD, &[&[1, 2, 3, 4]]);

        let names: Vec<_> = sink
            .files()
            .iter()
            .map(|p| p.file_name().unwrap().to_owned())
            .collect();
        assert_eq!(names, ["01-ode.wav", "02-_evil_name.wav", "03-ode.wav"]);
        let first = load_wav(&sink.files()[0]).unwrap();
        assert_eq!(&first.pcm[..], [1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(first.format, PcmFormat::CD);
        assert_eq!(
            &load_wav(dir.path().join("02-_evil_name.wav")).unwrap().pcm[..],
            [9]
        );
    }

    #[test]
    fn a_file_collects_tracks_until_the_format_changes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("all.wav");
        let mut sink = WavSink::new(&path);
        play(&mut sink, "a", PcmFormat::CD, &[&[1, 1, 1, 1]]);
        // Valid between tracks, before the sink is dropped.
        assert_eq!(&load_wav(&path).unwrap().pcm[..], [1, 1, 1, 1]);
        play(&mut sink, "b", PcmFormat::CD, &[&[2, 2, 2, 2]]);
        play(&mut sink, "c", MONO_U8, &[&[3]]);
        play(&mut sink, "d", PcmFormat::CD, &[&[4, 4, 4, 4]]);
        sink.begin("e", PcmFormat::CD).unwrap();
        sink.write(&[5, 5, 5, 5]).unwrap();
        drop(sink); // stopped mid-track: Drop fixes the header

        assert_eq!(&load_wav(&path).unwrap().pcm[..], [1, 1, 1, 1, 2, 2, 2, 2]);
        let second = load_wav(dir.path().join("all.2.wav")).unwrap();
        assert_eq!((second.format, &second.pcm[..]), (MONO_U8, &[3u8][..]));
        let third = load_wav(dir.path().join("all.3.wav")).unwrap();
        assert_eq!(&third.pcm[..], [4, 4, 4, 4, 5, 5, 5, 5]);
    }

    #[test]
    fn write_before_begin_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let mut sink = WavSink::new(dir.path().join("x.wav"));
        let err = sink.write(&[0]).unwrap_err().to_string();
        assert!(err.ends_with("x.wav: write before begin"), "{err}");
    }

    #[test]
    fn a_missing_parent_directory_is_reported_at_begin() {
        let mut sink = WavSink::new("/nonexistent/dir/x.wav");
        let err = sink.begin("a", PcmFormat::CD).unwrap_err();
        assert!(
            err.to_string().starts_with("/nonexistent/dir/x.wav: "),
            "{err}"
        );
    }

    #[test]
    fn names_are_made_safe() {
        assert_eq!(safe_file_name("ode_to_joy"), "ode_to_joy");
        assert_eq!(safe_file_name("a/b\\c d"), "a_b_c_d");
        assert_eq!(safe_file_name(".."), "track");
        assert_eq!(safe_file_name(".hidden"), "hidden");
        assert_eq!(
            numbered_sibling(Path::new("d/out.wav"), 2),
            Path::new("d/out.2.wav")
        );
        assert_eq!(
            numbered_sibling(Path::new("out"), 3),
            Path::new("out.3.wav")
        );
    }
}
