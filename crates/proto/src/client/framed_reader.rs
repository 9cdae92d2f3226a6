//! How the client reads the framed dialect: status lines, counted bodies,
//! and tracks whose header says how many audio bytes follow.

use super::{shown, ClientEvent, ClientSession, Expect, Framed, MAX_BODY_BYTES, MAX_BODY_LINES};
use crate::framed::{self, Line, Status, TrackHeader};

impl ClientSession {
    pub(super) fn framed_input(&mut self, mut data: &[u8]) {
        // Fast path: audio that follows buffered-nothing goes straight out.
        if let Framed::Track { name, left, .. } = &mut self.framed {
            if self.lines.is_empty() && *left > 0 {
                let n = (*left).min(data.len() as u64) as usize;
                *left -= n as u64;
                let e = ClientEvent::TrackData {
                    name: name.clone(),
                    data: data[..n].to_vec(),
                };
                self.emit(e);
                data = &data[n..];
            }
        }
        self.lines.extend(data);
        while !self.closed && self.framed_step() {}
    }

    /// Decodes one unit (a line or a run of audio); false when more bytes
    /// are needed.
    pub(super) fn framed_step(&mut self) -> bool {
        if let Framed::Track { name, left, .. } = &mut self.framed {
            if *left > 0 {
                // On a 32-bit target a huge count must not wrap to 0 (and stall).
                let want = usize::try_from(*left).unwrap_or(usize::MAX);
                let data = self.lines.take(want);
                if data.is_empty() {
                    return false;
                }
                *left -= data.len() as u64;
                let name = name.clone();
                self.emit(ClientEvent::TrackData { name, data });
                return true;
            }
        }
        let line = match self.lines.next_line() {
            Line::Complete(l) => String::from_utf8_lossy(&l).into_owned(),
            Line::Incomplete => return false,
            Line::TooLong => {
                self.close(Some("the server sent an over-long line".into()));
                return false;
            }
        };
        self.framed_line(line);
        true
    }

    pub(super) fn framed_line(&mut self, line: String) {
        match std::mem::replace(&mut self.framed, Framed::Line) {
            Framed::Track { name, total, .. } => {
                if line.strip_prefix("track_data_end ") == Some(name.as_str()) {
                    self.emit(ClientEvent::TrackEnd { name, bytes: total });
                    self.pop_waiting();
                } else {
                    let name = shown(name.as_bytes());
                    let why = format!("expected 'track_data_end {name}', got {line:?}");
                    self.close(Some(why));
                }
            }
            Framed::Body {
                left,
                mut items,
                bytes,
            } => {
                let bytes = bytes + line.len();
                if bytes > MAX_BODY_BYTES {
                    let why = format!(
                        "the server's list passed {MAX_BODY_BYTES} bytes with {left} lines to go"
                    );
                    return self.close(Some(why));
                }
                items.push(line);
                self.framed_body(left - 1, items, bytes);
            }
            Framed::Line => self.framed_status(line),
        }
    }

    pub(super) fn framed_body(&mut self, left: usize, items: Vec<String>, bytes: usize) {
        if left > 0 {
            self.framed = Framed::Body { left, items, bytes };
            return;
        }
        let e = match self.expected() {
            Some(Expect::Devices) => ClientEvent::Devices(
                items
                    .iter()
                    .filter_map(|l| framed::parse_device_line(l))
                    .collect(),
            ),
            Some(Expect::Help) => ClientEvent::ServerError {
                code: None,
                message: items.join("\n"),
            },
            _ => ClientEvent::Songs(items),
        };
        self.emit(e);
        self.pop_waiting();
    }

    pub(super) fn framed_status(&mut self, line: String) {
        if line.starts_with("track_data_start") {
            if !matches!(self.expected(), Some(Expect::Download(_))) {
                return self.close(Some(format!("a track nobody asked for: {line:?}")));
            }
            return match TrackHeader::parse(&line) {
                Ok(h) => {
                    if let Some(why) = self.refuse_announced(&h.name, h.bytes) {
                        return self.close(Some(why));
                    }
                    self.emit(ClientEvent::TrackStart {
                        name: h.name.clone(),
                        format: h.format,
                        bytes: Some(h.bytes),
                    });
                    self.framed = Framed::Track {
                        name: h.name,
                        left: h.bytes,
                        total: h.bytes,
                    };
                }
                Err(e) => self.close(Some(e)),
            };
        }
        let Some(status) = Status::parse(&line) else {
            return self.close(Some(format!("not a status line: {line:?}")));
        };
        let expect = self.expected().cloned();
        match (status, expect) {
            (Status::Err { code, message }, Some(Expect::Download(name)))
                if code == framed::code::NOT_FOUND =>
            {
                self.emit(ClientEvent::NotFound { name, message });
                self.pop_waiting();
            }
            (Status::Err { code, message }, _) => {
                self.emit(ClientEvent::ServerError {
                    code: Some(code),
                    message,
                });
                self.pop_waiting();
            }
            (s @ Status::Ok(_), Some(Expect::List | Expect::Devices | Expect::Help)) => {
                match s.count() {
                    Some(0) => self.framed_body(0, Vec::new(), 0),
                    Some(n) if n > MAX_BODY_LINES => self.close(Some(format!(
                        "the server announced {n} lines; more than {MAX_BODY_LINES} is not believable"
                    ))),
                    Some(n) => {
                        self.framed = Framed::Body {
                            left: n,
                            items: Vec::with_capacity(n.min(1024)),
                            bytes: 0,
                        }
                    }
                    None => self.close(Some(format!("expected a count in {line:?}"))),
                }
            }
            (Status::Ok(text), Some(e)) => {
                let ev = match e {
                    Expect::Hello => ClientEvent::Ready(text),
                    Expect::Quit => ClientEvent::Goodbye,
                    Expect::Status => ClientEvent::Recorded,
                    _ => {
                        return self.close(Some(format!("unexpected reply {line:?}")));
                    }
                };
                self.emit(ev);
                self.pop_waiting();
            }
            (Status::Ok(_), None) => self.close(Some(format!("unexpected reply {line:?}"))),
        }
    }
}
