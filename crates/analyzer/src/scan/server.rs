//! The server's stream: replies as text, and tracks.
//!
//! ```text
//!   Text ──track_data_start──▶ Header (framed: to the line end) ──▶ Audio(n bytes) ──▶ Text
//!     │                    └─▶ Audio(until track_data_end) (original) ───────────────▶ Text
//!     └──track_data_end (framed: the line after the audio)──▶ EndLine ──▶ Text
//! ```
//!
//! In the original dialect the audio ends where `track_data_end` begins,
//! and the marker may be split across segments: the last 13 audio bytes
//! are held back until the next piece shows whether they start it. Held
//! bytes remember the frame they came in, so a track's first audio frame
//! is the frame of its first audio byte, whatever the segment size.

use std::collections::VecDeque;

use streamlab_proto::framed::{TrackHeader, MAX_LINE};

use super::markers::{Marker, MarkerSearch};
use super::{push, AudioOut, Dialect, Kind, MarkerSpot, Message, Scan, Track};
use crate::stream::{Chunk, Dir};

/// Bytes that may be the start of an end marker.
const HOLD: usize = 13;

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
pub(super) struct ServerSide {
    pub dialect: Option<Dialect>,
    mode: Mode,
    search: MarkerSearch,
    /// Original-dialect audio not yet counted (at most [`HOLD`] bytes): it
    /// may begin the end marker. Then the frame of each run of it that came
    /// in one piece, oldest first, and the stream offset just past it.
    held: Vec<u8>,
    held_runs: VecDeque<Run>,
    held_end: u64,
}

/// `len` held bytes that came in one frame.
#[derive(Debug, Clone, Copy)]
struct Run {
    len: usize,
    frame: u64,
    time_ns: u64,
}

/// What a piece of work needs from the scanner.
pub(super) struct Ctx<'a, 'o> {
    pub scan: &'a mut Scan,
    pub open: &'a mut Option<Message>,
    pub asked: &'a mut VecDeque<String>,
    pub out: Option<&'a mut (dyn AudioOut + 'o)>,
}

impl ServerSide {
    pub fn data(&mut self, chunk: Chunk<'_>, cx: &mut Ctx<'_, '_>) {
        let mut rest = chunk;
        while !rest.data.is_empty() {
            let used = match self.mode {
                Mode::Text => self.text(rest, cx),
                Mode::Header { .. } => self.header(rest, cx),
                Mode::Audio { remaining: Some(n) } => self.counted(rest, n, cx),
                Mode::Audio { remaining: None } => self.until_end(rest, cx),
                Mode::EndLine => self.end_line(rest, cx),
            };
            rest = Chunk {
                offset: rest.offset + used as u64,
                data: &rest.data[used..],
                ..rest
            };
        }
    }

    /// Text: looks for a marker; returns the bytes used.
    fn text(&mut self, c: Chunk<'_>, cx: &mut Ctx<'_, '_>) -> usize {
        let Some((at, marker)) = self
            .search
            .find(c.offset, c.data, &[Marker::Start, Marker::End])
        else {
            text_into(cx.open, Dir::ToClient, c);
            self.search.keep(c.offset, c.data, c.frame, c.time_ns);
            return c.data.len();
        };
        // A marker that began in the last piece was taken for text there.
        if at < c.offset {
            untext(cx.open, c.offset - at);
        } else {
            let before = (at - c.offset) as usize;
            text_into(
                cx.open,
                Dir::ToClient,
                Chunk {
                    data: &c.data[..before],
                    ..c
                },
            );
        }
        let spot = self.spot(at, c);
        let awaited = cx.scan.tracks.last().is_some_and(|t| t.end.is_none());
        if marker == Marker::End && !awaited {
            self.track_begun_before_the_capture(cx);
        }
        if let Some(m) = cx.open.take() {
            push(cx.scan, m);
        }
        let used = (at + marker.byte_len() as u64 - c.offset) as usize;
        self.search.reset();
        match marker {
            Marker::Start => self.start_track(spot, marker_bytes(b"track_data_start"), cx),
            Marker::End => self.end_marker(spot, cx),
        }
        used
    }

    /// An end marker with no track open: the capture began during a
    /// track. What the server sent just before the marker, if anything,
    /// was its audio; the track is anchored there, with no start.
    fn track_begun_before_the_capture(&mut self, cx: &mut Ctx<'_, '_>) {
        let audio = cx.open.as_mut().filter(|m| m.kind == Kind::Text);
        let (bytes, missing, first) = match audio {
            Some(m) => {
                m.kind = Kind::Audio;
                m.bytes.clear();
                (m.len - m.missing, m.missing, Some((m.frame, m.time_ns)))
            }
            None => (0, 0, None),
        };
        cx.scan.tracks.push(Track {
            name: cx.asked.pop_front(),
            start: None,
            end: None,
            announced_bytes: None,
            format: None,
            audio_bytes: bytes,
            missing_bytes: missing,
            first_audio_frame: first.map(|f| f.0),
            last_audio_frame: None,
            first_audio_ns: first.map(|f| f.1),
            last_audio_ns: None,
        });
    }

    fn spot(&self, at: u64, c: Chunk<'_>) -> MarkerSpot {
        let (frame, time_ns) = self.search.frame_of(at).unwrap_or((c.frame, c.time_ns));
        MarkerSpot {
            offset: at,
            frame,
            time_ns,
            last_frame: c.frame,
        }
    }

    fn start_track(&mut self, spot: MarkerSpot, marker: Vec<u8>, cx: &mut Ctx<'_, '_>) {
        let framed = self.dialect == Some(Dialect::Framed);
        cx.scan.tracks.push(Track {
            name: if framed { None } else { cx.asked.pop_front() },
            start: Some(spot),
            end: None,
            announced_bytes: None,
            format: None,
            audio_bytes: 0,
            missing_bytes: 0,
            first_audio_frame: None,
            last_audio_frame: None,
            first_audio_ns: None,
            last_audio_ns: None,
        });
        *cx.open = Some(Message {
            dir: Dir::ToClient,
            kind: Kind::TrackStart,
            frame: spot.frame,
            time_ns: spot.time_ns,
            offset: spot.offset,
            len: marker.len() as u64,
            bytes: marker.clone(),
            missing: 0,
        });
        if framed {
            self.mode = Mode::Header { line: marker };
        } else {
            self.begin_audio(None, cx);
        }
    }

    /// The track's start message is complete: audio follows.
    fn begin_audio(&mut self, remaining: Option<u64>, cx: &mut Ctx<'_, '_>) {
        if let Some(m) = cx.open.take() {
            push(cx.scan, m);
        }
        self.mode = Mode::Audio { remaining };
        self.held.clear();
        self.held_runs.clear();
        let index = cx.scan.tracks.len().saturating_sub(1);
        if let (Some(out), Some(track)) = (cx.out.as_deref_mut(), cx.scan.tracks.last()) {
            out.start(index, track);
        }
    }

    fn header(&mut self, c: Chunk<'_>, cx: &mut Ctx<'_, '_>) -> usize {
        let Mode::Header { line } = &mut self.mode else {
            return 0;
        };
        let nl = c.data.iter().position(|&b| b == b'\n');
        let used = nl.map_or(c.data.len(), |i| i + 1);
        line.extend_from_slice(&c.data[..used]);
        if let Some(m) = cx.open.as_mut() {
            m.append(&c.data[..used]);
        }
        if nl.is_none() && line.len() <= MAX_LINE {
            return used;
        }
        let text = String::from_utf8_lossy(line.strip_suffix(b"\n").unwrap_or(line));
        let header = TrackHeader::parse(text.trim_end_matches('\r')).ok();
        if let (Some(h), Some(track)) = (&header, cx.scan.tracks.last_mut()) {
            track.name = Some(h.name.clone());
            track.format = Some(h.format);
            track.announced_bytes = Some(h.bytes);
        }
        // Without a header the audio runs to the end marker.
        self.begin_audio(header.map(|h| h.bytes), cx);
        if let Mode::Audio { remaining: Some(0) } = self.mode {
            self.end_audio(cx);
        }
        used
    }

    /// Framed audio: `n` more bytes belong to the track.
    fn counted(&mut self, c: Chunk<'_>, n: u64, cx: &mut Ctx<'_, '_>) -> usize {
        let take = (c.data.len() as u64).min(n) as usize;
        Self::audio(
            Chunk {
                data: &c.data[..take],
                ..c
            },
            cx,
        );
        self.mode = Mode::Audio {
            remaining: Some(n - take as u64),
        };
        if n == take as u64 {
            self.end_audio(cx);
        }
        take
    }

    /// Original audio: up to the end marker.
    fn until_end(&mut self, c: Chunk<'_>, cx: &mut Ctx<'_, '_>) -> usize {
        let held_from = c.offset - self.held.len() as u64;
        match self.search.find(c.offset, c.data, &[Marker::End]) {
            Some((at, marker)) => {
                // The audio is everything before the marker: the held
                // bytes before it, then this piece's.
                let before_held = usize::try_from(at - held_from).unwrap_or(usize::MAX);
                self.release(before_held.min(self.held.len()), cx);
                self.held.clear();
                self.held_runs.clear();
                let before = at.saturating_sub(c.offset) as usize;
                Self::audio(
                    Chunk {
                        data: &c.data[..before],
                        ..c
                    },
                    cx,
                );
                let spot = self.spot(at, c);
                self.search.reset();
                self.end_audio(cx);
                self.end_marker(spot, cx);
                self.mode = Mode::Text;
                (at + marker.byte_len() as u64 - c.offset) as usize
            }
            None => {
                self.search.keep(c.offset, c.data, c.frame, c.time_ns);
                // Count all but the last HOLD bytes (held + this piece).
                let ready = (self.held.len() + c.data.len()).saturating_sub(HOLD);
                let from_held = ready.min(self.held.len());
                self.release(from_held, cx);
                let from_piece = ready - from_held;
                Self::audio(
                    Chunk {
                        data: &c.data[..from_piece],
                        ..c
                    },
                    cx,
                );
                let rest = &c.data[from_piece..];
                if !rest.is_empty() {
                    self.held.extend_from_slice(rest);
                    self.held_runs.push_back(Run {
                        len: rest.len(),
                        frame: c.frame,
                        time_ns: c.time_ns,
                    });
                }
                self.held_end = c.offset + c.data.len() as u64;
                c.data.len()
            }
        }
    }

    /// Counts the first `n` held bytes, each for the frame it came in.
    fn release(&mut self, n: usize, cx: &mut Ctx<'_, '_>) {
        let mut offset = self.held_end - self.held.len() as u64;
        let mut done = 0;
        while done < n {
            let Some(run) = self.held_runs.front_mut() else {
                break;
            };
            let take = run.len.min(n - done);
            let chunk = Chunk {
                offset,
                data: &self.held[done..done + take],
                frame: run.frame,
                time_ns: run.time_ns,
            };
            Self::audio(chunk, cx);
            run.len -= take;
            if run.len == 0 {
                self.held_runs.pop_front();
            }
            done += take;
            offset += take as u64;
        }
        self.held.drain(..done);
    }

    /// Counts (and hands on) audio bytes.
    fn audio(c: Chunk<'_>, cx: &mut Ctx<'_, '_>) {
        if c.data.is_empty() {
            return;
        }
        let Some(index) = cx.scan.tracks.len().checked_sub(1) else {
            return;
        };
        let track = &mut cx.scan.tracks[index];
        track.audio_bytes += c.data.len() as u64;
        track.first_audio_ns.get_or_insert(c.time_ns);
        track.last_audio_ns = Some(c.time_ns);
        track.first_audio_frame.get_or_insert(c.frame);
        track.last_audio_frame = Some(c.frame);
        let m = cx.open.get_or_insert_with(|| Message {
            dir: Dir::ToClient,
            kind: Kind::Audio,
            frame: c.frame,
            time_ns: c.time_ns,
            offset: c.offset,
            len: 0,
            bytes: Vec::new(),
            missing: 0,
        });
        m.len += c.data.len() as u64;
        if let Some(out) = cx.out.as_deref_mut() {
            out.audio(index, c.data);
        }
    }

    /// The audio is over (whether or not an end marker follows).
    fn end_audio(&mut self, cx: &mut Ctx<'_, '_>) {
        if let Some(m) = cx.open.take() {
            push(cx.scan, m);
        }
        self.mode = Mode::Text;
        self.search.reset();
        let index = cx.scan.tracks.len().saturating_sub(1);
        if let (Some(out), Some(track)) = (cx.out.as_deref_mut(), cx.scan.tracks.last()) {
            out.end(index, track);
        }
    }

    /// An end marker: it closes the last track if that one awaits it.
    fn end_marker(&mut self, spot: MarkerSpot, cx: &mut Ctx<'_, '_>) {
        if let Some(track) = cx.scan.tracks.last_mut().filter(|t| t.end.is_none()) {
            track.end = Some(spot);
        }
        *cx.open = Some(Message {
            dir: Dir::ToClient,
            kind: Kind::TrackEnd,
            frame: spot.frame,
            time_ns: spot.time_ns,
            offset: spot.offset,
            len: Marker::End.byte_len() as u64,
            bytes: marker_bytes(b"track_data_end"),
            missing: 0,
        });
        if self.dialect == Some(Dialect::Framed) {
            self.mode = Mode::EndLine;
        } else if let Some(m) = cx.open.take() {
            push(cx.scan, m);
        }
    }

    fn end_line(&mut self, c: Chunk<'_>, cx: &mut Ctx<'_, '_>) -> usize {
        let nl = c.data.iter().position(|&b| b == b'\n');
        let used = nl.map_or(c.data.len(), |i| i + 1);
        if let Some(m) = cx.open.as_mut() {
            m.append(&c.data[..used]);
        }
        if nl.is_some() {
            if let Some(m) = cx.open.take() {
                push(cx.scan, m);
            }
            self.mode = Mode::Text;
        }
        used
    }

    /// `len` bytes the capture does not have.
    pub fn gap(&mut self, len: u64, cx: &mut Ctx<'_, '_>) {
        self.search.reset();
        self.flush_held(cx);
        match self.mode {
            Mode::Audio { remaining } => {
                let lost = remaining.map_or(len, |n| n.min(len));
                if let Some(track) = cx.scan.tracks.last_mut() {
                    track.missing_bytes += lost;
                }
                if let Some(m) = cx.open.as_mut() {
                    m.missing += lost;
                    m.len += lost;
                }
                if let Some(n) = remaining {
                    self.mode = Mode::Audio {
                        remaining: Some(n - lost),
                    };
                    if n == lost {
                        self.end_audio(cx);
                    }
                }
            }
            _ => {
                if let Some(m) = cx.open.as_mut() {
                    m.missing += len;
                    m.len += len;
                }
                if matches!(self.mode, Mode::Header { .. }) {
                    self.begin_audio(None, cx);
                }
            }
        }
    }

    /// The capture ended: flush held audio, close what is open.
    pub fn finish(&mut self, cx: &mut Ctx<'_, '_>) {
        if let Mode::Audio { .. } = self.mode {
            self.flush_held(cx);
            self.end_audio(cx);
        }
        if let Some(m) = cx.open.take() {
            push(cx.scan, m);
        }
    }
}

impl ServerSide {
    /// Counts the held-back audio: no end marker can follow it now.
    fn flush_held(&mut self, cx: &mut Ctx<'_, '_>) {
        self.release(self.held.len(), cx);
    }
}

fn marker_bytes(m: &[u8]) -> Vec<u8> {
    m.to_vec()
}

/// Adds `c` to the open text message (starting one if needed).
pub(super) fn text_into(open: &mut Option<Message>, dir: Dir, c: Chunk<'_>) {
    if c.data.is_empty() {
        return;
    }
    let m = open.get_or_insert_with(|| Message {
        dir,
        kind: Kind::Text,
        frame: c.frame,
        time_ns: c.time_ns,
        offset: c.offset,
        len: 0,
        bytes: Vec::new(),
        missing: 0,
    });
    m.append(c.data);
}

/// Takes the last `n` bytes back out of the open text message.
fn untext(open: &mut Option<Message>, n: u64) {
    let Some(m) = open else { return };
    m.len = m.len.saturating_sub(n);
    let keep = usize::try_from(m.len)
        .unwrap_or(usize::MAX)
        .min(m.bytes.len());
    m.bytes.truncate(keep);
    if m.len == 0 {
        *open = None;
    }
}
