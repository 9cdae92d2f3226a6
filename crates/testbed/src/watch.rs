//! The figures a run is judged by, read from the packets that cross the
//! client's side of the link, the way a student's Wireshark at the client
//! would see them.
//!
//! * `download_s`: from the packet that carried the first byte of the
//!   client's `download` request *leaving* the client, to the packet that
//!   completed the track *arriving* in order at the client;
//! * `first_audio_s`, `stalls`, `stalled_s`: the in-order progress played
//!   back through netsim's [`replay`] with the default player, as the
//!   simulator's figures are;
//! * `bit_exact`: the reassembled track equals the song file's PCM.
//!
//! The track is found with proto's own words: the framed dialect's
//! `track_data_start` line is parsed by [`framed::TrackHeader`]; in the
//! original dialect the audio follows [`original::TRACK_START`] and is as
//! long as the song. Nothing here reads a clock: time is passed in.

use std::collections::BTreeMap;
use std::time::Duration;

use streamlab_analyzer::ip::Ipv4Packet;
use streamlab_analyzer::tcp::{TcpFlags, TcpPacket};
use streamlab_netsim::player::{replay, Arrivals, PlayerConfig};
use streamlab_netsim::time::SimTime;
use streamlab_proto::client::framed_line;
use streamlab_proto::{framed, original, Dialect, PcmFormat, Request, Track};

/// One direction's bytes, put back in order from the segments seen.
#[derive(Debug, Default)]
struct Stream {
    /// The sequence number of the first data byte (ISN + 1).
    base: Option<u32>,
    /// Everything delivered in order so far.
    data: Vec<u8>,
    /// Segments that came early, by stream offset.
    early: BTreeMap<u64, Vec<u8>>,
}

impl Stream {
    /// Takes one segment; returns its stream offset if it carried data.
    fn segment(&mut self, tcp: &TcpPacket<'_>) -> Option<u64> {
        if tcp.flags().contains(TcpFlags::SYN) {
            self.base.get_or_insert(tcp.seq_number().wrapping_add(1));
            return None;
        }
        let payload = tcp.payload().filter(|p| !p.is_empty())?;
        let rel = tcp.seq_number().wrapping_sub(self.base?);
        // More than 2 GiB "ahead" is really behind: an old segment.
        if rel >= 1 << 31 {
            return None;
        }
        let offset = u64::from(rel);
        self.early.entry(offset).or_insert_with(|| payload.to_vec());
        // Move whatever now touches the in-order end into `data`.
        while let Some((&at, _)) = self.early.first_key_value() {
            let have = self.data.len() as u64;
            if at > have {
                break;
            }
            let Some((_, bytes)) = self.early.pop_first() else {
                break;
            };
            let skip = usize::try_from(have - at).unwrap_or(usize::MAX);
            if let Some(new) = bytes.get(skip..) {
                self.data.extend_from_slice(new);
            }
        }
        Some(offset)
    }
}

/// Where the track's audio lies in the server → client stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Span {
    start: usize,
    len: usize,
    /// The length the framed header announced (original: the song's).
    announced: u64,
}

/// What [`Watch::finish`] reports.
#[derive(Debug, Clone, PartialEq)]
pub struct Watched {
    /// Request leaving → last track byte in order, if both happened.
    pub download: Option<Duration>,
    pub first_audio: Option<Duration>,
    /// `None` when no track started (nothing to play).
    pub stalls: Option<usize>,
    pub stalled: Option<Duration>,
    pub bit_exact: bool,
    /// Track bytes delivered in order.
    pub track_bytes: u64,
}

/// Watches one download at the client's side. See the [module docs](self).
#[derive(Debug)]
pub struct Watch {
    dialect: Dialect,
    song: Track,
    /// The request as the client writes it.
    request: Vec<u8>,
    up: Stream,
    down: Stream,
    /// (offset, end, time) of client → server data, first sending only.
    up_sent: Vec<(u64, u64, SimTime)>,
    /// Framed: where the next unread line of the server's stream starts.
    scan_pos: usize,
    span: Option<Span>,
    audio_seen: usize,
    /// The track's progress at the client, for the player's figures.
    arrivals: Arrivals,
}

impl Watch {
    /// Watches a client download `song` in `dialect`.
    pub fn new(dialect: Dialect, song: Track) -> Self {
        let download = Request::Download {
            name: song.name.clone(),
        };
        let request = match dialect {
            Dialect::Framed => framed_line(&download).into_bytes(),
            // Download can always be said in the original dialect.
            Dialect::Original => original::encode_request(&download).unwrap_or_default(),
        };
        Watch {
            dialect,
            song,
            request,
            up: Stream::default(),
            down: Stream::default(),
            up_sent: Vec::new(),
            scan_pos: 0,
            span: None,
            audio_seen: 0,
            arrivals: Arrivals::default(),
        }
    }

    /// An IPv4 packet left the client at `now`.
    pub fn leaves_client(&mut self, now: SimTime, packet: &[u8]) {
        let Some(tcp) = tcp_of(packet) else { return };
        let Some(offset) = self.up.segment(&tcp) else {
            return;
        };
        let end = offset + tcp.payload().map_or(0, |p| p.len() as u64);
        if self.up_sent.last().is_none_or(|&(_, e, _)| end > e) {
            self.up_sent.push((offset, end, now));
        }
        if self.arrivals.requested.is_some() {
            return;
        }
        let Some(at) = find(&self.up.data, &self.request) else {
            return;
        };
        let at = at as u64;
        let sent = self.up_sent.iter().find(|&&(o, e, _)| o <= at && at < e);
        if let Some(&(_, _, t)) = sent {
            self.arrivals.requested = Some(t);
        }
    }

    /// An IPv4 packet arrived at the client at `now`.
    pub fn arrives_at_client(&mut self, now: SimTime, packet: &[u8]) {
        let Some(tcp) = tcp_of(packet) else { return };
        if self.down.segment(&tcp).is_none() {
            return;
        }
        if self.span.is_none() {
            self.span = self.locate();
            if let Some(span) = self.span {
                let format = self.header_format(span).unwrap_or(self.song.format);
                self.arrivals.start = Some((now, format));
            }
        }
        let Some(span) = self.span else { return };
        let audio = self
            .down
            .data
            .len()
            .saturating_sub(span.start)
            .min(span.len);
        if audio > self.audio_seen {
            self.arrivals.data.push((now, audio - self.audio_seen));
            self.audio_seen = audio;
        }
        if audio == span.len && self.arrivals.end.is_none() {
            self.arrivals.end = Some(now);
        }
    }

    /// The figures, once the run is over.
    pub fn finish(self) -> Watched {
        let a = &self.arrivals;
        let download = match (a.requested, a.end) {
            (Some(a), Some(b)) => Some(b.since(a)),
            _ => None,
        };
        let bit_exact = self.span.is_some_and(|s| {
            s.announced == self.song.pcm.len() as u64
                && self.down.data.get(s.start..s.start + s.len) == Some(&self.song.pcm[..])
        });
        let played = replay(PlayerConfig::default(), a);
        Watched {
            download,
            first_audio: played.as_ref().and_then(|p| p.first_audio),
            stalls: played.as_ref().map(|p| p.stalls.len()),
            stalled: played.as_ref().map(|p| p.stalled),
            bit_exact,
            track_bytes: self.audio_seen as u64,
        }
    }

    /// Finds the track's audio in the server's stream, once its start is in.
    fn locate(&mut self) -> Option<Span> {
        let data = &self.down.data;
        match self.dialect {
            Dialect::Framed => loop {
                let rest = data.get(self.scan_pos..)?;
                let nl = rest.iter().position(|&b| b == b'\n')?;
                let line = &rest[..nl];
                let start = self.scan_pos + nl + 1;
                self.scan_pos = start;
                if !line.starts_with(original::TRACK_START) {
                    continue;
                }
                let text = String::from_utf8_lossy(line);
                let header = framed::TrackHeader::parse(text.trim_end_matches('\r')).ok()?;
                let len = usize::try_from(header.bytes).ok()?;
                return Some(Span {
                    start,
                    len,
                    announced: header.bytes,
                });
            },
            Dialect::Original => {
                let at = find(data, original::TRACK_START)?;
                Some(Span {
                    start: at + original::TRACK_START.len(),
                    len: self.song.pcm.len(),
                    announced: self.song.pcm.len() as u64,
                })
            }
        }
    }

    /// The format a framed header announced.
    fn header_format(&self, span: Span) -> Option<PcmFormat> {
        if self.dialect != Dialect::Framed {
            return None;
        }
        let head = self.down.data.get(..span.start.checked_sub(1)?)?;
        let line_start = head.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        let text = String::from_utf8_lossy(&head[line_start..]);
        framed::TrackHeader::parse(text.trim_end_matches('\r'))
            .ok()
            .map(|h| h.format)
    }
}

/// The TCP segment inside an IPv4 packet, if it is one.
pub fn tcp_of(packet: &[u8]) -> Option<TcpPacket<'_>> {
    let ip = Ipv4Packet::new_checked(packet).ok()?;
    if ip.protocol() != 6 || ip.fragment_offset() != 0 {
        return None;
    }
    let end = ip.total_len().min(packet.len());
    TcpPacket::new_checked(packet.get(ip.header_len()..end)?).ok()
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return None;
    }
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
#[path = "watch_tests.rs"]
mod tests;
