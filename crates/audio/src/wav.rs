//! WAV files: loading a song bit-exactly and writing PCM bytes back out.
//!
//! Loading uses hound to read and validate the header (the `RIFF`/`WAVE`
//! tags, the `fmt ` chunk, `WAVE_FORMAT_EXTENSIBLE`), then reads the `data`
//! chunk *raw*: the [`Track`]'s bytes are the file's frames exactly as
//! stored, never decoded and re-encoded. That matters for 8-bit files, which
//! are unsigned on disk while hound hands them out as signed samples.
//!
//! The header can be read alone ([`read_wav_info`]): that is how the
//! server's [`Library`](crate::Library) checks every song at start without
//! reading any audio, then reads a song's `data` chunk on its first
//! download.
//!
//! Writing goes the other way: hound builds the header, [`WavFileWriter`]
//! appends raw bytes after it and patches the two length fields whenever it
//! is synced, so a file being written is a valid WAV after every sync.
//!
//! A file whose samples use fewer bits than they are stored in
//! (`WAVE_FORMAT_EXTENSIBLE` with, say, 24 valid bits in 4 bytes) is
//! refused: the WAV rules put the bits at the top of the container, but
//! hound itself writes them at the bottom, so such bytes cannot be trusted
//! to mean one thing.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use streamlab_proto::{PcmFormat, SampleFormat, Track};

use crate::AudioError;

/// Loads a PCM WAV file as a [`Track`] named after the file's stem.
///
/// Accepts 8/16/24/32-bit integer and 32-bit float samples, any channel
/// count and rate, plain or `WAVE_FORMAT_EXTENSIBLE` headers. The track's
/// `pcm` is the `data` chunk's bytes, bit for bit, read straight into the
/// shared buffer the track keeps (no second copy).
pub fn load_wav(path: impl AsRef<Path>) -> Result<Track, AudioError> {
    let path = path.as_ref();
    let (mut file, info) = open_wav(path)?;
    let pcm = crate::song::read_audio(path, &mut file, info, |_| {})?;
    Ok(Track {
        name: file_stem(path),
        format: info.format,
        pcm,
    })
}

/// What a WAV file's header says, learnt without reading its audio.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WavInfo {
    /// How to read the frames.
    pub format: PcmFormat,
    /// Where the `data` chunk's first byte is, counted from the file's start.
    pub data_start: u64,
    /// The `data` chunk's length in bytes: a whole number of frames, never 0.
    pub data_len: u32,
}

/// Reads and checks a WAV file's header, and that the file is long enough
/// to hold the audio the header announces, without reading the audio.
///
/// A file this accepts is one [`load_wav`] loads, unless it changes in
/// between.
pub fn read_wav_info(path: impl AsRef<Path>) -> Result<WavInfo, AudioError> {
    open_wav(path.as_ref()).map(|(_, info)| info)
}

/// Opens `path` and reads its header (see [`read_wav_info`]). The file's
/// position afterwards is unspecified: reading the audio seeks first.
pub(crate) fn open_wav(path: &Path) -> Result<(File, WavInfo), AudioError> {
    let file = File::open(path).map_err(|e| AudioError::io(path, e))?;
    let mut reader = Counted::new(BufReader::new(file));
    let info = read_header(path, &mut reader)?;
    let file = reader.inner.into_inner();
    let file_len = file.metadata().map_err(|e| AudioError::io(path, e))?.len();
    let has = file_len.saturating_sub(info.data_start);
    if has < u64::from(info.data_len) {
        return Err(AudioError::Truncated {
            path: path.into(),
            reason: format!("data chunk says {} bytes, file has {has}", info.data_len),
        });
    }
    Ok((file, info))
}

/// Writes `pcm` (raw frames in `format`) as a complete WAV file.
///
/// Loading the result with [`load_wav`] gives back the same bytes.
pub fn write_wav(path: impl AsRef<Path>, format: PcmFormat, pcm: &[u8]) -> Result<(), AudioError> {
    let mut writer = WavFileWriter::create(path, format)?;
    writer.write(pcm)?;
    writer.finish()
}

/// The stem of `path` (`music/ode_to_joy.wav` → `ode_to_joy`).
pub(crate) fn file_stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Reads the header up to the first byte of the `data` chunk: the format,
/// where the data starts and the data chunk's length.
///
/// hound validates the header but keeps the sample container size to
/// itself, so the length is read back from the data chunk's header (the
/// 4 bytes just before the data) and the container size derived from it.
fn read_header(path: &Path, file: &mut Counted<BufReader<File>>) -> Result<WavInfo, AudioError> {
    let (spec, samples) = match hound::WavReader::new(&mut *file) {
        Ok(reader) => (reader.spec(), reader.len()),
        Err(e) => return Err(header_error(path, e, file)),
    };
    // hound stopped right after the data chunk's 8-byte header (so at
    // least 44 bytes in): the data starts here, and its length field is
    // the 4 bytes before.
    let data_start = file.consumed;
    let len_field_at = data_start.saturating_sub(4);
    let mut len_field = [0; 4];
    file.inner
        .seek(SeekFrom::Start(len_field_at))
        .and_then(|_| file.inner.read_exact(&mut len_field))
        .map_err(|e| AudioError::io(path, e))?;
    let data_len = u32::from_le_bytes(len_field);
    if samples == 0 {
        return Err(AudioError::Empty { path: path.into() });
    }
    // hound checked that data_len is a whole number of samples and frames.
    let container = data_len / samples;
    let format = pcm_format(spec, container).map_err(|reason| unsupported(path, &reason))?;
    Ok(WavInfo {
        format,
        data_start,
        data_len,
    })
}

/// Turns hound's error into ours: a file that is not RIFF/WAVE at all, one
/// that ends inside its header, or one whose header we cannot play.
fn header_error(path: &Path, e: hound::Error, file: &Counted<impl Read>) -> AudioError {
    // `RIFF`, the length and `WAVE` are the first 12 bytes.
    let in_riff_header = file.consumed <= 12;
    match e {
        hound::Error::IoError(e) if !file.hit_eof => AudioError::io(path, e),
        hound::Error::FormatError(_) | hound::Error::IoError(_) if in_riff_header => {
            AudioError::NotWav { path: path.into() }
        }
        hound::Error::IoError(_) => AudioError::Truncated {
            path: path.into(),
            reason: "the file ends before its data chunk".into(),
        },
        hound::Error::Unsupported => unsupported(path, "compressed or unknown encoding"),
        other => unsupported(path, &other.to_string()),
    }
}

fn unsupported(path: &Path, reason: &str) -> AudioError {
    AudioError::Unsupported {
        path: path.into(),
        reason: reason.to_lowercase(),
    }
}

/// The PCM format of a header, given the bytes each sample is stored in,
/// or why it is not playable.
fn pcm_format(spec: hound::WavSpec, bytes: u32) -> Result<PcmFormat, String> {
    if u32::from(spec.bits_per_sample) != 8 * bytes {
        return Err(format!(
            "{}-bit samples in {bytes}-byte containers",
            spec.bits_per_sample
        ));
    }
    let sample = match (spec.sample_format, bytes) {
        (hound::SampleFormat::Float, 4) => SampleFormat::F32,
        (hound::SampleFormat::Float, _) => {
            return Err(format!("{}-bit float samples", spec.bits_per_sample))
        }
        (hound::SampleFormat::Int, 1) => SampleFormat::U8,
        (hound::SampleFormat::Int, 2) => SampleFormat::S16,
        (hound::SampleFormat::Int, 3) => SampleFormat::S24,
        (hound::SampleFormat::Int, 4) => SampleFormat::S32,
        (hound::SampleFormat::Int, _) => return Err(format!("{}-byte integer samples", bytes)),
    };
    let format = PcmFormat {
        sample_rate: spec.sample_rate,
        channels: spec.channels,
        sample,
    };
    match format.is_valid() {
        true => Ok(format),
        false => Err("a sample rate of 0 Hz".into()),
    }
}

/// A reader that counts the bytes read through it and remembers whether it
/// reached the end of its input. The count tells where hound stopped (the
/// start of the data); the end flag tells a short file from a failing disk
/// (hound reports both as the same I/O error).
struct Counted<R> {
    inner: R,
    consumed: u64,
    hit_eof: bool,
}

impl<R> Counted<R> {
    fn new(inner: R) -> Self {
        Self {
            inner,
            consumed: 0,
            hit_eof: false,
        }
    }
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.consumed += n as u64;
        self.hit_eof |= n == 0 && !buf.is_empty();
        Ok(n)
    }
}

/// Writes a WAV file incrementally: header first, raw frames after it.
///
/// [`sync`](Self::sync) patches the header's lengths and flushes, so the
/// file is valid between tracks; dropping the writer syncs too (ignoring
/// errors, which [`finish`](Self::finish) reports).
#[derive(Debug)]
pub struct WavFileWriter {
    file: BufWriter<File>,
    path: PathBuf,
    format: PcmFormat,
    header_len: u64,
    data_len: u64,
    synced: bool,
}

impl WavFileWriter {
    /// Creates (or truncates) `path` and writes a header for `format`.
    pub fn create(path: impl AsRef<Path>, format: PcmFormat) -> Result<Self, AudioError> {
        let path = path.as_ref();
        let header = header_for(path, format)?;
        let file = File::create(path).map_err(|e| AudioError::io(path, e))?;
        let mut writer = Self {
            file: BufWriter::new(file),
            path: path.into(),
            format,
            header_len: header.len() as u64,
            data_len: 0,
            synced: false,
        };
        writer
            .file
            .write_all(&header)
            .map_err(|e| writer.error(e))?;
        writer.sync()?;
        Ok(writer)
    }

    /// The file being written.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The format named in the header.
    pub fn format(&self) -> PcmFormat {
        self.format
    }

    /// Bytes of audio written so far.
    pub fn data_len(&self) -> u64 {
        self.data_len
    }

    /// Appends raw frames (in the header's format) to the `data` chunk.
    pub fn write(&mut self, pcm: &[u8]) -> Result<(), AudioError> {
        let data_len = self.data_len + pcm.len() as u64;
        // RIFF lengths are 32 bits and count the header and a pad byte too.
        if self.header_len + data_len + 1 > u64::from(u32::MAX) {
            return Err(AudioError::TooBig {
                path: self.path.clone(),
                what: "more than 4 GiB of audio".into(),
            });
        }
        self.file.write_all(pcm).map_err(|e| self.error(e))?;
        self.data_len = data_len;
        self.synced = false;
        Ok(())
    }

    /// Makes the file on disk a complete WAV: pads the data chunk to an even
    /// length, patches the RIFF and data lengths and flushes. Writing may go
    /// on afterwards.
    pub fn sync(&mut self) -> Result<(), AudioError> {
        self.patch_header().map_err(|e| self.error(e))?;
        self.synced = true;
        Ok(())
    }

    /// Syncs and closes the file.
    pub fn finish(mut self) -> Result<(), AudioError> {
        self.sync()
    }

    fn patch_header(&mut self) -> io::Result<()> {
        let pad = self.data_len % 2;
        let end = self.header_len + self.data_len;
        if pad == 1 {
            // RIFF chunks are word aligned; the next write overwrites the pad.
            self.file.write_all(&[0])?;
        }
        // Both fit in u32: `write` keeps header + data + pad below 4 GiB.
        let riff_len = (end + pad - 8) as u32;
        let data_len = self.data_len as u32;
        self.file.seek(SeekFrom::Start(4))?;
        self.file.write_all(&riff_len.to_le_bytes())?;
        self.file.seek(SeekFrom::Start(self.header_len - 4))?;
        self.file.write_all(&data_len.to_le_bytes())?;
        self.file.seek(SeekFrom::Start(end))?;
        self.file.flush()
    }

    fn error(&self, source: io::Error) -> AudioError {
        AudioError::io(&self.path, source)
    }
}

impl Drop for WavFileWriter {
    fn drop(&mut self) {
        if !self.synced {
            if let Err(e) = self.patch_header() {
                tracing::warn!("{}: finishing the WAV header: {e}", self.path.display());
            }
        }
    }
}

/// The header hound writes for `format`, with both lengths still 0: a
/// 44-byte PCM header, or 68 bytes with `WAVE_FORMAT_EXTENSIBLE` (more than
/// two channels or more than 16 bits).
fn header_for(path: &Path, format: PcmFormat) -> Result<Vec<u8>, AudioError> {
    let too_big = |what: &str| AudioError::TooBig {
        path: path.into(),
        what: what.into(),
    };
    if !format.is_valid() {
        return Err(too_big("a format with no channel or a 0 Hz rate"));
    }
    // hound computes these in u16/u32 and would overflow otherwise.
    let frame = format.frame_bytes();
    if frame > usize::from(u16::MAX) || format.bytes_per_second() > u64::from(u32::MAX) {
        return Err(too_big(&format!("{format}")));
    }
    let bits = 8 * format.sample.bytes() as u16;
    let spec = hound::WavSpec {
        channels: format.channels,
        sample_rate: format.sample_rate,
        bits_per_sample: bits,
        sample_format: match format.sample {
            SampleFormat::F32 => hound::SampleFormat::Float,
            _ => hound::SampleFormat::Int,
        },
    };
    let mut header = io::Cursor::new(Vec::new());
    hound::WavWriter::new(&mut header, spec)
        .and_then(|w| w.finalize())
        .map_err(|e| too_big(&format!("{format} ({e})")))?;
    Ok(header.into_inner())
}

#[cfg(test)]
#[path = "wav_tests.rs"]
mod tests;
