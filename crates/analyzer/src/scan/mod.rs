//! The protocol scanner: reads one connection's two reassembled streams and
//! finds what a student looks for — the commands, the replies, and each
//! track between `track_data_start` and `track_data_end` — without keeping
//! the audio.
//!
//! ```text
//!  client → server   "lista"            one message per run of bytes
//!  server → client   "RV\nVL\n"         (framed commands: one per line)
//!                    track_data_start ┐
//!                    [audio, counted] ├ a CapturedTrack
//!                    track_data_end   ┘
//! ```
//!
//! The protocol's rules live in one place, proto's
//! [`Observer`](streamlab_proto::observe::Observer): the dialect (the
//! server's own rule), what a message is, markers across any split, counted
//! bodies, gaps. This module is its adapter to a capture: it hands the
//! observer each piece's stream offset, and turns the offsets of what comes
//! back into frame numbers and times ([`FrameMap`]).

mod frames;

use serde::Serialize;
use streamlab_proto::observe::{self, Event, Observer, Side};
use streamlab_proto::PcmFormat;

use crate::stream::{Chunk, Dir, StreamSink};
use frames::FrameMap;

/// The most messages kept per connection; the rest are only counted.
pub const MAX_MESSAGES: usize = 2_000;
/// The most bytes of one message's text kept for the report.
pub const MAX_TEXT: usize = observe::MAX_TEXT;

/// The two dialects, as the analyzer tells them apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Dialect {
    Original,
    Framed,
}

impl From<streamlab_proto::Dialect> for Dialect {
    fn from(d: streamlab_proto::Dialect) -> Dialect {
        match d {
            streamlab_proto::Dialect::Original => Dialect::Original,
            streamlab_proto::Dialect::Framed => Dialect::Framed,
        }
    }
}

/// What a message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Commands and replies.
    Text,
    /// `track_data_start`, with the framed header if any.
    TrackStart,
    /// A track's audio: only its length is kept.
    Audio,
    TrackEnd,
}

impl From<observe::Kind> for Kind {
    fn from(k: observe::Kind) -> Kind {
        match k {
            observe::Kind::Text => Kind::Text,
            observe::Kind::TrackStart => Kind::TrackStart,
            observe::Kind::Audio => Kind::Audio,
            observe::Kind::TrackEnd => Kind::TrackEnd,
        }
    }
}

/// One message, in the order the capture has them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Message {
    #[serde(serialize_with = "dir_name")]
    pub dir: Dir,
    pub kind: Kind,
    /// The frame and time of its first byte.
    pub frame: u64,
    pub time_ns: u64,
    /// Its place in its direction's stream.
    pub offset: u64,
    pub len: u64,
    /// Its bytes (at most [`MAX_TEXT`]); empty for audio.
    #[serde(skip)]
    pub bytes: Vec<u8>,
    /// Bytes missing inside it (gaps in the capture).
    pub missing: u64,
}

fn dir_name<S: serde::Serializer>(d: &Dir, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(match d {
        Dir::ToServer => "client_to_server",
        Dir::ToClient => "server_to_client",
    })
}

/// Where a marker lies: the frames holding its first and last byte (two
/// different frames when a segment boundary split it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct MarkerSpot {
    pub offset: u64,
    pub frame: u64,
    pub time_ns: u64,
    pub last_frame: u64,
}

impl MarkerSpot {
    pub fn is_split(&self) -> bool {
        self.frame != self.last_frame
    }
}

/// One track the server sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CapturedTrack {
    /// From the framed header (the original dialect names it only in the
    /// client's `download` command, which is used when it is there).
    pub name: Option<String>,
    /// `None` when the capture began during the track (its end marker was
    /// found with no start before it).
    pub start: Option<MarkerSpot>,
    pub end: Option<MarkerSpot>,
    /// The framed header's byte count and format.
    pub announced_bytes: Option<u64>,
    #[serde(serialize_with = "format_name")]
    pub format: Option<PcmFormat>,
    /// Audio bytes seen, and bytes missing from the capture inside it.
    pub audio_bytes: u64,
    pub missing_bytes: u64,
    /// The first and last audio byte's frame and time (for the
    /// throughput, and to tell a marker glued to audio).
    pub first_audio_frame: Option<u64>,
    pub last_audio_frame: Option<u64>,
    pub first_audio_ns: Option<u64>,
    pub last_audio_ns: Option<u64>,
}

/// A format as `{"sample_rate": 44100, "channels": 2, "sample": "s16le"}`.
fn format_name<S: serde::Serializer>(f: &Option<PcmFormat>, s: S) -> Result<S::Ok, S::Error> {
    #[derive(Serialize)]
    struct Format {
        sample_rate: u32,
        channels: u16,
        sample: String,
    }
    f.map(|f| Format {
        sample_rate: f.sample_rate,
        channels: f.channels,
        sample: f.sample.to_string(),
    })
    .serialize(s)
}

/// Receives each track's audio as it is found, for `--extract`.
pub trait AudioOut {
    /// A track starts (its index among the connection's tracks).
    fn start(&mut self, index: usize, track: &CapturedTrack);
    fn audio(&mut self, index: usize, bytes: &[u8]);
    /// The track ended (or the capture did).
    fn end(&mut self, index: usize, track: &CapturedTrack);
}

/// What the scanner found in one connection.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scan {
    pub dialect: Option<Dialect>,
    pub messages: Vec<Message>,
    /// Messages beyond [`MAX_MESSAGES`], counted only.
    pub messages_dropped: u64,
    pub tracks: Vec<CapturedTrack>,
}

/// The scanner of one connection: a [`StreamSink`].
pub struct Scanner {
    scan: Scan,
    observer: Observer,
    /// Frames and times of each direction's recent bytes.
    frames: [FrameMap; 2],
    /// The frame and time of each direction's open message's first byte.
    open_at: [(u64, u64); 2],
    out: Option<Box<dyn AudioOut>>,
}

impl Scanner {
    /// A scanner; `out`, if given, receives each track's audio.
    pub fn new(out: Option<Box<dyn AudioOut>>) -> Self {
        let keep_bytes = out.is_some();
        Scanner {
            scan: Scan::default(),
            observer: Observer::new(),
            frames: [FrameMap::new(false), FrameMap::new(keep_bytes)],
            open_at: [(0, 0); 2],
            out,
        }
    }

    /// Ends the open messages and tracks, and sorts the messages.
    pub fn finish(mut self) -> Scan {
        self.observer.finish();
        self.drain(None);
        self.scan
            .messages
            .sort_by_key(|m| (m.frame, m.dir, m.offset));
        self.scan
    }

    /// Handles what the observer found (while `piece` was fed, if any).
    fn drain(&mut self, piece: Option<(Side, &Chunk<'_>)>) {
        while let Some(e) = self.observer.poll_event() {
            self.event(e, piece);
        }
    }

    fn event(&mut self, e: Event, piece: Option<(Side, &Chunk<'_>)>) {
        let server = &self.frames[Side::Server.index()];
        match e {
            Event::Dialect(d) => self.scan.dialect = Some(d.into()),
            Event::Begin { side, at } => {
                self.open_at[side.index()] = self.frames[side.index()].frame_of(at);
            }
            Event::Message(m) => {
                let (frame, time_ns) = self.open_at[m.side.index()];
                push(
                    &mut self.scan,
                    Message {
                        dir: dir_of(m.side),
                        kind: m.kind.into(),
                        frame,
                        time_ns,
                        offset: m.offset,
                        len: m.len,
                        bytes: m.text,
                        missing: m.missing,
                    },
                );
            }
            Event::TrackStart { at, name } => {
                let start = Some(server.spot(at, observe::Marker::Start));
                self.scan.tracks.push(CapturedTrack::new(name, start));
            }
            Event::TrackHeader(h) => {
                if let Some(track) = self.scan.tracks.last_mut() {
                    track.name = Some(h.name);
                    track.format = Some(h.format);
                    track.announced_bytes = Some(h.bytes);
                }
            }
            Event::AudioStart => {
                let index = self.scan.tracks.len().saturating_sub(1);
                if let (Some(out), Some(track)) = (self.out.as_deref_mut(), self.scan.tracks.last())
                {
                    out.start(index, track);
                }
            }
            Event::Audio { at, len } => {
                let Some(index) = self.scan.tracks.len().checked_sub(1) else {
                    return;
                };
                let first = server.frame_of(at);
                let last = server.frame_of(at + len - 1);
                let track = &mut self.scan.tracks[index];
                track.audio_bytes += len;
                track.first_audio_frame.get_or_insert(first.0);
                track.first_audio_ns.get_or_insert(first.1);
                track.last_audio_frame = Some(last.0);
                track.last_audio_ns = Some(last.1);
                if let Some(out) = self.out.as_deref_mut() {
                    let piece = piece.filter(|(s, _)| *s == Side::Server).map(|(_, c)| c);
                    server.bytes(at, len, piece, |b| out.audio(index, b));
                }
            }
            Event::AudioMissing { len } => {
                if let Some(track) = self.scan.tracks.last_mut() {
                    track.missing_bytes += len;
                }
            }
            Event::AudioEnd => {
                let index = self.scan.tracks.len().saturating_sub(1);
                if let (Some(out), Some(track)) = (self.out.as_deref_mut(), self.scan.tracks.last())
                {
                    out.end(index, track);
                }
            }
            Event::TrackBegunBefore {
                name,
                audio,
                missing,
                from,
            } => {
                let first = from.map(|_| self.open_at[Side::Server.index()]);
                let mut track = CapturedTrack::new(name, None);
                track.audio_bytes = audio;
                track.missing_bytes = missing;
                track.first_audio_frame = first.map(|f| f.0);
                track.first_audio_ns = first.map(|f| f.1);
                self.scan.tracks.push(track);
            }
            Event::TrackEnd { at } => {
                let spot = server.spot(at, observe::Marker::End);
                if let Some(track) = self.scan.tracks.last_mut().filter(|t| t.end.is_none()) {
                    track.end = Some(spot);
                }
            }
            // The report does not show these yet.
            Event::Malformed { .. } => {}
        }
    }
}

impl CapturedTrack {
    fn new(name: Option<String>, start: Option<MarkerSpot>) -> CapturedTrack {
        CapturedTrack {
            name,
            start,
            end: None,
            announced_bytes: None,
            format: None,
            audio_bytes: 0,
            missing_bytes: 0,
            first_audio_frame: None,
            last_audio_frame: None,
            first_audio_ns: None,
            last_audio_ns: None,
        }
    }
}

fn side_of(dir: Dir) -> Side {
    match dir {
        Dir::ToServer => Side::Client,
        Dir::ToClient => Side::Server,
    }
}

fn dir_of(side: Side) -> Dir {
    match side {
        Side::Client => Dir::ToServer,
        Side::Server => Dir::ToClient,
    }
}

/// Keeps a message, or counts it once the connection has too many.
fn push(scan: &mut Scan, m: Message) {
    if scan.messages.len() < MAX_MESSAGES {
        scan.messages.push(m);
    } else {
        scan.messages_dropped += 1;
    }
}

impl StreamSink for Scanner {
    fn data(&mut self, dir: Dir, chunk: Chunk<'_>) {
        if chunk.data.is_empty() {
            return;
        }
        let side = side_of(dir);
        self.frames[side.index()].piece(&chunk);
        self.observer.data(side, chunk.offset, chunk.data);
        self.drain(Some((side, &chunk)));
        self.frames[side.index()].done(&chunk);
    }

    fn gap(&mut self, dir: Dir, _offset: u64, len: u64, _frame: u64, _time_ns: u64) {
        let side = side_of(dir);
        self.observer.gap(side, len);
        self.drain(None);
        // The stream jumps: nothing before the gap is named again.
        self.frames[side.index()].forget();
    }
}

#[cfg(test)]
mod tests;
