//! The original client loses the read that holds `track_data_end`: its
//! player plays a song read by read and stops, unplayed, at the read that
//! ends in the marker (defect 8 in docs/protocol.md). On loopback that read
//! carried most of the song. Our server now sends the marker only once the
//! client has acknowledged all the audio, then after its pause, so the
//! marker arrives alone and every byte of the song is played.
//!
//! Run with `cargo test -p streamlab-server --test end_marker -- --nocapture`
//! to see how much each download played.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use streamlab_proto::{original, DialectChoice, PcmFormat, ServerConfig, Track};
use streamlab_server::{RunningServer, Server, ServerOptions};

/// Three seconds of CD audio (the song), and one larger than the
/// loopback socket buffers, so the barrier waits on the client's reads.
const SONGS: [(&str, usize); 2] = [("three", 3 * 176_400), ("big", 8 << 20)];
/// The original client's song read, `44100 * 2 * 30` bytes (its comment
/// says 30 seconds; of CD audio it is 15).
const SONG_READ: usize = 44_100 * 2 * 30;
/// The original client's reply read.
const REPLY_READ: usize = 1024;
/// A generous pause for a loaded machine (the default is 50 ms): the
/// client must make one `recv` in that time once its audio is acknowledged.
const PAUSE_MS: u64 = 200;
/// Every download here ends well within this, or the test fails.
const DEADLINE: Duration = Duration::from_secs(60);

fn song(name: &str, len: usize) -> Track {
    Track {
        name: name.into(),
        format: PcmFormat::CD,
        pcm: (0..len)
            .map(|i| (i as u8).wrapping_mul(13) ^ (i >> 9) as u8)
            .collect::<Arc<[u8]>>(),
    }
}

fn start() -> RunningServer {
    let options = ServerOptions {
        session: ServerConfig {
            dialect: DialectChoice::Original,
            pause: Duration::from_millis(PAUSE_MS),
            ..ServerConfig::default()
        },
        max_clients: 4,
        write_timeout: Duration::from_secs(10),
        ..ServerOptions::default()
    };
    let addr: SocketAddr = "127.0.0.1:0".parse().expect("a literal address");
    let tracks: Vec<_> = SONGS.iter().map(|&(n, len)| song(n, len)).collect();
    Server::bind(addr, tracks, options)
        .expect("bind 127.0.0.1:0")
        .spawn()
}

/// What the original client did with one download.
struct Download {
    /// Every read but the one that ended in the marker, in order.
    played: Vec<u8>,
    /// The read that ended in the marker, which the player skips.
    last_read: Vec<u8>,
}

/// Downloads `name` with the original client's reading habits: send the
/// command, one `recv(1024)` that must be exactly `track_data_start`, then
/// `recv(SONG_READ)` until the bytes so far end in `track_data_end`. The
/// Python loop is slow (it copies the whole song so far on every read),
/// so audio piles up in the socket between its reads; a short sleep
/// before each read stands in for that.
fn download_like_spotclient(s: &mut TcpStream, name: &str) -> Download {
    s.write_all(format!("download {name}").as_bytes())
        .expect("send the command");
    let mut buf = vec![0u8; SONG_READ];
    let n = s.read(&mut buf[..REPLY_READ]).expect("the start marker");
    assert_eq!(&buf[..n], original::TRACK_START, "the start marker alone");
    let started = Instant::now();
    let (mut gathered, mut last_start) = (Vec::new(), 0);
    while !gathered.ends_with(original::TRACK_END) {
        assert!(
            started.elapsed() < DEADLINE,
            "{name}: no end marker in time"
        );
        std::thread::sleep(Duration::from_millis(5));
        let n = s.read(&mut buf).expect("a song read");
        assert!(n > 0, "{name}: the server closed mid-song");
        last_start = gathered.len();
        gathered.extend_from_slice(&buf[..n]);
    }
    let last_read = gathered.split_off(last_start);
    Download {
        played: gathered,
        last_read,
    }
}

#[test]
fn the_original_client_plays_every_byte_because_the_end_marker_arrives_alone() {
    let server = start();
    let mut s = TcpStream::connect(server.addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(20)))
        .expect("a read timeout");
    for (name, len) in SONGS {
        let d = download_like_spotclient(&mut s, name);
        eprintln!(
            "{name}: played {} of {len} B; the marker's read held {} B",
            d.played.len(),
            d.last_read.len()
        );
        assert_eq!(d.last_read, original::TRACK_END, "{name}: the marker alone");
        assert!(
            d.played[..] == song(name, len).pcm[..],
            "{name}: every byte"
        );
    }
    s.write_all(b"quit").expect("send quit");
    let mut rest = Vec::new();
    s.read_to_end(&mut rest).expect("goodbye, then the close");
    assert_eq!(rest, original::GOODBYE);
    server.shutdown();
}

/// What the barrier relies on: the kernel's count of bytes the peer has
/// not acknowledged. It grows while the peer does not read, and falls to 0
/// once the peer has read enough for the rest to fit its buffer.
#[cfg(target_os = "linux")]
#[test]
fn siocoutq_counts_what_the_peer_has_not_acknowledged() {
    use std::io::ErrorKind;
    use std::net::TcpListener;
    use streamlab_server::conn::unacked_bytes;

    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let mut writer = TcpStream::connect(listener.local_addr().expect("addr")).expect("connect");
    let (mut reader, _) = listener.accept().expect("accept");
    assert_eq!(unacked_bytes(&writer), Some(0), "nothing written yet");

    // Fill both sockets' buffers: the reader reads nothing.
    writer.set_nonblocking(true).expect("nonblocking");
    let chunk = vec![7u8; 64 * 1024];
    let mut written = 0;
    loop {
        match writer.write(&chunk) {
            Ok(n) => written += n,
            Err(e) if e.kind() == ErrorKind::WouldBlock => break,
            Err(e) => panic!("write: {e}"),
        }
        assert!(written < 1 << 30, "the buffers never filled");
    }
    let stuck = unacked_bytes(&writer).expect("Linux can tell");
    assert!(stuck > 0 && stuck <= written, "{stuck} of {written}");

    // Read it all: every byte is acknowledged.
    reader
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("a read timeout");
    let mut buf = vec![0u8; 1 << 20];
    let mut read = 0;
    while read < written {
        let n = reader.read(&mut buf).expect("read");
        assert!(n > 0, "closed early");
        read += n;
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while unacked_bytes(&writer) != Some(0) {
        assert!(Instant::now() < deadline, "never acknowledged");
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// A server for one song of `len` bytes, dropping a client that takes
/// too little in `write_timeout`.
fn start_one(len: usize, write_timeout: Duration) -> RunningServer {
    let options = ServerOptions {
        session: ServerConfig {
            dialect: DialectChoice::Original,
            pause: Duration::from_millis(PAUSE_MS),
            ..ServerConfig::default()
        },
        max_clients: 4,
        write_timeout,
        ..ServerOptions::default()
    };
    let addr: SocketAddr = "127.0.0.1:0".parse().expect("a literal address");
    Server::bind(addr, vec![song("one", len)], options)
        .expect("bind 127.0.0.1:0")
        .spawn()
}

/// Asks for the song and reads its start marker, then reads nothing more.
fn download_and_stop_reading(server: &RunningServer) -> TcpStream {
    let mut s = TcpStream::connect(server.addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(20)))
        .expect("a read timeout");
    s.write_all(b"download one").expect("send the command");
    let mut buf = [0u8; REPLY_READ];
    let n = s.read(&mut buf).expect("the start marker");
    assert_eq!(&buf[..n], original::TRACK_START);
    s
}

/// 1 MiB: more than a client that never reads lets in (its receive buffer
/// stays small), less than the server's socket takes, so the server's
/// writes end and it waits at the barrier with audio unacknowledged.
const STUCK_SONG: usize = 1 << 20;

/// (Linux only: elsewhere the server cannot see the acknowledgments, and
/// the marker follows the pause.)
#[cfg(target_os = "linux")]
#[test]
fn a_client_that_stops_acknowledging_never_gets_the_marker_and_is_dropped() {
    let server = start_one(STUCK_SONG, Duration::from_secs(1));
    let mut s = download_and_stop_reading(&server);
    let deadline = Instant::now() + Duration::from_secs(20);
    while !server.shared.registry.is_empty() {
        assert!(
            Instant::now() < deadline,
            "the stuck client is still served"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    // What the server had written still arrives, then the close; the end
    // marker never does.
    let mut rest = Vec::new();
    let _ = s.read_to_end(&mut rest);
    assert!(rest.len() <= STUCK_SONG, "{} B", rest.len());
    assert!(!rest.ends_with(original::TRACK_END));
}

#[test]
fn shutdown_cuts_the_wait_at_the_barrier_short() {
    let server = start_one(STUCK_SONG, Duration::from_secs(600));
    let _s = download_and_stop_reading(&server);
    // Time for the server to write what its socket takes and reach the
    // barrier (a blocked write would be cut short just as well).
    std::thread::sleep(Duration::from_millis(300));
    let asked = Instant::now();
    server.shutdown();
    assert!(
        asked.elapsed() < Duration::from_secs(10),
        "shutdown took {:?}",
        asked.elapsed()
    );
}
