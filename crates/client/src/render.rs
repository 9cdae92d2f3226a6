//! The lines the app prints, and the one rule they follow: whatever the
//! server chose (a song name, a device line, an `ERR` text) goes through
//! [`shown`] on its way to the terminal, so a server cannot clear the
//! screen, retitle the window or colour the text of the person using the
//! client. Our own words are printed as they are.

use streamlab_audio::player::{PlayerState, PlayerStatus};
use streamlab_proto::escape::escape;
use streamlab_proto::{ClientEvent, Device};

/// The most characters of one server string the app prints: a name or a
/// message longer than this is cut, with `…`, rather than flooding the
/// terminal.
pub const MAX_SHOWN: usize = 300;

/// A server-controlled string, safe to print: control characters and
/// backslashes escaped (`\x1b`, `\n`, `\\`), at most [`MAX_SHOWN`]
/// characters.
pub fn shown(text: &str) -> String {
    escape(text.as_bytes(), MAX_SHOWN)
}

/// Renders a status line from a player status and download progress:
/// `playing ode_to_joy 1.2/4.8 s, downloading 42%, 0.8 s buffered`.
pub fn status_line(s: &PlayerStatus, download: Option<(u64, Option<u64>, bool)>) -> String {
    let Some(song) = &s.song else {
        return "idle".to_string();
    };
    let total = match download {
        Some((got, _, true)) => Some(got),
        Some((_, expected, false)) => expected,
        None => None,
    };
    let length = match (total, s.format) {
        (Some(bytes), Some(f)) => format!("/{:.1}", f.seconds(bytes)),
        _ => String::new(),
    };
    let mut line = format!(
        "{} {} {:.1}{length} s",
        state_word(&s.state),
        shown(song),
        s.position_secs
    );
    if s.looping {
        line.push_str(", loop on");
    }
    match download {
        Some((_, _, true)) => line.push_str(", downloaded"),
        Some((got, Some(total), false)) if total > 0 => {
            line.push_str(&format!(", downloading {}%", got * 100 / total));
            // How far the download is ahead of the music.
            if let Some(f) = s.format {
                let ahead = (f.seconds(got) - s.position_secs).max(0.0);
                line.push_str(&format!(", {ahead:.1} s buffered"));
            }
        }
        Some((got, _, false)) => line.push_str(&format!(", downloading ({got} bytes)")),
        None => {}
    }
    line
}

/// One line of the device list: `  1. 127.0.0.1:5000 playing RV`, marked
/// when it is this client.
pub(crate) fn device_line(index: usize, d: &Device, me: std::net::SocketAddr) -> String {
    let song = d
        .song
        .as_deref()
        .map(|s| format!(" {}", shown(s)))
        .unwrap_or_default();
    let you = if d.port == me.port() && d.ip == me.ip().to_string() {
        "  (this client)"
    } else {
        ""
    };
    let ip = shown(&d.ip);
    format!("  {index}. {ip}:{} {}{song}{you}", d.port, d.state)
}

/// `1 song`, `2 songs`.
pub(crate) fn plural(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

pub(crate) fn state_word(s: &PlayerState) -> &'static str {
    match s {
        PlayerState::Idle => "idle",
        PlayerState::Playing => "playing",
        PlayerState::Paused => "paused",
        PlayerState::Stopped => "stopped",
        PlayerState::Finished => "finished",
        PlayerState::Buffering => "buffering",
    }
}

/// A reply the command did not expect, or a refusal.
pub(crate) fn describe(e: &ClientEvent) -> String {
    match e {
        ClientEvent::ServerError { message, .. } => format!("server: {}", shown(message)),
        ClientEvent::NotFound { message, .. } => shown(message),
        // Debug output quotes strings with their control characters escaped.
        other => format!("unexpected reply: {other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_download_in_progress_says_how_much_is_buffered() {
        let status = PlayerStatus {
            state: PlayerState::Playing,
            song: Some("RV".into()),
            format: Some(streamlab_proto::PcmFormat::CD),
            position_secs: 1.0,
            ..PlayerStatus::default()
        };
        // 3 s of CD audio downloaded of 10 s, 1 s played: 2 s ahead.
        let cd = 176_400;
        assert_eq!(
            status_line(&status, Some((3 * cd, Some(10 * cd), false))),
            "playing RV 1.0/10.0 s, downloading 30%, 2.0 s buffered"
        );
        // Done: nothing more to say about the buffer.
        assert_eq!(
            status_line(&status, Some((10 * cd, Some(10 * cd), true))),
            "playing RV 1.0/10.0 s, downloaded"
        );
    }

    #[test]
    fn server_strings_are_printed_escaped() {
        let status = PlayerStatus {
            state: PlayerState::Playing,
            song: Some("RV\x1b]0;title\x07".into()),
            ..PlayerStatus::default()
        };
        assert_eq!(
            status_line(&status, None),
            "playing RV\\x1b]0;title\\x07 0.0 s"
        );
        let d = Device {
            ip: "10.0.0.1\x1b[2J".into(),
            port: 7,
            state: streamlab_proto::PlayState::Playing,
            song: Some("\u{9b}31mred".into()),
            position_ms: None,
        };
        let me = "127.0.0.1:9".parse().unwrap();
        assert_eq!(
            device_line(1, &d, me),
            "  1. 10.0.0.1\\x1b[2J:7 playing \\x9b31mred"
        );
        let err = ClientEvent::ServerError {
            code: Some(500),
            message: "ERR 500 \x1b[31mno".into(),
        };
        assert_eq!(describe(&err), "server: ERR 500 \\x1b[31mno");
    }
}
