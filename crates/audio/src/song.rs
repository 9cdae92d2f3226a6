//! One song of a [`Library`](crate::Library): what its WAV header says,
//! known from the start, and its audio, read from disk on first use.
//!
//! A server that read every song at start would be silent for as long as
//! that takes (11 s for a 1.5 GB file) and would hold songs nobody asks
//! for. So a scan reads headers only, and a [`Song`] reads its `data` chunk
//! the first time [`Song::track`] is called — by the server's context when
//! a client downloads it, never by the sans-IO session. The audio is read
//! once, straight into the `Arc<[u8]>` every later download shares, and
//! stays for the life of the library.
//!
//! Why not map the file into memory? A mapping needs `unsafe`, and a file
//! truncated while mapped kills the whole process with `SIGBUS` on the next
//! read of a vanished page: one careless `cp` over a song would take every
//! client down. Reading costs a copy in memory, but a file that changes or
//! vanishes is an error reply to one client (see `docs/architecture.md`).

use std::fmt;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use streamlab_proto::{PcmFormat, Track};

use crate::wav::{open_wav, WavInfo};
use crate::AudioError;

/// A load still running after this long is logged, and logged again each
/// time this much more time passes, so a slow disk does not look like a
/// hung server. Not a limit: the load goes on.
pub const LOAD_PROGRESS_EVERY: Duration = Duration::from_secs(1);

/// A song: a name, a format and audio, in memory or read on first use.
pub struct Song {
    name: String,
    format: PcmFormat,
    source: Source,
}

enum Source {
    /// Audio given in memory (the bundled songs, tests).
    Memory(Arc<[u8]>),
    /// A WAV file whose header was checked at scan time.
    File(LazyFile),
}

struct LazyFile {
    path: PathBuf,
    /// What the header said at scan time; a load checks it again.
    info: WavInfo,
    /// The song directory (canonical) the file must still resolve into
    /// when it is read, unless symlinks out of it are allowed.
    confine: Option<PathBuf>,
    /// The audio once read. The lock is held while reading, so clients
    /// that ask at once read the file once: the others wait, then share.
    /// A failed read leaves it empty, so the next request tries again.
    pcm: Mutex<Option<Arc<[u8]>>>,
}

impl Song {
    /// A song whose audio is already in memory.
    pub fn from_track(track: Track) -> Song {
        Song {
            name: track.name,
            format: track.format,
            source: Source::Memory(track.pcm),
        }
    }

    /// A song to be read from `path` on first use. `info` is what its
    /// header said; `confine`, if given, is the canonical directory the
    /// file must still resolve into when it is read.
    pub(crate) fn from_file(
        name: String,
        path: PathBuf,
        info: WavInfo,
        confine: Option<PathBuf>,
    ) -> Song {
        Song {
            name,
            format: info.format,
            source: Source::File(LazyFile {
                path,
                info,
                confine,
                pcm: Mutex::new(None),
            }),
        }
    }

    // ----- getters -----

    /// The name clients ask for.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// How to read the audio.
    pub fn format(&self) -> PcmFormat {
        self.format
    }

    /// The audio's length in bytes (known before it is read).
    pub fn audio_bytes(&self) -> u64 {
        match &self.source {
            Source::Memory(pcm) => pcm.len() as u64,
            Source::File(file) => u64::from(file.info.data_len),
        }
    }

    /// The file the song is read from, if it comes from one.
    pub fn path(&self) -> Option<&Path> {
        match &self.source {
            Source::Memory(_) => None,
            Source::File(file) => Some(&file.path),
        }
    }

    /// True when the audio is in memory: given so, or read already. (It
    /// waits while another thread is reading it.)
    pub fn is_loaded(&self) -> bool {
        match &self.source {
            Source::Memory(_) => true,
            Source::File(file) => file.slot().is_some(),
        }
    }

    // ----- loading -----

    /// The song as a [`Track`], reading its audio first if no one has yet.
    /// Every track of a song shares one copy of the audio.
    ///
    /// Fails, without panicking, when the file has vanished, changed since
    /// the scan (another format or length), been cut short, or been turned
    /// into a symlink out of the song directory.
    pub fn track(&self) -> Result<Track, AudioError> {
        let pcm = match &self.source {
            Source::Memory(pcm) => Arc::clone(pcm),
            Source::File(file) => file.load(&self.name)?,
        };
        Ok(Track {
            name: self.name.clone(),
            format: self.format,
            pcm,
        })
    }
}

impl LazyFile {
    fn slot(&self) -> std::sync::MutexGuard<'_, Option<Arc<[u8]>>> {
        // A panic while reading leaves the slot empty (it is written
        // only after a read succeeds): the next request reads again.
        crate::sync::lock(&self.pcm)
    }

    fn load(&self, name: &str) -> Result<Arc<[u8]>, AudioError> {
        let mut slot = self.slot();
        if let Some(pcm) = slot.as_ref() {
            return Ok(Arc::clone(pcm));
        }
        let pcm = self.read(name)?;
        *slot = Some(Arc::clone(&pcm));
        Ok(pcm)
    }

    fn read(&self, name: &str) -> Result<Arc<[u8]>, AudioError> {
        let path = &self.path;
        if let Some(dir) = &self.confine {
            crate::library::check_inside(dir, path)?;
        }
        let (mut file, info) = open_wav(path)?;
        if info != self.info {
            return Err(AudioError::Changed {
                path: path.clone(),
                what: changes(self.info, info),
            });
        }
        let mut progress = Progress::new(name, u64::from(info.data_len));
        let pcm = read_audio(path, &mut file, info, |done| progress.update(done))?;
        progress.finish();
        Ok(pcm)
    }
}

/// How many bytes [`read_audio`] reads at a time, between two calls of its
/// progress callback: large enough that the calls cost nothing, small
/// enough that a slow disk still reports often.
const READ_CHUNK: usize = 8 << 20;

/// Reads the `data` chunk described by `info` from `file` into a new
/// shared buffer, calling `progress` with the bytes read so far after each
/// read (of at most [`READ_CHUNK`]). Fails if the file is cut short.
///
/// The buffer is allocated once at its final size and the file read
/// straight into it: reading into a `Vec` and converting it to an
/// `Arc<[u8]>` would hold two copies of the song at the peak. It is
/// zeroed first (reading into memory not yet initialised needs `unsafe`);
/// for a big song, the kernel handing out that many pages is most of the
/// time a load takes when the file is in the page cache.
pub(crate) fn read_audio(
    path: &Path,
    file: &mut File,
    info: WavInfo,
    mut progress: impl FnMut(u64),
) -> Result<Arc<[u8]>, AudioError> {
    let len = info.data_len as usize;
    // An exact-size iterator: `collect` allocates the Arc once, at its size.
    let mut pcm: Arc<[u8]> = std::iter::repeat_n(0u8, len).collect();
    // Just made here, so nobody else holds it yet.
    let buf = Arc::get_mut(&mut pcm).expect("a new Arc is not shared");
    file.seek(SeekFrom::Start(info.data_start))
        .map_err(|e| AudioError::io(path, e))?;
    let mut done = 0;
    while done < len {
        let end = len.min(done + READ_CHUNK);
        match file.read(&mut buf[done..end]) {
            Ok(0) => {
                return Err(AudioError::Truncated {
                    path: path.into(),
                    reason: format!("data chunk says {len} bytes, file has {done}"),
                })
            }
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(AudioError::io(path, e)),
        }
        progress(done as u64);
    }
    debug_assert_eq!(
        len % info.format.frame_bytes(),
        0,
        "hound checks whole frames"
    );
    Ok(pcm)
}

/// What differs between the header seen at scan time and the one now.
fn changes(then: WavInfo, now: WavInfo) -> String {
    if then.format != now.format {
        format!("its format was {}, now {}", then.format, now.format)
    } else {
        format!(
            "its audio was {} bytes at byte {}, now {} at byte {}",
            then.data_len, then.data_start, now.data_len, now.data_start
        )
    }
}

/// Logs a slow load: when it passes [`LOAD_PROGRESS_EVERY`], then again
/// at each further step, and when it ends.
struct Progress<'a> {
    name: &'a str,
    total: u64,
    start: Instant,
    next: Duration,
    logged: bool,
}

impl<'a> Progress<'a> {
    fn new(name: &'a str, total: u64) -> Self {
        tracing::debug!("reading '{name}' ({}) from disk", megabytes(total));
        Progress {
            name,
            total,
            start: Instant::now(),
            next: LOAD_PROGRESS_EVERY,
            logged: false,
        }
    }

    fn update(&mut self, done: u64) {
        let elapsed = self.start.elapsed();
        if elapsed < self.next || done >= self.total {
            return;
        }
        // `done * 100` fits in a u64: a data chunk is at most 4 GiB.
        tracing::info!(
            "reading '{}': {}% of {} after {:.1} s",
            self.name,
            done * 100 / self.total.max(1),
            megabytes(self.total),
            elapsed.as_secs_f64()
        );
        self.next = elapsed + LOAD_PROGRESS_EVERY;
        self.logged = true;
    }

    fn finish(&self) {
        if self.logged {
            tracing::info!(
                "read '{}' ({}) in {:.1} s",
                self.name,
                megabytes(self.total),
                self.start.elapsed().as_secs_f64()
            );
        }
    }
}

/// `1499.4 MB`: sizes as a person reads them in a log.
fn megabytes(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

impl fmt::Debug for Song {
    // Not derived: that would print every byte of a loaded song.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Song")
            .field("name", &self.name)
            .field("format", &self.format)
            .field("audio_bytes", &self.audio_bytes())
            .field("path", &self.path())
            .finish_non_exhaustive()
    }
}
