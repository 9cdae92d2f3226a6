//! The watch's stories: a download seen at the client, in order, out of
//! order, and with a track that does not match the song.

use std::sync::Arc;

use streamlab_proto::SampleFormat;

use super::*;

/// 1000 bytes per second, so a byte is a millisecond of audio.
const SLOW: PcmFormat = PcmFormat {
    sample_rate: 1000,
    channels: 1,
    sample: SampleFormat::U8,
};

fn song(len: usize) -> Track {
    Track {
        name: "tune".into(),
        format: SLOW,
        pcm: (0..len)
            .map(|i| (i % 251) as u8)
            .collect::<Vec<u8>>()
            .into(),
    }
}

fn ms(n: u64) -> SimTime {
    SimTime::from_millis(n)
}

/// A bare IPv4/TCP packet (no options, checksums left zero: the watch
/// does not check them).
fn packet(seq: u32, flags: u8, payload: &[u8]) -> Vec<u8> {
    let total = 40 + payload.len();
    let mut p = vec![0u8; 40];
    p[0] = 0x45;
    p[2..4].copy_from_slice(&(total as u16).to_be_bytes());
    p[9] = 6;
    p[20..22].copy_from_slice(&40000u16.to_be_bytes());
    p[22..24].copy_from_slice(&2635u16.to_be_bytes());
    p[24..28].copy_from_slice(&seq.to_be_bytes());
    p[32] = 5 << 4;
    p[33] = flags;
    p.extend_from_slice(payload);
    p
}

const SYN: u8 = 0x02;
const ACK: u8 = 0x10;

/// The server's stream for `track`: a hello reply, the header, the audio,
/// the end line.
fn framed_stream(track: &Track) -> Vec<u8> {
    let mut s = framed::ok("streamlab/1 ready");
    let header = framed::TrackHeader {
        bytes: track.pcm.len() as u64,
        format: track.format,
        name: track.name.clone(),
    };
    s.extend(header.emit());
    s.extend_from_slice(&track.pcm);
    s.extend(framed::track_end(&track.name));
    s
}

/// The client says hello then asks for `tune` at 5 ms (its ISN is 100).
fn client_asks(watch: &mut Watch) {
    watch.leaves_client(ms(0), &packet(100, SYN, b""));
    watch.leaves_client(ms(1), &packet(101, ACK, b"hello streamlab/1 x\n"));
    watch.leaves_client(ms(5), &packet(121, ACK, b"download tune\n"));
}

/// Cuts the server's stream (ISN 1000) into `size`-byte segments.
fn segments(stream: &[u8], size: usize) -> Vec<Vec<u8>> {
    stream
        .chunks(size)
        .enumerate()
        .map(|(i, c)| packet(1001 + (i * size) as u32, ACK, c))
        .collect()
}

#[test]
fn an_in_order_download_is_timed_from_the_request_to_the_last_byte() {
    let track = song(500);
    let mut watch = Watch::new(Dialect::Framed, track.clone());
    client_asks(&mut watch);
    watch.arrives_at_client(ms(2), &packet(1000, SYN | ACK, b""));
    for (i, seg) in segments(&framed_stream(&track), 100).iter().enumerate() {
        watch.arrives_at_client(ms(10 + i as u64), seg);
    }
    let seen = watch.finish();
    assert!(seen.bit_exact);
    assert_eq!(seen.track_bytes, 500);
    // Segment i (100 bytes each) arrives at 10 + i ms; the request left at
    // 5 ms. The audio ends 500 bytes after the header line.
    let stream = framed_stream(&track);
    let audio_start = stream.len() - 500 - framed::track_end("tune").len();
    let arrival = |offset: usize| 10 + (offset / 100) as u64;
    let last = arrival(audio_start + 499);
    assert_eq!(seen.download, Some(Duration::from_millis(last - 5)));
    // 200 ms of prebuffer is 200 bytes of this audio.
    let first = arrival(audio_start + 199);
    assert_eq!(seen.first_audio, Some(Duration::from_millis(first - 5)));
    assert_eq!(seen.stalls, Some(0));
}

#[test]
fn segments_out_of_order_count_when_the_hole_fills() {
    let track = song(300);
    let mut watch = Watch::new(Dialect::Framed, track.clone());
    client_asks(&mut watch);
    watch.arrives_at_client(ms(2), &packet(1000, SYN | ACK, b""));
    let segs = segments(&framed_stream(&track), 100);
    // The first segment is lost and comes back last, at 50 ms.
    for (i, seg) in segs.iter().enumerate().skip(1) {
        watch.arrives_at_client(ms(10 + i as u64), seg);
    }
    // A copy of a segment already held changes nothing.
    watch.arrives_at_client(ms(20), &segs[2]);
    watch.arrives_at_client(ms(50), &segs[0]);
    let seen = watch.finish();
    assert!(seen.bit_exact);
    assert_eq!(seen.download, Some(Duration::from_millis(45)));
}

#[test]
fn a_track_that_differs_from_the_song_is_not_bit_exact() {
    let track = song(300);
    let mut other = song(300);
    let mut pcm = other.pcm.to_vec();
    pcm[150] ^= 1;
    other.pcm = Arc::from(pcm);
    let mut watch = Watch::new(Dialect::Framed, track);
    client_asks(&mut watch);
    watch.arrives_at_client(ms(2), &packet(1000, SYN | ACK, b""));
    for seg in segments(&framed_stream(&other), 100) {
        watch.arrives_at_client(ms(10), &seg);
    }
    let seen = watch.finish();
    assert!(!seen.bit_exact);
    assert_eq!(seen.track_bytes, 300);
}

#[test]
fn a_download_that_never_completes_has_no_time() {
    let track = song(300);
    let mut watch = Watch::new(Dialect::Original, track.clone());
    watch.leaves_client(ms(0), &packet(100, SYN, b""));
    watch.leaves_client(ms(1), &packet(101, ACK, b"download tune"));
    watch.arrives_at_client(ms(2), &packet(1000, SYN | ACK, b""));
    let mut stream = original::TRACK_START.to_vec();
    stream.extend_from_slice(&track.pcm[..200]);
    watch.arrives_at_client(ms(10), &packet(1001, ACK, &stream));
    let seen = watch.finish();
    assert_eq!(seen.download, None);
    assert_eq!(seen.track_bytes, 200);
    assert!(!seen.bit_exact);
}
