//! The framed dialect: one command per line, every reply self-delimiting.
//!
//! ```text
//! C: hello streamlab/1 laptop            S: OK streamlab/1 ready
//! C: list                                S: OK 2 songs
//!                                        S: ode_to_joy
//!                                        S: twinkle
//! C: download ode_to_joy                 S: track_data_start 882000 44100 2 s16le ode_to_joy
//!                                        S: <exactly 882000 bytes of PCM>
//!                                        S: track_data_end ode_to_joy
//! C: status playing ode_to_joy           S: OK
//! C: devices                             S: OK 1 devices
//!                                        S: 1 127.0.0.1 45926 playing ode_to_joy
//! C: quit                                S: OK goodbye
//! C: dance                               S: ERR 400 unknown command 'dance'
//! ```
//!
//! Lines end in `\n` (a `\r` before it is ignored) and are at most
//! [`MAX_LINE`] bytes. docs/protocol.md gives the reasons for each choice.

use crate::format::{PcmFormat, SampleFormat};
use crate::request::{Device, PlayState};

/// The greeting a framed client sends first; the server's auto-detection
/// looks for it.
pub const HELLO_PREFIX: &[u8] = HELLO_WORD.as_bytes();
/// [`HELLO_PREFIX`] as text.
pub const HELLO_WORD: &str = "hello ";
/// Protocol name and version, as sent in the greeting.
pub const VERSION: &str = "streamlab/1";
/// The framed dialect's commands, as `help` lists them (each line of its
/// answer starts with one), aliases aside.
pub const COMMAND_WORDS: [&str; 7] = [
    "hello", "list", "download", "devices", "status", "quit", "help",
];
/// The longest line, in bytes, a peer must accept (without the `\n`).
pub const MAX_LINE: usize = 1024;
/// The longest framed line a client accepts from a server. Commands are
/// bounded at [`MAX_LINE`]; replies stay under it too, but a client is
/// generous in what it accepts.
pub const MAX_REPLY_LINE: usize = 64 * 1024;

/// Error codes, borrowed from HTTP so they read familiarly.
pub mod code {
    /// The command is not understood (unknown word, bad argument, bad UTF-8).
    pub const BAD_REQUEST: u16 = 400;
    /// No song by that name.
    pub const NOT_FOUND: u16 = 404;
    /// The line was longer than [`MAX_LINE`](super::MAX_LINE); the server closes.
    pub const TOO_LONG: u16 = 413;
    /// The song is listed but the server cannot read it now (its file
    /// vanished or changed); the connection stays open.
    pub const UNREADABLE: u16 = 500;
    /// The server has too many clients; it closes.
    pub const BUSY: u16 = 503;
}

/// Splits a byte stream into lines, refusing lines longer than a bound.
#[derive(Debug)]
pub struct LineBuffer {
    buf: Vec<u8>,
    max: usize,
}

/// What [`LineBuffer::next_line`] found.
#[derive(Debug, PartialEq, Eq)]
pub enum Line {
    /// A complete line, without `\r\n` or `\n`.
    Complete(Vec<u8>),
    /// No complete line yet: wait for more bytes.
    Incomplete,
    /// More than the bound arrived without a `\n`.
    TooLong,
}

impl LineBuffer {
    pub fn new(max: usize) -> Self {
        LineBuffer {
            buf: Vec::new(),
            max,
        }
    }

    pub fn extend(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    pub fn next_line(&mut self) -> Line {
        cut_line(&mut self.buf, self.max)
    }

    /// Removes up to `n` raw bytes (track audio) from the front.
    pub fn take(&mut self, n: usize) -> Vec<u8> {
        let n = n.min(self.buf.len());
        self.buf.drain(..n).collect()
    }

    /// Bytes buffered and not yet taken.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }
}

/// Takes the first line off the front of `buf`, as [`LineBuffer`] does:
/// the one rule for where a line ends (`\n`, a `\r` before it dropped) and
/// how long its content may be (`max` bytes). A line found too long is
/// taken off too; with no `\n` yet, `buf` is left as it is.
pub fn cut_line(buf: &mut Vec<u8>, max: usize) -> Line {
    match buf.iter().position(|&b| b == b'\n') {
        Some(i) if i <= max + 1 => {
            let mut line: Vec<u8> = buf.drain(..=i).collect();
            line.pop();
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            if line.len() > max {
                return Line::TooLong;
            }
            Line::Complete(line)
        }
        Some(_) => Line::TooLong,
        None if buf.len() > max + 1 => Line::TooLong,
        None => Line::Incomplete,
    }
}

/// The `track_data_start` line: everything a client needs to read the audio
/// that follows and to play it.
///
/// ```text
/// track_data_start <bytes> <rate> <channels> <format> <name>
/// track_data_start 882000 44100 2 s16le ode_to_joy
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackHeader {
    /// Exactly this many audio bytes follow the line.
    pub bytes: u64,
    pub format: PcmFormat,
    /// The song's name as the server spells it (may contain spaces).
    pub name: String,
}

impl TrackHeader {
    pub fn emit(&self) -> Vec<u8> {
        let f = &self.format;
        format!(
            "{} {} {} {} {} {}\n",
            crate::original::TRACK_START_WORD,
            self.bytes,
            f.sample_rate,
            f.channels,
            f.sample,
            self.name
        )
        .into_bytes()
    }

    /// Parses the line (without its `\n`).
    pub fn parse(line: &str) -> Result<TrackHeader, String> {
        let mut parts = line.splitn(6, ' ');
        if parts.next() != Some(crate::original::TRACK_START_WORD) {
            return Err(format!("expected track_data_start, got {line:?}"));
        }
        let mut field = |what: &str| {
            parts
                .next()
                .filter(|s| !s.is_empty())
                .ok_or_else(|| format!("track_data_start line lacks the {what}: {line:?}"))
        };
        let bytes = field("byte count")?;
        let rate = field("sample rate")?;
        let channels = field("channel count")?;
        let sample = field("sample format")?;
        let name = field("song name")?.to_string();
        // Debug-quoted, so the server's bytes are safe to print.
        let num = |s: &str, what: &str| format!("bad {what} {s:?} in {line:?}");
        let format = PcmFormat {
            sample_rate: rate.parse().map_err(|_| num(rate, "sample rate"))?,
            channels: channels
                .parse()
                .map_err(|_| num(channels, "channel count"))?,
            sample: sample
                .parse::<SampleFormat>()
                .map_err(|_| num(sample, "sample format"))?,
        };
        if !format.is_valid() {
            return Err(format!("impossible format {format} in {line:?}"));
        }
        Ok(TrackHeader {
            bytes: bytes.parse().map_err(|_| num(bytes, "byte count"))?,
            format,
            name,
        })
    }
}

/// The greeting a framed client sends first: `hello streamlab/1 <agent>\n`.
pub fn hello(agent: &str) -> String {
    format!("{HELLO_WORD}{VERSION} {agent}\n")
}

/// The line after a track's audio.
pub fn track_end(name: &str) -> Vec<u8> {
    format!("{} {name}\n", crate::original::TRACK_END_WORD).into_bytes()
}

/// `OK <text>\n`
pub fn ok(text: &str) -> Vec<u8> {
    if text.is_empty() {
        b"OK\n".to_vec()
    } else {
        format!("OK {text}\n").into_bytes()
    }
}

/// `ERR <code> <message>\n`, the message cut short (ending in `...`) if
/// the line would pass [`MAX_LINE`]: messages echo what the client sent,
/// and a reply keeps the bound a command must keep.
pub fn err(code: u16, message: &str) -> Vec<u8> {
    let mut line = format!("ERR {code} {message}");
    if line.len() > MAX_LINE {
        let mut cut = MAX_LINE - "...".len();
        while !line.is_char_boundary(cut) {
            cut -= 1;
        }
        line.truncate(cut);
        line.push_str("...");
    }
    line.push('\n');
    line.into_bytes()
}

/// A counted list: `OK <n> <noun>\n` then one line per item.
pub fn counted_list(noun: &str, items: &[String]) -> Vec<u8> {
    let mut out = format!("OK {} {noun}\n", items.len());
    for i in items {
        out.push_str(i);
        out.push('\n');
    }
    out.into_bytes()
}

/// A status line, as a client reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    Ok(String),
    Err { code: u16, message: String },
}

impl Status {
    pub fn parse(line: &str) -> Option<Status> {
        if line == "OK" {
            return Some(Status::Ok(String::new()));
        }
        if let Some(rest) = line.strip_prefix("OK ") {
            return Some(Status::Ok(rest.to_string()));
        }
        let rest = line.strip_prefix("ERR ")?;
        let (code, message) = rest.split_once(' ').unwrap_or((rest, ""));
        Some(Status::Err {
            code: code.parse().ok()?,
            message: message.to_string(),
        })
    }

    /// The count at the start of a counted list's status (`OK 3 songs`).
    pub fn count(&self) -> Option<usize> {
        match self {
            Status::Ok(text) => text.split(' ').next()?.parse().ok(),
            Status::Err { .. } => None,
        }
    }
}

/// One line of the `devices` body: `<n> <ip> <port> <state> [<song>]`.
pub fn device_line(index: usize, d: &Device) -> String {
    let mut line = format!("{} {} {} {}", index, d.ip, d.port, d.state);
    if let Some(ms) = d.position_ms {
        line.push(' ');
        line.push_str(&crate::request::position_token(ms));
    }
    if let Some(song) = &d.song {
        line.push(' ');
        line.push_str(song);
    }
    line
}

pub fn parse_device_line(line: &str) -> Option<Device> {
    let mut parts = line.splitn(5, ' ');
    let _index: usize = parts.next()?.parse().ok()?;
    let ip = parts.next()?.to_string();
    let port = parts.next()?.parse().ok()?;
    let state = PlayState::parse(parts.next()?)?;
    let rest = parts.next().filter(|s| !s.is_empty());
    // An optional `@12.345` before the name.
    let (position_ms, song) = match rest {
        Some(r) if r.starts_with('@') => {
            let (token, name) = r.split_once(' ').map_or((r, None), |(t, n)| (t, Some(n)));
            (crate::request::parse_position(token).ok(), name)
        }
        other => (None, other),
    };
    Some(Device {
        ip,
        port,
        state,
        song: song.filter(|s| !s.is_empty()).map(String::from),
        position_ms,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_split_on_newline_and_drop_cr() {
        let mut lb = LineBuffer::new(16);
        lb.extend(b"list\r\ndown");
        assert_eq!(lb.next_line(), Line::Complete(b"list".to_vec()));
        assert_eq!(lb.next_line(), Line::Incomplete);
        lb.extend(b"load RV\nPCM");
        assert_eq!(lb.next_line(), Line::Complete(b"download RV".to_vec()));
        assert_eq!(lb.take(10), b"PCM");
    }

    #[test]
    fn a_line_over_the_bound_is_refused_even_before_its_newline() {
        let mut lb = LineBuffer::new(4);
        lb.extend(b"abcd\n");
        assert_eq!(lb.next_line(), Line::Complete(b"abcd".to_vec()));
        lb.extend(b"abcdef");
        assert_eq!(lb.next_line(), Line::TooLong);
        let mut lb = LineBuffer::new(4);
        lb.extend(b"abcde\n");
        assert_eq!(lb.next_line(), Line::TooLong);
    }

    #[test]
    fn track_header_round_trips_with_spaces_in_the_name() {
        let h = TrackHeader {
            bytes: 882_000,
            format: PcmFormat::CD,
            name: "Ode To Joy".into(),
        };
        let line = String::from_utf8(h.emit()).unwrap();
        assert_eq!(line, "track_data_start 882000 44100 2 s16le Ode To Joy\n");
        assert_eq!(TrackHeader::parse(line.trim_end()), Ok(h));
    }

    #[test]
    fn track_header_errors_name_the_field() {
        let e = TrackHeader::parse("track_data_start 10 44100 2").unwrap_err();
        assert!(e.contains("sample format"), "{e}");
        let e = TrackHeader::parse("track_data_start x 44100 2 s16le a").unwrap_err();
        assert!(e.contains("byte count"), "{e}");
        let e = TrackHeader::parse("track_data_start 1 0 2 s16le a").unwrap_err();
        assert!(e.contains("impossible"), "{e}");
    }

    #[test]
    fn an_error_line_never_passes_the_line_bound() {
        // 'é' is two bytes: the cut must not split it.
        let echo = format!("no song named '{}'", "é".repeat(MAX_LINE));
        let line = err(code::NOT_FOUND, &echo);
        let text = std::str::from_utf8(&line).expect("cut at a char boundary");
        assert!(text.len() - 1 <= MAX_LINE, "{} bytes", text.len());
        assert!(text.starts_with("ERR 404 no song named 'éé"));
        assert!(text.ends_with("...\n"));
        assert_eq!(err(code::BAD_REQUEST, "short"), b"ERR 400 short\n");
    }

    #[test]
    fn status_lines() {
        assert_eq!(Status::parse("OK"), Some(Status::Ok(String::new())));
        assert_eq!(Status::parse("OK 3 songs").unwrap().count(), Some(3));
        assert_eq!(
            Status::parse("ERR 404 no song named 'x'"),
            Some(Status::Err {
                code: 404,
                message: "no song named 'x'".into()
            })
        );
        assert_eq!(Status::parse("hello"), None);
        assert_eq!(Status::parse("ERR x y"), None);
    }

    #[test]
    fn device_lines_round_trip() {
        let d = Device {
            ip: "127.0.0.1".into(),
            port: 45926,
            state: PlayState::Paused,
            song: Some("Ode To Joy".into()),
            position_ms: None,
        };
        let line = device_line(1, &d);
        assert_eq!(line, "1 127.0.0.1 45926 paused Ode To Joy");
        assert_eq!(parse_device_line(&line), Some(d.clone()));
        let there = Device {
            position_ms: Some(61_250),
            ..d
        };
        let line = device_line(2, &there);
        assert_eq!(line, "2 127.0.0.1 45926 paused @61.250 Ode To Joy");
        assert_eq!(parse_device_line(&line), Some(there));
    }
}
