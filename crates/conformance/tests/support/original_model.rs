//! A model of the original Python server (`SpotServer.py`), written from
//! how it behaves on the wire, for the tests of the original dialect: the
//! original program *is* that dialect, so every original check must pass
//! it (streamlab issue 14).
//!
//! Its habits, as observed against the real program on loopback:
//!
//! * **one `recv(1024)` is one command**: the bytes of one read, decoded as
//!   UTF-8 and compared whole, with no trimming (bytes that are not UTF-8
//!   end the connection);
//! * **the second word is the argument**: the command is split on spaces
//!   and only the word after `download` or `att_status` is used; without
//!   one, the server fails and closes the connection;
//! * **`att_status` is keyed by IP address**: the song is recorded on every
//!   connected device whose IP is the sender's, and nothing is answered;
//! * **no pauses**: `track_data_start`, the audio and `track_data_end` are
//!   written back to back;
//! * **the device line** is `<n>-<ip> ; <port> Musica: <song|None>`, in
//!   connection order, joined by `\n` with none after the last;
//! * a device is listed from `accept` until its connection ends (quit,
//!   end of stream, or an error).

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use streamlab_proto::original;

use super::fake::songs;

/// What the original reads at once: one command.
const RECV: usize = 1024;
/// The original writes a song in pieces of 30 s of CD audio.
const PIECE: usize = 44_100 * 4 * 30;

/// A connected client, as the original's list of devices holds it.
struct Device {
    ip: IpAddr,
    port: u16,
    song: Option<String>,
}

type Devices = Arc<Mutex<Vec<Device>>>;

/// Starts the model on a free 127.0.0.1 port; it accepts 200 connections.
pub fn start() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("binding 127.0.0.1:0");
    let addr = listener.local_addr().expect("a bound address");
    let devices = Devices::default();
    std::thread::spawn(move || {
        for _ in 0..200 {
            let Ok((stream, peer)) = listener.accept() else {
                continue;
            };
            devices.lock().unwrap().push(Device {
                ip: peer.ip(),
                port: peer.port(),
                song: None,
            });
            let devices = Arc::clone(&devices);
            std::thread::spawn(move || {
                serve(stream, &devices);
                devices
                    .lock()
                    .unwrap()
                    .retain(|d| (d.ip, d.port) != (peer.ip(), peer.port()));
            });
        }
    });
    addr
}

/// One client's connection, until it quits, closes or breaks.
fn serve(mut s: TcpStream, devices: &Devices) {
    let _ = s.set_read_timeout(Some(Duration::from_secs(20)));
    let Ok(peer) = s.peer_addr() else { return };
    let mut buf = [0u8; RECV];
    for _ in 0..10_000 {
        let n = match s.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        let Ok(command) = std::str::from_utf8(&buf[..n]) else {
            return; // the original's decode() raises, and it hangs up
        };
        let words: Vec<&str> = command.split(' ').collect();
        let written = match (command, words[0]) {
            ("lista" | "7", _) => s.write_all(&song_list()),
            (_, "download") => match words.get(1) {
                Some(name) => download(&mut s, name),
                None => return,
            },
            ("quit" | "9", _) => {
                let _ = s.write_all(original::GOODBYE);
                return;
            }
            ("lista_dispositivos" | "10", _) => s.write_all(&device_list(devices)),
            (_, "att_status") => match words.get(1) {
                Some(song) => {
                    report(devices, peer.ip(), song);
                    Ok(())
                }
                None => return,
            },
            _ => s.write_all(original::UNKNOWN_COMMAND.as_bytes()),
        };
        if written.is_err() {
            return;
        }
    }
}

/// Every name followed by `\n`.
fn song_list() -> Vec<u8> {
    songs()
        .into_iter()
        .flat_map(|(name, _)| format!("{name}\n").into_bytes())
        .collect()
}

/// The markers and the audio back to back, or the not-found message.
fn download(s: &mut TcpStream, asked: &str) -> std::io::Result<()> {
    let found = songs()
        .into_iter()
        .find(|(name, _)| name.to_lowercase() == asked.to_lowercase());
    let Some((_, pcm)) = found else {
        return s.write_all(&original::not_found(asked));
    };
    s.write_all(original::TRACK_START)?;
    for piece in pcm.chunks(PIECE) {
        s.write_all(piece)?;
    }
    s.write_all(original::TRACK_END)
}

/// `att_status`: the song goes to every device of the sender's IP address.
fn report(devices: &Devices, ip: IpAddr, song: &str) {
    for d in devices.lock().unwrap().iter_mut().filter(|d| d.ip == ip) {
        d.song = Some(song.to_string());
    }
}

/// `<n>-<ip> ; <port> Musica: <song|None>`, joined by `\n`.
fn device_list(devices: &Devices) -> Vec<u8> {
    let devices = devices.lock().unwrap();
    let lines: Vec<String> = devices
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let song = d.song.as_deref().unwrap_or("None");
            format!("{}-{} ; {} Musica: {song}", i + 1, d.ip, d.port)
        })
        .collect();
    lines.join("\n").into_bytes()
}
