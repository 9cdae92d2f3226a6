//! The server's song catalogue: every WAV file directly in one directory.
//!
//! A song is named after its file's stem (`music/Ode_To_Joy.wav` →
//! `Ode_To_Joy`) and found again ignoring case. A file that fails to load
//! does not stop the server: it is skipped with a warning and listed in
//! [`Library::skipped`], so `streamlab server` can say why a song is missing.
//!
//! A scan reads each file's header only, which checks it and tells its
//! format and length; the audio is read on the song's first download (see
//! [`Song`]). So the server listens at once, however big the songs are.
//!
//! # Symlinks
//!
//! A symlink in the directory is served when it leads to a file inside the
//! directory (or below it). One that leads outside is skipped, with the
//! reason in [`Library::skipped`]: whoever may drop a link into the music
//! folder should not thereby publish any file the server can read
//! (`/home/me/private.wav`). [`ScanOptions::follow_symlinks`]
//! (`streamlab server --follow-symlinks`) serves them too, for a music
//! folder built out of links on purpose. The check is made again when a
//! song is read, so a file swapped for such a link after the scan is
//! refused too.

use std::fs;
use std::path::{Path, PathBuf};

use streamlab_proto::{same_song_name, Track};

use crate::song::Song;
use crate::wav::{file_stem, read_wav_info};
use crate::AudioError;

/// How [`Library::scan_with`] treats the files it finds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScanOptions {
    /// Serve symlinks that lead out of the song directory too. Off by
    /// default: see the module docs.
    pub follow_symlinks: bool,
}

/// The songs of one directory, sorted by name.
#[derive(Debug)]
pub struct Library {
    dir: PathBuf,
    songs: Vec<Song>,
    skipped: Vec<(PathBuf, String)>,
}

impl Library {
    /// Scans every `*.wav` file (extension in any case) directly in `dir`,
    /// reading headers only; subdirectories are not searched. Symlinks out
    /// of `dir` are skipped (see the module docs).
    ///
    /// Fails when `dir` is missing, is not a directory, cannot be listed, or
    /// holds no playable WAV file.
    pub fn scan(dir: impl AsRef<Path>) -> Result<Library, AudioError> {
        Library::scan_with(dir, ScanOptions::default())
    }

    /// [`scan`](Self::scan), with options.
    pub fn scan_with(dir: impl AsRef<Path>, options: ScanOptions) -> Result<Library, AudioError> {
        let dir = dir.as_ref();
        let files = wav_files(dir)?;
        let root = fs::canonicalize(dir).map_err(|e| library_error(dir, &e.to_string()))?;
        let confine = (!options.follow_symlinks).then_some(root);
        let mut library = Library {
            dir: dir.into(),
            songs: Vec::new(),
            skipped: Vec::new(),
        };
        for path in files {
            let checked = match &confine {
                Some(root) => check_inside(root, &path),
                None => Ok(()),
            };
            match checked.and_then(|()| read_wav_info(&path)) {
                Ok(info) => {
                    let song =
                        Song::from_file(file_stem(&path), path.clone(), info, confine.clone());
                    library.add(path, song);
                }
                Err(e) => {
                    tracing::warn!("skipping {e}");
                    library.skipped.push((path, e.to_string()));
                }
            }
        }
        if library.songs.is_empty() {
            return Err(library_error(dir, &no_songs_reason(library.skipped.len())));
        }
        Ok(library)
    }

    /// Builds a library from tracks already in memory (e.g. the bundled
    /// songs), sorted and de-duplicated like [`scan`](Self::scan).
    pub fn from_tracks(dir: impl Into<PathBuf>, tracks: Vec<Track>) -> Library {
        let mut library = Library {
            dir: dir.into(),
            songs: Vec::new(),
            skipped: Vec::new(),
        };
        let mut tracks = tracks;
        tracks.sort_by(|a, b| a.name.cmp(&b.name));
        for track in tracks {
            let path = library.dir.join(format!("{}.wav", track.name));
            library.add(path, Song::from_track(track));
        }
        library
    }

    /// The directory the songs came from.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The songs, sorted by name (byte order).
    pub fn songs(&self) -> &[Song] {
        &self.songs
    }

    /// True when there is no song at all.
    pub fn is_empty(&self) -> bool {
        self.songs.is_empty()
    }

    /// The song names, in the same order.
    pub fn names(&self) -> Vec<String> {
        self.songs.iter().map(|s| s.name().to_string()).collect()
    }

    /// The song named `name`, ignoring ASCII and Unicode case (the rule of
    /// [`streamlab_proto::find_track`]).
    pub fn find(&self, name: &str) -> Option<&Song> {
        self.songs.iter().find(|s| same_song_name(s.name(), name))
    }

    /// Every song as a [`Track`], reading all the audio not yet read: for
    /// tools that compare against every song (the demo, conformance
    /// checks), not for the server.
    pub fn load_all(&self) -> Result<Vec<Track>, AudioError> {
        self.songs.iter().map(Song::track).collect()
    }

    /// The files that were not taken, with the reason for each.
    pub fn skipped(&self) -> &[(PathBuf, String)] {
        &self.skipped
    }

    /// Adds `song` unless a song of the same name (ignoring case) is
    /// already there: the first one wins, since names are looked up that way.
    fn add(&mut self, path: PathBuf, song: Song) {
        if let Some(reason) = unsendable(song.name()) {
            tracing::warn!("skipping {}: {reason}", path.display());
            self.skipped.push((path, reason));
        } else if self.find(song.name()).is_some() {
            let reason = format!(
                "another song is already named '{}' (ignoring case)",
                song.name()
            );
            tracing::warn!("skipping {}: {reason}", path.display());
            self.skipped.push((path, reason));
        } else {
            self.songs.push(song);
        }
    }
}

/// Songs given in memory, with no directory: what a server is handed by
/// tests and tools that make their own tracks.
impl From<Vec<Track>> for Library {
    fn from(tracks: Vec<Track>) -> Library {
        Library::from_tracks(PathBuf::new(), tracks)
    }
}

/// Fails with [`AudioError::OutsideLibrary`] when `path`, followed through
/// any symlinks, is not a file inside `root` (a canonical path).
pub(crate) fn check_inside(root: &Path, path: &Path) -> Result<(), AudioError> {
    let target = fs::canonicalize(path).map_err(|e| AudioError::io(path, e))?;
    match target.starts_with(root) {
        true => Ok(()),
        false => Err(AudioError::OutsideLibrary {
            path: path.into(),
            target,
        }),
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

/// The `*.wav` files directly in `dir` (symlinks to files included),
/// sorted by stem (byte order).
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
#[path = "library_tests.rs"]
mod tests;
