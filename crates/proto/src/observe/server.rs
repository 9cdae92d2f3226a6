//! The server's stream: replies as text, and tracks.
//!
//! ```text
//!   Text ──track_data_start──▶ Header (framed: to the line end) ──▶ Audio(n bytes) ──▶ Text
//!     │                    └─▶ Audio(until track_data_end) (original) ───────────────▶ Text
//!     └──track_data_end (framed: the line after the audio)──▶ EndLine ──▶ Text
//! ```
//!
//! In the original dialect the audio ends where `track_data_end` begins,
//! and the marker may be split across pieces: the last [`HOLD`] audio
//! bytes are held back until the next piece shows whether they start it.

use super::markers::{Marker, MarkerSearch, HOLD};
use super::{emit, open_message, Event, Found, Kind, Message, Side};
use crate::framed::{TrackHeader, MAX_LINE};
use crate::{original, Dialect};

#[derive(Debug, Default)]
enum Mode {
    #[default]
    Text,
    /// Reading a framed header line, started by its marker.
    Header { line: Vec<u8> },
    /// Audio: `Some(n)` bytes still to come (framed), or up to the end
    /// marker (`None`).
    Audio { remaining: Option<u64> },
    /// The rest of a framed `track_data_end <name>` line.
    EndLine,
}

#[derive(Debug, Default)]
pub(super) struct ServerStream {
    pub dialect: Option<Dialect>,
    mode: Mode,
    search: MarkerSearch,
    /// The message being read.
    open: Option<Message>,
    /// Original-dialect audio not yet counted: at most [`HOLD`] bytes
    /// before `held_end`, which may begin the end marker.
    held: u64,
    held_end: u64,
}

impl ServerStream {
    pub fn data(&mut self, offset: u64, data: &[u8], found: &mut Found) {
        let mut at = offset;
        let mut rest = data;
        while !rest.is_empty() {
            let used = match self.mode {
                Mode::Text => self.text(at, rest, found),
                Mode::Header { .. } => self.header(at, rest, found),
                Mode::Audio { remaining: Some(n) } => self.counted_audio(at, rest, n, found),
                Mode::Audio { remaining: None } => self.until_end(at, rest, found),
                Mode::EndLine => self.end_line(rest, found),
            };
            at += used as u64;
            rest = &rest[used..];
        }
    }

    /// The reply being read is complete (the client spoke).
    pub fn close_text(&mut self, found: &mut Found) {
        if self.open.as_ref().is_some_and(|m| m.kind == Kind::Text) {
            self.emit_open(found);
        }
    }

    /// Emits the open message. A not-found reply answers the oldest
    /// `download` still waiting: no track will carry that name.
    fn emit_open(&mut self, found: &mut Found) {
        let not_found = original::NOT_FOUND_PREFIX.as_bytes();
        if let Some(m) = self.open.as_ref() {
            if m.kind == Kind::Text && m.text.starts_with(not_found) {
                found.asked.pop_front();
            }
        }
        emit(&mut self.open, found);
    }

    /// Text: looks for a marker; returns the bytes used.
    fn text(&mut self, offset: u64, data: &[u8], found: &mut Found) -> usize {
        let Some((at, marker)) = self
            .search
            .find(offset, data, &[Marker::Start, Marker::End])
        else {
            self.text_into(offset, data, found);
            self.search.keep(offset, data);
            return data.len();
        };
        if at < offset {
            // A marker that began in the last piece was taken for text there.
            self.take_back_text(offset - at);
        } else {
            let before = (at - offset) as usize;
            self.text_into(offset, &data[..before], found);
        }
        if marker == Marker::End && !found.awaiting_end {
            self.track_begun_before_the_capture(found);
        }
        self.emit_open(found);
        let used = (at + marker.byte_len() as u64 - offset) as usize;
        self.search.reset();
        match marker {
            Marker::Start => self.start_track(at, found),
            Marker::End => self.end_marker(at, found),
        }
        used
    }

    fn text_into(&mut self, at: u64, data: &[u8], found: &mut Found) {
        if !data.is_empty() {
            open_message(&mut self.open, Side::Server, Kind::Text, at, found).append(data);
        }
    }

    /// Takes the last `n` bytes back out of the open text message.
    fn take_back_text(&mut self, n: u64) {
        let Some(m) = &mut self.open else { return };
        m.len = m.len.saturating_sub(n);
        let keep = usize::try_from(m.len)
            .unwrap_or(usize::MAX)
            .min(m.text.len());
        m.text.truncate(keep);
        if m.len == 0 {
            self.open = None;
        }
    }

    /// An end marker with no track open: the capture began during a
    /// track. What the server sent just before the marker, if anything,
    /// was its audio.
    fn track_begun_before_the_capture(&mut self, found: &mut Found) {
        let text = self.open.as_mut().filter(|m| m.kind == Kind::Text);
        let (audio, missing, from) = match text {
            Some(m) => {
                m.kind = Kind::Audio;
                m.text.clear();
                (m.len - m.missing, m.missing, Some(m.offset))
            }
            None => (0, 0, None),
        };
        let name = found.asked.pop_front();
        found.push(Event::TrackBegunBefore {
            name,
            audio,
            missing,
            from,
        });
        found.awaiting_end = true;
    }

    fn start_track(&mut self, at: u64, found: &mut Found) {
        let framed = self.dialect == Some(Dialect::Framed);
        let name = if framed {
            None
        } else {
            found.asked.pop_front()
        };
        found.push(Event::TrackStart { at, name });
        found.awaiting_end = true;
        let m = open_message(&mut self.open, Side::Server, Kind::TrackStart, at, found);
        m.append(Marker::Start.bytes());
        if framed {
            self.mode = Mode::Header {
                line: Marker::Start.bytes().to_vec(),
            };
        } else {
            self.begin_audio(None, found);
        }
    }

    /// The track's start message is complete: audio follows.
    fn begin_audio(&mut self, remaining: Option<u64>, found: &mut Found) {
        emit(&mut self.open, found);
        self.mode = Mode::Audio { remaining };
        self.held = 0;
        found.push(Event::AudioStart);
    }

    fn header(&mut self, offset: u64, data: &[u8], found: &mut Found) -> usize {
        let Mode::Header { line } = &mut self.mode else {
            return 0;
        };
        let nl = data.iter().position(|&b| b == b'\n');
        let used = nl.map_or(data.len(), |i| i + 1);
        line.extend_from_slice(&data[..used]);
        if let Some(m) = self.open.as_mut() {
            m.append(&data[..used]);
        }
        if nl.is_none() && line.len() <= MAX_LINE {
            return used;
        }
        let text = String::from_utf8_lossy(line.strip_suffix(b"\n").unwrap_or(line));
        let header = TrackHeader::parse(text.trim_end_matches('\r'));
        let at = self.open.as_ref().map_or(offset, |m| m.offset);
        let remaining = match header {
            Ok(h) => {
                let n = h.bytes;
                found.push(Event::TrackHeader(h));
                Some(n)
            }
            Err(why) => {
                // Without a header the audio runs to the end marker.
                found.push(Event::Malformed {
                    side: Side::Server,
                    at,
                    why: format!("a track header that does not parse: {why}"),
                });
                None
            }
        };
        self.begin_audio(remaining, found);
        if let Mode::Audio { remaining: Some(0) } = self.mode {
            self.end_audio(found);
        }
        used
    }

    /// Framed audio: `n` more bytes belong to the track.
    fn counted_audio(&mut self, at: u64, data: &[u8], n: u64, found: &mut Found) -> usize {
        let take = (data.len() as u64).min(n);
        self.audio(at, take, found);
        self.mode = Mode::Audio {
            remaining: Some(n - take),
        };
        if n == take {
            self.end_audio(found);
        }
        take as usize
    }

    /// Original audio: up to the end marker.
    fn until_end(&mut self, offset: u64, data: &[u8], found: &mut Found) -> usize {
        match self.search.find(offset, data, &[Marker::End]) {
            Some((at, marker)) => {
                // The audio is everything before the marker: the held
                // bytes before it, then this piece's.
                let held_from = offset - self.held;
                self.release(at.saturating_sub(held_from).min(self.held), found);
                self.held = 0;
                self.audio(offset, at.saturating_sub(offset), found);
                self.search.reset();
                self.end_audio(found);
                self.end_marker(at, found);
                self.mode = Mode::Text;
                (at + marker.byte_len() as u64 - offset) as usize
            }
            None => {
                self.search.keep(offset, data);
                // Count all but the last HOLD bytes (held + this piece).
                let len = data.len() as u64;
                let ready = (self.held + len).saturating_sub(HOLD as u64);
                let from_held = ready.min(self.held);
                self.release(from_held, found);
                self.audio(offset, ready - from_held, found);
                self.held = (self.held + len).min(HOLD as u64);
                self.held_end = offset + len;
                data.len()
            }
        }
    }

    /// Counts the first `n` held bytes.
    fn release(&mut self, n: u64, found: &mut Found) {
        self.audio(self.held_end - self.held, n, found);
        self.held -= n;
    }

    /// Counts `len` audio bytes from `at`.
    fn audio(&mut self, at: u64, len: u64, found: &mut Found) {
        if len == 0 {
            return;
        }
        found.push(Event::Audio { at, len });
        let m = open_message(&mut self.open, Side::Server, Kind::Audio, at, found);
        m.len += len;
    }

    /// The audio is over (whether or not an end marker follows).
    fn end_audio(&mut self, found: &mut Found) {
        emit(&mut self.open, found);
        self.mode = Mode::Text;
        self.search.reset();
        found.push(Event::AudioEnd);
    }

    /// An end marker: it closes the open track.
    fn end_marker(&mut self, at: u64, found: &mut Found) {
        found.push(Event::TrackEnd { at });
        found.awaiting_end = false;
        let m = open_message(&mut self.open, Side::Server, Kind::TrackEnd, at, found);
        m.append(Marker::End.bytes());
        if self.dialect == Some(Dialect::Framed) {
            self.mode = Mode::EndLine;
        } else {
            emit(&mut self.open, found);
        }
    }

    fn end_line(&mut self, data: &[u8], found: &mut Found) -> usize {
        let nl = data.iter().position(|&b| b == b'\n');
        let used = nl.map_or(data.len(), |i| i + 1);
        if let Some(m) = self.open.as_mut() {
            m.append(&data[..used]);
        }
        if nl.is_some() {
            emit(&mut self.open, found);
            self.mode = Mode::Text;
        }
        used
    }

    /// `len` bytes the capture does not have.
    pub fn gap(&mut self, len: u64, found: &mut Found) {
        self.search.reset();
        self.flush_held(found);
        match self.mode {
            Mode::Audio { remaining } => {
                let lost = remaining.map_or(len, |n| n.min(len));
                found.push(Event::AudioMissing { len: lost });
                if let Some(m) = self.open.as_mut() {
                    m.lose(lost);
                }
                if let Some(n) = remaining {
                    self.mode = Mode::Audio {
                        remaining: Some(n - lost),
                    };
                    if n == lost {
                        self.end_audio(found);
                    }
                }
            }
            _ => {
                if let Some(m) = self.open.as_mut() {
                    m.lose(len);
                }
                if matches!(self.mode, Mode::Header { .. }) {
                    self.begin_audio(None, found);
                }
            }
        }
    }

    /// The capture ended: count held audio, close what is open.
    pub fn finish(&mut self, found: &mut Found) {
        if let Mode::Audio { .. } = self.mode {
            self.flush_held(found);
            self.end_audio(found);
        }
        self.emit_open(found);
    }

    /// Counts the held-back audio: no end marker can follow it now.
    fn flush_held(&mut self, found: &mut Found) {
        self.release(self.held, found);
    }
}
