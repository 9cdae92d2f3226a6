//! The scanner fed by hand: conversations in both dialects, markers glued
//! and split, audio that contains marker-like bytes, gaps.

use super::*;

/// Feeds pieces `(dir, bytes)` as frames 1, 2, 3…, one ms apart.
fn scan(pieces: &[(Dir, &[u8])]) -> Scan {
    scan_with(pieces, None)
}

fn scan_with(pieces: &[(Dir, &[u8])], out: Option<Box<dyn AudioOut>>) -> Scan {
    let mut s = Scanner::new(out);
    let mut offsets = [0u64; 2];
    for (i, (dir, data)) in pieces.iter().enumerate() {
        let frame = i as u64 + 1;
        s.data(
            *dir,
            Chunk {
                offset: offsets[dir.index()],
                data,
                frame,
                time_ns: frame * 1_000_000,
            },
        );
        offsets[dir.index()] += data.len() as u64;
    }
    s.finish()
}

const C: Dir = Dir::ToServer;
const S: Dir = Dir::ToClient;

/// (frame, dir, kind, text) of each message.
fn rows(scan: &Scan) -> Vec<(u64, Dir, Kind, String)> {
    scan.messages
        .iter()
        .map(|m| {
            let text = String::from_utf8_lossy(&m.bytes).into_owned();
            (
                m.frame,
                m.dir,
                m.kind,
                if m.kind == Kind::Audio {
                    m.len.to_string()
                } else {
                    text
                },
            )
        })
        .collect()
}

#[test]
fn the_report_conversation_is_four_messages() {
    let s = scan(&[
        (C, b"lista"),
        (S, b"RV\nVL\n"),
        (C, b"quit"),
        (S, b"goodbye"),
    ]);
    assert_eq!(s.dialect, Some(Dialect::Original));
    let texts: Vec<String> = rows(&s).into_iter().map(|r| r.3).collect();
    assert_eq!(texts, ["lista", "RV\nVL\n", "quit", "goodbye"]);
    assert!(s.tracks.is_empty());
}

#[test]
fn an_original_track_glued_and_split_is_measured_exactly() {
    let audio: Vec<u8> = (0..3000u32).map(|i| (i * 7 % 251) as u8).collect();
    let mut first = b"track_data_start".to_vec();
    first.extend_from_slice(&audio[..1000]);
    let mut second = audio[1000..].to_vec();
    second.extend_from_slice(b"track_da");
    let s = scan(&[
        (C, b"download song"),
        (S, &first),
        (S, &second),
        (S, b"ta_end"),
        (C, b"quit"),
        (S, b"goodbye"),
    ]);
    let [t] = &s.tracks[..] else {
        panic!("one track: {:?}", s.tracks)
    };
    assert_eq!(t.name.as_deref(), Some("song"));
    assert_eq!(t.audio_bytes, 3000);
    let start = t.start.expect("a start marker");
    assert_eq!((start.frame, start.offset), (2, 0));
    assert!(!start.is_split());
    let end = t.end.expect("an end marker");
    assert_eq!((end.frame, end.last_frame, end.offset), (3, 4, 3016));
    assert!(end.is_split());
    let kinds: Vec<Kind> = s.messages.iter().map(|m| m.kind).collect();
    assert_eq!(
        kinds,
        [
            Kind::Text,
            Kind::TrackStart,
            Kind::Audio,
            Kind::TrackEnd,
            Kind::Text,
            Kind::Text
        ]
    );
}

#[test]
fn a_marker_split_before_its_last_byte_is_found_at_every_cut() {
    let stream = b"RV\nVL\ntrack_data_start\x01\x02\x03track_data_endgoodbye";
    for cut in 1..stream.len() {
        let (a, b) = stream.split_at(cut);
        let s = scan(&[(C, b"download RV"), (S, a), (S, b)]);
        let [t] = &s.tracks[..] else {
            panic!("cut {cut}: {:?}", s.tracks)
        };
        assert_eq!(t.audio_bytes, 3, "cut {cut}");
        assert_eq!(t.start.map(|s| s.offset), Some(6), "cut {cut}");
        assert_eq!(t.end.map(|e| e.offset), Some(25), "cut {cut}");
        let text: Vec<String> = rows(&s)
            .into_iter()
            .filter(|r| r.2 == Kind::Text && r.1 == S)
            .map(|r| r.3)
            .collect();
        assert_eq!(text, ["RV\nVL\n", "goodbye"], "cut {cut}");
    }
}

#[test]
fn a_framed_track_is_counted_by_its_header_even_with_a_marker_inside() {
    let mut audio = [0u8; 100];
    audio[40..54].copy_from_slice(b"track_data_end");
    let header = b"OK 1 songs\nsong\ntrack_data_start 100 8000 1 u8 my song\n";
    let mut server = header.to_vec();
    server.extend_from_slice(&audio[..60]);
    let mut rest = audio[60..].to_vec();
    rest.extend_from_slice(b"track_data_end my song\nOK goodbye\n");
    let s = scan(&[
        (C, b"hello streamlab/1 test\nlist\ndownload my song\nquit\n"),
        (S, &server),
        (S, &rest),
    ]);
    assert_eq!(s.dialect, Some(Dialect::Framed));
    let [t] = &s.tracks[..] else {
        panic!("{:?}", s.tracks)
    };
    assert_eq!(t.name.as_deref(), Some("my song"));
    assert_eq!(t.announced_bytes, Some(100));
    assert_eq!(t.audio_bytes, 100);
    assert_eq!(
        t.format.map(|f| f.to_string()).as_deref(),
        Some("8000 Hz, 1 ch, u8")
    );
    assert_eq!(t.end.map(|e| e.frame), Some(3));
    let client: Vec<String> = rows(&s)
        .into_iter()
        .filter(|r| r.1 == C)
        .map(|r| r.3)
        .collect();
    assert_eq!(
        client,
        [
            "hello streamlab/1 test\n",
            "list\n",
            "download my song\n",
            "quit\n"
        ]
    );
    let last = s.messages.last().expect("messages");
    assert_eq!(String::from_utf8_lossy(&last.bytes), "OK goodbye\n");
}

#[test]
fn gaps_are_missing_bytes_not_invented_ones() {
    let mut s = Scanner::new(None);
    let chunk = |offset, data, frame| Chunk {
        offset,
        data,
        frame,
        time_ns: frame,
    };
    s.data(C, chunk(0, b"download x", 1));
    s.data(S, chunk(0, b"track_data_start\x01\x02", 2));
    s.gap(S, 18, 500, 3, 3);
    s.data(S, chunk(518, b"\x03track_data_end", 3));
    let scan = s.finish();
    let t = &scan.tracks[0];
    assert_eq!((t.audio_bytes, t.missing_bytes), (3, 500));
    assert!(t.end.is_some());
}

#[test]
fn a_capture_that_ends_mid_track_keeps_what_arrived() {
    use std::sync::{Arc, Mutex};
    /// What the output saw: audio, starts, ends.
    type Seen = Arc<Mutex<(Vec<u8>, usize, usize)>>;
    struct Out(Seen);
    impl AudioOut for Out {
        fn start(&mut self, _: usize, _: &CapturedTrack) {
            self.0.lock().unwrap().1 += 1;
        }
        fn audio(&mut self, _: usize, bytes: &[u8]) {
            self.0.lock().unwrap().0.extend_from_slice(bytes);
        }
        fn end(&mut self, _: usize, _: &CapturedTrack) {
            self.0.lock().unwrap().2 += 1;
        }
    }
    let seen = Seen::default();
    let s = scan_with(
        &[
            (C, b"download x"),
            (S, b"track_data_startabcdefghijklmnopqrstuvwxyz"),
        ],
        Some(Box::new(Out(seen.clone()))),
    );
    assert_eq!(s.tracks[0].audio_bytes, 26);
    assert_eq!(s.tracks[0].end, None);
    let seen = seen.lock().unwrap();
    assert_eq!(seen.0, b"abcdefghijklmnopqrstuvwxyz");
    assert_eq!((seen.1, seen.2), (1, 1));
}

#[test]
fn a_marker_alone_in_its_segment_is_not_glued() {
    let s = scan(&[
        (C, b"download x"),
        (S, b"track_data_start"),
        (S, &[7u8; 100]),
        (S, &[8u8; 100]),
        (S, b"track_data_end"),
    ]);
    let t = &s.tracks[0];
    assert_eq!(
        (t.first_audio_frame, t.last_audio_frame),
        (Some(3), Some(4))
    );
    assert_eq!(t.end.map(|e| (e.frame, e.last_frame)), Some((5, 5)));
    assert_eq!(t.audio_bytes, 200);
}

#[test]
fn audio_held_back_for_an_end_marker_keeps_its_place_in_the_stream() {
    // Fewer than 14 audio bytes, then the capture ends: they were held in
    // case `track_data_end` began there, and are counted at finish.
    let s = scan(&[
        (C, b"download song"),
        (S, b"OK\n"),
        (S, b"track_data_start"),
        (S, b"abc"),
    ]);
    let audio: Vec<(u64, u64, u64)> = s
        .messages
        .iter()
        .filter(|m| m.kind == Kind::Audio)
        .map(|m| (m.frame, m.offset, m.len))
        .collect();
    assert_eq!(audio, [(4, 19, 3)], "(frame, offset, len) of the audio");
    assert_eq!(s.tracks[0].audio_bytes, 3);
}

#[test]
fn a_capture_begun_during_a_track_anchors_it_at_the_end_marker() {
    let s = scan(&[
        (S, &[9u8; 500]),
        (S, b"\x09\x09track_data_end"),
        (C, b"quit"),
        (S, b"goodbye"),
    ]);
    let [t] = &s.tracks[..] else {
        panic!("{:?}", s.tracks)
    };
    assert_eq!(t.start, None);
    assert_eq!(t.audio_bytes, 502);
    assert_eq!(t.end.map(|e| e.frame), Some(2));
    let kinds: Vec<Kind> = s.messages.iter().map(|m| m.kind).collect();
    assert_eq!(kinds, [Kind::Audio, Kind::TrackEnd, Kind::Text, Kind::Text]);
}

/// Issue 13, item 12: the original dialect holds the last 13 audio bytes
/// back in case they begin `track_data_end`; each held byte must still
/// count for the frame it came in, whatever the segment size.
#[test]
fn audio_frames_are_those_of_its_first_and_last_byte_at_every_segment_size() {
    let audio: Vec<u8> = (0..40u8).map(|i| i.wrapping_mul(37) | 0x80).collect();
    let mut stream = b"track_data_start".to_vec();
    stream.extend_from_slice(&audio);
    let before_end = stream.len();
    stream.extend_from_slice(b"track_data_end");
    for size in 1..=20 {
        // Frame 1 is the command; the server's i-th piece is frame 2 + i.
        let frame_of = |at: usize| 2 + (at / size) as u64;
        for with_end in [true, false] {
            let sent = if with_end {
                &stream[..]
            } else {
                &stream[..before_end]
            };
            let mut pieces = vec![(C, &b"download song"[..])];
            pieces.extend(sent.chunks(size).map(|piece| (S, piece)));
            let s = scan(&pieces);
            let t = &s.tracks[0];
            let case = format!("segments of {size} B, end marker: {with_end}");
            let (first, last) = (frame_of(16), frame_of(before_end - 1));
            assert_eq!(t.audio_bytes, 40, "{case}");
            assert_eq!(
                t.first_audio_frame,
                Some(first),
                "{case}: first audio frame"
            );
            assert_eq!(t.last_audio_frame, Some(last), "{case}: last audio frame");
            assert_eq!(t.first_audio_ns, Some(first * 1_000_000), "{case}");
            assert_eq!(t.last_audio_ns, Some(last * 1_000_000), "{case}");
            let audio: Vec<(u64, u64, u64)> = s
                .messages
                .iter()
                .filter(|m| m.kind == Kind::Audio)
                .map(|m| (m.frame, m.offset, m.len))
                .collect();
            assert_eq!(audio, [(first, 16, 40)], "{case}: the audio message");
            if with_end {
                let end = t.end.expect("an end marker");
                let spot = (end.frame, end.last_frame, end.offset);
                let expected = (frame_of(before_end), frame_of(stream.len() - 1), 56);
                assert_eq!(spot, expected, "{case}: the end marker");
            }
        }
    }
}

/// The server reads these as framed greetings; the scanner once called
/// them original (it wanted a lower-case `hello ` in the first segment).
#[test]
fn a_greeting_in_capitals_or_split_across_segments_is_framed() {
    for pieces in [
        &[(C, &b"HELLO streamlab/1 x\n"[..])][..],
        &[(C, &b"hel"[..]), (C, &b"lo streamlab/1 x\nlist\n"[..])][..],
    ] {
        let s = scan(pieces);
        assert_eq!(s.dialect, Some(Dialect::Framed), "{pieces:?}");
        let first = &s.messages[0];
        assert_eq!((first.frame, first.offset), (1, 0), "{pieces:?}");
        assert!(first.bytes.ends_with(b"x\n"), "{pieces:?}");
    }
}
