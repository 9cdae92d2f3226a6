//! The protocol observer against the sessions: the same conversations, cut
//! into segments at random, and every whole conversation of the committed
//! captures replayed at its capture times, read by the server and client
//! sessions that take part and by proto's observer that only watches. They
//! must agree on the dialect, on every command, and on every track's name
//! and bytes.

use std::sync::Arc;
use std::time::Duration;

use streamlab_netsim::rng::SimRng;
use streamlab_proto::observe::{Event, Kind, Message, Observer, Side};
use streamlab_proto::pair::{Catalogue, Pair};
use streamlab_proto::{
    same_song_name, ClientConfig, ClientEvent, ClientSession, Device, Dialect, PcmFormat,
    PlayState, Request, ServerConfig, ServerEvent, ServerSession, Track,
};

/// Two short songs; one device. With `marker_inside`, each song's audio
/// spells `track_data_end` halfway: the framed dialect counts it as audio.
/// The original dialect cannot carry such audio at all (its readers
/// disagree on where the track ends: the observer at the first marker, the
/// client at one that ends a read), so its songs leave it out.
fn catalogue(marker_inside: bool) -> Catalogue {
    let pcm = |n: usize, k: u8| -> Arc<[u8]> {
        let mut v: Vec<u8> = (0..n).map(|i| (i as u8).wrapping_mul(k)).collect();
        if marker_inside {
            v[n / 2..n / 2 + 14].copy_from_slice(b"track_data_end");
        }
        v.into()
    };
    Catalogue {
        songs: vec![
            Track {
                name: "RV".into(),
                format: PcmFormat::CD,
                pcm: pcm(6_000, 7),
            },
            Track {
                name: "VL".into(),
                format: PcmFormat::CD,
                pcm: pcm(900, 13),
            },
        ],
        devices: vec![Device {
            ip: "10.0.0.10".into(),
            port: 45926,
            state: PlayState::Playing,
            song: Some("RV".into()),
            position_ms: None,
        }],
    }
}

/// A random list of requests, ending with `quit`.
fn requests(rng: &mut SimRng) -> Vec<Request> {
    let pool = [
        Request::List,
        Request::Download { name: "rv".into() },
        Request::Download { name: "VL".into() },
        Request::Download {
            name: "nope".into(),
        },
        Request::Devices,
        Request::Status {
            state: PlayState::Playing,
            song: Some("RV".into()),
            position_ms: None,
        },
    ];
    let n = 1 + rng.index(5);
    let mut out: Vec<Request> = (0..n)
        .map(|_| pool[rng.index(pool.len())].clone())
        .collect();
    out.push(Request::Quit);
    out
}

/// Runs the sessions against each other. The server's output goes in
/// segments of random size; so does the client's in the framed dialect (in
/// the original one each command is one write and one read, which is the
/// dialect's own rule).
fn converse(dialect: Dialect, rng: &mut SimRng) -> Pair {
    let ctx = catalogue(dialect == Dialect::Framed);
    let server = ServerSession::new(1, ServerConfig::default());
    let mut client = ClientSession::new(ClientConfig::new(dialect));
    for r in requests(rng) {
        client.send(Duration::ZERO, r);
    }
    let mut pair = Pair::new(server, client);
    let mut cut = |side: Side, pending: usize| match (side, dialect) {
        (Side::Client, Dialect::Original) => pending,
        (Side::Client, Dialect::Framed) => 1 + rng.index(pending),
        (Side::Server, _) => 1 + rng.index(pending.min(3_000)),
    };
    if let Err(stuck) = pair.drive(&ctx, &mut cut) {
        panic!("{dialect}: {stuck}");
    }
    pair
}

/// Feeds the wire's segments to an observer.
fn observe(pieces: &[(Side, Vec<u8>)]) -> (Observer, Vec<Event>) {
    let mut o = Observer::new();
    let mut offsets = [0u64; 2];
    for (side, piece) in pieces {
        o.data(*side, offsets[side.index()], piece);
        offsets[side.index()] += piece.len() as u64;
    }
    o.finish();
    let events = std::iter::from_fn(|| o.poll_event()).collect();
    (o, events)
}

/// A track as one side saw it: its name, its audio, whether it ended.
#[derive(Debug, PartialEq)]
struct Seen {
    name: String,
    audio: Vec<u8>,
    ended: bool,
}

fn observed_tracks(events: &[Event], server_stream: &[u8]) -> Vec<Seen> {
    let mut tracks: Vec<Seen> = Vec::new();
    for e in events {
        match e {
            Event::TrackStart { name, .. } => tracks.push(Seen {
                name: name.clone().unwrap_or_default(),
                audio: Vec::new(),
                ended: false,
            }),
            Event::TrackHeader(h) => {
                if let Some(t) = tracks.last_mut() {
                    t.name = h.name.clone();
                }
            }
            Event::Audio { at, len } => {
                let t = tracks.last_mut().expect("audio belongs to a track");
                t.audio
                    .extend_from_slice(&server_stream[*at as usize..(*at + *len) as usize]);
            }
            Event::TrackEnd { .. } => tracks.last_mut().expect("an open track").ended = true,
            _ => {}
        }
    }
    tracks
}

fn client_tracks(events: &[ClientEvent]) -> Vec<Seen> {
    let mut tracks: Vec<Seen> = Vec::new();
    for e in events {
        match e {
            ClientEvent::TrackStart { name, .. } => tracks.push(Seen {
                name: name.clone(),
                audio: Vec::new(),
                ended: false,
            }),
            ClientEvent::TrackData { data, .. } => tracks
                .last_mut()
                .expect("data in a track")
                .audio
                .extend(data),
            ClientEvent::TrackEnd { .. } => tracks.last_mut().expect("a track").ended = true,
            _ => {}
        }
    }
    tracks
}

fn messages(events: &[Event], side: Side) -> Vec<&Message> {
    let all = events.iter().filter_map(|e| match e {
        Event::Message(m) if m.side == side => Some(m),
        _ => None,
    });
    all.collect()
}

/// Checks one conversation; `what` names it in a failure.
/// The commands the observer found are those the server session read.
fn commands_agree(events: &[Event], served: &[ServerEvent], what: &str) -> Vec<String> {
    let commands: Vec<String> = messages(events, Side::Client)
        .iter()
        .map(|m| {
            String::from_utf8_lossy(&m.text)
                .trim_end_matches(['\r', '\n'])
                .to_string()
        })
        .collect();
    let read: Vec<String> = served
        .iter()
        .filter_map(|e| match e {
            ServerEvent::Command { text, .. } => Some(text.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(commands, read, "{what}");
    commands
}

/// The tracks the observer found are those the client session played:
/// the same names, the same bytes, ended alike. Returns them.
fn tracks_agree(
    events: &[Event],
    server_stream: &[u8],
    played: &[ClientEvent],
    what: &str,
) -> Vec<Seen> {
    let seen = observed_tracks(events, server_stream);
    let got = client_tracks(played);
    assert_eq!(seen.len(), got.len(), "{what}: tracks");
    for (o, c) in seen.iter().zip(&got) {
        assert!(
            same_song_name(&o.name, &c.name),
            "{what}: {} vs {}",
            o.name,
            c.name
        );
        assert!(
            o.audio == c.audio,
            "{what}: {} vs {} audio bytes",
            o.audio.len(),
            c.audio.len()
        );
        assert_eq!(o.ended, c.ended, "{what}");
    }
    got
}

fn agree(dialect: Dialect, wire: &Pair, what: &str) {
    let (observer, events) = observe(&wire.pieces);
    let client_stream = wire.stream(Side::Client);
    let server_stream = wire.stream(Side::Server);

    // The dialect, by the server's rule.
    assert!(
        wire.server_events.contains(&ServerEvent::Dialect(dialect)),
        "{what}"
    );
    assert_eq!(observer.dialect(), Some(dialect), "{what}");

    // Every command the server read, in order, and where it lies.
    for m in messages(&events, Side::Client) {
        let at = m.offset as usize;
        let bytes = &client_stream[at..at + m.len as usize];
        assert_eq!(m.text, bytes, "{what}: a command's offset");
        assert!(m.request().is_some_and(|r| r.is_ok()), "{what}: {m:?}");
    }
    commands_agree(&events, &wire.server_events, what);

    // Every track: the same name, the same bytes, ended.
    let played = tracks_agree(&events, &server_stream, &wire.client_events, what);
    assert!(played.iter().all(|t| t.ended), "{what}");

    // Server messages lie where they say.
    for m in messages(&events, Side::Server) {
        let at = m.offset as usize;
        let bytes = &server_stream[at..at + m.len as usize];
        match m.kind {
            Kind::Text => assert_eq!(m.text, bytes, "{what}"),
            Kind::TrackStart => assert!(bytes.starts_with(b"track_data_start"), "{what}"),
            Kind::TrackEnd => assert!(bytes.starts_with(b"track_data_end"), "{what}"),
            Kind::Audio => assert!(m.text.is_empty(), "{what}"),
        }
    }
}

#[test]
fn the_observer_and_the_sessions_agree_on_thousands_of_random_splits() {
    let mut tracks = 0;
    for dialect in [Dialect::Original, Dialect::Framed] {
        for seed in 1..=1_500u64 {
            let mut rng = SimRng::new(seed);
            let wire = converse(dialect, &mut rng);
            tracks += client_tracks(&wire.client_events).len();
            let what = format!(
                "{dialect}, seed {seed} (replay: this test with only that seed), {} segments",
                wire.pieces.len()
            );
            agree(dialect, &wire, &format!("{what}\n{}", wire.dump()));
        }
    }
    // The requests are random: make sure tracks were among them.
    assert!(tracks > 1_000, "only {tracks} tracks in 3000 conversations");
}

/// Greetings the server and the observer once told apart differently
/// (the analyzer called them original): `hello` in capitals, and split.
#[test]
fn a_greeting_in_capitals_or_split_is_framed_to_the_server_and_the_observer() {
    let ctx = catalogue(false);
    let cases: [&[&[u8]]; 3] = [
        &[b"HELLO streamlab/1 x\n"],
        &[b"hel", b"lo streamlab/1 x\n"],
        &[b"h", b"E", b"l", b"L", b"o", b" streamlab/1 x\n"],
    ];
    for reads in cases {
        let mut server = ServerSession::new(1, ServerConfig::default());
        let mut observer = Observer::new();
        let mut offset = 0;
        for read in reads {
            server.handle_read(Duration::ZERO, read, &ctx);
            observer.data(Side::Client, offset, read);
            offset += read.len() as u64;
        }
        observer.finish();
        let events: Vec<Event> = std::iter::from_fn(|| observer.poll_event()).collect();
        assert_eq!(server.dialect(), Some(Dialect::Framed), "{reads:?}");
        assert_eq!(observer.dialect(), Some(Dialect::Framed), "{reads:?}");
        let greeting = messages(&events, Side::Client);
        assert_eq!(greeting.len(), 1, "{reads:?}: one command");
        assert!(
            matches!(greeting[0].request(), Some(Ok(Request::Hello { .. }))),
            "{reads:?}"
        );
    }
}

// ---- the committed captures ------------------------------------------

use std::path::Path;

use streamlab_analyzer::stream::{Chunk, ConnInfo, Dir, StreamSink};
use streamlab_analyzer::{decode, CaptureReader, Decoded, Flows};

/// One connection of a capture as the reassembler handed it on: each
/// in-order piece with its direction, offset and time, and whether any
/// bytes were missing.
#[derive(Default)]
struct Recorded {
    pieces: Vec<(Side, u64, Vec<u8>, Duration)>,
    gaps: bool,
}

impl StreamSink for Recorded {
    fn data(&mut self, dir: Dir, chunk: Chunk<'_>) {
        let side = match dir {
            Dir::ToServer => Side::Client,
            Dir::ToClient => Side::Server,
        };
        let at = Duration::from_nanos(chunk.time_ns);
        self.pieces
            .push((side, chunk.offset, chunk.data.to_vec(), at));
    }
    fn gap(&mut self, _dir: Dir, _offset: u64, _len: u64, _frame: u64, _time_ns: u64) {
        self.gaps = true;
    }
}

/// Every connection of the capture at `path`.
fn conversations(path: &Path) -> Vec<(ConnInfo, Recorded)> {
    let file = std::fs::File::open(path).expect("a committed capture");
    let mut reader = CaptureReader::new(std::io::BufReader::new(file)).expect("a capture");
    let mut flows = Flows::new(|_: &ConnInfo| Recorded::default());
    while let Some(packet) = reader.next_packet().expect("a readable capture") {
        if let Decoded::Tcp(segment) = decode(&packet) {
            flows.segment(&packet, &segment);
        }
    }
    flows.finish()
}

/// The kit's sessions replay one recorded conversation: the server session
/// reads the client's segments, one read each; the client session, told
/// the same requests, reads the server's segments at their capture times
/// (the original dialect ends a list by a silence, so time matters).
///
/// The client's events are `None` when a command did not parse (a naive
/// client's glued `listalista_dispositivos`): the kit's client never sends
/// such a command, so it cannot take part in that conversation.
fn replay(rec: &Recorded, dialect: Dialect) -> (Vec<ServerEvent>, Option<Vec<ClientEvent>>) {
    let ctx = catalogue(false);
    let mut server = ServerSession::new(1, ServerConfig::default());
    let mut server_events = Vec::new();
    let mut requests = Vec::new();
    let mut all_parsed = true;
    for (side, _, bytes, _) in &rec.pieces {
        if *side == Side::Client {
            server.handle_read(Duration::ZERO, bytes, &ctx);
            for e in std::iter::from_fn(|| server.poll_event()) {
                if let ServerEvent::Command { text, .. } = &e {
                    match Request::parse(text) {
                        Ok(Request::Hello { .. }) => {}
                        Ok(r) => requests.push(r),
                        Err(_) => all_parsed = false,
                    }
                }
                server_events.push(e);
            }
            // The session's own replies are not the capture's: drop them.
            let n = server.pending(Duration::ZERO).len();
            server.consume(Duration::ZERO, n);
        }
    }
    if !all_parsed {
        return (server_events, None);
    }
    let start = rec.pieces.first().map_or(Duration::ZERO, |p| p.3);
    let mut client = ClientSession::new(ClientConfig::new(dialect));
    for r in requests {
        client.send(Duration::ZERO, r);
    }
    let mut events = Vec::new();
    let mut now = Duration::ZERO;
    let settle = |client: &mut ClientSession, until: Duration, now: &mut Duration| {
        // Timers due before `until` fire first, as they would have.
        while let Some(t) = client.poll_timeout().filter(|t| *t <= until) {
            *now = t.max(*now);
            client.handle_timeout(*now);
            let n = client.pending(*now).len();
            client.consume(*now, n);
            if client.poll_timeout() == Some(t) {
                break;
            }
        }
        *now = until.max(*now);
        let n = client.pending(*now).len();
        client.consume(*now, n);
    };
    for (side, _, bytes, at) in &rec.pieces {
        if *side == Side::Server {
            settle(&mut client, at.saturating_sub(start), &mut now);
            client.handle_input(now, bytes);
            events.extend(std::iter::from_fn(|| client.poll_event()));
        }
    }
    settle(&mut client, now + Duration::from_secs(10), &mut now);
    client.handle_eof(now);
    events.extend(std::iter::from_fn(|| client.poll_event()));
    (server_events, Some(events))
}

#[test]
fn the_observer_and_the_sessions_agree_on_every_committed_capture() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("captures");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .expect("the captures folder")
        .map(|e| e.expect("a folder entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "pcapng" || x == "pcap"))
        .collect();
    paths.sort();
    let (mut compared, mut tracks) = (0, 0);
    for path in &paths {
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        for (info, rec) in conversations(path) {
            let what = format!("{name}, stream {}", info.stream);
            if rec.gaps || info.mid_stream || rec.pieces.is_empty() {
                // Bytes the capture lacks (a snapshot length, a capture
                // begun mid-conversation): the sessions cannot read them.
                continue;
            }
            let mut observer = Observer::new();
            for (side, offset, bytes, _) in &rec.pieces {
                observer.data(*side, *offset, bytes);
            }
            observer.finish();
            let events: Vec<Event> = std::iter::from_fn(|| observer.poll_event()).collect();
            let dialect = observer.dialect().expect("a dialect at the end");
            let (served, played) = replay(&rec, dialect);

            assert!(
                served.contains(&ServerEvent::Dialect(dialect)),
                "{what}: {dialect}"
            );
            commands_agree(&events, &served, &what);
            let Some(played) = played else {
                continue;
            };
            let mut stream = Vec::new();
            for (side, _, bytes, _) in &rec.pieces {
                if *side == Side::Server {
                    stream.extend_from_slice(bytes);
                }
            }
            tracks += tracks_agree(&events, &stream, &played, &what).len();
            compared += 1;
        }
    }
    // Today: 11 whole conversations (the rest are edited or glued by a
    // naive client) and 10 tracks.
    assert!(compared >= 11, "only {compared} conversations compared");
    assert!(tracks >= 10, "only {tracks} tracks compared");
}
