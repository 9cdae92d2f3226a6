//! Where the simulated Wireshark listens.
//!
//! A real capture is taken on one host's interface: it shows the frames
//! that host sends, at the moment they leave, and the frames that reach
//! it, at the moment they arrive. A frame the network drops on the way in
//! is never seen there; one it drops on the way out is seen leaving. The
//! simulator records both moments of every frame and writes the view of
//! the chosen [`CapturePoint`]:
//!
//! ```text
//!   client ──frame──> [ queue | serialise | latency ] ──> server
//!     ^ captured here at `client`             captured here at `server` ^
//! ```
//!
//! So a capture at the client shows a 1 Mbit/s link as 1 Mbit/s: the
//! server's frames arrive spaced by the link, not by the server's writes.

use std::fmt;
use std::io::Write;
use std::str::FromStr;

use super::{Side, Sim, APP_NAME};
use crate::pcapng::PcapngWriter;
use crate::time::SimTime;

/// Which interface the capture is taken on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CapturePoint {
    /// The client's interface: where a student's Wireshark runs.
    #[default]
    Client,
    /// The server's interface.
    Server,
    /// Both, as two interfaces of one pcapng (0 = client, 1 = server):
    /// every delivered frame appears twice, once leaving and once arriving.
    Both,
}

impl CapturePoint {
    pub const ALL: [CapturePoint; 3] = [
        CapturePoint::Client,
        CapturePoint::Server,
        CapturePoint::Both,
    ];

    pub fn name(self) -> &'static str {
        match self {
            CapturePoint::Client => "client",
            CapturePoint::Server => "server",
            CapturePoint::Both => "both",
        }
    }

    fn sees(self, side: Side) -> bool {
        match self {
            CapturePoint::Client => side == Side::Client,
            CapturePoint::Server => side == Side::Server,
            CapturePoint::Both => true,
        }
    }
}

impl fmt::Display for CapturePoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for CapturePoint {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        CapturePoint::ALL
            .into_iter()
            .find(|p| p.name() == s)
            .ok_or_else(|| format!("no capture point '{s}' (try client, server or both)"))
    }
}

/// One moment a frame was seen on a host's interface.
#[derive(Debug, Clone, Copy)]
pub(super) struct Sighting {
    pub at: SimTime,
    /// The host whose interface saw it.
    pub side: Side,
    /// Its index in [`Sim::frames`].
    pub frame: usize,
    /// True when the host sent it, false when it arrived there.
    pub sent: bool,
}

/// A frame in a capture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CapturedFrame<'a> {
    /// When the interface saw it.
    pub at: SimTime,
    /// The host whose interface saw it.
    pub interface: Side,
    pub bytes: &'a [u8],
    /// Why the network dropped it, on a frame seen leaving.
    pub comment: Option<&'a str>,
}

impl Sim {
    /// The frames a capture at `point` holds, in the order seen.
    pub fn capture(&self, point: CapturePoint) -> Vec<CapturedFrame<'_>> {
        self.sightings
            .iter()
            .filter(|s| point.sees(s.side))
            .map(|s| {
                let (_, bytes, comment) = &self.frames[s.frame];
                CapturedFrame {
                    at: s.at,
                    interface: s.side,
                    bytes,
                    comment: comment.as_deref().filter(|_| s.sent),
                }
            })
            .collect()
    }

    /// Each frame's number (1-based, as Wireshark counts) in the capture
    /// taken at `point`, by index into [`Sim::frames`]: its first sighting
    /// there; `None` for a frame that capture never holds.
    pub fn frame_numbers(&self, point: CapturePoint) -> Vec<Option<usize>> {
        let mut numbers = vec![None; self.frames.len()];
        for (n, s) in self
            .sightings
            .iter()
            .filter(|s| point.sees(s.side))
            .enumerate()
        {
            if let Some(slot) = numbers.get_mut(s.frame) {
                slot.get_or_insert(n + 1);
            }
        }
        numbers
    }

    /// The trace with each segment's frame number in the capture taken at
    /// `point` (what `streamlab sim --trace` prints).
    pub fn trace_numbered(&self, point: CapturePoint) -> String {
        self.trace.render_numbered(&self.frame_numbers(point))
    }

    /// The frames of the configured capture ([`super::SimConfig::capture_at`]).
    pub fn captured(&self) -> Vec<CapturedFrame<'_>> {
        self.capture(self.config.capture_at)
    }

    /// Writes the configured capture as pcapng: frames seen leaving that
    /// the network dropped carry a comment saying so.
    pub fn write_pcapng<W: Write>(&self, out: W) -> Result<W, super::SimError> {
        self.write_pcapng_at(self.config.capture_at, out)
    }

    /// Writes the capture `point` would take, as pcapng.
    pub fn write_pcapng_at<W: Write>(
        &self,
        point: CapturePoint,
        out: W,
    ) -> Result<W, super::SimError> {
        let names: &[&str] = match point {
            CapturePoint::Both => &["client", "server"],
            CapturePoint::Client => &["client"],
            CapturePoint::Server => &["server"],
        };
        let mut pcap = PcapngWriter::with_interfaces(out, APP_NAME, names)?;
        for f in self.capture(point) {
            let interface = match (point, f.interface) {
                (CapturePoint::Both, Side::Server) => 1,
                _ => 0,
            };
            pcap.write_packet_on(interface, f.at.as_nanos(), f.bytes, f.comment)?;
        }
        Ok(pcap.finish()?)
    }
}
