//! How the client reads the original dialect, whose replies carry no
//! length and no terminator: a reply ends by its content (a marker,
//! `goodbye`, the not-found message) or, for the lists, by silence. See the
//! parent module's docs for the rules.

use std::time::Duration;

use super::{
    limits, server_text, ClientEvent, ClientSession, Expect, Original, MAX_ORIGINAL_REPLY,
};
use crate::format::PcmFormat;
use crate::original;

impl ClientSession {
    /// A reply is complete: forget it and let the next request go.
    pub(super) fn original_done(&mut self, now: Duration) {
        self.pop_waiting();
        self.acc.clear();
        self.original = Original::Head;
        self.last_input = None;
        self.flush_queue(now);
    }

    pub(super) fn original_input(&mut self, now: Duration, data: &[u8]) {
        if let Original::Track { .. } = self.original {
            return self.original_track(now, data);
        }
        self.acc.extend_from_slice(data);
        if self.acc.len() > MAX_ORIGINAL_REPLY {
            let why = format!(
                "the server sent {} bytes without ending its reply (the limit is {MAX_ORIGINAL_REPLY})",
                self.acc.len()
            );
            return self.close(Some(why));
        }
        let Some(expect) = self.expected().cloned() else {
            return; // unsolicited bytes: reported when the line goes quiet
        };
        match expect {
            Expect::Download(name) => self.original_download_head(now, name),
            Expect::Quit if self.acc == original::GOODBYE => {
                self.emit(ClientEvent::Goodbye);
                self.original_done(now);
            }
            _ if self.acc == original::UNKNOWN_COMMAND.as_bytes() => {
                self.emit(server_text(&self.acc));
                self.original_done(now);
            }
            _ => {} // lists end by silence
        }
    }

    pub(super) fn original_download_head(&mut self, now: Duration, name: String) {
        let start = original::TRACK_START;
        if self.acc.starts_with(start) {
            let rest = self.acc.split_off(start.len());
            self.acc.clear();
            self.emit(ClientEvent::TrackStart {
                name: name.clone(),
                format: PcmFormat::CD,
                bytes: None,
            });
            self.original = Original::Track { name, total: 0 };
            return self.original_track(now, &rest);
        }
        // Compare bytes: decoding the whole reply on every read would cost
        // time squared in its length.
        if self.acc.starts_with(original::NOT_FOUND_PREFIX.as_bytes())
            && self.acc.ends_with(original::NOT_FOUND_SUFFIX.as_bytes())
        {
            let message = String::from_utf8_lossy(&self.acc).into_owned();
            self.emit(ClientEvent::NotFound { name, message });
            self.original_done(now);
        } else if self.acc == original::UNKNOWN_COMMAND.as_bytes() {
            self.emit(server_text(&self.acc));
            self.original_done(now);
        }
        // Otherwise wait: more bytes, or silence (see original_quiet).
    }

    pub(super) fn original_track(&mut self, now: Duration, data: &[u8]) {
        let max = self.config.max_track_bytes;
        let Original::Track { name, total } = &mut self.original else {
            return;
        };
        let end = original::TRACK_END;
        let mut buf = std::mem::take(&mut self.acc);
        buf.extend_from_slice(data);
        // Audio has no announced length: stop at the bound, whatever comes.
        let audio = match buf.ends_with(end) {
            true => buf.len() - end.len(),
            false => buf.len() - (end.len() - 1).min(buf.len()),
        };
        if let Some(why) = limits::refuse_growth(max, name, *total, audio) {
            return self.close(Some(why));
        }
        if buf.ends_with(end) {
            buf.truncate(buf.len() - end.len());
            *total += buf.len() as u64;
            let (name, total) = (name.clone(), *total);
            if !buf.is_empty() {
                self.emit(ClientEvent::TrackData {
                    name: name.clone(),
                    data: buf,
                });
            }
            self.emit(ClientEvent::TrackEnd { name, bytes: total });
            return self.original_done(now);
        }
        // Hold back what could be the start of the end marker.
        let keep = (end.len() - 1).min(buf.len());
        self.acc = buf.split_off(buf.len() - keep);
        if !buf.is_empty() {
            *total += buf.len() as u64;
            let name = name.clone();
            self.emit(ClientEvent::TrackData { name, data: buf });
        }
    }

    /// Bytes nobody asked for (a busy message, say), once the line is quiet.
    pub(super) fn unsolicited(&mut self, now: Duration) {
        let quiet = self
            .last_input
            .is_some_and(|t| now >= t + self.config.settle);
        if !self.acc.is_empty() && quiet {
            let e = server_text(&self.acc);
            self.emit(e);
            self.acc.clear();
        }
    }

    /// Silence: ends lists, and reports replies that never completed.
    pub(super) fn original_quiet(&mut self, now: Duration, expect: &Expect) {
        let quiet_since = self.last_input.unwrap_or(self.sent_at);
        let text = String::from_utf8_lossy(&self.acc).into_owned();
        let refused = text.starts_with("ERR ") || text == original::UNKNOWN_COMMAND;
        match expect {
            Expect::List | Expect::Devices if self.last_input.is_none() => {
                // An empty list is zero bytes: the original sends nothing.
                if now >= self.sent_at + self.config.reply_timeout {
                    let e = match expect {
                        Expect::List => ClientEvent::Songs(Vec::new()),
                        _ => ClientEvent::Devices(Vec::new()),
                    };
                    self.emit(e);
                    self.original_done(now);
                }
            }
            _ if self.last_input.is_none() => {}
            _ if now < quiet_since + self.config.settle => {}
            // Half a marker: the rest may be late (a retransmission), so
            // wait for it as long as for a reply.
            _ if self.is_start_of_known_reply()
                && now < quiet_since + self.config.reply_timeout => {}
            _ if refused && self.original == Original::Head => {
                self.emit(server_text(&self.acc));
                self.original_done(now);
            }
            Expect::List => {
                self.emit(ClientEvent::Songs(original::parse_song_list(&text)));
                self.original_done(now);
            }
            Expect::Devices => {
                let devices = original::parse_devices(&text);
                let e = if devices.is_empty() && !text.is_empty() {
                    server_text(&self.acc)
                } else {
                    ClientEvent::Devices(devices)
                };
                self.emit(e);
                self.original_done(now);
            }
            _ if matches!(self.original, Original::Track { .. }) => {}
            _ => {
                // A reply we could not recognise, now complete by silence.
                self.emit(server_text(&self.acc));
                self.original_done(now);
            }
        }
    }

    /// True when the bytes gathered so far are the start of a reply that
    /// the original dialect ends by content, not by silence: a marker,
    /// `goodbye`, the not-found message or `Comando Inexistente.`.
    pub(super) fn is_start_of_known_reply(&self) -> bool {
        let acc = self.acc.as_slice();
        let strict_prefix = |full: &[u8]| full.len() > acc.len() && full.starts_with(acc);
        let not_found = original::NOT_FOUND_PREFIX.as_bytes();
        self.original == Original::Head
            && (strict_prefix(original::TRACK_START)
                || strict_prefix(original::GOODBYE)
                || strict_prefix(original::UNKNOWN_COMMAND.as_bytes())
                || strict_prefix(not_found)
                || (acc.starts_with(not_found)
                    && !acc.ends_with(original::NOT_FOUND_SUFFIX.as_bytes())))
    }
}
