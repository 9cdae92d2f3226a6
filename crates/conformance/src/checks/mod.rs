//! The checks, in the order they run. Each one opens its own connections,
//! and returns `Ok(())` or the [`Diagnosis`] of the first thing that went
//! wrong. Names are stable: grading scripts and `--check` use them.
//!
//! * [`replies`]: one command, one reply (list, errors, quit);
//! * [`devices`]: two clients, a status report and the device list;
//! * [`tracks`]: downloads, alone, interrupted, and five at once;
//! * [`framing`]: what TCP does to the bytes (split, coalesced, too long).
//!
//! In the original dialect, `split-command` and `coalesced-commands` check
//! the original's documented behaviour (one `recv` is one command), which
//! is not what a careful protocol would do: the original cannot do better
//! by design, and a server that "fixes" it is no longer the original.
//! `devices-status` is neutral to another of its defects, `att_status`
//! keyed by IP address (see [`devices`]): the original program defines
//! the dialect, so its checks must pass it.

pub mod devices;
pub mod framing;
pub mod replies;
pub mod tracks;

use streamlab_proto::Dialect;

use crate::{CheckContext, ConformanceError, Diagnosis};

/// One named check.
#[derive(Debug)]
pub struct Check {
    /// Stable, kebab-case.
    pub name: &'static str,
    /// What it sends and expects, in one line, per dialect.
    pub original: &'static str,
    pub framed: &'static str,
    pub run: fn(&CheckContext) -> Result<(), Diagnosis>,
    /// The one dialect the check is about (`None`: both). In the other the
    /// check does not run, and its result says "not applicable" with that
    /// dialect's line as the reason.
    pub only: Option<Dialect>,
}

impl Check {
    pub fn description(&self, dialect: Dialect) -> &'static str {
        match dialect {
            Dialect::Original => self.original,
            Dialect::Framed => self.framed,
        }
    }
}

/// Every check, in the order they run.
pub const ALL: &[Check] = &[
    Check {
        name: "list",
        original: "\"lista\" gets the song names, each followed by \\n",
        framed: "\"list\" gets \"OK <n> songs\" and exactly n names, nothing more",
        run: replies::list,
        only: None,
    },
    Check {
        name: "download-integrity",
        original: "each song arrives between track_data_start and track_data_end \
                   (with no marker inside the audio), in whole 4-byte frames, the same bytes \
                   twice (and as in --music)",
        framed: "each song arrives as exactly the announced bytes, whole frames, \
                 then \"track_data_end <name>\" (and as in --music)",
        run: tracks::download_integrity,
        only: None,
    },
    Check {
        name: "unknown-command",
        original: "\"frobnicate\" gets \"Comando Inexistente.\"",
        framed: "\"frobnicate\" gets \"ERR 400 …\" and the connection stays open",
        run: replies::unknown_command,
        only: None,
    },
    Check {
        name: "song-not-found",
        original: "downloading a missing song gets the Portuguese not-found message",
        framed: "downloading a missing song gets \"ERR 404 …\" and the connection stays open",
        run: replies::song_not_found,
        only: None,
    },
    Check {
        name: "help",
        original: "not applicable: the original dialect has no help command",
        framed: "\"help\" gets \"OK <n> commands\" and n lines, one starting with each command \
                 (hello, list, download, devices, status, quit, help)",
        run: replies::help,
        only: Some(Dialect::Framed),
    },
    Check {
        name: "bad-request",
        original: "not applicable: the original dialect has no arguments to get wrong \
                   (an unknown or malformed command is unknown-command's \"Comando Inexistente.\")",
        framed: "\"download\" with no name, \"download ../etc/passwd\" (a name that is a path) \
                 and \"status flying\" each get \"ERR 400 …\", and the connection stays open",
        run: replies::bad_request,
        only: Some(Dialect::Framed),
    },
    Check {
        name: "quit-goodbye",
        original: "\"quit\" gets \"goodbye\", then the server closes",
        framed: "\"quit\" gets \"OK goodbye\", then the server closes",
        run: replies::quit_goodbye,
        only: None,
    },
    Check {
        name: "devices-status",
        original: "\"att_status <song>\" gets no reply; then \"lista_dispositivos\" \
                   shows both clients as \"<n>-<ip> ; <port> Musica: <song|None>\" \
                   (the silent one from another address where it can: the original \
                   keys att_status by IP, a defect allowed)",
        framed: "\"status playing <song>\" gets OK; then \"devices\" lists both clients \
                 as \"<n> <ip> <port> <state> [<song>]\", the song only on the reporting \
                 connection",
        run: devices::devices_status,
        only: None,
    },
    Check {
        name: "split-command",
        original: "\"lis\", a pause, \"ta\": one recv is one command, so \
                   \"Comando Inexistente.\" twice (the original's defect, kept)",
        framed: "\"li\", a pause, \"st\\n\": no reply before the \\n, then the list",
        run: framing::split_command,
        only: None,
    },
    Check {
        name: "coalesced-commands",
        original: "\"lista\" and \"quit\" in one write are one unknown command: one \
                   \"Comando Inexistente.\" and the connection stays open (the original's defect, kept)",
        framed: "\"list\\nquit\\n\" in one write gets the list, then \"OK goodbye\" and the close",
        run: framing::coalesced_commands,
        only: None,
    },
    Check {
        name: "vanishing-client",
        original: "a client that drops mid-track does not disturb the server: \
                   a new client gets the list",
        framed: "a client that drops mid-track does not disturb the server: \
                 a new client gets the list",
        run: tracks::vanishing_client,
        only: None,
    },
    Check {
        name: "concurrent-clients",
        original: "5 clients connected at once each get the list and the smallest song, intact",
        framed: "5 clients connected at once each get the list and the smallest song, intact",
        run: tracks::concurrent_clients,
        only: None,
    },
    Check {
        name: "over-long-input",
        original: "2048 bytes in one write are read as 1024-byte commands: only \
                   \"Comando Inexistente.\" replies, and the server still answers \"lista\"",
        framed: "a 2048-byte line gets \"ERR 413 …\", then the server closes",
        run: framing::over_long_input,
        only: None,
    },
];

/// The checks named in `only` (in the standard order), or all of them.
pub fn select(only: Option<&[String]>) -> Result<Vec<&'static Check>, ConformanceError> {
    crate::select_by_name(ALL, |c| c.name, only)
}

/// The first song of the list, for checks that need any one song.
pub(crate) fn first(names: &[String]) -> &str {
    names.first().map_or("", String::as_str)
}
