//! `devices-status`: two clients, one reports the song it plays, and the
//! device list must show it beside the other one.
//!
//! The original Python server records `att_status` on every device whose
//! IP address is the sender's (docs/protocol.md 2.4, defect 5). The check
//! must not fail the program that defines the dialect for that, so in the
//! original dialect the silent client connects from another loopback
//! address when it can ([`crate::source`]): then a server keyed by IP and
//! one keyed by connection give the same list. When it cannot (a server
//! not on loopback, a system with only 127.0.0.1, `--same-source`), both
//! clients share one address and the silent one may show the song too;
//! the check then notes which way the server went.
//!
//! The framed dialect fixes that defect: both clients come from one
//! address, and the report must stay with the connection that sent it.

use std::net::SocketAddr;

use streamlab_proto::framed::{self, Status};
use streamlab_proto::{original, Device, Dialect, PlayState, Request};

use crate::connection::{Conn, ReadEnd};
use crate::diagnosis::show;
use crate::exchanges::{self, framed_counted, framed_line};
use crate::{CheckContext, Diagnosis};

/// The shape of an original device line, for diagnoses.
const ORIGINAL_SHAPE: &str = "<n>-<ip> ; <port> Musica: <song>";

/// `devices-status`: a report of what a client plays shows in the list of
/// devices, beside another client that reported nothing.
pub fn devices_status(ctx: &CheckContext) -> Result<(), Diagnosis> {
    let mut conn = ctx.connect()?;
    let (mut other, apart) = match ctx.dialect() {
        Dialect::Original if !ctx.config.same_source => exchanges::open_apart(ctx, &conn)?,
        _ => (ctx.connect()?, false),
    };
    let names = exchanges::list(&mut other, ctx.dialect())?;
    let song = super::first(&names).to_string();
    let devices = match ctx.dialect() {
        Dialect::Original => report_original(ctx, &mut conn, &song)?,
        Dialect::Framed => report_framed(&mut conn, &song)?,
    };
    let (Some(mine), Some(theirs)) = (conn.local_addr(), other.local_addr()) else {
        return Ok(()); // our own sockets have no address: nothing to look for
    };
    let reporter = line_of(&conn, &devices, mine, &format!("playing {song}"))?;
    if reporter.song.as_deref() != Some(song.as_str()) || reporter.state != PlayState::Playing {
        let expected = format!("a line for the client {mine} playing {song}");
        return Err(conn.fail(expected, describe(reporter)));
    }
    let silent = line_of(&conn, &devices, theirs, "with no song")?;
    let shared = ctx.dialect() == Dialect::Original && !apart;
    match (&silent.song, shared) {
        (None, false) => Ok(()),
        (None, true) => {
            ctx.note(format!(
                "both clients came from {}: the server keeps att_status per connection",
                mine.ip()
            ));
            Ok(())
        }
        (Some(s), true) if *s == song => {
            ctx.note(format!(
                "both clients came from {}: the server records att_status for every client \
                 of that IP address, as the original does (docs/protocol.md 2.4, defect 5)",
                mine.ip()
            ));
            Ok(())
        }
        (Some(_), _) => Err(silent_has_a_song(ctx, &conn, theirs, silent, &song, shared)),
    }
}

/// `req` as the original client writes it, spelled by proto.
fn say_original(req: Request) -> Vec<u8> {
    // Both requests this check sends (a song being played, the device
    // list) have an original spelling, so this never falls back.
    original::encode_request(&req).unwrap_or_default()
}

/// The original exchange: `att_status <song>`, no reply, then the list.
fn report_original(
    ctx: &CheckContext,
    conn: &mut Conn,
    song: &str,
) -> Result<Vec<Device>, Diagnosis> {
    conn.send(&say_original(Request::Status {
        state: PlayState::Playing,
        song: Some(song.to_string()),
        position_ms: None,
    }))?;
    let r = conn.extra(ctx.limits().settle);
    if !r.bytes.is_empty() || r.end != ReadEnd::Quiet {
        let got = r.describe(conn.limits());
        let hint = "att_status is never answered: the original client would read \
                    the reply as the answer to its next command";
        return Err(conn.fail("no reply at all", got).hint(hint));
    }
    conn.send(&say_original(Request::Devices))?;
    let r = conn.reply(None);
    let text = match (&r.end, std::str::from_utf8(&r.bytes)) {
        (ReadEnd::Quiet, Ok(text)) if !text.is_empty() => text.to_string(),
        _ => {
            let expected = format!("one line per client: \"{ORIGINAL_SHAPE}\"");
            return Err(conn.fail(expected, r.describe(conn.limits())));
        }
    };
    let lines: Vec<String> = text.lines().map(String::from).collect();
    parse_lines(conn, &lines, original_device_line, ORIGINAL_SHAPE)
}

/// The framed exchange: `status playing <song>` → `OK`, then `devices`.
fn report_framed(conn: &mut Conn, song: &str) -> Result<Vec<Device>, Diagnosis> {
    conn.send(format!("status playing {song}\n").as_bytes())?;
    let line = framed_line(conn, "\"OK\"")?;
    if !matches!(Status::parse(&line), Some(Status::Ok(_))) {
        return Err(conn.fail("\"OK\"", show(line.as_bytes())));
    }
    conn.send(b"devices\n")?;
    let lines = framed_counted(conn, "devices")?;
    parse_lines(
        conn,
        &lines,
        framed::parse_device_line,
        "<n> <ip> <port> <state> [<song>]",
    )
}

/// One original device line (`proto` parses whole lists).
fn original_device_line(line: &str) -> Option<Device> {
    original::parse_devices(line).into_iter().next()
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

/// The line of the client at `addr`: the one with its address and port,
/// else the one with its port (the server may write the address its own
/// way, e.g. `::ffff:127.0.0.1`). `what` completes the diagnosis.
fn line_of<'a>(
    conn: &Conn,
    devices: &'a [Device],
    addr: SocketAddr,
    what: &str,
) -> Result<&'a Device, Diagnosis> {
    let ip = addr.ip().to_string();
    let exact = devices.iter().find(|d| d.port == addr.port() && d.ip == ip);
    if let Some(d) = exact.or_else(|| devices.iter().find(|d| d.port == addr.port())) {
        return Ok(d);
    }
    let listed: Vec<String> = devices
        .iter()
        .map(|d| format!("{}:{}", d.ip, d.port))
        .collect();
    let expected = format!("a line for the client {addr} {what}");
    let got = format!("lines for {}", listed.join(", "));
    Err(conn
        .fail(expected, got)
        .hint("every connected client is listed, the asking one too"))
}

/// A device line as the diagnosis shows it.
fn describe(d: &Device) -> String {
    format!(
        "{} {} {} {:?}",
        d.ip,
        d.port,
        d.state,
        d.song.as_deref().unwrap_or("None")
    )
}

/// The failure of a silent client shown with a song: any song when the two
/// clients are apart (or framed), another song than the reported one when
/// they share an address in the original dialect.
fn silent_has_a_song(
    ctx: &CheckContext,
    conn: &Conn,
    addr: SocketAddr,
    silent: &Device,
    song: &str,
    shared: bool,
) -> Diagnosis {
    let expected = match shared {
        true => format!(
            "a line for the client {addr} with no song (or {song:?}, for a server that \
             keys att_status by IP address, as the original does)"
        ),
        false => format!("a line for the client {addr} with no song"),
    };
    let d = conn.fail(expected, describe(silent));
    if shared || silent.song.as_deref() != Some(song) {
        return d;
    }
    d.hint(match ctx.dialect() {
        Dialect::Framed => {
            "a status belongs to the connection that reported it, not to every client \
             of its IP address (the original's defect 5, which the framed dialect fixes)"
        }
        Dialect::Original => {
            "a status belongs to the client that reported it: this one reported \
             nothing, and came from another IP address"
        }
    })
}
