//! The exchanges several checks share, in each dialect: open a connection
//! (greeting a framed server), list the songs, download one.
//!
//! Each returns what the server said or a [`Diagnosis`] of what went wrong,
//! so a check reads as a story: open, list, download, compare.

use std::net::SocketAddr;

use streamlab_proto::framed::{self, Status, TrackHeader};
use streamlab_proto::observe::{self, Observer};
use streamlab_proto::{original, Dialect};

use crate::connection::{Conn, ReadEnd};
use crate::diagnosis::{plural, show, Diagnosis};
use crate::CheckContext;

/// The greeting the checker sends to a framed server.
pub fn hello_line() -> String {
    framed::hello("conformance")
}

/// A new connection; a framed server is greeted and must answer `OK`.
pub fn open(ctx: &CheckContext) -> Result<Conn, Diagnosis> {
    let conn = Conn::open(ctx.config.addr, ctx.config.limits, ctx.deadline)?;
    greet(ctx, conn)
}

/// A second client that the server sees at another IP address than
/// `first` when it can be arranged (a server on IPv4 loopback, on Linux:
/// see [`crate::source`]), else an ordinary one. The flag says whether the
/// two are apart.
pub fn open_apart(ctx: &CheckContext, first: &Conn) -> Result<(Conn, bool), Diagnosis> {
    let (Some(mine), SocketAddr::V4(server)) = (first.local_addr(), ctx.config.addr) else {
        return Ok((open(ctx)?, false));
    };
    let Some(source) = crate::source::other_loopback(ctx.config.addr, mine.ip()) else {
        return Ok((open(ctx)?, false));
    };
    match Conn::open_from(source, server, ctx.config.limits, ctx.deadline) {
        Ok(conn) => Ok((greet(ctx, conn)?, true)),
        // No such address here, or a server that refuses it: one address.
        Err(_) => Ok((open(ctx)?, false)),
    }
}

/// Greets a framed server, which must answer `OK`; an original one is
/// not greeted.
fn greet(ctx: &CheckContext, mut conn: Conn) -> Result<Conn, Diagnosis> {
    if ctx.dialect() == Dialect::Framed {
        conn.send(hello_line().as_bytes())?;
        let expected = format!("\"OK {} ready\"", framed::VERSION);
        let got = match conn.line() {
            Ok(line) if matches!(Status::parse(&line), Some(Status::Ok(_))) => return Ok(conn),
            Ok(line) => show(line.as_bytes()),
            Err(r) => r.describe(conn.limits()),
        };
        let hint = match got.contains(original::UNKNOWN_COMMAND) {
            true => "this server answers like the original dialect: try --dialect original",
            false => "a framed server answers the greeting with an OK line",
        };
        return Err(conn.fail(expected, got).hint(hint));
    }
    Ok(conn)
}

/// One framed line; on failure, `expected` goes into the diagnosis.
pub fn framed_line(conn: &mut Conn, expected: &str) -> Result<String, Diagnosis> {
    conn.line().map_err(|r| {
        let got = r.describe(conn.limits());
        let d = conn.fail(expected, got);
        match r.end {
            ReadEnd::TimedOut if !r.bytes.is_empty() => {
                d.hint("every framed reply line ends in \"\\n\"")
            }
            _ => d,
        }
    })
}

/// A counted body, `OK <n> <noun>` and `n` lines, after the command was sent.
pub fn framed_counted(conn: &mut Conn, noun: &str) -> Result<Vec<String>, Diagnosis> {
    let expected = format!("\"OK <n> {noun}\" and then n lines");
    let status = framed_line(conn, &expected)?;
    let count = match Status::parse(&status).and_then(|s| s.count()) {
        Some(n) => n,
        None => return Err(conn.fail(expected, show(status.as_bytes()))),
    };
    let mut items = Vec::new();
    for i in 0..count {
        let line = conn.line().map_err(|r| {
            let got = format!(
                "{:?} and {}, then {}",
                status,
                plural(i, "line"),
                r.how(conn.limits())
            );
            conn.fail(&expected, got)
                .hint("the number in the status line must be the number of lines that follow")
        })?;
        items.push(line);
    }
    Ok(items)
}

/// The song names (`lista` / `list`). An empty catalogue fails: the other
/// checks need a song.
pub fn list(conn: &mut Conn, dialect: Dialect) -> Result<Vec<String>, Diagnosis> {
    let names = match dialect {
        Dialect::Original => {
            conn.send(b"lista")?;
            original_list(conn)?
        }
        Dialect::Framed => {
            conn.send(b"list\n")?;
            framed_counted(conn, "songs")?
        }
    };
    if names.is_empty() {
        let expected = "at least one song (the checks download one)";
        return Err(conn.fail(expected, "an empty list"));
    }
    Ok(names)
}

/// The reply to `lista`: every name followed by `\n`.
pub fn original_list(conn: &mut Conn) -> Result<Vec<String>, Diagnosis> {
    let expected = "the song names, each followed by \"\\n\" (e.g. \"RV\\nVL\\n\")";
    let r = conn.reply(None);
    let got = r.describe(conn.limits());
    let text = match (&r.end, std::str::from_utf8(&r.bytes)) {
        (ReadEnd::Quiet, Ok(text)) if !text.is_empty() => text,
        _ => return Err(conn.fail(expected, got)),
    };
    if !text.ends_with('\n') || text.split('\n').rev().skip(1).any(str::is_empty) {
        let hint = "every name, the last one too, ends in \"\\n\", with no empty lines";
        return Err(conn.fail(expected, got).hint(hint));
    }
    Ok(original::parse_song_list(text))
}

/// Downloads `name` and returns its audio, checking the dialect's framing
/// (see [`original_download`] and [`framed_download`]).
pub fn download(conn: &mut Conn, dialect: Dialect, name: &str) -> Result<Vec<u8>, Diagnosis> {
    match dialect {
        Dialect::Original => original_download(conn, name),
        Dialect::Framed => framed_download(conn, name).map(|(_, audio)| audio),
    }
}

/// `download <name>` → `track_data_start`, the audio, `track_data_end`; the
/// audio a whole number of CD frames (4 bytes).
pub fn original_download(conn: &mut Conn, name: &str) -> Result<Vec<u8>, Diagnosis> {
    let (start, end) = (original::TRACK_START, original::TRACK_END);
    conn.send(format!("download {name}").as_bytes())?;
    let r = conn.track(start, end);
    let expected = "\"track_data_start\", the raw audio, then \"track_data_end\"";
    if !r.bytes.starts_with(start) {
        return Err(conn.fail(expected, r.describe(conn.limits())));
    }
    if r.end != ReadEnd::Complete {
        let got = format!(
            "\"track_data_start\" and {} more bytes, then {}",
            r.bytes.len() - start.len(),
            r.how(conn.limits())
        );
        let hint = "the last audio byte must be followed by \"track_data_end\": \
                    the client finds the end of the song by it";
        return Err(conn.fail(expected, got).hint(hint));
    }
    // Read as any onlooker reads it (proto's observer): the track must end
    // at the last marker, not at one inside the audio.
    let end_at = (r.bytes.len() - end.len()) as u64;
    if let Some(early) = first_track_end(name, &r.bytes).filter(|&at| at < end_at) {
        let (start_word, end_word) = (original::TRACK_START_WORD, original::TRACK_END_WORD);
        let got = format!(
            "{end_word:?} inside the audio, {} bytes after {start_word:?}",
            early - start.len() as u64
        );
        let expected = "audio that does not contain the end marker";
        let hint = format!(
            "a reader (a capture, a client that searches the stream) ends the song at the \
             first {end_word:?}: the original dialect cannot carry such audio"
        );
        return Err(conn.fail(expected, got).hint(hint));
    }
    let audio = r.bytes[start.len()..r.bytes.len() - end.len()].to_vec();
    if audio.len() % 4 != 0 {
        let got = format!("{} bytes of audio", audio.len());
        let expected = "a whole number of CD frames (4 bytes each) between the markers";
        let hint = "the original client plays 44100 Hz, 2 channels, 16 bit: send the WAV's data chunk as it is";
        return Err(conn.fail(expected, got).hint(hint));
    }
    Ok(audio)
}

/// Where proto's observer finds the first end marker in an original
/// track's reply to `download <name>`.
fn first_track_end(name: &str, reply: &[u8]) -> Option<u64> {
    let mut o = Observer::with_dialect(Dialect::Original);
    o.data(
        observe::Side::Client,
        0,
        format!("download {name}").as_bytes(),
    );
    o.data(observe::Side::Server, 0, reply);
    o.finish();
    std::iter::from_fn(|| o.poll_event()).find_map(|e| match e {
        observe::Event::TrackEnd { at } => Some(at),
        _ => None,
    })
}

/// `download <name>` → the track line, exactly its count of bytes, and
/// `track_data_end <name>`; the count a whole number of frames.
pub fn framed_download(conn: &mut Conn, name: &str) -> Result<(TrackHeader, Vec<u8>), Diagnosis> {
    conn.send(format!("download {name}\n").as_bytes())?;
    let expected = format!("\"track_data_start <bytes> <rate> <channels> <format> {name}\"");
    let line = framed_line(conn, &expected)?;
    let header = TrackHeader::parse(&line)
        .map_err(|e| conn.fail(&expected, show(line.as_bytes())).hint(e))?;
    if header.name.to_lowercase() != name.to_lowercase() {
        return Err(conn
            .fail(&expected, show(line.as_bytes()))
            .hint("the name is the song asked for"));
    }
    let frame = header.format.frame_bytes() as u64;
    if header.bytes % frame != 0 {
        let expected = format!("a byte count that is a whole number of {frame}-byte frames");
        return Err(conn.fail(expected, show(line.as_bytes())));
    }
    let count = usize::try_from(header.bytes).unwrap_or(usize::MAX);
    if count > crate::connection::MAX_REPLY {
        let expected = "a song the checker can hold (at most 256 MiB)";
        return Err(conn.fail(expected, show(line.as_bytes())));
    }
    let audio = conn.exact(count).map_err(|r| {
        let expected = format!("exactly {count} bytes of audio after the track_data_start line");
        let got = format!("{} bytes, then {}", r.bytes.len(), r.how(conn.limits()));
        conn.fail(expected, got)
            .hint("the count in track_data_start must be the audio's exact length")
    })?;
    let want = format!("{} {}", original::TRACK_END_WORD, header.name);
    let got = match conn.line() {
        Ok(end) if end == want => None,
        Ok(end) => Some(show(end.as_bytes())),
        Err(r) => Some(r.describe(conn.limits())),
    };
    if let Some(got) = got {
        let hint = "after exactly <bytes> bytes of audio comes the end line; \
                    anything else means the count is wrong";
        return Err(conn.fail(format!("{want:?}"), got).hint(hint));
    }
    Ok((header, audio))
}
