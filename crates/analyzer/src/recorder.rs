//! A sink for tests: records everything it is told, checks that the
//! stream's offsets run on without holes or overlaps, and gives back each
//! direction's bytes.

use crate::stream::{Chunk, Dir, StreamSink};

/// One call the sink received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Data {
        dir: Dir,
        offset: u64,
        bytes: Vec<u8>,
        frame: u64,
    },
    Gap {
        dir: Dir,
        offset: u64,
        len: u64,
        frame: u64,
    },
}

/// Records the calls; panics (the test fails) if an offset is not where
/// the previous call ended.
#[derive(Debug, Default)]
pub struct Recorder {
    pub events: Vec<Event>,
    next: [u64; 2],
}

impl Recorder {
    /// The bytes delivered `dir`'s way, gaps left out.
    pub fn bytes(&self, dir: Dir) -> Vec<u8> {
        let mut out = Vec::new();
        for event in &self.events {
            if let Event::Data { dir: d, bytes, .. } = event {
                if *d == dir {
                    out.extend_from_slice(bytes);
                }
            }
        }
        out
    }

    /// `(offset, len)` of each gap `dir`'s way.
    pub fn gaps(&self, dir: Dir) -> Vec<(u64, u64)> {
        let gaps = self.events.iter().filter_map(|event| match event {
            Event::Gap {
                dir: d,
                offset,
                len,
                ..
            } if *d == dir => Some((*offset, *len)),
            _ => None,
        });
        gaps.collect()
    }

    fn advance(&mut self, dir: Dir, offset: u64, len: u64) {
        let next = &mut self.next[dir.index()];
        assert_eq!(offset, *next, "{dir:?}: the stream must run on");
        assert!(len > 0, "{dir:?}: empty call at {offset}");
        *next += len;
    }
}

impl StreamSink for Recorder {
    fn data(&mut self, dir: Dir, chunk: Chunk<'_>) {
        self.advance(dir, chunk.offset, chunk.data.len() as u64);
        self.events.push(Event::Data {
            dir,
            offset: chunk.offset,
            bytes: chunk.data.to_vec(),
            frame: chunk.frame,
        });
    }

    fn gap(&mut self, dir: Dir, offset: u64, len: u64, frame: u64, _time_ns: u64) {
        self.advance(dir, offset, len);
        self.events.push(Event::Gap {
            dir,
            offset,
            len,
            frame,
        });
    }
}
