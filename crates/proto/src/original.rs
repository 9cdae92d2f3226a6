//! The original dialect: the exact bytes of the student project's protocol.
//!
//! Nothing here is framed. The original server treats each `recv(1024)` as
//! one whole command, and its messages are told apart only because they are
//! sent far enough apart in time. These functions build and recognise those
//! byte strings; the sessions decide *when* bytes are complete.
//!
//! ```text
//! client                                  server
//! lista | 7                           ->  RV\nVL\n
//! download RV                         ->  track_data_start
//!                                         <raw PCM, no header>
//!                                         track_data_end
//! download XX                         ->  Musica 'XX' não encontrada. Por favor envie 'lista' para ver a lista de musicas
//! lista_dispositivos | 10             ->  1-10.0.0.10 ; 45926 Musica: RV\n2-10.0.0.11 ; 40002 Musica: None
//! att_status RV                       ->  (nothing)
//! quit | 9                            ->  goodbye            (then the server closes)
//! anything else                       ->  Comando Inexistente.
//! ```

use crate::request::{Device, PlayState, Request};

/// The TCP port the original server listens on.
pub const PORT: u16 = 2635;
/// Sent alone before a track's audio (and, in the framed dialect, the
/// first word of the track's header line).
pub const TRACK_START_WORD: &str = "track_data_start";
/// Sent right after a track's last audio byte (and the first word of the
/// framed dialect's end line).
pub const TRACK_END_WORD: &str = "track_data_end";
/// [`TRACK_START_WORD`] as bytes.
pub const TRACK_START: &[u8] = TRACK_START_WORD.as_bytes();
/// [`TRACK_END_WORD`] as bytes.
pub const TRACK_END: &[u8] = TRACK_END_WORD.as_bytes();
/// The answer to `quit`.
pub const GOODBYE: &[u8] = b"goodbye";
/// The answer to a command the server does not know.
pub const UNKNOWN_COMMAND: &str = "Comando Inexistente.";
/// How the not-found message ends; used to tell when it is complete.
pub const NOT_FOUND_SUFFIX: &str = "para ver a lista de musicas";
/// How the not-found message starts.
pub const NOT_FOUND_PREFIX: &str = "Musica '";
/// How many bytes the original server reads per command.
pub const RECV_SIZE: usize = 1024;

/// The request as the original client writes it (no line ending).
/// `None` for requests the original dialect cannot say (`hello`, `help`,
/// a status other than "playing a song").
pub fn encode_request(req: &Request) -> Option<Vec<u8>> {
    let text = match req {
        Request::List => "lista".to_string(),
        Request::Download { name } => format!("download {name}"),
        Request::Devices => "lista_dispositivos".to_string(),
        Request::Quit => "quit".to_string(),
        Request::Status {
            state: PlayState::Playing,
            song: Some(song),
            ..
        } => format!("att_status {song}"),
        Request::Status { .. } | Request::Hello { .. } | Request::Help => return None,
    };
    Some(text.into_bytes())
}

/// The answer to `lista`: every name followed by `\n`.
pub fn encode_song_list(names: &[String]) -> Vec<u8> {
    let mut out = String::new();
    for n in names {
        out.push_str(n);
        out.push('\n');
    }
    out.into_bytes()
}

/// The answer to `download` for a name the server does not have.
pub fn not_found(name: &str) -> Vec<u8> {
    format!("{NOT_FOUND_PREFIX}{name}' não encontrada. Por favor envie 'lista' {NOT_FOUND_SUFFIX}")
        .into_bytes()
}

/// The answer to `lista_dispositivos`: numbered lines joined by `\n`, with no
/// newline after the last one.
pub fn encode_devices(devices: &[Device]) -> Vec<u8> {
    let lines: Vec<String> = devices
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let song = d.song.as_deref().unwrap_or("None");
            format!("{}-{} ; {} Musica: {}", i + 1, d.ip, d.port, song)
        })
        .collect();
    lines.join("\n").into_bytes()
}

/// Reads the device list back. Lines that do not have the original shape are
/// skipped. The original carries no state, so a device with a song is
/// reported as playing it.
pub fn parse_devices(text: &str) -> Vec<Device> {
    text.lines().filter_map(parse_device_line).collect()
}

fn parse_device_line(line: &str) -> Option<Device> {
    // "<n>-<ip> ; <port> Musica: <song>"
    let (_n, rest) = line.split_once('-')?;
    let (ip, rest) = rest.split_once(" ; ")?;
    let (port, song) = rest.split_once(" Musica: ")?;
    let port = port.trim().parse().ok()?;
    let song = match song.trim() {
        "None" | "" => None,
        s => Some(s.to_string()),
    };
    let state = if song.is_some() {
        PlayState::Playing
    } else {
        PlayState::Idle
    };
    Some(Device {
        ip: ip.trim().to_string(),
        port,
        state,
        song,
        position_ms: None,
    })
}

/// Reads the song list back (one name per line, blank lines ignored).
pub fn parse_song_list(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dev(ip: &str, port: u16, song: Option<&str>) -> Device {
        Device {
            ip: ip.into(),
            port,
            state: if song.is_some() {
                PlayState::Playing
            } else {
                PlayState::Idle
            },
            song: song.map(String::from),
            position_ms: None,
        }
    }

    #[test]
    fn the_report_capture_bytes() {
        // Figure 3 of the report: "listaRVVLquitgoodbye".
        let names = vec!["RV".to_string(), "VL".to_string()];
        assert_eq!(encode_request(&Request::List).unwrap(), b"lista");
        assert_eq!(encode_song_list(&names), b"RV\nVL\n");
        assert_eq!(encode_request(&Request::Quit).unwrap(), b"quit");
    }

    #[test]
    fn device_lines_round_trip() {
        let devices = vec![dev("10.0.0.10", 45926, Some("RV")), dev("::1", 40002, None)];
        let bytes = encode_devices(&devices);
        assert_eq!(
            String::from_utf8(bytes.clone()).unwrap(),
            "1-10.0.0.10 ; 45926 Musica: RV\n2-::1 ; 40002 Musica: None"
        );
        assert_eq!(parse_devices(std::str::from_utf8(&bytes).unwrap()), devices);
    }

    #[test]
    fn not_found_has_the_original_wording() {
        let msg = String::from_utf8(not_found("XX")).unwrap();
        assert_eq!(
            msg,
            "Musica 'XX' não encontrada. Por favor envie 'lista' para ver a lista de musicas"
        );
        assert!(msg.starts_with(NOT_FOUND_PREFIX) && msg.ends_with(NOT_FOUND_SUFFIX));
    }

    #[test]
    fn requests_the_original_cannot_say() {
        assert!(encode_request(&Request::Help).is_none());
        let paused = Request::Status {
            state: PlayState::Paused,
            song: Some("RV".into()),
            position_ms: None,
        };
        assert!(encode_request(&paused).is_none());
    }
}
