//! What the client session will not take from a server: how much one track
//! or one counted reply may hold, how long a track may go without a byte,
//! and how the server's own bytes are quoted in the reasons it gives.
//!
//! Each bound closes the session with a reason rather than waiting or
//! growing: a server that breaks one has either failed or means harm, and
//! in both dialects nothing else can arrive before the track in progress
//! ends, so there is nothing to skip to.

use std::time::Duration;

use super::{ClientSession, Framed, Original};
use crate::escape::escape;

/// The most audio bytes one track may hold unless
/// [`ClientConfig::max_track_bytes`](super::ClientConfig::max_track_bytes)
/// says otherwise: 512 MiB, about 50 minutes of CD audio. The bundled songs
/// are a few MB and a 10-minute WAV (44.1 kHz, 16-bit stereo) is ~106 MB;
/// a framed header that announces 100 GB is not a song.
pub const DEFAULT_MAX_TRACK_BYTES: u64 = 512 << 20;

/// How long a track may go without a single byte unless
/// [`ClientConfig::track_stall`](super::ClientConfig::track_stall) says
/// otherwise. Far longer than the retransmission back-off of a connection
/// that still works; without it, a server that goes silent mid-track with
/// the connection open keeps a player waiting for ever.
pub const DEFAULT_TRACK_STALL: Duration = Duration::from_secs(30);

/// The most bytes the lines of one counted framed reply (a song or device
/// list) may hold together. [`MAX_BODY_LINES`](super::MAX_BODY_LINES) lines
/// of up to 64 KiB each would otherwise be 6 GiB.
pub const MAX_BODY_BYTES: usize = 4 << 20;

/// The most characters of the server's text quoted in one reason.
const QUOTED: usize = 200;

/// The server's bytes as printable text for a reason (see [`escape`]).
pub(super) fn shown(bytes: &[u8]) -> String {
    escape(bytes, QUOTED)
}

impl ClientSession {
    /// When the track in progress counts as stalled, if one is.
    pub(super) fn stall_deadline(&self) -> Option<Duration> {
        let in_track = matches!(self.framed, Framed::Track { .. })
            || matches!(self.original, Original::Track { .. });
        in_track.then(|| self.last_byte + self.config.track_stall)
    }

    /// Why to give up at `now`, if the track in progress has stalled.
    pub(super) fn stalled(&self, now: Duration) -> Option<String> {
        if now < self.stall_deadline()? {
            return None;
        }
        let (name, got) = match (&self.framed, &self.original) {
            (Framed::Track { name, left, total }, _) => {
                (name, format!("{} of {total}", total - left))
            }
            (_, Original::Track { name, total }) => (name, total.to_string()),
            _ => return None,
        };
        Some(format!(
            "the download of '{}' stalled: no byte for {} s after {got} bytes",
            shown(name.as_bytes()),
            self.config.track_stall.as_secs_f64()
        ))
    }

    /// Framed: why to refuse a track announced as `bytes` long, if it is
    /// longer than one track may be.
    pub(super) fn refuse_announced(&self, name: &str, bytes: u64) -> Option<String> {
        let max = self.config.max_track_bytes;
        (bytes > max).then(|| {
            format!(
                "the server announced {bytes} bytes for '{}', more than the {max} this client accepts for one track",
                shown(name.as_bytes())
            )
        })
    }
}

/// Original: why to cut off a track that holds `total` bytes and would grow
/// by `more`, if that passes `max`.
pub(super) fn refuse_growth(max: u64, name: &str, total: u64, more: usize) -> Option<String> {
    (total.saturating_add(more as u64) > max).then(|| {
        format!(
            "the server sent more than {max} bytes of '{}' without track_data_end, more than this client accepts for one track",
            shown(name.as_bytes())
        )
    })
}
