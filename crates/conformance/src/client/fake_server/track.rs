//! Sending a track, shaped by the check's [`Behaviour`]: the start marker
//! (alone, or glued to the first audio), the audio (at once, in a trickle,
//! or half of it before the server vanishes) and the end marker (whole, or
//! cut in two).
//!
//! ```text
//! original                              framed
//! "track_data_start"  (pause 50 ms)     track_data_start <bytes> <rate> <ch> <fmt> <name>\n
//! <the PCM>                             <exactly <bytes> bytes of PCM>
//! "track_data_end"    (pause 50 ms)     track_data_end <name>\n
//! ```

use std::io;

use streamlab_proto::framed::{self, TrackHeader};
use streamlab_proto::{original, Dialect, Track};

use super::{Behaviour, Session, GLUED_BYTES, PAUSE, SPLIT_GAP, TRICKLE_GAP, TRICKLE_PIECES};
use crate::client::conn::Event;

/// Where `split-end-marker` cuts the end marker: `track_da` | `ta_end…`.
const SPLIT_AT: usize = 8;

fn audio_label(n: usize) -> String {
    format!("<{n} bytes of audio>")
}

impl Session<'_> {
    /// Sends `track`; `Ok(true)` when the server then hangs up.
    pub(super) fn send_track(&mut self, track: &Track) -> io::Result<bool> {
        let original = self.plan.dialect == Dialect::Original;
        let behaviour = self.plan.behaviour;
        let start = match original {
            true => original::TRACK_START.to_vec(),
            false => TrackHeader {
                bytes: track.pcm.len() as u64,
                format: track.format,
                name: track.name.clone(),
            }
            .emit(),
        };
        let pcm = &track.pcm[..];
        let rest = match behaviour {
            Behaviour::GluedMarker => {
                let glued = GLUED_BYTES.min(pcm.len());
                let mut bytes = start.clone();
                bytes.extend_from_slice(&pcm[..glued]);
                let label = format!(
                    "{} + {} in one write",
                    show_line(&start),
                    audio_label(glued)
                );
                self.write_labelled(&bytes, label)?;
                &pcm[glued..]
            }
            _ => {
                self.write(&start)?;
                if original {
                    self.pause(PAUSE);
                }
                pcm
            }
        };
        let end = match original {
            true => original::TRACK_END.to_vec(),
            false => framed::track_end(&track.name),
        };
        match behaviour {
            Behaviour::Vanishes => {
                let half = rest.len() / 2;
                self.write_labelled(&rest[..half], audio_label(half))?;
                return Ok(true);
            }
            Behaviour::Trickle => self.trickle(rest)?,
            Behaviour::SplitEndMarker => {
                let (first, second) = end.split_at(SPLIT_AT.min(end.len()));
                let mut bytes = rest.to_vec();
                bytes.extend_from_slice(first);
                let label = format!("{} + {}", audio_label(rest.len()), show_line(first));
                self.write_labelled(&bytes, label)?;
                self.pause(SPLIT_GAP);
                self.write(second)?;
                self.log.events.push(Event::TrackSent);
                if original {
                    self.pause(PAUSE);
                }
                return Ok(false);
            }
            _ if !rest.is_empty() => self.write_labelled(rest, audio_label(rest.len()))?,
            _ => {}
        }
        self.write(&end)?;
        self.log.events.push(Event::TrackSent);
        if original {
            self.pause(PAUSE);
        }
        Ok(false)
    }

    /// The audio in [`TRICKLE_PIECES`] writes, [`TRICKLE_GAP`] apart.
    fn trickle(&mut self, audio: &[u8]) -> io::Result<()> {
        let piece = audio.len().div_ceil(TRICKLE_PIECES).max(1);
        for (i, chunk) in audio.chunks(piece).enumerate() {
            if i > 0 {
                if self.reader.stopped() {
                    return Err(io::ErrorKind::Interrupted.into());
                }
                self.pause(TRICKLE_GAP);
            }
            self.write_labelled(chunk, audio_label(chunk.len()))?;
        }
        Ok(())
    }
}

/// A marker or line as the diagnoses quote it.
fn show_line(bytes: &[u8]) -> String {
    crate::diagnosis::show(bytes)
}
