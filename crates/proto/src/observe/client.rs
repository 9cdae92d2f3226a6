//! The client's stream: the dialect from its first bytes, then commands —
//! one line each in the framed dialect, one piece (one `recv()`) each in
//! the original one.

use super::{emit, open_message, Event, Found, Kind, Message, Side};
use crate::framed::MAX_LINE;
use crate::{CommandError, Dialect, Request};

#[derive(Debug, Default)]
pub(super) struct ClientStream {
    /// The command being read.
    open: Option<Message>,
    /// The first bytes, while they do not yet tell the dialect (at most
    /// five bytes before the piece that decides), and their offset.
    first: Vec<u8>,
    first_at: u64,
    /// Bytes before the first piece are missing: the greeting is lost.
    lost_start: bool,
    dialect: Option<Dialect>,
    /// The open line is too long, and that has been said.
    too_long: bool,
    /// The open line's last byte (to tell a `\r` before its `\n`).
    last: u8,
}

impl ClientStream {
    /// The next piece. Sets `dialect` once the first bytes tell it; the
    /// caller then calls [`ClientStream::decided`].
    pub fn data(
        &mut self,
        offset: u64,
        data: &[u8],
        dialect: &mut Option<Dialect>,
        found: &mut Found,
    ) {
        if let Some(d) = self.dialect {
            return self.take(d, offset, data, found);
        }
        if self.first.is_empty() {
            self.first_at = offset;
        }
        self.first.extend_from_slice(data);
        *dialect = if self.lost_start || self.first_at != 0 {
            // The capture began after the greeting: nothing to tell by.
            Some(Dialect::Original)
        } else {
            Dialect::detect(&self.first)
        };
    }

    /// The dialect is known: read the first bytes with it.
    pub fn decided(&mut self, d: Dialect, found: &mut Found) {
        self.dialect = Some(d);
        let first = std::mem::take(&mut self.first);
        if !first.is_empty() {
            self.take(d, self.first_at, &first, found);
        }
    }

    fn take(&mut self, d: Dialect, offset: u64, data: &[u8], found: &mut Found) {
        match d {
            Dialect::Original => {
                // The original server reads each recv() as one command.
                let m = open_message(&mut self.open, Side::Client, Kind::Text, offset, found);
                m.append(data);
                note_download(m, found);
                self.close(found);
            }
            Dialect::Framed => self.lines(offset, data, found),
        }
    }

    fn lines(&mut self, mut offset: u64, mut rest: &[u8], found: &mut Found) {
        while !rest.is_empty() {
            let nl = rest.iter().position(|&b| b == b'\n');
            let (line, after) = rest.split_at(nl.map_or(rest.len(), |i| i + 1));
            let m = open_message(&mut self.open, Side::Client, Kind::Text, offset, found);
            m.append(line);
            // The server's bound (framed::LineBuffer): a line's content
            // beyond MAX_LINE, or that many bytes and a `\r\n` still to
            // come, gets 413 and the connection closed.
            let cr = match line.len() {
                0 => false,
                1 => nl.is_some() && self.last == b'\r',
                n => nl.is_some() && line[n - 2] == b'\r',
            };
            self.last = line.last().copied().unwrap_or(self.last);
            let too_long = match nl {
                Some(_) => m.len - 1 - u64::from(cr) > MAX_LINE as u64,
                None => m.len > MAX_LINE as u64 + 1,
            };
            if too_long && !self.too_long {
                self.too_long = true;
                let at = m.offset;
                found.push(Event::Malformed {
                    side: Side::Client,
                    at,
                    why: format!("a command line longer than {MAX_LINE} bytes"),
                });
            }
            if nl.is_some() {
                self.close(found);
            }
            offset += line.len() as u64;
            rest = after;
        }
    }

    /// The command being read is complete (the server spoke, or the
    /// capture ended).
    pub fn close(&mut self, found: &mut Found) {
        emit(&mut self.open, found);
        self.too_long = false;
        self.last = 0;
    }

    /// `len` bytes are missing. Returns true if first bytes are held for
    /// the dialect: with a gap after them the greeting can no longer be
    /// told, and the caller decides (before calling [`ClientStream::lose`]).
    pub fn gap(&mut self) -> bool {
        if self.dialect.is_none() {
            self.lost_start = true;
            return !self.first.is_empty();
        }
        false
    }

    /// Counts `len` missing bytes into the command being read.
    pub fn lose(&mut self, len: u64) {
        if let Some(m) = &mut self.open {
            m.lose(len);
        }
    }
}

/// Remembers the song an original `download` asks for: the track that
/// comes back carries no name. A name the kit's server would refuse still
/// counts: another server (the original) may send a track for it.
fn note_download(m: &Message, found: &mut Found) {
    let text = String::from_utf8_lossy(&m.text);
    match Request::parse(text.trim_end_matches(['\r', '\n'])) {
        Ok(Request::Download { name })
        | Err(CommandError::InvalidName {
            command: "download",
            name,
        }) => found.asked.push_back(name),
        _ => {}
    }
}
