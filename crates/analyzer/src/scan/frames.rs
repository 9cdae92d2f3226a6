//! From stream offsets back to frames: which frame (and time) carried each
//! of a direction's recent bytes.
//!
//! The observer names bytes by stream offset, and only bytes of the piece
//! being fed or of the [`LOOKBEHIND`] bytes before it (a message's first
//! byte excepted, which the scanner notes when the observer announces it).
//! So a few runs per direction are all the map keeps; with `--extract` it
//! also keeps those last bytes, to hand on audio that was held back.

use std::collections::VecDeque;

use streamlab_proto::observe::{Marker, LOOKBEHIND};

use super::MarkerSpot;
use crate::stream::Chunk;

/// `len` bytes from `offset` came in `frame` at `time_ns`.
#[derive(Debug, Clone, Copy)]
struct Run {
    offset: u64,
    len: u64,
    frame: u64,
    time_ns: u64,
}

impl Run {
    fn end(&self) -> u64 {
        self.offset + self.len
    }
}

#[derive(Debug)]
pub(super) struct FrameMap {
    runs: VecDeque<Run>,
    keep_bytes: bool,
    /// The last [`LOOKBEHIND`] bytes before the piece being fed, and the
    /// offset just past them.
    tail: Vec<u8>,
    tail_end: u64,
}

impl FrameMap {
    pub fn new(keep_bytes: bool) -> FrameMap {
        FrameMap {
            runs: VecDeque::new(),
            keep_bytes,
            tail: Vec::new(),
            tail_end: 0,
        }
    }

    /// A piece is about to be fed.
    pub fn piece(&mut self, c: &Chunk<'_>) {
        self.runs.push_back(Run {
            offset: c.offset,
            len: c.data.len() as u64,
            frame: c.frame,
            time_ns: c.time_ns,
        });
    }

    /// The piece has been fed: keep only what may still be named.
    pub fn done(&mut self, c: &Chunk<'_>) {
        let end = c.offset + c.data.len() as u64;
        let horizon = end.saturating_sub(LOOKBEHIND as u64);
        while self.runs.len() > 1 && self.runs[0].end() <= horizon {
            self.runs.pop_front();
        }
        if self.keep_bytes {
            if self.tail_end != c.offset {
                self.tail.clear();
            }
            let take = c.data.len().min(LOOKBEHIND);
            self.tail.extend_from_slice(&c.data[c.data.len() - take..]);
            let extra = self.tail.len().saturating_sub(LOOKBEHIND);
            self.tail.drain(..extra);
            self.tail_end = end;
        }
    }

    /// The stream jumped (a gap): nothing before it is named again.
    pub fn forget(&mut self) {
        self.runs.clear();
        self.tail.clear();
    }

    /// The frame and time of the byte at `at`.
    pub fn frame_of(&self, at: u64) -> (u64, u64) {
        let run = self
            .runs
            .iter()
            .rev()
            .find(|r| r.offset <= at && at < r.end())
            .or(self.runs.back());
        run.map_or((0, 0), |r| (r.frame, r.time_ns))
    }

    /// Where a marker that begins at `at` lies.
    pub fn spot(&self, at: u64, marker: Marker) -> MarkerSpot {
        let (frame, time_ns) = self.frame_of(at);
        let (last_frame, _) = self.frame_of(at + marker.byte_len() as u64 - 1);
        MarkerSpot {
            offset: at,
            frame,
            time_ns,
            last_frame,
        }
    }

    /// Hands `f` the bytes from `at` to `at + len`: from the kept tail,
    /// then from `piece` (the piece being fed, if any).
    pub fn bytes(&self, at: u64, len: u64, piece: Option<&Chunk<'_>>, mut f: impl FnMut(&[u8])) {
        let end = at + len;
        let tail_start = self.tail_end - self.tail.len() as u64;
        if at < self.tail_end && end > tail_start {
            let from = (at.max(tail_start) - tail_start) as usize;
            let to = (end.min(self.tail_end) - tail_start) as usize;
            f(&self.tail[from..to]);
        }
        if let Some(c) = piece {
            let c_end = c.offset + c.data.len() as u64;
            if end > c.offset && at < c_end {
                let from = (at.max(c.offset) - c.offset) as usize;
                let to = (end.min(c_end) - c.offset) as usize;
                f(&c.data[from..to]);
            }
        }
    }
}
