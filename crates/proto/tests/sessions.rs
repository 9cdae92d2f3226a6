//! Server and client sessions talking to each other in memory, with the
//! bytes cut and glued the ways TCP may cut and glue them.

use std::cell::RefCell;
use std::sync::Arc;
use std::time::Duration;

use streamlab_proto::observe::Side;
use streamlab_proto::pair::Pair;
use streamlab_proto::{
    ClientConfig, ClientEvent, ClientSession, Device, Dialect, DialectChoice, PcmFormat, PlayState,
    Request, ServerConfig, ServerContext, ServerSession, Track, TrackUnavailable,
};

/// A catalogue of two songs and a one-entry device registry.
struct Songs {
    songs: Vec<Track>,
    /// A listed song whose audio the server cannot read (its file vanished).
    unreadable: Option<&'static str>,
    status: RefCell<(PlayState, Option<String>)>,
}

impl Songs {
    fn new() -> Songs {
        let pcm = |n: usize, seed: u8| -> Arc<[u8]> {
            (0..n).map(|i| (i as u8).wrapping_mul(seed)).collect()
        };
        Songs {
            songs: vec![
                Track {
                    name: "RV".into(),
                    format: PcmFormat::CD,
                    pcm: pcm(40_000, 7),
                },
                Track {
                    name: "VL".into(),
                    format: PcmFormat::CD,
                    pcm: pcm(1_000, 13),
                },
            ],
            unreadable: None,
            status: RefCell::new((PlayState::Idle, None)),
        }
    }
}

impl ServerContext for Songs {
    fn song_names(&self) -> Vec<String> {
        self.songs.iter().map(|t| t.name.clone()).collect()
    }
    fn track(&self, name: &str) -> Result<Track, TrackUnavailable> {
        let track = streamlab_proto::find_track(&self.songs, name);
        match track {
            Some(t) if self.unreadable == Some(t.name.as_str()) => {
                Err(TrackUnavailable::Unreadable)
            }
            Some(t) => Ok(t.clone()),
            None => Err(TrackUnavailable::NotFound),
        }
    }
    fn devices(&self) -> Vec<Device> {
        let (state, song) = self.status.borrow().clone();
        vec![Device {
            ip: "10.0.0.10".into(),
            port: 45926,
            state,
            song,
            position_ms: None,
        }]
    }
    fn report(&self, _conn: u64, state: PlayState, song: Option<String>, _at: Option<u64>) {
        *self.status.borrow_mut() = (state, song);
    }
}

/// Runs the two sessions against each other (proto's [`Pair`]): each
/// client write arrives as one read (as on a quiet LAN); server output
/// arrives `chunk` bytes per read.
fn drive(server: ServerSession, client: ClientSession, ctx: &Songs, chunk: usize) -> Pair {
    let mut pair = Pair::new(server, client);
    let mut cut = |side: Side, pending: usize| match side {
        Side::Client => pending,
        Side::Server => chunk,
    };
    if let Err(stuck) = pair.drive(ctx, &mut cut) {
        panic!("chunk {chunk}: {stuck}");
    }
    pair
}

/// Everything the server has to write at time zero.
fn drain(server: &mut ServerSession) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let p = server.pending(Duration::ZERO).to_vec();
        if p.is_empty() {
            return out;
        }
        server.consume(Duration::ZERO, p.len());
        out.extend(p);
    }
}

fn session_pair(dialect: Dialect) -> (ServerSession, ClientSession) {
    let server = ServerSession::new(1, ServerConfig::default());
    let client = ClientSession::new(ClientConfig::new(dialect));
    (server, client)
}

fn track_bytes(events: &[ClientEvent]) -> Vec<u8> {
    events
        .iter()
        .filter_map(|e| match e {
            ClientEvent::TrackData { data, .. } => Some(data.as_slice()),
            _ => None,
        })
        .flatten()
        .copied()
        .collect()
}

#[test]
fn both_dialects_list_download_report_and_quit_whatever_the_segment_size() {
    let ctx = Songs::new();
    for dialect in [Dialect::Original, Dialect::Framed] {
        for chunk in [1, 3, 16, 1500, 65_536] {
            let (server, mut client) = session_pair(dialect);
            let now = Duration::ZERO;
            client.send(now, Request::List);
            client.send(now, Request::Download { name: "rv".into() });
            client.send(
                now,
                Request::Status {
                    state: PlayState::Playing,
                    song: Some("RV".into()),
                    position_ms: None,
                },
            );
            client.send(now, Request::Devices);
            client.send(now, Request::Quit);
            let pair = drive(server, client, &ctx, chunk);
            let events = &pair.client_events;
            let ctx_song = &ctx.songs[0].pcm;
            let got = track_bytes(events);
            assert!(
                got == ctx_song.to_vec(),
                "{dialect} chunk {chunk}: {} bytes",
                got.len()
            );
            assert!(
                events.contains(&ClientEvent::Songs(vec!["RV".into(), "VL".into()])),
                "{dialect} {chunk}: {events:?}"
            );
            let devices = events.iter().find_map(|e| match e {
                ClientEvent::Devices(d) => Some(d.clone()),
                _ => None,
            });
            let dev = &devices.expect("a device list")[0];
            assert_eq!(
                (dev.state, dev.song.as_deref()),
                (PlayState::Playing, Some("RV"))
            );
            assert!(
                events.contains(&ClientEvent::Goodbye),
                "{dialect} {chunk}: {events:?}"
            );
            assert!(pair.server.is_finished(Duration::from_secs(100)));
        }
    }
}

#[test]
fn auto_detection_picks_the_dialect_from_the_first_bytes() {
    let ctx = Songs::new();
    for dialect in [Dialect::Original, Dialect::Framed] {
        let server = ServerSession::new(
            1,
            ServerConfig {
                dialect: DialectChoice::Auto,
                ..ServerConfig::default()
            },
        );
        let mut client = ClientSession::new(ClientConfig::new(dialect));
        client.send(Duration::ZERO, Request::List);
        let pair = drive(server, client, &ctx, 2);
        assert_eq!(pair.server.dialect(), Some(dialect));
    }
}

/// Hands `reads` to a server one read each and returns everything it wrote.
fn original_server_answers(reads: &[&[u8]]) -> String {
    let ctx = Songs::new();
    let cfg = ServerConfig {
        dialect: DialectChoice::Original,
        pause: Duration::ZERO,
        ..ServerConfig::default()
    };
    let mut server = ServerSession::new(1, cfg);
    let mut out = Vec::new();
    for r in reads {
        server.handle_read(Duration::ZERO, r, &ctx);
        out.extend(drain(&mut server));
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn the_original_server_reads_one_command_per_read_as_the_original_did() {
    assert_eq!(
        original_server_answers(&[b"lista", b"7"]),
        "RV\nVL\nRV\nVL\n"
    );
    // Two commands in one read are one unknown command...
    assert_eq!(
        original_server_answers(&[b"listaquit"]),
        "Comando Inexistente."
    );
    // ...and one command in two reads is two unknown commands.
    assert_eq!(
        original_server_answers(&[b"li", b"sta"]),
        "Comando Inexistente.Comando Inexistente."
    );
    assert_eq!(
        original_server_answers(&[b"download XX"]),
        "Musica 'XX' não encontrada. Por favor envie 'lista' para ver a lista de musicas"
    );
    assert_eq!(
        original_server_answers(&[b"att_status VL", b"10"]),
        "1-10.0.0.10 ; 45926 Musica: VL"
    );
    assert_eq!(original_server_answers(&[b"9"]), "goodbye");
    assert_eq!(
        original_server_answers(&[b"\xff\xfe"]),
        "Comando Inexistente."
    );
    assert!(original_server_answers(&[b"download ../../etc/passwd"])
        .starts_with("Musica '../../etc/passwd'"));
}

#[test]
fn the_original_track_is_marker_pcm_marker_with_pauses_between() {
    let ctx = Songs::new();
    let pause = Duration::from_millis(50);
    let cfg = ServerConfig {
        dialect: DialectChoice::Original,
        pause,
        ..ServerConfig::default()
    };
    let mut server = ServerSession::new(1, cfg);
    server.handle_read(Duration::ZERO, b"download VL", &ctx);
    let t0 = Duration::ZERO;
    assert_eq!(server.pending(t0), b"track_data_start");
    server.consume(t0, 16);
    assert!(
        server.pending(t0).is_empty(),
        "the pause holds the audio back"
    );
    assert!(!server.wants_read());
    assert_eq!(server.poll_timeout(), Some(pause));
    assert_eq!(server.pending(pause).len(), 1_000);
    server.consume(pause, 1_000);
    // The end marker waits until the client has acknowledged the audio
    // (the driver says when), then for a pause, so that it arrives alone.
    assert!(server.wants_drain());
    assert!(server.pending(pause * 10).is_empty());
    assert_eq!(server.poll_timeout(), None, "no timer: the driver reports");
    assert!(!server.wants_read());
    let acked = pause * 3;
    server.handle_drained(acked);
    assert!(!server.wants_drain());
    assert!(server.pending(acked).is_empty());
    assert_eq!(server.poll_timeout(), Some(acked + pause));
    assert_eq!(server.pending(acked + pause), b"track_data_end");
    server.consume(acked + pause, 14);
    assert!(server.wants_read());
}

#[test]
fn without_the_pause_trick_the_end_marker_follows_the_audio_at_once() {
    let ctx = Songs::new();
    let cfg = ServerConfig {
        dialect: DialectChoice::Original,
        pause: Duration::ZERO,
        ..ServerConfig::default()
    };
    let mut server = ServerSession::new(1, cfg);
    server.handle_read(Duration::ZERO, b"download VL", &ctx);
    let out = drain(&mut server);
    assert!(!server.wants_drain(), "pause 0 turns the barrier off too");
    assert_eq!(out.len(), 16 + 1_000 + 14);
    assert!(out.ends_with(b"track_data_end"));
}

#[test]
fn the_framed_server_answers_every_error_with_a_status_line() {
    let ctx = Songs::new();
    let cfg = ServerConfig {
        dialect: DialectChoice::Framed,
        ..ServerConfig::default()
    };
    let mut server = ServerSession::new(1, cfg);
    let input = b"dance\ndownload\ndownload nope\ndownload ../x\nstatus dancing\n\xff\n";
    server.handle_read(Duration::ZERO, input, &ctx);
    let out = drain(&mut server);
    let text = String::from_utf8(out).unwrap();
    insta::assert_snapshot!(text, @r#"
    ERR 400 unknown command 'dance'; send 'help' for the commands
    ERR 400 missing argument: 'download' needs a song name
    ERR 404 no song named 'nope'; send 'list' to see the songs
    ERR 400 invalid song name "../x": names are at most 255 bytes, without '/', '\', '..' or control characters
    ERR 400 invalid state 'dancing': expected idle, playing, paused or stopped
    ERR 400 invalid UTF-8 in command
    "#);
    assert!(server.wants_read(), "errors do not end the session");
}

#[test]
fn an_over_long_framed_line_gets_an_error_then_the_close() {
    let ctx = Songs::new();
    let cfg = ServerConfig {
        dialect: DialectChoice::Framed,
        ..ServerConfig::default()
    };
    let mut server = ServerSession::new(1, cfg);
    server.handle_read(Duration::ZERO, &[b'a'; 2000], &ctx);
    let out = server.pending(Duration::ZERO).to_vec();
    assert!(String::from_utf8_lossy(&out).starts_with("ERR 413 line too long"));
    server.consume(Duration::ZERO, out.len());
    assert!(server.is_finished(Duration::ZERO));
}

#[test]
fn the_original_client_survives_a_glued_start_marker_and_a_split_end_marker() {
    // Feed a client the reply bytes in the worst possible cuts.
    let pcm: Vec<u8> = (0..5000u32).map(|i| (i % 251) as u8).collect();
    let mut wire = b"track_data_start".to_vec();
    wire.extend(&pcm);
    wire.extend(b"track_data_end");
    for cut in [1, 7, 15, 17, 100, 5000, wire.len()] {
        let mut client = ClientSession::new(ClientConfig::new(Dialect::Original));
        client.send(Duration::ZERO, Request::Download { name: "RV".into() });
        client.consume(Duration::ZERO, client.pending(Duration::ZERO).len());
        for piece in wire.chunks(cut) {
            client.handle_input(Duration::ZERO, piece);
        }
        let events: Vec<_> = std::iter::from_fn(|| client.poll_event()).collect();
        assert!(track_bytes(&events) == pcm, "cut {cut}");
        assert_eq!(
            events.last(),
            Some(&ClientEvent::TrackEnd {
                name: "RV".into(),
                bytes: 5000
            }),
            "cut {cut}"
        );
        assert!(client.is_idle());
    }
}

#[test]
fn the_original_client_sends_one_request_at_a_time() {
    let mut client = ClientSession::new(ClientConfig::new(Dialect::Original));
    let t = Duration::ZERO;
    client.send(t, Request::List);
    client.send(t, Request::Quit);
    assert_eq!(client.pending(t), b"lista");
    client.consume(t, 5);
    assert!(
        client.pending(t).is_empty(),
        "quit waits for the list reply"
    );
    client.handle_input(t, b"RV\nVL\n");
    let settle = Duration::from_millis(100);
    assert_eq!(client.poll_timeout(), Some(settle));
    client.handle_timeout(settle);
    assert_eq!(
        client.poll_event(),
        Some(ClientEvent::Songs(vec!["RV".into(), "VL".into()]))
    );
    assert_eq!(client.pending(settle), b"quit");
}

#[test]
fn a_server_that_closes_mid_track_is_reported() {
    let mut client = ClientSession::new(ClientConfig::new(Dialect::Framed));
    let t = Duration::ZERO;
    client.send(t, Request::Download { name: "RV".into() });
    client.handle_input(
        t,
        b"OK streamlab/1 ready\ntrack_data_start 100 44100 2 s16le RV\nabc",
    );
    client.handle_eof(t);
    let events: Vec<_> = std::iter::from_fn(|| client.poll_event()).collect();
    let Some(ClientEvent::Closed {
        reason: Some(reason),
    }) = events.last()
    else {
        panic!("{events:?}");
    };
    assert_eq!(
        reason,
        "the server closed the connection 97 bytes before the end of 'RV'"
    );
}

#[test]
fn an_original_server_with_no_songs_still_answers_what_follows() {
    // An empty list is zero bytes on the wire. Those zero bytes, and the
    // pause after them, must not block the goodbye that follows.
    let mut ctx = Songs::new();
    ctx.songs.clear();
    let server = ServerSession::new(1, ServerConfig::default());
    let mut client = ClientSession::new(ClientConfig::new(Dialect::Original));
    client.send(Duration::ZERO, Request::List);
    client.send(Duration::ZERO, Request::Quit);
    let pair = drive(server, client, &ctx, 1500);
    assert_eq!(
        pair.client_events,
        [ClientEvent::Songs(vec![]), ClientEvent::Goodbye]
    );
    assert!(pair.server.is_finished(Duration::from_secs(100)));
}

#[test]
fn att_status_is_never_answered_even_when_its_name_is_refused() {
    // A reply to att_status would land in the client's next recv and be
    // read as the answer to its next command.
    assert_eq!(
        original_server_answers(&[b"att_status ../x", b"att_status A\nB", b"10"]),
        "1-10.0.0.10 ; 45926 Musica: None"
    );
}

/// Runs `input` through a fresh framed server session and returns its output.
fn framed_server_answers(ctx: &Songs, input: &[u8]) -> String {
    let cfg = ServerConfig {
        dialect: DialectChoice::Framed,
        ..ServerConfig::default()
    };
    let mut server = ServerSession::new(2, cfg);
    server.handle_read(Duration::ZERO, input, ctx);
    let out = drain(&mut server);
    String::from_utf8(out).expect("framed replies are UTF-8")
}

#[test]
fn a_song_the_server_cannot_read_is_an_error_and_the_session_goes_on() {
    let mut ctx = Songs::new();
    ctx.unreadable = Some("VL");
    insta::assert_snapshot!(framed_server_answers(&ctx, b"download vl\nlist\n"), @r"
    ERR 500 song 'vl' cannot be read on the server; try again later
    OK 2 songs
    RV
    VL
    ");
    let cfg = ServerConfig {
        dialect: DialectChoice::Original,
        pause: Duration::ZERO,
        ..ServerConfig::default()
    };
    let mut server = ServerSession::new(1, cfg);
    let mut out = Vec::new();
    for read in [&b"download VL"[..], b"lista"] {
        server.handle_read(Duration::ZERO, read, &ctx);
        out.extend(drain(&mut server));
    }
    assert_eq!(
        String::from_utf8_lossy(&out),
        "ERR 500 song 'VL' cannot be read on the server; try again later\nRV\nVL\n"
    );
}

#[test]
fn a_reported_song_cannot_break_another_clients_device_list() {
    // An original client reports a "song" with a newline in it...
    let ctx = Songs::new();
    let mut original = ServerSession::new(
        1,
        ServerConfig {
            dialect: DialectChoice::Original,
            ..ServerConfig::default()
        },
    );
    original.handle_read(Duration::ZERO, b"att_status RV\nOK 0 songs", &ctx);
    // ...and a framed client's counted body still has one line per device.
    assert_eq!(
        framed_server_answers(&ctx, b"devices\n"),
        "OK 1 devices\n1 10.0.0.10 45926 idle\n"
    );
}

#[test]
fn every_framed_reply_line_fits_the_line_bound() {
    let ctx = Songs::new();
    let word = "x".repeat(1020);
    let name = "é".repeat(500);
    let input = format!("{word}\ndownload {name}\nstatus playing {name}\n");
    let text = framed_server_answers(&ctx, input.as_bytes());
    assert_eq!(text.lines().count(), 3, "{text}");
    for line in text.lines() {
        assert!(line.starts_with("ERR 400 "), "{line}");
        assert!(line.len() <= 1024, "{} bytes: {line}", line.len());
    }
}

#[test]
fn an_original_reply_that_never_ends_is_cut_off() {
    let mut client = ClientSession::new(ClientConfig::new(Dialect::Original));
    client.send(Duration::ZERO, Request::List);
    client.consume(Duration::ZERO, 5);
    // A server that streams list bytes without ever pausing.
    let junk = [b'a'; 64 * 1024];
    for i in 0..17 {
        client.handle_input(Duration::from_micros(i), &junk);
    }
    assert!(client.is_closed());
    let events: Vec<_> = std::iter::from_fn(|| client.poll_event()).collect();
    let Some(ClientEvent::Closed {
        reason: Some(reason),
    }) = events.last()
    else {
        panic!("{events:?}");
    };
    assert!(reason.contains("without ending its reply"), "{reason}");
}

#[test]
fn an_original_device_list_that_never_comes_is_empty() {
    // A server with an empty registry sends zero bytes, like an empty song list.
    let mut client = ClientSession::new(ClientConfig::new(Dialect::Original));
    client.send(Duration::ZERO, Request::Devices);
    client.consume(Duration::ZERO, client.pending(Duration::ZERO).len());
    let timeout = Duration::from_secs(3);
    assert_eq!(client.poll_timeout(), Some(timeout));
    client.handle_timeout(timeout);
    assert_eq!(client.poll_event(), Some(ClientEvent::Devices(vec![])));
    assert!(client.is_idle());
}

#[test]
fn a_framed_track_nobody_asked_for_ends_the_session() {
    let mut client = ClientSession::new(ClientConfig::new(Dialect::Framed));
    let t = Duration::ZERO;
    client.send(t, Request::List);
    client.handle_input(
        t,
        b"OK streamlab/1 ready\ntrack_data_start 4 44100 2 s16le RV\nPCM!",
    );
    let events: Vec<_> = std::iter::from_fn(|| client.poll_event()).collect();
    assert_eq!(events[0], ClientEvent::Ready("streamlab/1 ready".into()));
    let Some(ClientEvent::Closed {
        reason: Some(reason),
    }) = events.last()
    else {
        panic!("{events:?}");
    };
    assert!(reason.starts_with("a track nobody asked for"), "{reason}");
}

#[test]
fn answers_carry_the_id_of_the_request_they_answer() {
    let mut client = ClientSession::new(ClientConfig::new(Dialect::Framed));
    let t = Duration::ZERO;
    let status = client.send(
        t,
        Request::Status {
            state: PlayState::Paused,
            song: None,
            position_ms: None,
        },
    );
    let list = client.send(t, Request::List);
    let download = client.send(t, Request::Download { name: "RV".into() });
    client.handle_input(
        t,
        b"OK streamlab/1 ready\nERR 400 no\nOK 1 songs\nRV\ntrack_data_start 2 44100 2 s16le RV\nab",
    );
    let answers: Vec<_> = std::iter::from_fn(|| client.poll_answer()).collect();
    let ids: Vec<Option<u64>> = answers.iter().map(|(id, _)| *id).collect();
    assert_eq!(
        ids,
        vec![
            Some(ClientSession::HELLO_ID),
            Some(status),
            Some(list),
            Some(download),
            None
        ]
    );
}

#[test]
fn half_a_marker_waits_for_the_rest_instead_of_ending_the_reply() {
    let mut client = ClientSession::new(ClientConfig::new(Dialect::Original));
    let t = Duration::ZERO;
    client.send(t, Request::Download { name: "RV".into() });
    client.consume(t, client.pending(t).len());
    client.handle_input(t, b"track_d");
    // Long past the 100 ms settle, short of the 3 s reply timeout.
    let late = Duration::from_millis(900);
    assert_eq!(client.poll_timeout(), Some(Duration::from_secs(3)));
    client.handle_timeout(late);
    assert_eq!(client.poll_event(), None, "nothing is decided yet");
    client.handle_input(late, b"ata_startPCMtrack_data_end");
    let events: Vec<_> = std::iter::from_fn(|| client.poll_event()).collect();
    assert_eq!(track_bytes(&events), b"PCM");
}

#[test]
fn a_busy_reply_before_any_request_becomes_the_reason_for_the_close() {
    let mut client = ClientSession::new(ClientConfig::new(Dialect::Original));
    let t = Duration::ZERO;
    client.handle_input(
        t,
        b"ERR 503 busy: the server already serves 2 clients; try again later\n",
    );
    client.handle_eof(t);
    let reason = std::iter::from_fn(|| client.poll_event()).find_map(|e| match e {
        ClientEvent::Closed { reason } => reason,
        _ => None,
    });
    assert_eq!(
        reason.as_deref(),
        Some("ERR 503 busy: the server already serves 2 clients; try again later")
    );
}

#[test]
fn every_catalogue_finds_a_song_ignoring_case_beyond_ascii() {
    let track = |name: &str| Track {
        name: name.into(),
        format: PcmFormat::CD,
        pcm: Arc::from(&[0u8; 4][..]),
    };
    let tracks = vec![track("Été"), track("RV")];
    let found = |name| streamlab_proto::find_track(&tracks, name).map(|t| t.name.as_str());
    assert_eq!(found("ÉTÉ"), Some("Été"));
    assert_eq!(found("rv"), Some("RV"));
    assert_eq!(found("VL"), None);
}
