//! `--follow`: each connection's conversation as Wireshark's "Follow TCP
//! Stream" shows it — the client's messages flush left, the server's
//! indented — with each track's audio replaced by one line saying how
//! many bytes it had.
//!
//! ```text
//! ==== TCP stream 0: 10.0.0.10:45926 → 10.0.0.7:2635
//! lista
//!         RV\nVL\n
//! ```

use std::fmt::Write as _;

use super::{escape, is_binary, Analysis, Connection};
use crate::scan::{Kind, MAX_TEXT};
use crate::stream::Dir;

/// Every connection's conversation.
pub fn render(a: &Analysis) -> String {
    a.connections.iter().map(connection).collect()
}

/// One connection's conversation.
pub fn connection(c: &Connection) -> String {
    let mut s = String::new();
    let i = &c.info;
    let _ = writeln!(
        s,
        "==== TCP stream {}: {} → {}",
        i.stream, i.client, i.server
    );
    for m in &c.scan.messages {
        let indent = match m.dir {
            Dir::ToServer => "",
            Dir::ToClient => "        ",
        };
        let binary = m.kind == Kind::Text && is_binary(&m.bytes);
        let mut text = match m.kind {
            Kind::Audio => format!("[{} B of audio elided]", m.len),
            _ if binary => format!("[{} B of binary data elided]", m.len),
            _ => escape(&m.bytes, MAX_TEXT * 4),
        };
        if m.kind != Kind::Audio && !binary && m.len > m.bytes.len() as u64 {
            let _ = write!(text, " [… {} B in all]", m.len);
        }
        if m.missing > 0 {
            let _ = write!(text, " [{} B missing from the capture]", m.missing);
        }
        let _ = writeln!(s, "{indent}{text}");
    }
    if c.scan.messages_dropped > 0 {
        let _ = writeln!(s, "[… {} more messages]", c.scan.messages_dropped);
    }
    s
}
