//! The server's song catalogue: every WAV file directly in one directory.
//!
//! A song is named after its file's stem (`music/Ode_To_Joy.wav` →
//! `Ode_To_Joy`) and found again ignoring case. A file that fails to load
//! does not stop the server: it is skipped with a warning and listed in
//! [`Library::skipped`], so `streamlab serve` can say why a song is missing.

use std::fs;
use std::path::{Path, PathBuf};

use streamlab_proto::Track;

use crate::wav::load_wav;
use crate::AudioError;

/// The songs of one directory, sorted by name.
#[derive(Debug, Clone)]
pub struct Library {
    dir: PathBuf,
    tracks: Vec<Track>,
    skipped: Vec<(PathBuf, String)>,
}

impl Library {
    /// Loads every `*.wav` file (extension in any case) directly in `dir`;
    /// subdirectories are not searched.
    ///
    /// Fails when `dir` is missing, is not a directory, cannot be listed, or
    /// holds no WAV file that loads.
    pub fn scan(dir: impl AsRef<Path>) -> Result<Library, AudioError> {
        let dir = dir.as_ref();
        let mut library = Library {
            dir: dir.into(),
            tracks: Vec::new(),
            skipped: Vec::new(),
        };
        for path in wav_files(dir)? {
            match load_wav(&path) {
                Ok(track) => library.add(path, track),
                Err(e) => {
                    tracing::warn!("skipping {e}");
                    library.skipped.push((path, e.to_string()));
                }
            }
        }
        if library.tracks.is_empty() {
            return Err(library_error(dir, &no_songs_reason(library.skipped.len())));
        }
        Ok(library)
    }

    /// Builds a library from tracks already in memory (e.g. the bundled
    /// songs), sorted and de-duplicated like [`scan`](Self::scan).
    pub fn from_tracks(dir: impl Into<PathBuf>, tracks: Vec<Track>) -> Library {
        let mut library = Library {
            dir: dir.into(),
            tracks: Vec::new(),
            skipped: Vec::new(),
        };
        let mut tracks = tracks;
        tracks.sort_by(|a, b| a.name.cmp(&b.name));
        for track in tracks {
            let path = library.dir.join(format!("{}.wav", track.name));
            library.add(path, track);
        }
        library
    }

    /// The directory the songs came from.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The songs, sorted by name (byte order).
    pub fn tracks(&self) -> &[Track] {
        &self.tracks
    }

    /// The song names, in the same order.
    pub fn names(&self) -> Vec<String> {
        self.tracks.iter().map(|t| t.name.clone()).collect()
    }

    /// The song named `name`, ignoring ASCII and Unicode case. Cloning a
    /// track is cheap: its PCM is shared.
    pub fn find(&self, name: &str) -> Option<Track> {
        streamlab_proto::find_track(&self.tracks, name).cloned()
    }

    /// The files that did not load, with the reason for each.
    pub fn skipped(&self) -> &[(PathBuf, String)] {
        &self.skipped
    }

    /// Adds `track` unless a song of the same name (ignoring case) is
    /// already there: the first one wins, since names are looked up that way.
    fn add(&mut self, path: PathBuf, track: Track) {
        if let Some(reason) = unsendable(&track.name) {
            tracing::warn!("skipping {}: {reason}", path.display());
            self.skipped.push((path, reason));
        } else if self.find(&track.name).is_some() {
            let reason = format!(
                "another song is already named '{}' (ignoring case)",
                track.name
            );
            tracing::warn!("skipping {}: {reason}", path.display());
            self.skipped.push((path, reason));
        } else {
            self.tracks.push(track);
        }
    }
}

/// Why a song could not be asked for by name, if it could not: a client's
/// `download` must be able to spell it (see `streamlab_proto::request`).
fn unsendable(name: &str) -> Option<String> {
    if name.is_empty() || name.trim() != name {
        return Some(format!("its name {name:?} starts or ends with a space"));
    }
    streamlab_proto::request::checked_name("download", name)
        .err()
        .map(|e| format!("it cannot be asked for: {e}"))
}

/// The `*.wav` files directly in `dir`, sorted by stem (byte order).
fn wav_files(dir: &Path) -> Result<Vec<PathBuf>, AudioError> {
    let meta = fs::metadata(dir).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => library_error(dir, "does not exist"),
        _ => library_error(dir, &e.to_string()),
    })?;
    if !meta.is_dir() {
        return Err(library_error(dir, "not a directory"));
    }
    let entries = fs::read_dir(dir).map_err(|e| library_error(dir, &e.to_string()))?;
    let mut files = Vec::new();
    for entry in entries {
        let path = entry
            .map_err(|e| library_error(dir, &e.to_string()))?
            .path();
        let is_wav = path
            .extension()
            .is_some_and(|ext| ext.eq_ignore_ascii_case("wav"));
        if is_wav && path.is_file() {
            files.push(path);
        }
    }
    files.sort_by(|a, b| a.file_stem().cmp(&b.file_stem()));
    Ok(files)
}

fn no_songs_reason(skipped: usize) -> String {
    match skipped {
        0 => "no playable WAV file".into(),
        n => format!("no playable WAV file ({n} skipped)"),
    }
}

fn library_error(dir: &Path, reason: &str) -> AudioError {
    AudioError::Library {
        path: dir.into(),
        reason: reason.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wav::write_wav;
    use streamlab_proto::PcmFormat;

    fn song(dir: &Path, file: &str, bytes: &[u8]) {
        write_wav(dir.join(file), PcmFormat::CD, bytes).unwrap();
    }

    #[test]
    fn scans_wav_files_sorted_and_skips_broken_ones() {
        let dir = tempfile::tempdir().unwrap();
        song(dir.path(), "b_song.WAV", &[1, 2, 3, 4]);
        song(dir.path(), "a_song.wav", &[5, 6, 7, 8]);
        song(dir.path(), "Zebra.wav", &[9, 9, 9, 9]);
        fs::write(dir.path().join("broken.wav"), b"not audio").unwrap();
        fs::write(dir.path().join("readme.txt"), b"hi").unwrap();
        fs::create_dir(dir.path().join("sub")).unwrap();
        song(&dir.path().join("sub"), "deep.wav", &[0; 4]);

        let library = Library::scan(dir.path()).unwrap();
        // Byte order: uppercase sorts before lowercase.
        assert_eq!(library.names(), ["Zebra", "a_song", "b_song"]);
        assert_eq!(library.skipped().len(), 1);
        assert!(library.skipped()[0].1.contains("not a WAV file"));
        assert_eq!(library.dir(), dir.path());
        assert_eq!(library.tracks().len(), 3);
    }

    #[test]
    fn songs_whose_names_a_client_cannot_send_are_skipped() {
        let dir = tempfile::tempdir().unwrap();
        song(dir.path(), "good.wav", &[1, 2, 3, 4]);
        song(dir.path(), "two..dots.wav", &[1, 2, 3, 4]);
        song(dir.path(), "new\nline.wav", &[1, 2, 3, 4]);
        song(dir.path(), " padded.wav", &[1, 2, 3, 4]);
        let library = Library::scan(dir.path()).unwrap();
        assert_eq!(library.names(), ["good"]);
        assert_eq!(library.skipped().len(), 3, "{:?}", library.skipped());
    }

    #[test]
    fn find_ignores_case_and_shares_the_pcm() {
        let dir = tempfile::tempdir().unwrap();
        song(dir.path(), "Ode.wav", &[1, 2, 3, 4]);
        let library = Library::scan(dir.path()).unwrap();
        let found = library.find("oDE").unwrap();
        assert_eq!(found.name, "Ode");
        assert!(std::sync::Arc::ptr_eq(&found.pcm, &library.tracks()[0].pcm));
        assert!(library.find("od").is_none());
    }

    #[test]
    fn names_equal_ignoring_case_keep_the_first() {
        let dir = tempfile::tempdir().unwrap();
        song(dir.path(), "SONG.wav", &[1, 1, 1, 1]);
        song(dir.path(), "song.wav", &[2, 2, 2, 2]);
        let library = Library::scan(dir.path()).unwrap();
        assert_eq!(library.names(), ["SONG"]);
        assert_eq!(&library.find("song").unwrap().pcm[..], [1, 1, 1, 1]);
        assert!(library.skipped()[0].1.contains("already named"));
    }

    #[test]
    fn unusable_directories_are_one_line_errors() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope");
        let err = Library::scan(&missing).unwrap_err().to_string();
        assert_eq!(
            err,
            format!("song directory {}: does not exist", missing.display())
        );

        let file = dir.path().join("file.wav");
        song(dir.path(), "file.wav", &[0; 4]);
        let err = Library::scan(&file).unwrap_err().to_string();
        assert!(err.ends_with("file.wav: not a directory"), "{err}");

        let empty = tempfile::tempdir().unwrap();
        let err = Library::scan(empty.path()).unwrap_err().to_string();
        assert!(err.ends_with(": no playable WAV file"), "{err}");

        fs::write(empty.path().join("bad.wav"), b"RIFF").unwrap();
        let err = Library::scan(empty.path()).unwrap_err().to_string();
        assert!(err.ends_with(": no playable WAV file (1 skipped)"), "{err}");
        assert!(!err.contains('\n'));
    }

    #[test]
    fn from_tracks_sorts_and_dedups() {
        let t = |name: &str| Track {
            name: name.into(),
            format: PcmFormat::CD,
            pcm: vec![0u8; 4].into(),
        };
        let library = Library::from_tracks("bundled", vec![t("b"), t("a"), t("A")]);
        assert_eq!(library.names(), ["A", "b"]);
        assert_eq!(library.skipped()[0].0, Path::new("bundled/a.wav"));
    }
}
