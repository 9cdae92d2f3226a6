//! Checks of one command and its reply: `list`, `unknown-command`,
//! `song-not-found`, `quit-goodbye`, `devices-status`.

use streamlab_proto::framed::{self, code, Status};
use streamlab_proto::{original, Device, Dialect, PlayState};

use crate::diagnosis::show;
use crate::session::{self, framed_counted, framed_line};
use crate::wire::{Conn, End};
use crate::{Ctx, Diagnosis};

/// A word no dialect knows.
pub const UNKNOWN_WORD: &str = "frobnicate";
/// A song no catalogue has (a valid name: no `/`, `..` or spaces).
pub const MISSING_SONG: &str = "no_such_song_conformance";

/// `list`: the names, well formed. Framed: nothing after the counted body.
pub fn list(ctx: &Ctx) -> Result<(), Diagnosis> {
    let mut conn = ctx.connect()?;
    let names = session::list(&mut conn, ctx.dialect())?;
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
pub fn unknown_command(ctx: &Ctx) -> Result<(), Diagnosis> {
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

/// `song-not-found`: a download of a song nobody has.
pub fn song_not_found(ctx: &Ctx) -> Result<(), Diagnosis> {
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
pub fn quit_goodbye(ctx: &Ctx) -> Result<(), Diagnosis> {
    let mut conn = ctx.connect()?;
    let (command, farewell): (&[u8], Vec<u8>) = match ctx.dialect() {
        Dialect::Original => (b"quit", original::GOODBYE.to_vec()),
        Dialect::Framed => (b"quit\n", framed::ok("goodbye")),
    };
    conn.send(command)?;
    let r = conn.until_close();
    let expected = format!("{}, then the server closes the connection", show(&farewell));
    let closed = matches!(r.end, End::Closed | End::Failed(_));
    if r.bytes == farewell && closed {
        return Ok(());
    }
    let d = conn.fail(expected, r.describe(conn.limits()));
    Err(match r.bytes == farewell {
        true => d.hint("after the goodbye the server must close its socket"),
        false => d,
    })
}

/// `devices-status`: a report of what a client plays shows in the list of
/// devices, beside another client that reported nothing.
pub fn devices_status(ctx: &Ctx) -> Result<(), Diagnosis> {
    let mut other = ctx.connect()?;
    let mut conn = ctx.connect()?;
    let names = session::list(&mut other, ctx.dialect())?;
    let song = super::first(&names).to_string();
    let devices = match ctx.dialect() {
        Dialect::Original => {
            conn.send(format!("att_status {song}").as_bytes())?;
            let r = conn.extra(ctx.limits().settle);
            if !r.bytes.is_empty() || r.end != End::Quiet {
                let got = r.describe(conn.limits());
                let hint = "att_status is never answered: the original client would read \
                            the reply as the answer to its next command";
                return Err(conn.fail("no reply at all", got).hint(hint));
            }
            conn.send(b"lista_dispositivos")?;
            original_devices(&mut conn)?
        }
        Dialect::Framed => {
            conn.send(format!("status playing {song}\n").as_bytes())?;
            let line = framed_line(&mut conn, "\"OK\"")?;
            if !matches!(Status::parse(&line), Some(Status::Ok(_))) {
                return Err(conn.fail("\"OK\"", show(line.as_bytes())));
            }
            conn.send(b"devices\n")?;
            let lines = framed_counted(&mut conn, "devices")?;
            parse_lines(
                &conn,
                &lines,
                framed::parse_device_line,
                "<n> <ip> <port> <state> [<song>]",
            )?
        }
    };
    find(&conn, &devices, &conn, Some(&song))?;
    find(&conn, &devices, &other, None)
}

/// One original device line (`proto` parses whole lists).
fn original_device_line(line: &str) -> Option<Device> {
    original::parse_devices(line).into_iter().next()
}

/// The device list of the original dialect, one parsed device per line.
fn original_devices(conn: &mut Conn) -> Result<Vec<Device>, Diagnosis> {
    let shape = "<n>-<ip> ; <port> Musica: <song>";
    let r = conn.reply(None);
    let text = match (&r.end, std::str::from_utf8(&r.bytes)) {
        (End::Quiet, Ok(text)) if !text.is_empty() => text.to_string(),
        _ => {
            let expected = format!("one line per client: \"{shape}\"");
            return Err(conn.fail(expected, r.describe(conn.limits())));
        }
    };
    let lines: Vec<String> = text.lines().map(String::from).collect();
    parse_lines(conn, &lines, original_device_line, shape)
}

/// Parses every device line, failing on the first that has the wrong shape.
fn parse_lines(
    conn: &Conn,
    lines: &[String],
    parse: fn(&str) -> Option<Device>,
    shape: &str,
) -> Result<Vec<Device>, Diagnosis> {
    lines
        .iter()
        .map(|l| {
            parse(l).ok_or_else(|| {
                conn.fail(
                    format!("device lines shaped \"{shape}\""),
                    show(l.as_bytes()),
                )
            })
        })
        .collect()
}

/// The device line of `who` (found by its port), with `song` reported or none.
fn find(conn: &Conn, devices: &[Device], who: &Conn, song: Option<&str>) -> Result<(), Diagnosis> {
    let Some(addr) = who.local_addr() else {
        return Ok(()); // our own socket has no address: nothing to look for
    };
    let listed: Vec<String> = devices
        .iter()
        .map(|d| format!("{}:{}", d.ip, d.port))
        .collect();
    let what = match song {
        Some(s) => format!("playing {s}"),
        None => "with no song".to_string(),
    };
    let expected = format!("a line for the client {addr} {what}");
    let Some(d) = devices.iter().find(|d| d.port == addr.port()) else {
        let got = format!("lines for {}", listed.join(", "));
        return Err(conn
            .fail(expected, got)
            .hint("every connected client is listed, the asking one too"));
    };
    let ok = match song {
        Some(s) => d.song.as_deref() == Some(s) && d.state == PlayState::Playing,
        None => d.song.is_none(),
    };
    if !ok {
        let got = format!(
            "{} {} {} {:?}",
            d.ip,
            d.port,
            d.state,
            d.song.as_deref().unwrap_or("None")
        );
        return Err(conn.fail(expected, got));
    }
    Ok(())
}

/// An original text reply that must equal `want` exactly.
pub(crate) fn expect_text(conn: &mut Conn, want: &[u8]) -> Result<(), Diagnosis> {
    let r = conn.reply(Some(want));
    if r.end != End::Complete {
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
