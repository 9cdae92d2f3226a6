//! PCM formats: how the audio bytes of a track are laid out.
//!
//! The original dialect never says what the bytes are: its client assumes
//! CD audio (44 100 Hz, 2 channels, signed 16-bit little endian). The framed
//! dialect writes the format into the `track_data_start` line, using the
//! names below (`s16le`, `f32le`, …), so a client can play any WAV.

use std::fmt;
use std::str::FromStr;

/// How one sample is stored. All multi-byte formats are little endian, as in
/// a WAV file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SampleFormat {
    /// Unsigned 8-bit, silence at 128 (the only unsigned WAV format).
    U8,
    /// Signed 16-bit.
    S16,
    /// Signed 24-bit, packed in 3 bytes.
    S24,
    /// Signed 32-bit.
    S32,
    /// IEEE 754 32-bit float, nominally in -1.0..=1.0.
    F32,
}

impl SampleFormat {
    /// Every format, in wire-name order (useful for tests and help text).
    pub const ALL: [SampleFormat; 5] = [Self::U8, Self::S16, Self::S24, Self::S32, Self::F32];

    /// Bytes one sample takes.
    pub fn bytes(self) -> usize {
        match self {
            Self::U8 => 1,
            Self::S16 => 2,
            Self::S24 => 3,
            Self::S32 | Self::F32 => 4,
        }
    }

    /// The name used on the wire (`track_data_start … s16le …`).
    pub fn wire_name(self) -> &'static str {
        match self {
            Self::U8 => "u8",
            Self::S16 => "s16le",
            Self::S24 => "s24le",
            Self::S32 => "s32le",
            Self::F32 => "f32le",
        }
    }
}

impl fmt::Display for SampleFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.wire_name())
    }
}

impl FromStr for SampleFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|f| f.wire_name() == s)
            .ok_or_else(|| format!("unknown sample format '{s}'"))
    }
}

/// The layout of a PCM byte stream: rate, channels and sample format.
/// Samples of the channels are interleaved; one *frame* holds one sample of
/// every channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PcmFormat {
    /// Frames per second, e.g. 44 100.
    pub sample_rate: u32,
    /// Channels per frame, e.g. 2 for stereo.
    pub channels: u16,
    /// How each sample is stored.
    pub sample: SampleFormat,
}

impl PcmFormat {
    /// CD audio: what the original client assumes every track is.
    pub const CD: PcmFormat = PcmFormat {
        sample_rate: 44_100,
        channels: 2,
        sample: SampleFormat::S16,
    };

    /// Bytes in one frame.
    pub fn frame_bytes(&self) -> usize {
        self.sample.bytes() * usize::from(self.channels)
    }

    /// Bytes of audio per second.
    pub fn bytes_per_second(&self) -> u64 {
        self.frame_bytes() as u64 * u64::from(self.sample_rate)
    }

    /// How long `bytes` of audio last, in seconds.
    pub fn seconds(&self, bytes: u64) -> f64 {
        match self.bytes_per_second() {
            0 => 0.0,
            bps => bytes as f64 / bps as f64,
        }
    }

    /// True when the numbers make sense (a rate and at least one channel).
    pub fn is_valid(&self) -> bool {
        self.sample_rate > 0 && self.channels > 0
    }
}

impl fmt::Display for PcmFormat {
    /// `44100 Hz, 2 ch, s16le`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} Hz, {} ch, {}",
            self.sample_rate, self.channels, self.sample
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_names_round_trip() {
        for f in SampleFormat::ALL {
            assert_eq!(f.wire_name().parse::<SampleFormat>(), Ok(f));
        }
        assert!("s16be".parse::<SampleFormat>().is_err());
    }

    #[test]
    fn cd_audio_is_176400_bytes_per_second() {
        assert_eq!(PcmFormat::CD.frame_bytes(), 4);
        assert_eq!(PcmFormat::CD.bytes_per_second(), 176_400);
        assert_eq!(PcmFormat::CD.seconds(352_800), 2.0);
    }
}
