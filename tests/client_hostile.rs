//! The `streamlab client` process against fake servers that mean harm: one
//! that announces a 100 GB track, one that streams original audio without
//! end, one that goes silent mid-track, and one whose names and messages
//! carry terminal escapes. Each fake is a thread on 127.0.0.1:0 that serves
//! one connection and stops by itself.

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use assert_cmd::cargo::cargo_bin_cmd;
use assert_cmd::Command;

/// The longest any fake waits for the client to connect, send or leave.
const PATIENCE: Duration = Duration::from_secs(30);

fn client(addr: &str, script: &str, extra: &[&str]) -> Command {
    let mut cmd = cargo_bin_cmd!("streamlab");
    cmd.args(["client", addr, "--output", "null", "--script", script])
        .args(extra)
        .timeout(Duration::from_secs(120));
    cmd
}

/// Runs `serve` on a thread with the one connection a fresh listener
/// accepts; returns the listener's address.
fn fake_server<T: Send + 'static>(
    serve: impl FnOnce(TcpStream) -> T + Send + 'static,
) -> (String, JoinHandle<Option<T>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
    let addr = listener.local_addr().expect("bound").to_string();
    let thread = std::thread::spawn(move || {
        listener.set_nonblocking(true).ok()?;
        let start = Instant::now();
        let sock = loop {
            match listener.accept() {
                Ok((sock, _)) => break sock,
                Err(e) if e.kind() == ErrorKind::WouldBlock && start.elapsed() < PATIENCE => {
                    std::thread::sleep(Duration::from_millis(10))
                }
                Err(_) => return None,
            }
        };
        sock.set_nonblocking(false).ok()?;
        sock.set_read_timeout(Some(PATIENCE)).ok()?;
        sock.set_write_timeout(Some(PATIENCE)).ok()?;
        Some(serve(sock))
    });
    (addr, thread)
}

/// What a framed fake does with one command line.
enum Reply {
    /// Writes these bytes and reads the next line.
    Send(Vec<u8>),
    /// Writes these bytes and closes the connection.
    SendAndClose(Vec<u8>),
    /// Writes these bytes, then holds (a track that never ends must not be
    /// followed by the answers to later requests).
    SendAndHold(Vec<u8>),
    /// Answers nothing more, but keeps the connection open until the
    /// client leaves (or [`PATIENCE`] passes).
    Hold,
}

/// A framed fake: greets, acknowledges status reports, and answers every
/// other command line with `reply`.
fn framed_fake(mut reply: impl FnMut(&str) -> Reply + Send + 'static) -> String {
    let (addr, _thread) = fake_server(move |sock| {
        let mut out = sock.try_clone().expect("a second handle");
        let mut lines = BufReader::new(sock);
        let mut line = String::new();
        while matches!(lines.read_line(&mut line), Ok(n) if n > 0) {
            let answer = match line.split_whitespace().next() {
                Some("hello") => Reply::Send(b"OK streamlab/1 fake\n".to_vec()),
                Some("status") => Reply::Send(b"OK recorded\n".to_vec()),
                _ => reply(line.trim_end()),
            };
            line.clear();
            match answer {
                Reply::Send(bytes) if out.write_all(&bytes).is_ok() => {}
                Reply::SendAndClose(bytes) => {
                    let _ = out.write_all(&bytes);
                    return;
                }
                Reply::SendAndHold(bytes) => {
                    let _ = out.write_all(&bytes);
                    return drain(lines.get_mut());
                }
                _ => return drain(lines.get_mut()),
            }
        }
    });
    addr
}

/// Reads and drops until the client closes; bounded by the read timeout.
fn drain(sock: &mut TcpStream) {
    let mut buf = [0u8; 4096];
    while matches!(sock.read(&mut buf), Ok(n) if n > 0) {}
}

/// The `streamlab: ` line on stderr of a client that failed.
fn error_line(stderr: &[u8]) -> String {
    let stderr = String::from_utf8_lossy(stderr);
    stderr
        .lines()
        .find(|l| l.starts_with("streamlab: "))
        .unwrap_or_else(|| panic!("no error line in {stderr:?}"))
        .to_string()
}

#[test]
fn a_framed_track_announced_as_100_gb_is_refused_with_a_clear_message() {
    let addr = framed_fake(|line| match line {
        "download RV" => {
            let mut bytes = b"track_data_start 100000000000 44100 2 s16le RV\n".to_vec();
            bytes.extend_from_slice(&[0u8; 64 * 1024]);
            Reply::SendAndHold(bytes)
        }
        _ => Reply::Hold,
    });
    let out = client(&addr, "play RV; wait; quit", &[]).assert().failure();
    assert_eq!(
        error_line(&out.get_output().stderr),
        "streamlab: connection closed: the server announced 100000000000 bytes for 'RV', more than the 536870912 this client accepts for one track"
    );
}

#[test]
fn endless_original_audio_stops_at_max_track_bytes() {
    // The fake streams audio with no end marker: at most 64 MiB, or until
    // the client stops taking it.
    let (addr, fake) = fake_server(|mut sock| {
        let mut request = [0u8; 1024];
        let n = sock.read(&mut request).unwrap_or(0);
        assert_eq!(&request[..n], b"download RV");
        let mut sent = sock.write(b"track_data_start").unwrap_or(0);
        let chunk = [1u8; 64 * 1024];
        while sent < 64 << 20 {
            match sock.write(&chunk) {
                Ok(n) if n > 0 => sent += n,
                _ => break,
            }
        }
        sent
    });
    let script = "play RV; wait; quit";
    let extra = ["--dialect", "original", "--max-track-bytes", "1M"];
    let out = client(&addr, script, &extra).assert().failure();
    // Printed by `wait` (playback failed), or by the command after the close.
    let why = "the server sent more than 1048576 bytes of 'RV' without track_data_end";
    let line = error_line(&out.get_output().stderr);
    assert!(line.contains(why), "{line}");
    let sent = fake.join().expect("the fake ends").expect("served");
    assert!(sent < 64 << 20, "the client took all {sent} bytes");
}

#[test]
fn a_track_that_stalls_mid_download_ends_the_wait_with_a_message() {
    let addr = framed_fake(|line| match line {
        "download RV" => {
            let mut bytes = b"track_data_start 4000000 44100 2 s16le RV\n".to_vec();
            bytes.extend_from_slice(&vec![0u8; 1 << 20]);
            Reply::SendAndHold(bytes)
        }
        // Then silence, with the connection open.
        _ => Reply::Hold,
    });
    let start = Instant::now();
    let out = client(&addr, "play RV; wait; quit", &["--stall-timeout", "1"])
        .assert()
        .failure();
    // `wait` ended (the script went on to its end) and the reason is given.
    let why = "the download of 'RV' stalled: no byte for 1 s after 1048576 of 4000000 bytes";
    let line = error_line(&out.get_output().stderr);
    assert!(line.ends_with(why), "{line}");
    // A bound the issue asks for, with room for a loaded machine.
    assert!(
        start.elapsed() < Duration::from_secs(20),
        "{:?}",
        start.elapsed()
    );
}

#[test]
fn server_strings_reach_the_terminal_escaped() {
    let addr = framed_fake(|line| {
        let reply: &[u8] = match line {
            "list" => b"OK 2 songs\nRV\x1b[2J\nVL\x1b]0;pwned\x07\n",
            "devices" => b"OK 1 devices\n1 10.0.0.9\x1b[31m 5000 playing Song\xc2\x9b1m\n",
            "download nope" => b"ERR 404 no song \x1b[5mnope\x07\n",
            "download Song\u{9b}1m" => b"ERR 500 \x1b]2;title\x07\n",
            // A name that hides the cursor, then the close mid-track: the
            // reason for the close names it on stderr.
            "download RV" => {
                return Reply::SendAndClose(
                    b"track_data_start 10 44100 2 s16le RV\x1b[?25l\nabcd".to_vec(),
                )
            }
            _ => return Reply::Hold,
        };
        Reply::Send(reply.to_vec())
    });
    let script = "list; devices; play nope; listen 1; play RV; wait; quit";
    let out = client(&addr, script, &[]).assert().failure();
    let output = out.get_output();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    for (name, text) in [("stdout", &stdout), ("stderr", &stderr)] {
        assert!(
            !text.chars().any(|c| c.is_control() && c != '\n'),
            "a control character on {name}: {text:?}"
        );
    }
    assert!(
        stderr.contains(r"before the end of 'RV\x1b[?25l'"),
        "{stderr}"
    );
    for shown in [
        r"  RV\x1b[2J",
        r"  VL\x1b]0;pwned\x07",
        r"  1. 10.0.0.9\x1b[31m:5000 playing Song\x9b1m",
        r"no song \x1b[5mnope\x07",
        r"server: \x1b]2;title\x07",
        // "playing 'RV…'", or the failed download if the close came first.
        r"'RV\x1b[?25l'",
    ] {
        assert!(stdout.contains(shown), "{shown} not in {stdout}");
    }
}
