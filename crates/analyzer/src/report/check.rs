//! `streamlab analyze --check lab2`: grades a student's capture for lab 2 —
//! does it hold a whole session? It looks for the three-way handshake, a
//! list command and its reply, a complete download with both markers, and
//! quit/goodbye, and says exactly what is missing.
//!
//! ```text
//! lab2 check of my-session.pcapng, TCP stream 0:
//!   ok       the three-way handshake: frames 1, 2, 3
//!   MISSING  a complete download: no track_data_end (the capture stops 5000 B after frame 9)
//! 3 of 4 found
//! ```

use std::fmt::Write as _;

use super::{Analysis, Connection};
use crate::scan::{Kind, Message};
use crate::stream::Dir;

/// The checks a teacher can ask for.
pub const CHECKS: [&str; 1] = ["lab2"];

/// One item of a check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub what: &'static str,
    /// `Ok(where it was found)` or `Err(what is missing)`.
    pub found: Result<String, String>,
}

/// The result of a check on one capture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grade {
    /// The connection graded (the one with the most items found).
    pub stream: Option<u64>,
    pub items: Vec<Item>,
}

impl Grade {
    pub fn passed(&self) -> bool {
        self.items.iter().all(|i| i.found.is_ok())
    }
}

/// Lab 2's check: the best connection of the capture.
pub fn lab2(a: &Analysis) -> Grade {
    let mut grader = Lab2::default();
    for c in &a.connections {
        grader.grade(c);
    }
    grader.finish()
}

/// Lab 2's check, one connection at a time: only the best so far is kept.
#[derive(Debug, Default)]
pub struct Lab2 {
    /// Items found, the stream, and its items.
    best: Option<(usize, u64, Vec<Item>)>,
}

impl Lab2 {
    /// Grades one more connection.
    pub fn grade(&mut self, c: &Connection) {
        let items = lab2_items(c);
        let found = items.iter().filter(|i| i.found.is_ok()).count();
        let stream = c.info.stream;
        // More items found wins; ties go to the earliest connection.
        let better = self.best.as_ref().is_none_or(|(f, s, _)| {
            (found, std::cmp::Reverse(stream)) > (*f, std::cmp::Reverse(*s))
        });
        if better {
            self.best = Some((found, stream, items));
        }
    }

    /// The grade of the best connection.
    pub fn finish(self) -> Grade {
        match self.best {
            Some((_, stream, items)) => Grade {
                stream: Some(stream),
                items,
            },
            None => Grade {
                stream: None,
                items: vec![Item {
                    what: "a TCP connection",
                    found: Err("the capture has no TCP connection".into()),
                }],
            },
        }
    }
}

fn lab2_items(c: &Connection) -> Vec<Item> {
    vec![
        Item {
            what: "the three-way handshake",
            found: handshake(c),
        },
        Item {
            what: "a list command and its reply",
            found: command_and_reply(c, &["lista", "7", "list"], |_| true),
        },
        Item {
            what: "a complete download with both markers",
            found: download(c),
        },
        Item {
            what: "quit and goodbye",
            found: command_and_reply(c, &["quit", "9"], |m| {
                String::from_utf8_lossy(&m.bytes).contains("goodbye")
            }),
        },
    ]
}

fn handshake(c: &Connection) -> Result<String, String> {
    let h = &c.info.handshake;
    match (h.syn, h.syn_ack, h.ack) {
        (Some(a), Some(b), Some(d)) => Ok(format!("frames {a}, {b}, {d}")),
        (None, _, _) => Err("no SYN: start the capture before the client connects".into()),
        (Some(a), None, _) => Err(format!("a SYN in frame {a} but no SYN-ACK")),
        (Some(a), Some(b), None) => Err(format!("SYN {a} and SYN-ACK {b}, but not the last ACK")),
    }
}

/// A client command among `words`, then a server text message that `ok`
/// accepts.
fn command_and_reply(
    c: &Connection,
    words: &[&str],
    ok: impl Fn(&Message) -> bool,
) -> Result<String, String> {
    let msgs = &c.scan.messages;
    let is_command = |m: &Message| {
        let text = String::from_utf8_lossy(&m.bytes);
        m.dir == Dir::ToServer && words.contains(&text.trim())
    };
    let Some(i) = msgs.iter().position(is_command) else {
        return Err(format!("no `{}` command from the client", words[0]));
    };
    let reply = msgs[i + 1..]
        .iter()
        .find(|m| m.dir == Dir::ToClient && m.kind == Kind::Text);
    match reply {
        Some(r) if ok(r) => Ok(format!("frames {} and {}", msgs[i].frame, r.frame)),
        Some(r) => Err(format!(
            "`{}` in frame {}, but the reply in frame {} is not the expected one",
            words[0], msgs[i].frame, r.frame
        )),
        None => Err(format!(
            "`{}` in frame {}, but no reply after it",
            words[0], msgs[i].frame
        )),
    }
}

fn download(c: &Connection) -> Result<String, String> {
    let tracks = &c.scan.tracks;
    if let Some(t) = tracks
        .iter()
        .find(|t| t.start.is_some() && t.end.is_some() && t.missing_bytes == 0)
    {
        let (s, e) = (t.start.map_or(0, |s| s.frame), t.end.map_or(0, |e| e.frame));
        return Ok(format!("{} B of audio, frames {s} to {e}", t.audio_bytes));
    }
    match tracks.first() {
        None => Err("no track_data_start: play a song while capturing".into()),
        Some(t) if t.start.is_none() => {
            Err("no track_data_start: the capture began during the song".into())
        }
        Some(t) if t.missing_bytes > 0 => Err(format!(
            "{} B of the song are missing from the capture (a snapshot length? dropped packets?)",
            t.missing_bytes
        )),
        Some(t) if t.end.is_none() => Err(format!(
            "no track_data_end: the capture stops {} B after track_data_start \
             (let the song download to the end)",
            t.audio_bytes + t.missing_bytes
        )),
        Some(_) => Err("no complete track".into()),
    }
}

/// The grade as text.
pub fn render(a: &Analysis, check: &str, g: &Grade) -> String {
    let mut s = match g.stream {
        Some(n) => format!("{check} check of {}, TCP stream {n}:\n", a.file),
        None => format!("{check} check of {}:\n", a.file),
    };
    for i in &g.items {
        let _ = match &i.found {
            Ok(at) => writeln!(s, "  ok       {}: {at}", i.what),
            Err(why) => writeln!(s, "  MISSING  {}: {why}", i.what),
        };
    }
    let found = g.items.iter().filter(|i| i.found.is_ok()).count();
    let _ = writeln!(s, "{found} of {} found", g.items.len());
    s
}
