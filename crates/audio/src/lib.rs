//! Audio for streamlab: the songs the server streams and the machinery the
//! client plays them with.
//!
//! * [`wav`]: load a WAV file as a [`Track`] whose bytes are the file's
//!   frames exactly; write PCM bytes back as a WAV file.
//! * [`library`]: the server's catalogue, every WAV file in a directory,
//!   scanned by header; [`song`]: one of its songs, read on first use.
//! * [`synth`]: the bundled public-domain songs, synthesised bit-exactly.
//! * [`buffer`]: a song being downloaded, shared between the network thread
//!   and the player.
//! * [`player`]: a thread playing one buffer at a time into a [`Sink`],
//!   with pause, resume, restart, stop and loop.
//! * [`sink`]: where the audio goes: nowhere (`null`), WAV files
//!   (`wav:PATH`) or a sound card (`speaker`, with the `speaker` feature).
//! * [`convert`]: PCM bytes to `f32`, channel mapping and resampling, for
//!   the sound card.
//!
//! The PCM types themselves ([`PcmFormat`], [`SampleFormat`], [`Track`])
//! belong to the protocol crate and are re-exported here.
//!
//! # Features
//!
//! `speaker` adds `sink::speaker` (cpal). Without it the crate builds
//! with no system audio library, and `SinkSpec::Speaker` fails to open with
//! a message saying how to enable it.

#![forbid(unsafe_code)]

pub mod buffer;
pub mod convert;
mod error;
pub mod library;
pub mod player;
pub mod sink;
pub mod song;
mod sync;
pub mod synth;
pub mod wav;

pub use buffer::{ReadResult, TrackBuffer};
pub use error::AudioError;
pub use library::{Library, ScanOptions};
pub use player::{Player, PlayerState, PlayerStatus};
#[cfg(feature = "speaker")]
pub use sink::speaker::{output_devices, SpeakerSink};
pub use sink::{NullSink, Sink, SinkSpec, WavSink};
pub use song::Song;
pub use streamlab_proto::{PcmFormat, SampleFormat, Track};
pub use wav::{load_wav, read_wav_info, write_wav, WavFileWriter, WavInfo};
