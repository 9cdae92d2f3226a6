//! Checks of downloads: `download-integrity`, `vanishing-client`,
//! `concurrent-clients`.

use streamlab_proto::{find_track, original, Dialect, Track};

use crate::connection::Conn;
use crate::exchanges;
use crate::{CheckContext, Diagnosis};

/// The most songs a check downloads (the first ones of the list).
pub const MAX_SONGS: usize = 8;
/// How many clients `concurrent-clients` connects at once.
pub const CLIENTS: usize = 5;

/// `download-integrity`: every song (up to [`MAX_SONGS`]) arrives framed as
/// its dialect says; the first one downloaded again gives the same bytes;
/// with a reference catalogue (`--music`), each matches its WAV file.
pub fn download_integrity(ctx: &CheckContext) -> Result<(), Diagnosis> {
    let dialect = ctx.dialect();
    let mut conn = ctx.connect()?;
    let names = exchanges::list(&mut conn, dialect)?;
    let mut first_audio = None;
    for name in names.iter().take(MAX_SONGS) {
        let audio = exchanges::download(&mut conn, dialect, name)?;
        if let Some(reference) = &ctx.config.reference {
            compare_with_reference(&conn, name, &audio, reference)?;
        }
        first_audio.get_or_insert(audio);
    }
    let name = super::first(&names);
    let again = exchanges::download(&mut conn, dialect, name)?;
    let first_audio = first_audio.unwrap_or_default();
    if let Some(diff) = difference(&again, &first_audio) {
        let expected = format!(
            "the same {} bytes as the first download of {name:?}",
            first_audio.len()
        );
        let hint = "the server must send the file's audio as it is, every time";
        return Err(conn.fail(expected, diff).hint(hint));
    }
    Ok(())
}

/// The downloaded audio against the reference WAV of the same name.
fn compare_with_reference(
    conn: &Conn,
    name: &str,
    audio: &[u8],
    reference: &[Track],
) -> Result<(), Diagnosis> {
    let Some(track) = find_track(reference, name) else {
        let known: Vec<&str> = reference.iter().map(|t| t.name.as_str()).collect();
        let expected = format!("only songs of the reference folder ({})", known.join(", "));
        return Err(conn.fail(expected, format!("the server lists {name:?}")));
    };
    match difference(audio, &track.pcm) {
        None => Ok(()),
        Some(diff) => {
            let expected = format!(
                "the {} bytes of audio of {}.wav, bit for bit",
                track.pcm.len(),
                track.name
            );
            let hint = "send the WAV's data chunk unchanged: no header, no conversion";
            Err(conn.fail(expected, diff).hint(hint))
        }
    }
}

/// Where `got` first differs from `want`, in words; `None` when equal.
pub fn difference(got: &[u8], want: &[u8]) -> Option<String> {
    if got == want {
        return None;
    }
    let at = got.iter().zip(want).position(|(a, b)| a != b);
    Some(match at {
        Some(i) => format!(
            "{} bytes, the first difference at byte {i} (0x{:02x} where 0x{:02x} was expected)",
            got.len(),
            got[i],
            want[i]
        ),
        None => format!(
            "{} bytes, equal up to there but {} expected",
            got.len(),
            want.len()
        ),
    })
}

/// `vanishing-client`: a client starts a download, reads a little and
/// disappears (both directions shut); a new client must still get the list.
pub fn vanishing_client(ctx: &CheckContext) -> Result<(), Diagnosis> {
    let dialect = ctx.dialect();
    let mut leaver = ctx.connect()?;
    let names = exchanges::list(&mut leaver, dialect)?;
    let song = super::first(&names);
    let request = match dialect {
        Dialect::Original => format!("download {song}"),
        Dialect::Framed => format!("download {song}\n"),
    };
    leaver.send(request.as_bytes())?;
    let start = original::TRACK_START;
    let first = leaver.exact(start.len() + 1).map_err(|r| {
        let got = r.describe(leaver.limits());
        leaver.fail("\"track_data_start…\" and audio", got)
    })?;
    if !first.starts_with(start) {
        let got = crate::diagnosis::show(&first);
        return Err(leaver.fail("\"track_data_start…\" and audio", got));
    }
    leaver.vanish();
    // Give the server the time to notice (and, if it is fragile, to fall).
    std::thread::sleep(ctx.limits().settle);
    let hint = "a client that vanishes mid-track must cost the server only that \
                connection: ignore the failed send (broken pipe, reset) and go on";
    let mut next = ctx.connect().map_err(|d| d.hint(hint))?;
    let again = exchanges::list(&mut next, dialect).map_err(|d| d.hint(hint))?;
    if again != names {
        let expected = format!("the same list as before: {names:?}");
        return Err(next.fail(expected, format!("{again:?}")));
    }
    Ok(())
}

/// `concurrent-clients`: [`CLIENTS`] clients connect, then all at once
/// each list the songs and download the smallest; every reply must be
/// what a lone client got.
pub fn concurrent_clients(ctx: &CheckContext) -> Result<(), Diagnosis> {
    let dialect = ctx.dialect();
    let mut lone = ctx.connect()?;
    let names = exchanges::list(&mut lone, dialect)?;
    let mut songs = Vec::new();
    for name in names.iter().take(MAX_SONGS) {
        songs.push((name.clone(), exchanges::download(&mut lone, dialect, name)?));
    }
    drop(lone);
    let Some((song, want)) = songs.into_iter().min_by_key(|(_, audio)| audio.len()) else {
        return Ok(()); // `list` never returns an empty list
    };
    let mut conns = Vec::with_capacity(CLIENTS);
    for i in 0..CLIENTS {
        let conn = ctx.connect().map_err(|d| numbered(d, i))?;
        conns.push(conn);
    }
    let outcomes: Vec<Result<(), Diagnosis>> = std::thread::scope(|scope| {
        let handles: Vec<_> = conns
            .iter_mut()
            .map(|conn| {
                std::thread::Builder::new()
                    .spawn_scoped(scope, || one_client(conn, dialect, &names, &song, &want))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| match h {
                Ok(h) => h.join().unwrap_or_else(|_| Err(crashed())),
                Err(e) => Err(Diagnosis::new(
                    "(nothing)",
                    "a thread for the client",
                    e.to_string(),
                )),
            })
            .collect()
    });
    for (i, outcome) in outcomes.into_iter().enumerate() {
        outcome.map_err(|d| numbered(d, i))?;
    }
    Ok(())
}

/// One of the concurrent clients: the list, then the song.
fn one_client(
    conn: &mut Conn,
    dialect: Dialect,
    names: &[String],
    song: &str,
    want: &[u8],
) -> Result<(), Diagnosis> {
    let list = exchanges::list(conn, dialect)?;
    if list != names {
        return Err(conn.fail(format!("{names:?}"), format!("{list:?}")));
    }
    let audio = exchanges::download(conn, dialect, song)?;
    match difference(&audio, want) {
        None => Ok(()),
        Some(diff) => {
            let expected = format!("the {} bytes a lone client got", want.len());
            Err(conn.fail(expected, diff))
        }
    }
}

fn numbered(mut d: Diagnosis, i: usize) -> Diagnosis {
    d.sent = format!("(client {} of {CLIENTS}) {}", i + 1, d.sent);
    if d.hint.is_none() || d.got.starts_with("nothing within") {
        let hint = "the server must serve several clients at once \
                    (a thread per connection, or select/poll)";
        d.hint = Some(hint.to_string());
    }
    d
}

fn crashed() -> Diagnosis {
    Diagnosis::new(
        "(nothing)",
        "the checker's client thread to finish",
        "it crashed",
    )
}
