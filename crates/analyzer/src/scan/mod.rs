//! The protocol scanner: reads one connection's two reassembled streams and
//! finds what a student looks for — the commands, the replies, and each
//! track between `track_data_start` and `track_data_end` — without keeping
//! the audio.
//!
//! ```text
//!  client → server   "lista"            one message per run of bytes
//!  server → client   "RV\nVL\n"         (framed commands: one per line)
//!                    track_data_start ┐
//!                    [audio, counted] ├ a Track
//!                    track_data_end   ┘
//! ```
//!
//! The dialect comes from the client's first bytes: `hello ` means framed.
//! A server message is what it sent before the client spoke again, as
//! Wireshark's "Follow TCP Stream" shows it, cut at the markers. A client
//! message is one line in the framed dialect, and one segment in the
//! original one (the original server reads each `recv` as one command). Markers are searched
//! across segment boundaries ([`markers`]); a framed track's length comes
//! from its header, an original one ends at its end marker.

mod markers;
mod server;

use std::collections::VecDeque;

use serde::Serialize;
use streamlab_proto::{framed, PcmFormat};

use crate::stream::{Chunk, Dir, StreamSink};

pub use markers::{Marker, MarkerSearch};
use server::{Ctx, ServerSide};

/// The most messages kept per connection; the rest are only counted.
pub const MAX_MESSAGES: usize = 2_000;
/// The most bytes of one message's text kept for the report.
pub const MAX_TEXT: usize = 1_024;

/// The two dialects, as the analyzer tells them apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Dialect {
    Original,
    Framed,
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

impl Message {
    /// Adds `data` to the message, keeping at most [`MAX_TEXT`] bytes of it.
    pub fn append(&mut self, data: &[u8]) {
        self.len += data.len() as u64;
        let room = MAX_TEXT.saturating_sub(self.bytes.len());
        self.bytes.extend_from_slice(&data[..data.len().min(room)]);
    }
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
pub struct Track {
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
    fn start(&mut self, index: usize, track: &Track);
    fn audio(&mut self, index: usize, bytes: &[u8]);
    /// The track ended (or the capture did).
    fn end(&mut self, index: usize, track: &Track);
}

/// What the scanner found in one connection.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scan {
    pub dialect: Option<Dialect>,
    pub messages: Vec<Message>,
    /// Messages beyond [`MAX_MESSAGES`], counted only.
    pub messages_dropped: u64,
    pub tracks: Vec<Track>,
}

/// The scanner of one connection: a [`StreamSink`].
pub struct Scanner {
    scan: Scan,
    /// The message being built in each direction.
    open: [Option<Message>; 2],
    server: ServerSide,
    /// Names asked for by `download`, oldest first (original dialect).
    asked: VecDeque<String>,
    out: Option<Box<dyn AudioOut>>,
}

impl Scanner {
    /// A scanner; `out`, if given, receives each track's audio.
    pub fn new(out: Option<Box<dyn AudioOut>>) -> Self {
        Scanner {
            scan: Scan::default(),
            open: [None, None],
            server: ServerSide::default(),
            asked: VecDeque::new(),
            out,
        }
    }

    /// Ends the open messages and tracks, and sorts the messages.
    pub fn finish(mut self) -> Scan {
        self.close(Dir::ToServer);
        let mut cx = Ctx {
            scan: &mut self.scan,
            open: &mut self.open[1],
            asked: &mut self.asked,
            out: self.out.as_deref_mut(),
        };
        self.server.finish(&mut cx);
        self.scan
            .messages
            .sort_by_key(|m| (m.frame, m.dir, m.offset));
        self.scan
    }

    fn close(&mut self, dir: Dir) {
        if let Some(m) = self.open[dir.index()].take() {
            push(&mut self.scan, m);
        }
    }

    fn text(&mut self, dir: Dir, chunk: Chunk<'_>) {
        server::text_into(&mut self.open[dir.index()], dir, chunk);
    }

    /// The client's bytes: framed commands are cut at line ends, original
    /// ones are whole runs.
    fn client(&mut self, chunk: Chunk<'_>) {
        if self.scan.dialect.is_none() {
            let framed = chunk.offset == 0 && chunk.data.starts_with(framed::HELLO_PREFIX);
            self.scan.dialect = Some(if framed {
                Dialect::Framed
            } else {
                Dialect::Original
            });
            self.server.dialect = self.scan.dialect;
        }
        if self.scan.dialect != Some(Dialect::Framed) {
            // The original server reads each segment as one command (one
            // recv), so each is its own message.
            self.note_download(chunk.data);
            self.text(Dir::ToServer, chunk);
            return self.close(Dir::ToServer);
        }
        let mut rest = chunk;
        while let Some(nl) = rest.data.iter().position(|&b| b == b'\n') {
            let (line, after) = rest.data.split_at(nl + 1);
            self.text(Dir::ToServer, Chunk { data: line, ..rest });
            self.close(Dir::ToServer);
            rest = Chunk {
                offset: rest.offset + line.len() as u64,
                data: after,
                ..rest
            };
        }
        if !rest.data.is_empty() {
            self.text(Dir::ToServer, rest);
        }
    }

    /// Remembers the song an original `download` asks for.
    fn note_download(&mut self, data: &[u8]) {
        let text = String::from_utf8_lossy(data);
        if let Some(name) = text.trim().strip_prefix("download ") {
            self.asked.push_back(name.trim().to_string());
        }
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
        // The other side spoke: its message is complete.
        let other = match dir {
            Dir::ToServer => Dir::ToClient,
            Dir::ToClient => Dir::ToServer,
        };
        self.close(other);
        match dir {
            Dir::ToServer => self.client(chunk),
            Dir::ToClient => {
                let mut cx = Ctx {
                    scan: &mut self.scan,
                    open: &mut self.open[1],
                    asked: &mut self.asked,
                    out: self.out.as_deref_mut(),
                };
                self.server.data(chunk, &mut cx);
            }
        }
    }

    fn gap(&mut self, dir: Dir, _offset: u64, len: u64, _frame: u64, _time_ns: u64) {
        match dir {
            Dir::ToServer => {
                if let Some(m) = &mut self.open[0] {
                    m.missing += len;
                    m.len += len;
                }
            }
            Dir::ToClient => {
                let mut cx = Ctx {
                    scan: &mut self.scan,
                    open: &mut self.open[1],
                    asked: &mut self.asked,
                    out: self.out.as_deref_mut(),
                };
                self.server.gap(len, &mut cx);
            }
        }
    }
}

#[cfg(test)]
mod tests;
