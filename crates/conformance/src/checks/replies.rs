//! Checks of one command and its reply: `list`, `unknown-command`,
//! `song-not-found`, `quit-goodbye` (`devices-status`, with two clients,
//! is in [`super::devices`]).

use streamlab_proto::framed::{self, code, Status};
use streamlab_proto::{original, Dialect};

use crate::connection::{Conn, ReadEnd};
use crate::diagnosis::show;
use crate::exchanges::{self, framed_counted, framed_line};
use crate::{CheckContext, Diagnosis};

/// A word no dialect knows.
pub const UNKNOWN_WORD: &str = "frobnicate";
/// A song no catalogue has (a valid name: no `/`, `..` or spaces).
pub const MISSING_SONG: &str = "no_such_song_conformance";

/// `list`: the names, well formed. Framed: nothing after the counted body.
pub fn list(ctx: &CheckContext) -> Result<(), Diagnosis> {
    let mut conn = ctx.connect()?;
    let names = exchanges::list(&mut conn, ctx.dialect())?;
    if ctx.dialect() == Dialect::Framed {
        let extra = conn.extra(ctx.limits().settle);
        if !extra.bytes.is_empty() {
            let expected = format!("nothing after the {} names", names.len());
            let hint = "the count in \"OK <n> songs\" must match the lines sent";
            return Err(conn.fail(expected, show(&extra.bytes)).hint(hint));
        }
    }
    Ok(())
}

/// `unknown-command`: the dialect's answer to a word it does not know.
pub fn unknown_command(ctx: &CheckContext) -> Result<(), Diagnosis> {
    let mut conn = ctx.connect()?;
    match ctx.dialect() {
        Dialect::Original => {
            conn.send(UNKNOWN_WORD.as_bytes())?;
            expect_text(&mut conn, original::UNKNOWN_COMMAND.as_bytes())
        }
        Dialect::Framed => {
            conn.send(format!("{UNKNOWN_WORD}\n").as_bytes())?;
            expect_error(&mut conn, code::BAD_REQUEST)?;
            still_open(&mut conn)
        }
    }
}

/// `help` (framed): the list of commands, each named at a line's start.
pub fn help(ctx: &CheckContext) -> Result<(), Diagnosis> {
    let mut conn = ctx.connect()?;
    conn.send(b"help\n")?;
    let lines = framed_counted(&mut conn, "commands")?;
    let first: Vec<&str> = lines
        .iter()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    let missing: Vec<&str> = framed::COMMAND_WORDS
        .iter()
        .copied()
        .filter(|w| !first.contains(w))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let expected = format!(
        "a line starting with each of {}",
        framed::COMMAND_WORDS.join(", ")
    );
    let got = format!(
        "no line for {} in {}",
        missing.join(", "),
        show(lines.join("\n").as_bytes())
    );
    Err(conn.fail(expected, got))
}

/// `bad-request` (framed): a command with a missing or wrong argument is
/// refused with 400, and the connection goes on.
pub fn bad_request(ctx: &CheckContext) -> Result<(), Diagnosis> {
    let mut conn = ctx.connect()?;
    for wrong in ["download\n", "download ../etc/passwd\n", "status flying\n"] {
        conn.send(wrong.as_bytes())?;
        expect_error(&mut conn, code::BAD_REQUEST)?;
    }
    still_open(&mut conn)
}

/// `song-not-found`: a download of a song nobody has.
pub fn song_not_found(ctx: &CheckContext) -> Result<(), Diagnosis> {
    let mut conn = ctx.connect()?;
    match ctx.dialect() {
        Dialect::Original => {
            conn.send(format!("download {MISSING_SONG}").as_bytes())?;
            expect_text(&mut conn, &original::not_found(MISSING_SONG))
        }
        Dialect::Framed => {
            conn.send(format!("download {MISSING_SONG}\n").as_bytes())?;
            expect_error(&mut conn, code::NOT_FOUND)?;
            still_open(&mut conn)
        }
    }
}

/// `quit-goodbye`: the farewell, then the server's close.
pub fn quit_goodbye(ctx: &CheckContext) -> Result<(), Diagnosis> {
    let mut conn = ctx.connect()?;
    let (command, farewell): (&[u8], Vec<u8>) = match ctx.dialect() {
        Dialect::Original => (b"quit", original::GOODBYE.to_vec()),
        Dialect::Framed => (b"quit\n", framed::ok("goodbye")),
    };
    conn.send(command)?;
    let r = conn.until_close();
    let expected = format!("{}, then the server closes the connection", show(&farewell));
    let closed = matches!(r.end, ReadEnd::Closed | ReadEnd::Failed(_));
    if r.bytes == farewell && closed {
        return Ok(());
    }
    let d = conn.fail(expected, r.describe(conn.limits()));
    Err(match r.bytes == farewell {
        true => d.hint("after the goodbye the server must close its socket"),
        false => d,
    })
}

/// An original text reply that must equal `want` exactly.
pub(crate) fn expect_text(conn: &mut Conn, want: &[u8]) -> Result<(), Diagnosis> {
    let r = conn.reply(Some(want));
    if r.end != ReadEnd::Complete {
        return Err(conn.fail(show(want), r.describe(conn.limits())));
    }
    Ok(())
}

/// A framed `ERR <code> …` line.
pub(crate) fn expect_error(conn: &mut Conn, code: u16) -> Result<String, Diagnosis> {
    let expected = format!("\"ERR {code} <message>\"");
    let line = framed_line(conn, &expected)?;
    match Status::parse(&line) {
        Some(Status::Err { code: c, .. }) if c == code => Ok(line),
        _ => Err(conn.fail(expected, show(line.as_bytes()))),
    }
}

/// The connection still serves: `list` gets a counted body.
pub(crate) fn still_open(conn: &mut Conn) -> Result<(), Diagnosis> {
    conn.send(b"list\n")?;
    framed_counted(conn, "songs")
        .map(drop)
        .map_err(|d| d.hint("after this error the connection stays open"))
}
