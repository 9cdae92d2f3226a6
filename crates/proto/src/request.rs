//! Requests: what a client asks of the server, in either dialect.
//!
//! Both dialects share one vocabulary. The framed dialect's words are
//! English (`list`, `download`, `devices`, `status`, `quit`); the original
//! dialect's words (`lista`, `lista_dispositivos`, `att_status`) and its menu
//! numbers (`7`, `9`, `10`) are accepted as aliases everywhere, so a student
//! typing the report's commands into `nc` is understood.
//!
//! ```text
//! list | lista | 7                      the song names
//! download <name>                       one song's audio
//! devices | lista_dispositivos | 10     who is connected and what they play
//! status <state> [<name>]               report what this client plays
//! att_status <name>                     original spelling of "status playing <name>"
//! quit | 9                              say goodbye and close
//! hello <agent>                         framed greeting (first line)
//! help                                  the command list (framed only)
//! ```

use std::fmt;

/// A parsed request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// `hello <agent>`: the framed dialect's greeting.
    Hello { agent: String },
    /// `list`: the names of the songs.
    List,
    /// `download <name>`: the audio of one song.
    Download { name: String },
    /// `devices`: the connected clients and what they report.
    Devices,
    /// `status <state> [@<seconds>] [<name>]`: what this client is doing
    /// now, and (framed, optional) where in the song it is.
    Status {
        state: PlayState,
        song: Option<String>,
        /// The playing position in milliseconds (`@12.345`).
        position_ms: Option<u64>,
    },
    /// `quit`: end the session politely.
    Quit,
    /// `help`: the commands the server knows.
    Help,
}

/// What a client reports it is doing with its song.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum PlayState {
    /// Connected, has not reported anything.
    #[default]
    Idle,
    Playing,
    Paused,
    Stopped,
}

impl PlayState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Idle => "idle",
            Self::Playing => "playing",
            Self::Paused => "paused",
            Self::Stopped => "stopped",
        }
    }

    pub fn parse(word: &str) -> Option<PlayState> {
        match word.to_ascii_lowercase().as_str() {
            "idle" => Some(Self::Idle),
            "playing" => Some(Self::Playing),
            "paused" => Some(Self::Paused),
            "stopped" => Some(Self::Stopped),
            _ => None,
        }
    }
}

impl fmt::Display for PlayState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a command line could not be turned into a [`Request`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    #[error("empty command")]
    Empty,
    #[error("unknown command '{0}'")]
    Unknown(String),
    #[error("missing argument: '{command}' needs {what}")]
    MissingArgument {
        command: &'static str,
        what: &'static str,
    },
    #[error(
        "invalid song name {name:?}: names are at most 255 bytes, without '/', '\\', '..' or control characters"
    )]
    InvalidName {
        /// The command that carried the name (`download`, `att_status`, `status`).
        command: &'static str,
        name: String,
    },
    #[error("invalid state '{0}': expected idle, playing, paused or stopped")]
    InvalidState(String),
    #[error("invalid position '{0}': expected @ and seconds, like @12.345")]
    InvalidPosition(String),
}

impl Request {
    /// Parses one command (without its line ending). Command words are
    /// case-insensitive; the argument (a song name) is kept as written and
    /// may contain spaces.
    pub fn parse(line: &str) -> Result<Request, CommandError> {
        let line = line.trim();
        let (word, rest) = match line.split_once(char::is_whitespace) {
            Some((w, r)) => (w, r.trim()),
            None => (line, ""),
        };
        let arg = (!rest.is_empty()).then_some(rest);
        match word.to_ascii_lowercase().as_str() {
            "" => Err(CommandError::Empty),
            "list" | "lista" | "7" => Ok(Request::List),
            "devices" | "lista_dispositivos" | "10" => Ok(Request::Devices),
            "quit" | "9" => Ok(Request::Quit),
            "help" => Ok(Request::Help),
            "hello" => Ok(Request::Hello {
                agent: rest.to_string(),
            }),
            "download" => {
                let name = arg.ok_or(CommandError::MissingArgument {
                    command: "download",
                    what: "a song name",
                })?;
                Ok(Request::Download {
                    name: checked_name("download", name)?,
                })
            }
            "att_status" => {
                let name = arg.ok_or(CommandError::MissingArgument {
                    command: "att_status",
                    what: "a song name",
                })?;
                Ok(Request::Status {
                    state: PlayState::Playing,
                    song: Some(checked_name("att_status", name)?),
                    position_ms: None,
                })
            }
            "status" => parse_status(rest),
            _ => Err(CommandError::Unknown(word.to_string())),
        }
    }
}

fn parse_status(rest: &str) -> Result<Request, CommandError> {
    let (state_word, song) = match rest.split_once(char::is_whitespace) {
        Some((s, song)) => (s, Some(song.trim())),
        None => (rest, None),
    };
    // `@12.345`, the position, may come before the name.
    let (position_ms, song) = match song.map(|s| (s, s.split_once(char::is_whitespace))) {
        Some((s, split)) if s.starts_with('@') => {
            let (token, name) = split.map_or((s, None), |(t, n)| (t, Some(n.trim())));
            (Some(parse_position(token)?), name)
        }
        _ => (None, song),
    };
    if state_word.is_empty() {
        return Err(CommandError::MissingArgument {
            command: "status",
            what: "a state (idle, playing, paused or stopped)",
        });
    }
    let state = PlayState::parse(state_word)
        .ok_or_else(|| CommandError::InvalidState(state_word.into()))?;
    let song = match song.filter(|s| !s.is_empty()) {
        Some(s) => Some(checked_name("status", s)?),
        None => None,
    };
    Ok(Request::Status {
        state,
        song,
        position_ms,
    })
}

/// `@12.345` (seconds, at most 3 decimals) as milliseconds.
pub fn parse_position(token: &str) -> Result<u64, CommandError> {
    let bad = || CommandError::InvalidPosition(token.to_string());
    let secs = token.strip_prefix('@').ok_or_else(bad)?;
    let (whole, frac) = secs.split_once('.').unwrap_or((secs, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || whole.len() > 9 || frac.len() > 3 || !digits(whole) || !digits(frac) {
        return Err(bad());
    }
    let whole: u64 = whole.parse().map_err(|_| bad())?;
    let frac: u64 = format!("{frac:0<3}").parse().map_err(|_| bad())?;
    Ok(whole * 1000 + frac)
}

/// Milliseconds as the `@12.345` token.
pub fn position_token(ms: u64) -> String {
    format!("@{}.{:03}", ms / 1000, ms % 1000)
}

/// The longest song name, in bytes: a file name's limit on common file
/// systems, so every song's file stem fits, and every reply line that
/// carries a name stays well under the framed line bound.
pub const MAX_NAME: usize = 255;

/// Accepts a song name only if it cannot be read as a path and cannot
/// break a reply. The server matches names against its catalogue and never
/// opens a path built from one, but a name like `../etc/passwd` is refused
/// outright so the error teaches something. Control characters are refused
/// because names are echoed in replies to *other* clients: a `\n` in a
/// reported song would split a `devices` line in two and break the count.
pub fn checked_name(command: &'static str, name: &str) -> Result<String, CommandError> {
    let bad = name.len() > MAX_NAME
        || name.contains(['/', '\\'])
        || name.contains("..")
        || name.contains(char::is_control);
    if bad {
        Err(CommandError::InvalidName {
            command,
            name: name.to_string(),
        })
    } else {
        Ok(name.to_string())
    }
}

/// One connected client as the server's device registry sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    /// The client's address as `ip` text (IPv4 or IPv6).
    pub ip: String,
    /// The client's source port.
    pub port: u16,
    /// What it last reported.
    pub state: PlayState,
    /// The song it last reported, if any.
    pub song: Option<String>,
    /// Where in it the device is, in milliseconds, when it said (framed
    /// clients that report a position; the server adds the time since,
    /// while it plays).
    pub position_ms: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_map_to_the_same_request() {
        for w in ["list", "LISTA", "7"] {
            assert_eq!(Request::parse(w), Ok(Request::List));
        }
        for w in ["devices", "lista_dispositivos", "10"] {
            assert_eq!(Request::parse(w), Ok(Request::Devices));
        }
        for w in ["quit", "9", " Quit "] {
            assert_eq!(Request::parse(w), Ok(Request::Quit));
        }
    }

    #[test]
    fn a_status_may_say_where_it_is() {
        assert_eq!(
            Request::parse("status playing @12.5 Ode To Joy"),
            Ok(Request::Status {
                state: PlayState::Playing,
                song: Some("Ode To Joy".into()),
                position_ms: Some(12_500),
            })
        );
        assert_eq!(
            Request::parse("status paused @3"),
            Ok(Request::Status {
                state: PlayState::Paused,
                song: None,
                position_ms: Some(3_000),
            })
        );
        for bad in [
            "status playing @ RV",
            "status playing @1.2345 RV",
            "status playing @-1 RV",
            "status playing @x RV",
        ] {
            assert!(
                matches!(Request::parse(bad), Err(CommandError::InvalidPosition(_))),
                "{bad}"
            );
        }
        assert_eq!(position_token(12_005), "@12.005");
        assert_eq!(
            parse_position(&position_token(987_654_321)),
            Ok(987_654_321)
        );
    }

    #[test]
    fn names_keep_their_spaces_and_case() {
        assert_eq!(
            Request::parse("download  Ode To Joy "),
            Ok(Request::Download {
                name: "Ode To Joy".into()
            })
        );
        assert_eq!(
            Request::parse("att_status RV"),
            Ok(Request::Status {
                state: PlayState::Playing,
                song: Some("RV".into()),
                position_ms: None,
            })
        );
        assert_eq!(
            Request::parse("status paused"),
            Ok(Request::Status {
                state: PlayState::Paused,
                song: None,
                position_ms: None,
            })
        );
    }

    #[test]
    fn bad_commands_say_what_is_wrong() {
        assert_eq!(Request::parse("  "), Err(CommandError::Empty));
        assert_eq!(
            Request::parse("play RV"),
            Err(CommandError::Unknown("play".into()))
        );
        let err = Request::parse("download").unwrap_err();
        assert_eq!(
            err.to_string(),
            "missing argument: 'download' needs a song name"
        );
        for name in ["../secret", "a/b", "a\\b", "x\0y"] {
            assert_eq!(
                Request::parse(&format!("download {name}")),
                Err(CommandError::InvalidName {
                    command: "download",
                    name: name.into()
                })
            );
        }
        assert_eq!(
            Request::parse("status dancing"),
            Err(CommandError::InvalidState("dancing".into()))
        );
    }

    #[test]
    fn names_that_would_break_a_reply_are_refused() {
        // Reported songs are echoed in other clients' device lists: a
        // newline would split one line into two.
        for name in ["A\nB", "A\rB", "tab\there", "esc\u{1b}[2J"] {
            assert_eq!(
                Request::parse(&format!("att_status {name}")),
                Err(CommandError::InvalidName {
                    command: "att_status",
                    name: name.into()
                })
            );
        }
        let longest = "x".repeat(MAX_NAME);
        assert!(Request::parse(&format!("download {longest}")).is_ok());
        let err = Request::parse(&format!("status playing {longest}x")).unwrap_err();
        assert!(
            matches!(
                err,
                CommandError::InvalidName {
                    command: "status",
                    ..
                }
            ),
            "{err:?}"
        );
        // Spaces and non-ASCII letters are fine.
        assert!(Request::parse("download Ode à la Joie").is_ok());
    }
}
