//! The observer fed by hand: what each event names, gaps, malformed
//! input, and the look-behind contract drivers rely on.

use super::*;
use crate::Request;

/// Feeds `(side, bytes)` pieces; returns every event.
fn observe(pieces: &[(Side, &[u8])]) -> Vec<Event> {
    let mut o = Observer::new();
    let mut offsets = [0u64; 2];
    for (side, data) in pieces {
        o.data(*side, offsets[side.index()], data);
        offsets[side.index()] += data.len() as u64;
    }
    o.finish();
    std::iter::from_fn(|| o.poll_event()).collect()
}

const C: Side = Side::Client;
const S: Side = Side::Server;

/// (side, kind, offset, len, text) of each message.
fn rows(events: &[Event]) -> Vec<(Side, Kind, u64, u64, String)> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Message(m) => Some((
                m.side,
                m.kind,
                m.offset,
                m.len,
                String::from_utf8_lossy(&m.text).into_owned(),
            )),
            _ => None,
        })
        .collect()
}

#[test]
fn the_report_conversation_is_four_messages_at_their_offsets() {
    let e = observe(&[
        (C, b"lista"),
        (S, b"RV\nVL\n"),
        (C, b"quit"),
        (S, b"goodbye"),
    ]);
    assert_eq!(e[0], Event::Dialect(Dialect::Original));
    assert_eq!(
        rows(&e),
        vec![
            (C, Kind::Text, 0, 5, "lista".into()),
            (S, Kind::Text, 0, 6, "RV\nVL\n".into()),
            (C, Kind::Text, 5, 4, "quit".into()),
            (S, Kind::Text, 6, 7, "goodbye".into()),
        ]
    );
}

#[test]
fn an_original_track_glued_to_its_markers_is_named_by_its_download() {
    let e = observe(&[
        (C, b"download RV"),
        (S, b"track_data_start\x01\x02\x03"),
        (S, b"\x04track_data_e"),
        (S, b"nd"),
    ]);
    assert!(e.contains(&Event::TrackStart {
        at: 0,
        name: Some("RV".into())
    }));
    let audio: u64 = e
        .iter()
        .map(|e| match e {
            Event::Audio { len, .. } => *len,
            _ => 0,
        })
        .sum();
    assert_eq!(audio, 4);
    assert!(e.contains(&Event::TrackEnd { at: 20 }), "{e:?}");
    assert_eq!(
        rows(&e)[1..],
        [
            (S, Kind::TrackStart, 0, 16, "track_data_start".into()),
            (S, Kind::Audio, 16, 4, String::new()),
            (S, Kind::TrackEnd, 20, 14, "track_data_end".into()),
        ]
    );
}

#[test]
fn a_not_found_reply_uses_up_its_download() {
    let e = observe(&[
        (C, b"download nope"),
        (S, b"Musica 'nope' n\xc3\xa3o encontrada. Por favor envie 'lista' para ver a lista de musicas"),
        (C, b"download VL"),
        (S, b"track_data_start\x01track_data_end"),
    ]);
    let names: Vec<_> = e
        .iter()
        .filter_map(|e| match e {
            Event::TrackStart { name, .. } => Some(name.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(names, vec![Some("VL".to_string())]);
}

#[test]
fn a_framed_track_is_counted_by_its_header_whatever_its_audio_spells() {
    let e = observe(&[
        (C, b"hello streamlab/1 t\ndownload RV\n"),
        (
            S,
            b"OK streamlab/1 ready\ntrack_data_start 14 44100 2 s16le RV\n",
        ),
        (S, b"track_data_endtrack_data_end RV\n"),
    ]);
    assert_eq!(e[0], Event::Dialect(Dialect::Framed));
    let commands: Vec<_> = rows(&e).into_iter().filter(|r| r.0 == C).collect();
    assert_eq!(commands.len(), 2, "one command per line");
    assert!(e
        .iter()
        .any(|e| matches!(e, Event::TrackHeader(h) if h.bytes == 14)));
    assert!(e.contains(&Event::Audio { at: 58, len: 14 }), "{e:?}");
    assert!(e.contains(&Event::TrackEnd { at: 72 }), "{e:?}");
}

#[test]
fn a_framed_command_goes_on_across_server_bytes() {
    let e = observe(&[
        (C, b"hello streamlab/1 t\nli"),
        (S, b"OK streamlab/1 ready\n"),
        (C, b"st\n"),
    ]);
    let commands: Vec<_> = rows(&e).into_iter().filter(|r| r.0 == C).collect();
    assert_eq!(commands[1], (C, Kind::Text, 20, 5, "list\n".into()));
    let m = e.iter().find_map(|e| match e {
        Event::Message(m) if m.offset == 20 => Some(m),
        _ => None,
    });
    assert_eq!(m.and_then(Message::request), Some(Ok(Request::List)));
}

#[test]
fn gaps_are_missing_bytes_and_no_marker_is_joined_across_one() {
    let mut o = Observer::new();
    o.data(C, 0, b"download RV");
    o.data(S, 0, b"track_data_start\x01\x02track_da");
    o.gap(S, 100);
    o.data(S, 126, b"ta_end\x03");
    o.finish();
    let e: Vec<Event> = std::iter::from_fn(|| o.poll_event()).collect();
    assert!(e.contains(&Event::AudioMissing { len: 100 }), "{e:?}");
    assert!(
        !e.iter().any(|e| matches!(e, Event::TrackEnd { .. })),
        "no marker across the gap: {e:?}"
    );
    let audio: u64 = e
        .iter()
        .map(|e| match e {
            Event::Audio { len, .. } => *len,
            _ => 0,
        })
        .sum();
    assert_eq!(audio, 2 + 8 + 7, "every byte seen is audio, none invented");
}

#[test]
fn a_line_too_long_and_a_header_that_does_not_parse_are_malformed() {
    let mut long = b"hello streamlab/1 t\ndownload ".to_vec();
    long.extend(std::iter::repeat_n(b'x', 2_000));
    long.push(b'\n');
    let e = observe(&[(C, &long), (S, b"track_data_start twelve\nabc")]);
    let malformed: Vec<_> = e
        .iter()
        .filter_map(|e| match e {
            Event::Malformed { side, at, .. } => Some((*side, *at)),
            _ => None,
        })
        .collect();
    assert_eq!(malformed, vec![(C, 20), (S, 0)]);
    // A line of exactly the limit, with `\r\n`, is not too long.
    let mut fits = b"hello streamlab/1 t\n".to_vec();
    fits.extend(std::iter::repeat_n(b'x', crate::framed::MAX_LINE));
    fits.extend(b"\r\n");
    let e = observe(&[(C, &fits[..1040]), (C, &fits[1040..])]);
    assert!(
        !e.iter().any(|e| matches!(e, Event::Malformed { .. })),
        "{e:?}"
    );
}

#[test]
fn a_greeting_is_told_however_it_is_split_and_whatever_its_case() {
    for cut in 1..8 {
        let g = b"HeLLo streamlab/1 x\n";
        let e = observe(&[(C, &g[..cut]), (C, &g[cut..])]);
        assert_eq!(e[0], Event::Dialect(Dialect::Framed), "cut at {cut}");
        assert_eq!(rows(&e).len(), 1, "cut at {cut}: one command");
    }
    // `he` then `lp`: the original server reads both as one command.
    let e = observe(&[(C, b"he"), (C, b"lp")]);
    assert_eq!(rows(&e), vec![(C, Kind::Text, 0, 4, "help".into())]);
}

/// Every event emitted while a piece is fed names bytes of that piece or
/// of the LOOKBEHIND bytes before it; a message's start was announced by a
/// Begin. Checked on a conversation cut every way from 1 to 40 bytes.
#[test]
fn events_reach_back_no_further_than_the_look_behind() {
    let client = b"download RV";
    let mut server = b"track_data_start".to_vec();
    server.extend((0..300u32).map(|i| (i * 7) as u8));
    server.extend(b"track_data_");
    server.extend(b"end");
    for size in 1..=40 {
        let mut o = Observer::new();
        o.data(C, 0, client);
        let mut begun = [None; 2];
        let mut check = |o: &mut Observer, low: u64| {
            while let Some(e) = o.poll_event() {
                let reach = match &e {
                    Event::Begin { side, at } => {
                        begun[side.index()] = Some(*at);
                        Some(*at)
                    }
                    Event::Message(m) => {
                        assert_eq!(begun[m.side.index()].take(), Some(m.offset), "{e:?}");
                        None
                    }
                    Event::TrackStart { at, .. } | Event::TrackEnd { at } => Some(*at),
                    Event::Audio { at, .. } => Some(*at),
                    _ => None,
                };
                if let Some(at) = reach {
                    assert!(
                        at + LOOKBEHIND as u64 >= low,
                        "size {size}: {e:?} before {low}"
                    );
                }
            }
        };
        check(&mut o, 0);
        for (i, piece) in server.chunks(size).enumerate() {
            let at = (i * size) as u64;
            o.data(S, at, piece);
            check(&mut o, at);
        }
        o.finish();
        check(&mut o, server.len() as u64);
    }
}

#[test]
fn an_observer_told_the_dialect_reads_the_first_bytes_in_it() {
    let mut o = Observer::with_dialect(Dialect::Framed);
    o.data(C, 0, b"lista\nquit\n");
    o.finish();
    let e: Vec<Event> = std::iter::from_fn(|| o.poll_event()).collect();
    assert_eq!(e[0], Event::Dialect(Dialect::Framed));
    assert_eq!(
        rows(&e),
        vec![
            (C, Kind::Text, 0, 6, "lista\n".into()),
            (C, Kind::Text, 6, 5, "quit\n".into()),
        ]
    );
    let mut o = Observer::with_dialect(Dialect::Original);
    o.data(C, 0, b"hello streamlab/1 x\n");
    o.finish();
    let e: Vec<Event> = std::iter::from_fn(|| o.poll_event()).collect();
    assert_eq!(
        rows(&e),
        vec![(C, Kind::Text, 0, 20, "hello streamlab/1 x\n".into())]
    );
}
