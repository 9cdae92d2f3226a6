//! Finding `track_data_start` and `track_data_end` in a stream that
//! arrives in pieces: a marker may be split across two pieces, so the last
//! few bytes of each piece are kept and searched with the next.
//!
//! Both spellings count: `track_data_start` (the original code) and
//! `track data start` (how the report writes it).
//!
//! ```
//! use streamlab_proto::observe::{Marker, MarkerSearch};
//! let mut s = MarkerSearch::default();
//! assert_eq!(s.find(0, b"audio track_data_e", &[Marker::End]), None);
//! s.keep(0, b"audio track_data_e");
//! assert_eq!(s.find(18, b"nd", &[Marker::End]), Some((6, Marker::End)));
//! ```

use memchr::memmem;

/// Which marker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Marker {
    Start,
    End,
}

impl Marker {
    /// The marker's length: the same for both spellings.
    pub fn byte_len(self) -> usize {
        match self {
            Marker::Start => 16,
            Marker::End => 14,
        }
    }

    /// The marker as the original code spells it, for people to read.
    pub fn name(self) -> &'static str {
        match self {
            Marker::Start => crate::original::TRACK_START_WORD,
            Marker::End => crate::original::TRACK_END_WORD,
        }
    }

    /// The original code's spelling.
    pub fn bytes(self) -> &'static [u8] {
        match self {
            Marker::Start => crate::original::TRACK_START,
            Marker::End => crate::original::TRACK_END,
        }
    }
}

/// The longest marker, less one: what a piece must lend to the next.
pub const KEEP: usize = 15;

/// The end marker, less one: how many audio bytes of the original dialect
/// must wait for the next piece, which may show that they begin
/// `track_data_end`.
pub const HOLD: usize = 13;

/// A marker begins at `at` in `hay`: which one, if any.
fn marker_at(hay: &[u8], at: usize) -> Option<Marker> {
    let rest = &hay[at..];
    // "track" is what the finder matched; then '_' or ' ', "data", again.
    let sep = |b: u8| b == b'_' || b == b' ';
    if rest.len() < 14 || !sep(rest[5]) || &rest[6..10] != b"data" || !sep(rest[10]) {
        return None;
    }
    if rest.len() >= 16 && &rest[11..16] == b"start" {
        Some(Marker::Start)
    } else if &rest[11..14] == b"end" {
        Some(Marker::End)
    } else {
        None
    }
}

/// The first marker in `wanted` that starts in `hay` (and fits in it).
fn find_in(hay: &[u8], wanted: &[Marker]) -> Option<(usize, Marker)> {
    let finder = memmem::Finder::new(b"track");
    let mut start = 0;
    while start < hay.len() {
        let pos = start + finder.find(&hay[start..])?;
        if let Some(m) = marker_at(hay, pos).filter(|m| wanted.contains(m)) {
            return Some((pos, m));
        }
        start = pos + 1;
    }
    None
}

/// A streaming search over one direction's bytes.
#[derive(Debug, Default)]
pub struct MarkerSearch {
    /// The last bytes of the previous pieces, and the stream offset of the
    /// first of them.
    tail: Vec<u8>,
    tail_offset: u64,
}

impl MarkerSearch {
    /// Forgets the kept bytes (after a gap, or when the search restarts
    /// after a marker).
    pub fn reset(&mut self) {
        self.tail.clear();
    }

    /// The first marker in `wanted` that ends inside `data` (which starts
    /// at stream offset `offset`), as its stream offset. Does not keep
    /// anything: call [`MarkerSearch::keep`] once a piece is done with.
    pub fn find(&self, offset: u64, data: &[u8], wanted: &[Marker]) -> Option<(u64, Marker)> {
        if !self.tail.is_empty() && self.tail_offset + self.tail.len() as u64 == offset {
            // A marker straddling the boundary starts in the tail.
            let mut join = self.tail.clone();
            join.extend_from_slice(&data[..data.len().min(KEEP)]);
            let found = find_in(&join, wanted).filter(|(pos, _)| *pos < self.tail.len());
            if let Some((pos, m)) = found {
                return Some((self.tail_offset + pos as u64, m));
            }
        }
        find_in(data, wanted).map(|(pos, m)| (offset + pos as u64, m))
    }

    /// Keeps the last bytes of `data` (at `offset`) for the next piece.
    pub fn keep(&mut self, offset: u64, data: &[u8]) {
        let end = offset + data.len() as u64;
        if self.tail_offset + self.tail.len() as u64 != offset {
            self.reset();
        }
        let take = data.len().min(KEEP);
        self.tail.extend_from_slice(&data[data.len() - take..]);
        let extra = self.tail.len().saturating_sub(KEEP);
        self.tail.drain(..extra);
        self.tail_offset = end - self.tail.len() as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOTH: [Marker; 2] = [Marker::Start, Marker::End];

    #[test]
    fn both_spellings_of_both_markers_are_found() {
        let s = MarkerSearch::default();
        assert_eq!(
            s.find(100, b"xxtrack_data_startyy", &BOTH),
            Some((102, Marker::Start))
        );
        assert_eq!(s.find(0, b"track data end", &BOTH), Some((0, Marker::End)));
        assert_eq!(s.find(0, b"track_data_end", &[Marker::Start]), None);
        assert_eq!(s.find(0, b"tracktrack_datatrack_data_st", &BOTH), None);
    }

    #[test]
    fn a_marker_split_at_every_point_is_found_where_it_starts() {
        let stream = b"\x01\x02audio track_data_end then";
        let at = 8;
        for cut in 1..stream.len() {
            let mut s = MarkerSearch::default();
            let (a, b) = stream.split_at(cut);
            let found = s.find(0, a, &BOTH).or_else(|| {
                s.keep(0, a);
                s.find(cut as u64, b, &BOTH)
            });
            assert_eq!(found, Some((at, Marker::End)), "cut at {cut}");
        }
    }

    #[test]
    fn the_kept_tail_follows_small_pieces() {
        let mut s = MarkerSearch::default();
        let stream = b"track_data_start";
        for (i, b) in stream[..15].iter().enumerate() {
            assert_eq!(s.find(i as u64, &[*b], &BOTH), None);
            s.keep(i as u64, &[*b]);
        }
        assert_eq!(s.find(15, b"t", &BOTH), Some((0, Marker::Start)));
        // A gap in between: the tail no longer joins.
        assert_eq!(s.find(40, b"t", &BOTH), None);
    }

    #[test]
    fn the_constants_match_the_markers() {
        assert_eq!(Marker::Start.bytes().len(), Marker::Start.byte_len());
        assert_eq!(Marker::End.bytes().len(), Marker::End.byte_len());
        assert_eq!(KEEP, Marker::Start.byte_len() - 1);
        assert_eq!(HOLD, Marker::End.byte_len() - 1);
    }
}
