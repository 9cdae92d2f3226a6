//! What a failed check says: what was sent, what was expected, what came
//! back, and a hint. Also [`show`], which turns any bytes a server sent into
//! one readable, bounded line.

use serde::Serialize;

/// Why a check failed, in the CS144 style: the exchange, not a stack trace.
///
/// ```text
/// FAIL unknown-command
///   sent:     "frobnicate"
///   expected: "Comando Inexistente."
///   got:      "ERR 400 unknown command 'frobnicate'"
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnosis {
    /// What the checker wrote on the connection that went wrong, in order.
    pub sent: String,
    /// What the protocol says should have come back.
    pub expected: String,
    /// What did come back (or: nothing, a close, a reset).
    pub got: String,
    /// A sentence on the likely cause, when there is one to give.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

impl Diagnosis {
    pub fn new(
        sent: impl Into<String>,
        expected: impl Into<String>,
        got: impl Into<String>,
    ) -> Self {
        Diagnosis {
            sent: sent.into(),
            expected: expected.into(),
            got: got.into(),
            hint: None,
        }
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// The indented block under `FAIL <name>` (every line ends in `\n`).
    pub fn render(&self) -> String {
        let mut out = format!(
            "  sent:     {}\n  expected: {}\n  got:      {}\n",
            self.sent, self.expected, self.got
        );
        if let Some(h) = &self.hint {
            out.push_str(&format!("  hint:     {h}\n"));
        }
        out
    }
}

/// The longest text [`show`] prints before it cuts.
const SHOW_CHARS: usize = 120;

/// Bytes as a quoted, escaped string (`"RV\nVL\n"`), bounded in length. A
/// reply that turns binary (audio) is shown up to there, then counted:
/// `"track_data_start" + 882000 more bytes`.
pub fn show(bytes: &[u8]) -> String {
    let text_len = textual_prefix(bytes);
    let text = String::from_utf8_lossy(&bytes[..text_len]);
    let mut out = String::from("\"");
    let mut shown = 0;
    for c in text.chars() {
        if shown == SHOW_CHARS {
            break;
        }
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
        shown += c.len_utf8();
    }
    out.push('"');
    let rest = bytes.len() - shown.min(bytes.len());
    match rest {
        0 => out,
        n if shown == 0 => format!("{n} bytes of binary data"),
        n if shown < text_len => format!("{out}… ({} bytes in all)", shown + n),
        n => format!("{out} + {n} more bytes"),
    }
}

/// How many leading bytes are printable UTF-8 text (newlines and tabs count).
fn textual_prefix(bytes: &[u8]) -> usize {
    let valid = match std::str::from_utf8(bytes) {
        Ok(s) => s,
        // `valid_up_to` bytes are valid UTF-8: the slice cannot fail.
        Err(e) => std::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or(""),
    };
    valid
        .char_indices()
        .find(|&(_, c)| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
        .map_or(valid.len(), |(i, _)| i)
}

/// `1 song`, `2 songs`.
pub fn plural(n: usize, noun: &str) -> String {
    match n {
        1 => format!("1 {noun}"),
        n => format!("{n} {noun}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_quoted_and_escaped() {
        assert_eq!(show(b"RV\nVL\n"), r#""RV\nVL\n""#);
        assert_eq!(show("não 'x'".as_bytes()), r#""não 'x'""#);
        assert_eq!(show(b"a\"b\\"), r#""a\"b\\""#);
        assert_eq!(show(b""), r#""""#);
    }

    #[test]
    fn audio_after_a_marker_is_counted_not_printed() {
        let mut b = b"track_data_start".to_vec();
        b.extend_from_slice(&[0, 1, 2, 0xff]);
        assert_eq!(show(&b), r#""track_data_start" + 4 more bytes"#);
        assert_eq!(show(&[0xff, 0]), "2 bytes of binary data");
    }

    #[test]
    fn long_text_is_cut() {
        let s = show(&[b'a'; 2000]);
        assert!(s.ends_with("…\" (2000 bytes in all)") || s.ends_with("\"… (2000 bytes in all)"));
        assert!(s.len() < 200);
    }
}
