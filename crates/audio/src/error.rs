//! The one error type of this crate.
//!
//! Every message is short, lowercase and names the input it is about (a
//! file, a directory, a device, an output spec), so a binary can print it as
//! one line after its own context: `streamlab: music/x.wav: not a WAV file`.

use std::io;
use std::path::PathBuf;

/// Everything that can go wrong while loading, converting or playing audio.
#[derive(Debug, thiserror::Error)]
pub enum AudioError {
    /// Reading or writing a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What the operating system said.
        source: io::Error,
    },

    /// The file does not start with a RIFF/WAVE header.
    #[error("{}: not a WAV file", path.display())]
    NotWav {
        /// The file.
        path: PathBuf,
    },

    /// The file is a WAV file, but its header is broken or describes an
    /// encoding this crate does not play (compressed, 64-bit float, …).
    #[error("{}: unsupported WAV: {reason}", path.display())]
    Unsupported {
        /// The file.
        path: PathBuf,
        /// What is wrong, e.g. `64-bit float samples`.
        reason: String,
    },

    /// The file ends before its header or its `data` chunk does.
    #[error("{}: truncated: {reason}", path.display())]
    Truncated {
        /// The file.
        path: PathBuf,
        /// Where it ends, e.g. `data chunk says 1000 bytes, file has 10`.
        reason: String,
    },

    /// The `data` chunk holds no audio frame.
    #[error("{}: no audio frames", path.display())]
    Empty {
        /// The file.
        path: PathBuf,
    },

    /// A WAV file cannot describe this format or this much audio.
    #[error("{}: cannot write {what} to a WAV file", path.display())]
    TooBig {
        /// The file.
        path: PathBuf,
        /// What does not fit, e.g. `more than 4 GiB of audio`.
        what: String,
    },

    /// A song's file is no longer what the library scanned: read now, it
    /// would not be the song the clients were shown.
    #[error("{}: changed since the songs were scanned: {what}", path.display())]
    Changed {
        /// The file.
        path: PathBuf,
        /// What changed, e.g. `its format was …, now …`.
        what: String,
    },

    /// A song's file resolves, through a symlink, to a file outside the
    /// song directory, which is not served unless symlinks are followed
    /// (`streamlab server --follow-symlinks`).
    #[error(
        "{}: a symlink to {}, outside the song directory (serve it with --follow-symlinks)",
        path.display(),
        target.display()
    )]
    OutsideLibrary {
        /// The file in the song directory.
        path: PathBuf,
        /// Where it leads.
        target: PathBuf,
    },

    /// A song directory cannot be used.
    #[error("song directory {}: {reason}", path.display())]
    Library {
        /// The directory.
        path: PathBuf,
        /// `does not exist`, `not a directory`, `no playable WAV file`, …
        reason: String,
    },

    /// An output spec (`--output`) did not parse.
    #[error("invalid output '{0}': expected speaker[:NAME], wav:PATH or null")]
    BadSinkSpec(String),

    /// `speaker` output was asked of a build without the `speaker` feature.
    #[error(
        "speaker output needs the 'speaker' feature \
         (cargo build --features speaker; Linux needs libasound2-dev)"
    )]
    SpeakerDisabled,

    /// The sound card could not be found, opened or fed.
    #[error("audio device '{device}': {reason}")]
    Device {
        /// The device's name (`default` for the default device).
        device: String,
        /// What went wrong.
        reason: String,
    },

    /// A sink was used out of order (e.g. `write` before `begin`).
    #[error("{sink}: {reason}")]
    Sink {
        /// The sink's description.
        sink: String,
        /// What was wrong.
        reason: String,
    },

    /// The player thread could not be started.
    #[error("starting the player thread: {0}")]
    Thread(io::Error),
}

impl AudioError {
    /// Wraps an I/O error with the path it happened on.
    pub(crate) fn io(path: impl Into<PathBuf>, source: io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }
}
