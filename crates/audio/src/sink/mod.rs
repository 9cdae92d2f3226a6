//! Where the client's player sends the audio: the [`Sink`] trait, the
//! simple sinks, and [`SinkSpec`], the `--output` option that picks one.
//!
//! ```text
//! null            count the bytes, play nothing (as fast as they arrive)
//! wav:PATH        write WAV files (PATH a directory: one file per track)
//! speaker         the default sound card, paced in real time
//! speaker:NAME    the first sound card whose name contains NAME
//! ```

mod paced;
#[cfg(any(test, feature = "speaker"))]
mod ring;
#[cfg(feature = "speaker")]
pub mod speaker;
mod wav;

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use streamlab_proto::PcmFormat;

use crate::AudioError;

pub use paced::Paced;
pub use wav::WavSink;

/// Something that plays PCM bytes.
///
/// The player calls `begin` each time a track starts playing (again when it
/// restarts or loops), `write` with whole frames in the format `begin`
/// named, and `end` when the track stops or finishes.
pub trait Sink: Send {
    /// A track starts: the bytes that follow are `format`.
    fn begin(&mut self, name: &str, format: PcmFormat) -> Result<(), AudioError>;
    /// Plays whole frames. A real-time sink blocks until there is room.
    fn write(&mut self, pcm: &[u8]) -> Result<(), AudioError>;
    /// The track stopped or finished. Nothing to do, unless the sink has
    /// something to close or flush.
    fn end(&mut self) -> Result<(), AudioError> {
        Ok(())
    }
    /// True when `write` paces playback at the audio's own speed; most
    /// sinks take audio as fast as it comes.
    fn realtime(&self) -> bool {
        false
    }
    /// A short description for logs, e.g. `wav file out.wav`.
    fn describe(&self) -> String;
}

/// A sink that plays nothing and counts what it was given.
#[derive(Debug, Default, Clone)]
pub struct NullSink {
    bytes: u64,
    tracks: u64,
}

impl NullSink {
    /// A sink that has counted nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Bytes written so far.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Times `begin` was called.
    pub fn tracks(&self) -> u64 {
        self.tracks
    }
}

impl Sink for NullSink {
    fn begin(&mut self, _name: &str, _format: PcmFormat) -> Result<(), AudioError> {
        self.tracks += 1;
        Ok(())
    }

    fn write(&mut self, pcm: &[u8]) -> Result<(), AudioError> {
        self.bytes += pcm.len() as u64;
        Ok(())
    }

    fn describe(&self) -> String {
        "null".into()
    }
}

/// Which sink to open, as written on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SinkSpec {
    /// `null`
    Null,
    /// `wav:PATH`
    Wav(PathBuf),
    /// `speaker` (`None`) or `speaker:NAME`.
    Speaker(Option<String>),
}

impl SinkSpec {
    /// Opens the sink. `speaker` fails with [`AudioError::SpeakerDisabled`]
    /// in a build without the `speaker` feature.
    pub fn open(&self) -> Result<Box<dyn Sink>, AudioError> {
        match self {
            SinkSpec::Null => Ok(Box::new(NullSink::new())),
            SinkSpec::Wav(path) => Ok(Box::new(WavSink::new(path))),
            SinkSpec::Speaker(name) => open_speaker(name.as_deref()),
        }
    }
}

#[cfg(feature = "speaker")]
fn open_speaker(name: Option<&str>) -> Result<Box<dyn Sink>, AudioError> {
    Ok(Box::new(speaker::SpeakerSink::open(name)?))
}

#[cfg(not(feature = "speaker"))]
fn open_speaker(_name: Option<&str>) -> Result<Box<dyn Sink>, AudioError> {
    Err(AudioError::SpeakerDisabled)
}

impl FromStr for SinkSpec {
    type Err = AudioError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || AudioError::BadSinkSpec(s.into());
        match s.split_once(':') {
            None if s == "null" => Ok(SinkSpec::Null),
            None if s == "speaker" => Ok(SinkSpec::Speaker(None)),
            Some(("wav", path)) if !path.is_empty() => Ok(SinkSpec::Wav(path.into())),
            Some(("speaker", name)) if !name.is_empty() => Ok(SinkSpec::Speaker(Some(name.into()))),
            _ => Err(bad()),
        }
    }
}

impl fmt::Display for SinkSpec {
    /// The spec as it would be written on the command line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SinkSpec::Null => f.write_str("null"),
            SinkSpec::Wav(path) => write!(f, "wav:{}", path.display()),
            SinkSpec::Speaker(None) => f.write_str("speaker"),
            SinkSpec::Speaker(Some(name)) => write!(f, "speaker:{name}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse_and_print_back() {
        for text in [
            "null",
            "wav:out.wav",
            "wav:/tmp/dir",
            "speaker",
            "speaker:USB Audio",
        ] {
            let spec: SinkSpec = text.parse().unwrap();
            assert_eq!(spec.to_string(), text);
        }
        assert_eq!(
            "wav:a:b.wav".parse::<SinkSpec>().unwrap(),
            SinkSpec::Wav("a:b.wav".into())
        );
    }

    #[test]
    fn bad_specs_say_what_is_expected() {
        for text in ["foo", "", "wav", "wav:", "speaker:", "null:x", "Speaker"] {
            let err = text.parse::<SinkSpec>().unwrap_err();
            assert_eq!(
                err.to_string(),
                format!("invalid output '{text}': expected speaker[:NAME], wav:PATH or null")
            );
        }
    }

    #[test]
    fn the_null_sink_counts() {
        let mut sink = SinkSpec::Null.open().unwrap();
        sink.begin("x", PcmFormat::CD).unwrap();
        sink.write(&[0; 8]).unwrap();
        sink.end().unwrap();
        assert!(!sink.realtime());
        assert_eq!(sink.describe(), "null");
    }

    #[cfg(not(feature = "speaker"))]
    #[test]
    fn speaker_without_the_feature_says_how_to_get_it() {
        let err = SinkSpec::Speaker(None)
            .open()
            .err()
            .expect("no speaker support");
        assert_eq!(
            err.to_string(),
            "speaker output needs the 'speaker' feature \
             (cargo build --features speaker; Linux needs libasound2-dev)"
        );
    }
}
