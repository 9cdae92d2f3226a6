//! The client checks, in the order they run: the fake server's behaviour
//! for each, and the judgement of what the client did. Names are stable:
//! grading scripts and `--check` use them.

use streamlab_proto::{Dialect, Request};

use super::fake_server::Behaviour;
pub use super::observed::Observed;
use crate::{ConformanceError, Diagnosis};

/// One named client check.
#[derive(Debug)]
pub struct ClientCheck {
    /// Stable, kebab-case.
    pub name: &'static str,
    /// What the server does and what the client must do, per dialect.
    pub original: &'static str,
    pub framed: &'static str,
    pub behaviour: Behaviour,
    /// Whether a WAV in `{out}` is compared with the song served.
    pub judges_wav: bool,
    pub judge: fn(&Observed) -> Result<(), Diagnosis>,
}

impl ClientCheck {
    pub fn description(&self, dialect: Dialect) -> &'static str {
        match dialect {
            Dialect::Original => self.original,
            Dialect::Framed => self.framed,
        }
    }
}

/// Every client check, in the order they run.
pub const ALL: &[ClientCheck] = &[
    ClientCheck {
        name: "lists-songs",
        original: "the client sends \"lista\" (or \"7\") and prints both song names",
        framed: "the client says \"hello …\", sends \"list\" and prints both song names",
        behaviour: Behaviour::Normal,
        judges_wav: false,
        judge: lists_songs,
    },
    ClientCheck {
        name: "downloads-a-song",
        original: "the client sends \"download {song}\", gets the song and exits with status 0",
        framed: "the client sends \"download {song}\", gets the song and exits with status 0",
        behaviour: Behaviour::Normal,
        judges_wav: true,
        judge: downloads_a_song,
    },
    ClientCheck {
        name: "glued-marker",
        original: "\"track_data_start\" and the first 4096 audio bytes come in one write, \
                   with no pause: the client still gets the whole song",
        framed: "the track_data_start line and the first 4096 audio bytes come in one write: \
                 the client still gets the whole song",
        behaviour: Behaviour::GluedMarker,
        judges_wav: true,
        judge: glued_marker,
    },
    ClientCheck {
        name: "split-end-marker",
        original: "the end marker comes in two writes 1 s apart (\"track_da\", \"ta_end\"): \
                   the client finishes the download and does not hang",
        framed: "the track_data_end line comes in two writes 1 s apart (\"track_da\", \
                 \"ta_end {song}\\n\"): the client finishes the download and does not hang",
        behaviour: Behaviour::SplitEndMarker,
        judges_wav: true,
        judge: split_end_marker,
    },
    ClientCheck {
        name: "song-not-found",
        original: "the download gets the Portuguese not-found message: the client neither \
                   crashes nor hangs (exit status 0 or 1, with a message)",
        framed: "the download gets \"ERR 404 …\": the client neither crashes nor hangs \
                 (exit status 0 or 1, with a message)",
        behaviour: Behaviour::NotFound,
        judges_wav: false,
        judge: song_not_found,
    },
    ClientCheck {
        name: "quit-goodbye",
        original: "the client sends \"quit\" (or \"9\") and keeps the connection open until \
                   \"goodbye\" is sent (the server waits 1 s first)",
        framed: "the client sends \"quit\" and keeps the connection open until \"OK goodbye\" \
                 is sent (the server waits 1 s first)",
        behaviour: Behaviour::LateGoodbye,
        judges_wav: false,
        judge: quit_goodbye,
    },
    ClientCheck {
        name: "server-vanishes",
        original: "the server closes the connection halfway through the song: the client \
                   exits (any status) instead of hanging or crashing",
        framed: "the server closes the connection halfway through the song: the client \
                 exits (any status) instead of hanging or crashing",
        behaviour: Behaviour::Vanishes,
        judges_wav: false,
        judge: server_vanishes,
    },
    ClientCheck {
        name: "slow-server",
        original: "the audio trickles in 30 pieces 50 ms apart (1.5 s): the client waits \
                   and gets the whole song",
        framed: "the audio trickles in 30 pieces 50 ms apart (1.5 s): the client waits \
                 and gets the whole song",
        behaviour: Behaviour::Trickle,
        judges_wav: true,
        judge: slow_server,
    },
];

/// The checks named in `only` (in the standard order), or all of them.
pub fn select(only: Option<&[String]>) -> Result<Vec<&'static ClientCheck>, ConformanceError> {
    crate::select_by_name(ALL, |c| c.name, only)
}

const HANG: &str = "the client must end by itself once its work is done";

fn lists_songs(obs: &Observed) -> Result<(), Diagnosis> {
    obs.exited(HANG)?;
    obs.connected()?;
    let expected = match obs.dialect {
        Dialect::Original => "\"lista\" (or \"7\")",
        Dialect::Framed => "\"hello streamlab/1 <agent>\\n\", then \"list\\n\"",
    };
    let Some(conn) = obs.conn_with(|r| *r == Request::List) else {
        return Err(obs.fail(None, expected, obs.story_with_output()));
    };
    if obs.dialect == Dialect::Framed {
        let first = conn
            .commands(obs.dialect)
            .into_iter()
            .next()
            .unwrap_or_default();
        if Dialect::detect(first.as_bytes()) != Some(Dialect::Framed) {
            let shown = conn.shown_commands(obs.dialect);
            let got = format!("{} first", shown.first().map_or("nothing", String::as_str));
            let hint = "a framed client greets the server first: a server in auto mode takes \
                        a client without hello for an original one";
            return Err(obs.fail(Some(conn), expected, got).hint(hint));
        }
    }
    let stdout = String::from_utf8_lossy(&obs.finished.stdout);
    let missing: Vec<&str> = ["alpha", "beta"]
        .into_iter()
        .filter(|n| !stdout.contains(n))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let expected = "\"alpha\" and \"beta\" in what the client prints";
    let got = format!(
        "{} missing from stdout; {}",
        missing.join(" and "),
        obs.story_with_output()
    );
    let mut d = obs.fail(Some(conn), expected, got);
    let word: &[u8] = match obs.dialect {
        Dialect::Original => b"lista",
        Dialect::Framed => b"list",
    };
    if let Some(reply) = conn.reply_to(word) {
        d.sent = reply;
    }
    Err(d)
}

/// The judgement of every check that serves the song: the client asked
/// for it, read all of it, exited 0 and (with `{out}`) wrote it intact.
fn got_the_song(obs: &Observed, hint: &str) -> Result<(), Diagnosis> {
    obs.exited(hint)?;
    obs.connected()?;
    let conn = obs.download_conn()?;
    if conn.track_sent() && conn.reset_before_goodbye() {
        let expected = "the client reads the whole song";
        let got = format!(
            "the client reset the connection: it closed with bytes it had not read; {}",
            obs.story_with_output()
        );
        return Err(obs.fail(Some(conn), expected, got).hint(hint));
    }
    if !conn.track_sent() {
        let expected = "the client reads the whole song";
        let got = format!(
            "the connection ended before the whole song was written; {}",
            obs.story_with_output()
        );
        return Err(obs.fail(Some(conn), expected, got).hint(hint));
    }
    if obs.finished.exit != super::run::Exit::Code(0) {
        let expected = "the client exits with status 0 after the download";
        return Err(obs
            .fail(Some(conn), expected, obs.story_with_output())
            .hint(hint));
    }
    obs.wrote_the_song(conn)
}

fn downloads_a_song(obs: &Observed) -> Result<(), Diagnosis> {
    got_the_song(
        obs,
        "a well-behaved server sent the song: what stopped the client?",
    )
}

fn glued_marker(obs: &Observed) -> Result<(), Diagnosis> {
    let hint = match obs.dialect {
        Dialect::Original => {
            "one recv can hold the start marker and audio: take \
                              \"track_data_start\" as a prefix and keep what follows as audio \
                              (protocol.md 2.4, defect 1)"
        }
        Dialect::Framed => {
            "read the track_data_start line up to its \\n and keep the bytes \
                            after it as audio"
        }
    };
    got_the_song(obs, hint)
}

fn split_end_marker(obs: &Observed) -> Result<(), Diagnosis> {
    let hint = match obs.dialect {
        Dialect::Original => {
            "look for \"track_data_end\" at the end of everything received, \
                              not in one recv: it can arrive in pieces"
        }
        Dialect::Framed => {
            "after the counted audio, read the end line up to its \\n, \
                            however many reads that takes"
        }
    };
    got_the_song(obs, hint)
}

fn slow_server(obs: &Observed) -> Result<(), Diagnosis> {
    got_the_song(
        obs,
        "a slow server is not a dead one: wait as long as bytes keep coming",
    )
}

fn song_not_found(obs: &Observed) -> Result<(), Diagnosis> {
    obs.exited("after the not-found reply there is no song to wait for")?;
    obs.connected()?;
    obs.download_conn()?;
    let expected = "the client reports the missing song and goes on, or exits with status \
                    0 or 1 with a message; no crash";
    obs.not_crashed(expected)?;
    let quiet =
        obs.finished.stdout.trim_ascii().is_empty() && obs.finished.stderr.trim_ascii().is_empty();
    match obs.finished.exit {
        super::run::Exit::Code(0) => Ok(()),
        super::run::Exit::Code(1) if !quiet => Ok(()),
        _ => Err(obs.fail(None, expected, obs.story_with_output())),
    }
}

fn quit_goodbye(obs: &Observed) -> Result<(), Diagnosis> {
    obs.exited(HANG)?;
    obs.connected()?;
    let (word, goodbye) = match obs.dialect {
        Dialect::Original => ("\"quit\" (or \"9\")", "\"goodbye\""),
        Dialect::Framed => ("\"quit\\n\"", "\"OK goodbye\\n\""),
    };
    let Some(conn) = obs.conn_with(|r| *r == Request::Quit) else {
        return Err(obs.fail(None, word, obs.story_with_output()));
    };
    if conn.closed_before_goodbye() {
        let expected = format!("the client keeps the connection open until {goodbye} is sent");
        let got = format!(
            "the client closed the connection before the server wrote {goodbye}; it {}",
            obs.exit_text()
        );
        let hint = "read the goodbye before closing the socket: the server may still be \
                    answering, and a close with unread data can reset the connection";
        return Err(obs.fail(Some(conn), expected, got).hint(hint));
    }
    Ok(())
}

fn server_vanishes(obs: &Observed) -> Result<(), Diagnosis> {
    obs.exited(
        "when recv returns nothing (b'') or read returns 0, the server has closed: \
         stop waiting for the rest of the song",
    )?;
    obs.connected()?;
    obs.download_conn()?;
    obs.not_crashed("the client notices the close and exits (any status), without a crash")
}
