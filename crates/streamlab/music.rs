//! The songs a command serves or plays: the bundled `music/` folder, or
//! the user's.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use streamlab_audio::library::{Library, ScanOptions};

/// The bundled music: `./music` when run from the repository, else the
/// folder next to the sources this binary was built from.
pub fn default_music_dir() -> PathBuf {
    let here = PathBuf::from("music");
    if here.is_dir() {
        return here;
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("music")
}

/// Scans the songs of a folder (headers only: audio is read on first
/// use); warns about files it skipped.
pub fn load_library(dir: Option<&Path>) -> Result<Library> {
    scan_library(dir, ScanOptions::default())
}

pub fn scan_library(dir: Option<&Path>, options: ScanOptions) -> Result<Library> {
    let dir = dir.map(Path::to_path_buf).unwrap_or_else(default_music_dir);
    let lib = Library::scan_with(&dir, options)
        .with_context(|| format!("loading songs from {}", dir.display()))?;
    Ok(lib)
}
