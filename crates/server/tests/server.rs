//! The real server on 127.0.0.1, poked with raw sockets the way careless,
//! slow and hostile clients poke it.

mod support;

use std::io::{Read, Write};
use std::net::Shutdown;
use std::time::Duration;

use streamlab_proto::DialectChoice;
use streamlab_server::{Server, ServerError, ServerOptions};
use support::{connect, eventually, read_lines, read_to_close, start, tracks};

#[test]
fn the_original_clients_one_recv_per_message_works_when_the_pause_is_on() {
    let server = start(DialectChoice::Auto, 50, 8);
    let mut s = connect(&server);
    let mut buf = vec![0u8; 1 << 20];
    // Exactly what SpotClient.py does: send, then one recv(1024).
    s.write_all(b"lista").unwrap();
    let n = s.read(&mut buf[..1024]).unwrap();
    assert_eq!(&buf[..n], b"RV\nVL\nbig\n");
    s.write_all(b"download rv").unwrap();
    let n = s.read(&mut buf[..1024]).unwrap();
    assert_eq!(
        &buf[..n],
        b"track_data_start",
        "the marker must arrive alone"
    );
    let mut track = Vec::new();
    while !track.ends_with(b"track_data_end") {
        let n = s.read(&mut buf).unwrap();
        assert!(n > 0, "closed mid-track");
        track.extend_from_slice(&buf[..n]);
    }
    track.truncate(track.len() - b"track_data_end".len());
    assert!(track[..] == tracks()[0].pcm[..], "PCM differs");
    s.write_all(b"att_status RV").unwrap();
    std::thread::sleep(Duration::from_millis(100));
    s.write_all(b"10").unwrap();
    let n = s.read(&mut buf[..1024]).unwrap();
    let local = s.local_addr().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&buf[..n]),
        format!("1-127.0.0.1 ; {} Musica: RV", local.port())
    );
    s.write_all(b"quit").unwrap();
    assert_eq!(read_to_close(&mut s), b"goodbye");
    eventually("the device is forgotten", || {
        server.shared.registry.is_empty()
    });
}

#[test]
fn framed_errors_are_status_lines_and_an_over_long_line_closes() {
    let server = start(DialectChoice::Framed, 0, 8);
    let mut s = connect(&server);
    s.write_all(b"dance\ndownload\ndownload nope\ndownload ../../etc/passwd\n\xc3\x28\n")
        .unwrap();
    let text = read_lines(&mut s, 5);
    insta::assert_snapshot!(text, @r#"
    ERR 400 unknown command 'dance'; send 'help' for the commands
    ERR 400 missing argument: 'download' needs a song name
    ERR 404 no song named 'nope'; send 'list' to see the songs
    ERR 400 invalid song name "../../etc/passwd": names are at most 255 bytes, without '/', '\', '..' or control characters
    ERR 400 invalid UTF-8 in command
    "#);
    s.write_all(&[b'x'; 3000]).unwrap();
    let rest = read_to_close(&mut s);
    assert_eq!(
        String::from_utf8_lossy(&rest),
        "ERR 413 line too long (the limit is 1024 bytes); closing\n"
    );
}

#[test]
fn the_reply_to_a_flood_arrives_before_a_clean_close() {
    let server = start(DialectChoice::Framed, 0, 8);
    let mut s = connect(&server);
    // Far more than the server reads before it gives up on the line. An
    // abrupt close with all that unread answers it with RST: the client's
    // writes fail, and some stacks drop the reply unread. A lingering close
    // sends FIN and reads on until the client is done.
    s.write_all(&vec![b'x'; 256 * 1024]).unwrap();
    let rest = read_to_close(&mut s);
    assert_eq!(
        String::from_utf8_lossy(&rest),
        "ERR 413 line too long (the limit is 1024 bytes); closing\n"
    );
    s.write_all(b"more")
        .expect("the server still reads: no reset");
}

#[test]
fn a_client_that_vanishes_mid_track_does_not_disturb_another() {
    let server = start(DialectChoice::Framed, 0, 8);
    let mut quitter = connect(&server);
    quitter.write_all(b"download big\n").unwrap();
    let mut buf = [0u8; 4096];
    quitter.read_exact(&mut buf).unwrap();
    drop(quitter); // mid-track
    let mut other = connect(&server);
    other.write_all(b"download RV\nquit\n").unwrap();
    let all = read_to_close(&mut other);
    let header = b"track_data_start 50000 44100 2 s16le RV\n";
    assert!(all.starts_with(header));
    assert!(all[header.len()..header.len() + 50_000] == tracks()[0].pcm[..]);
    assert!(all.ends_with(b"track_data_end RV\nOK goodbye\n"));
    eventually("both devices are forgotten", || {
        server.shared.registry.is_empty()
    });
}

#[test]
fn a_client_that_never_reads_blocks_only_itself_and_is_dropped() {
    let server = start(DialectChoice::Framed, 0, 8);
    let mut sleeper = connect(&server);
    sleeper.write_all(b"download big\n").unwrap();
    // While the sleeper's thread is stuck in write(), others are served.
    for _ in 0..3 {
        let mut other = connect(&server);
        other.write_all(b"download VL\nquit\n").unwrap();
        let all = read_to_close(&mut other);
        assert!(all.ends_with(b"track_data_end VL\nOK goodbye\n"));
    }
    // After the write timeout (2 s here) the server gives up on it: the
    // sleeper finds a cut-short track, then the end of the stream.
    eventually("the sleeper is dropped", || {
        server.shared.registry.is_empty()
    });
    let mut got = Vec::new();
    let _ = sleeper.read_to_end(&mut got);
    assert!(
        got.len() < 24 << 20,
        "the sleeper never got the whole track"
    );
}

#[test]
fn over_the_client_limit_a_busy_reply_then_close() {
    let server = start(DialectChoice::Auto, 0, 2);
    // Two clients that have greeted: a newcomer cannot take their place
    // (it would take a silent connection's; see tests/hardening.rs).
    let greeted = || {
        let mut s = connect(&server);
        s.write_all(b"hello test\n").unwrap();
        assert_eq!(read_lines(&mut s, 1), "OK streamlab/1 ready\n");
        s
    };
    let (a, b) = (greeted(), greeted());
    let mut c = connect(&server);
    // A greeting and more: the refusal must still end in a clean close
    // (see the flood test above).
    c.write_all(b"hello test\n").unwrap();
    c.write_all(&vec![b'x'; 256 * 1024]).unwrap();
    let reply = read_to_close(&mut c);
    assert_eq!(
        String::from_utf8_lossy(&reply),
        "ERR 503 busy: the server already serves 2 clients; try again later\n"
    );
    c.write_all(b"more")
        .expect("the server still reads: no reset");
    drop((a, b));
    eventually("the slots are free", || server.shared.registry.is_empty());
    let mut d = connect(&server);
    d.write_all(b"hello test\n").unwrap();
    assert_eq!(read_lines(&mut d, 1), "OK streamlab/1 ready\n");
}

#[test]
fn a_port_in_use_is_a_clear_error() {
    let server = start(DialectChoice::Auto, 0, 2);
    let err = Server::bind(server.addr, tracks(), ServerOptions::default())
        .err()
        .expect("binding a used port fails");
    assert!(matches!(err, ServerError::Bind { .. }));
    let msg = err.to_string();
    assert!(
        msg.starts_with(&format!("cannot listen on {}: ", server.addr)),
        "{msg}"
    );
}

#[test]
fn shutdown_closes_idle_and_busy_connections_promptly() {
    let server = start(DialectChoice::Framed, 0, 8);
    let mut idle = connect(&server);
    let mut busy = connect(&server);
    busy.write_all(b"download big\n").unwrap();
    eventually("both are registered", || server.shared.registry.len() == 2);
    // Shutdown must finish even with a thread blocked in write(); bound the
    // wait so a regression fails instead of hanging.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        server.shutdown();
        let _ = tx.send(());
    });
    rx.recv_timeout(Duration::from_secs(20))
        .expect("shutdown finished");
    let mut buf = [0u8; 16];
    assert_eq!(
        idle.read(&mut buf).unwrap_or(0),
        0,
        "idle client sees the close"
    );
    let _ = busy.shutdown(Shutdown::Both);
}

#[test]
fn shutdown_cuts_a_pause_short() {
    // An hour's pause after `goodbye`: only shutdown can end it in time.
    let server = start(DialectChoice::Original, 3_600_000, 8);
    let mut s = connect(&server);
    s.write_all(b"quit").unwrap();
    let mut buf = [0u8; 1024];
    let n = s.read(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"goodbye");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        server.shutdown();
        let _ = tx.send(());
    });
    rx.recv_timeout(Duration::from_secs(20))
        .expect("shutdown finished");
    assert_eq!(read_to_close(&mut s), b"", "then the client sees the close");
}

#[test]
fn names_that_could_be_paths_are_refused_in_both_dialects() {
    let server = start(DialectChoice::Auto, 0, 8);
    let mut framed = connect(&server);
    framed
        .write_all(b"hello test\ndownload a\0b\ndownload ..\\x\nquit\n")
        .unwrap();
    let text = String::from_utf8_lossy(&read_to_close(&mut framed)).into_owned();
    let refusals = text
        .lines()
        .filter(|l| l.starts_with("ERR 400 invalid song name"))
        .count();
    assert_eq!(refusals, 2, "{text}");
    // The original dialect answers as the Python server did: not found.
    let mut original = connect(&server);
    original.write_all(b"download ../music/ode_to_joy").unwrap();
    let mut buf = [0u8; 1024];
    let n = original.read(&mut buf).unwrap();
    assert!(
        buf[..n].starts_with(b"Musica '../music/ode_to_joy' n"),
        "{:?}",
        &buf[..n]
    );
}

#[test]
fn a_paced_server_sends_no_faster_than_its_rate_and_loses_nothing() {
    // 50,000 bytes of audio at 1 Mbit/s: 0.4 s at the least, in slices of
    // 2,500 bytes, whatever loopback could do.
    let mut options = support::options(DialectChoice::Framed, 0, 8);
    options.rate = Some(1_000_000);
    let server = support::start_with(options);
    let mut s = connect(&server);
    let began = std::time::Instant::now();
    s.write_all(b"hello streamlab/1 test\ndownload RV\n")
        .unwrap();
    let lines = read_lines(&mut s, 2);
    assert!(lines.contains("track_data_start 50000 "), "{lines}");
    let mut audio = vec![0u8; 50_000];
    s.read_exact(&mut audio).unwrap();
    let took = began.elapsed();
    assert!(audio[..] == tracks()[0].pcm[..], "PCM differs");
    assert!(
        took >= Duration::from_millis(380),
        "50,000 B at 1 Mbit/s arrived in {took:?}"
    );
    s.write_all(b"quit\n").unwrap();
}

#[test]
fn a_client_that_said_goodbye_is_no_longer_listed_as_a_device() {
    let server = start(DialectChoice::Auto, 0, 8);
    let mut leaver = connect(&server);
    let mut stayer = connect(&server);
    let leaver_port = leaver.local_addr().unwrap().port();
    let mut buf = [0u8; 1024];
    leaver.write_all(b"quit").unwrap();
    let n = leaver.read(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"goodbye");
    // The leaver's socket may linger a moment for its goodbye to land; it
    // is not a device any more all the same.
    stayer.write_all(b"lista_dispositivos").unwrap();
    let n = stayer.read(&mut buf).unwrap();
    let devices = String::from_utf8_lossy(&buf[..n]).into_owned();
    let stayer_port = stayer.local_addr().unwrap().port();
    assert!(devices.contains(&format!("; {stayer_port} ")), "{devices}");
    assert!(!devices.contains(&format!("; {leaver_port} ")), "{devices}");
}
