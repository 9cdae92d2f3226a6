//! Bytes a peer chose, made safe to print.
//!
//! A song name, a device line or an `ERR` message is whatever the other end
//! sent. Printed as it came, an `ESC [ 2 J` clears the reader's screen, an
//! `ESC ] 0 ;` … `BEL` retitles their terminal, and a `\r` overwrites the
//! line before it. Every tool that shows peer-controlled text passes it
//! through [`escape`] first, so the terminal only ever receives printable
//! characters.
//!
//! ```
//! use streamlab_proto::escape::escape;
//! assert_eq!(escape(b"RV\x1b[2J", 80), "RV\\x1b[2J");
//! assert_eq!(escape("não".as_bytes(), 80), "não");
//! ```

/// Printable text for peer-controlled bytes: UTF-8 text as is (so the
/// original server's Portuguese reads right); `\n`, `\r`, `\t`, `\\` and
/// `\"` escaped; every other control character (C0, DEL and C1, which
/// includes ESC, BEL and the one-byte CSI) and every byte that is not UTF-8
/// as `\xNN`. At most `max` characters (an escape counts as one), then `…`.
pub fn escape(bytes: &[u8], max: usize) -> String {
    let mut s = String::new();
    let mut shown = 0;
    for chunk in bytes.utf8_chunks() {
        let valid = chunk.valid().chars().map(|c| match c {
            '\n' => "\\n".to_string(),
            '\r' => "\\r".to_string(),
            '\t' => "\\t".to_string(),
            '\\' => "\\\\".to_string(),
            '"' => "\\\"".to_string(),
            c if c.is_control() => format!("\\x{:02x}", c as u32),
            c => c.to_string(),
        });
        let invalid = chunk.invalid().iter().map(|&b| format!("\\x{b:02x}"));
        for piece in valid.chain(invalid) {
            if shown >= max {
                s.push('…');
                return s;
            }
            s.push_str(&piece);
            shown += 1;
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn terminal_controls_come_out_as_text() {
        // Clear screen, set the window title, ring the bell, colour.
        let hostile = b"a\x1b[2J\x1b]0;pwned\x07\x1b[31mred";
        let shown = escape(hostile, 100);
        assert_eq!(shown, "a\\x1b[2J\\x1b]0;pwned\\x07\\x1b[31mred");
        // C1 controls, as UTF-8 (U+009B) and as a lone byte, and DEL.
        assert_eq!(escape("\u{9b}31m".as_bytes(), 100), "\\x9b31m");
        assert_eq!(escape(b"\x9b\x7f", 100), "\\x9b\\x7f");
        assert!(!shown.chars().any(char::is_control));
    }

    #[test]
    fn text_stays_text_and_the_length_is_bounded() {
        assert_eq!(escape(b"RV\nVL\n", 60), "RV\\nVL\\n");
        let not_found = "Musica 'x' não encontrada".as_bytes();
        assert_eq!(escape(not_found, 60), "Musica 'x' não encontrada");
        assert_eq!(escape(b"a\x00\xff\"\\", 60), "a\\x00\\xff\\\"\\\\");
        assert_eq!(escape(b"abcdef", 3), "abc…");
        assert_eq!(escape(&[0x1b; 10_000], 4), "\\x1b\\x1b\\x1b\\x1b…");
    }
}
