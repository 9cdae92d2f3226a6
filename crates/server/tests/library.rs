//! The real server over a folder of WAV files: it listens before reading
//! any audio, reads a song on its first download, and answers a song whose
//! file went away with an error while it goes on serving the others.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::sync::Barrier;
use std::time::Duration;

use streamlab_audio::{write_wav, Library};
use streamlab_proto::framed::TrackHeader;
use streamlab_proto::PcmFormat;
use streamlab_server::{RunningServer, Server, ServerOptions};

/// `len` bytes of audio with no pattern a shift would hide.
fn audio(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(seed) ^ (i >> 9) as u8)
        .collect()
}

/// A folder with `small.wav` (4 KB) and `big.wav` (8 MB: larger than the
/// socket buffers, so its download takes many writes).
fn music() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write_wav(
        dir.path().join("small.wav"),
        PcmFormat::CD,
        &audio(4_000, 3),
    )
    .unwrap();
    write_wav(
        dir.path().join("big.wav"),
        PcmFormat::CD,
        &audio(8 << 20, 7),
    )
    .unwrap();
    dir
}

fn serve(dir: &Path) -> RunningServer {
    let library = Library::scan(dir).unwrap();
    let addr: SocketAddr = "127.0.0.1:0".parse().unwrap();
    Server::bind(addr, library, ServerOptions::default())
        .unwrap()
        .spawn()
}

/// A framed client, greeted.
fn client(server: &RunningServer) -> BufReader<TcpStream> {
    let s = TcpStream::connect(server.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut s = BufReader::new(s);
    s.get_mut().write_all(b"hello test\n").unwrap();
    assert_eq!(line(&mut s), "OK streamlab/1 ready");
    s
}

fn line(s: &mut BufReader<TcpStream>) -> String {
    let mut text = String::new();
    s.read_line(&mut text).unwrap();
    text.trim_end().to_string()
}

/// Sends `download NAME` and returns the audio of the track that comes.
fn download(s: &mut BufReader<TcpStream>, name: &str) -> Vec<u8> {
    s.get_mut()
        .write_all(format!("download {name}\n").as_bytes())
        .unwrap();
    let header = TrackHeader::parse(&line(s)).unwrap();
    let mut pcm = vec![0; header.bytes as usize];
    s.read_exact(&mut pcm).unwrap();
    assert_eq!(line(s), format!("track_data_end {name}"));
    pcm
}

fn is_loaded(server: &RunningServer, name: &str) -> bool {
    server.shared.library.find(name).unwrap().is_loaded()
}

#[test]
fn the_server_listens_before_any_song_is_read_and_reads_one_when_asked() {
    let dir = music();
    let server = serve(dir.path());
    let mut c = client(&server);
    c.get_mut().write_all(b"list\n").unwrap();
    assert_eq!(line(&mut c), "OK 2 songs");
    assert_eq!((line(&mut c), line(&mut c)), ("big".into(), "small".into()));
    assert!(!is_loaded(&server, "big") && !is_loaded(&server, "small"));

    assert!(download(&mut c, "small") == audio(4_000, 3));
    assert!(is_loaded(&server, "small"));
    assert!(
        !is_loaded(&server, "big"),
        "only the song asked for is read"
    );
}

#[test]
fn two_clients_asking_at_once_for_an_unread_song_both_get_it_whole() {
    let dir = music();
    let server = serve(dir.path());
    let start = Barrier::new(2);
    let (a, b) = std::thread::scope(|s| {
        let fetch = || {
            let mut c = client(&server);
            start.wait();
            download(&mut c, "big")
        };
        let a = s.spawn(fetch);
        let b = s.spawn(fetch);
        (a.join().unwrap(), b.join().unwrap())
    });
    let want = audio(8 << 20, 7);
    assert!(
        a == want && b == want,
        "both downloads are the file's audio"
    );
    assert!(is_loaded(&server, "big"));
}

#[test]
fn a_song_whose_file_vanished_is_an_error_reply_and_the_server_serves_on() {
    let dir = music();
    let server = serve(dir.path());
    std::fs::remove_file(dir.path().join("big.wav")).unwrap();

    let mut c = client(&server);
    c.get_mut().write_all(b"download big\n").unwrap();
    assert_eq!(
        line(&mut c),
        "ERR 500 song 'big' cannot be read on the server; try again later"
    );
    // The same connection, and a new one, are still served.
    assert!(download(&mut c, "small") == audio(4_000, 3));
    let mut other = client(&server);
    assert!(download(&mut other, "small") == audio(4_000, 3));

    // An original-dialect client gets the same line as its reply.
    let mut original = TcpStream::connect(server.addr).unwrap();
    original
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    original.write_all(b"download big").unwrap();
    let mut buf = [0u8; 1024];
    let n = original.read(&mut buf).unwrap();
    assert_eq!(
        String::from_utf8_lossy(&buf[..n]),
        "ERR 500 song 'big' cannot be read on the server; try again later\n"
    );
}
