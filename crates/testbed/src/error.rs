//! What can go wrong in a kernel run, each in one line naming its input.

use std::io;
use std::path::PathBuf;

/// Why a kernel run did not give figures.
#[derive(Debug, thiserror::Error)]
pub enum TestbedError {
    /// Neither root nor a way to make namespaces without it.
    #[error("the kernel testbed needs root (network namespaces and TUN devices); run it with sudo or as root")]
    NotPermitted,
    /// Only Linux has network namespaces and TUN devices as used here.
    #[error("the kernel testbed runs on Linux only")]
    Unsupported,
    #[error("song {name:?} not found in {dir}")]
    SongNotFound { name: String, dir: PathBuf },
    #[error("reading song {name:?} from {dir}: {message}")]
    Song {
        name: String,
        dir: PathBuf,
        message: String,
    },
    #[error("streamlab binary {0} does not exist")]
    NoBinary(PathBuf),
    /// A command that sets up the namespaces failed.
    #[error("`{command}` failed: {message}")]
    Command { command: String, message: String },
    #[error("{what}: {error}")]
    Io { what: String, error: io::Error },
    /// A child process ended before it should, or failed.
    #[error("{what}; its stderr: {stderr}")]
    Child { what: String, stderr: String },
    #[error("the run took longer than {0} s and was stopped")]
    Timeout(u64),
    #[error("writing capture {path}: {message}")]
    Capture { path: PathBuf, message: String },
    #[error("interrupted")]
    Interrupted,
}

impl TestbedError {
    pub(crate) fn io(what: impl Into<String>, error: io::Error) -> Self {
        TestbedError::Io {
            what: what.into(),
            error,
        }
    }
}
