//! Small servers written for the tests, each correct but for one flaw, in
//! the style of a student's first attempt. With `Flaw::None` they pass
//! every check; with a flaw, the check about that flaw must fail and say
//! why.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use streamlab_proto::framed::{self, Line, LineBuffer};
use streamlab_proto::original;

/// One way to get the protocol wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flaw {
    None,
    // Either dialect.
    SingleThreaded,
    DiesOnDisconnect,
    // Original dialect.
    EnglishUnknown,
    EnglishNotFound,
    NoGoodbye,
    NoEndMarker,
    OddAudioLength,
    /// The audio spells `track_data_end` halfway (16 bytes, 4 frames).
    MarkerInAudio,
    ListWithoutLastNewline,
    AnswersAttStatus,
    DevicesWithColons,
    /// One song for the whole server: every client "plays" the last report.
    StatusForEveryone,
    Reassembles,
    SplitsGluedWords,
    ClosesOnLongInput,
    // Framed dialect.
    WrongByteCount,
    Err500ForUnknown,
    NotFoundAs400,
    StaysOpenAfterQuit,
    ListCountTooHigh,
    IgnoresStatus,
    /// A status recorded on every client of the sender's IP address, as the
    /// original does in its own dialect.
    StatusByIp,
    ReadIsALine,
    FirstLineOnly,
    IgnoresLongLines,
    /// `help` forgets a command.
    HelpWithoutDevices,
    /// A `download` with no name looks for a song named "" (404).
    EmptyDownloadIsNotFound,
    /// `status` takes any state at all.
    AnyStatus,
}

/// The songs of every fake server.
pub fn songs() -> Vec<(String, Vec<u8>)> {
    let pcm = |len: usize, seed: u8| (0..len).map(|i| (i as u8).wrapping_mul(seed)).collect();
    vec![
        ("RV".into(), pcm(40_000, 3)),
        ("tiny".into(), pcm(4_000, 5)),
    ]
}

#[derive(Default)]
struct State {
    /// (connection id, peer, reported song)
    devices: Mutex<Vec<(u64, SocketAddr, Option<String>)>>,
    dead: AtomicBool,
}

/// Starts a fake server for `dialect` ("original" or "framed") on a free
/// loopback port. It accepts at most 200 connections.
pub fn start(framed: bool, flaw: Flaw) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("binding 127.0.0.1:0");
    let addr = listener.local_addr().expect("a bound address");
    let state = Arc::new(State::default());
    std::thread::spawn(move || {
        for id in 0..200u64 {
            let Ok((stream, peer)) = listener.accept() else {
                continue;
            };
            if state.dead.load(Ordering::SeqCst) {
                return; // drops the listener: the next clients are refused
            }
            let state = Arc::clone(&state);
            let serve = move || serve(stream, peer, id, &state, framed, flaw);
            match flaw {
                Flaw::SingleThreaded => serve(),
                _ => drop(std::thread::spawn(serve)),
            }
        }
    });
    addr
}

fn serve(mut s: TcpStream, peer: SocketAddr, id: u64, state: &State, framed: bool, flaw: Flaw) {
    let _ = s.set_read_timeout(Some(Duration::from_secs(20)));
    state.devices.lock().unwrap().push((id, peer, None));
    let quit = match framed {
        true => serve_framed(&mut s, id, state, flaw),
        false => serve_original(&mut s, id, state, flaw),
    };
    state.devices.lock().unwrap().retain(|d| d.0 != id);
    if !quit && flaw == Flaw::DiesOnDisconnect {
        state.dead.store(true, Ordering::SeqCst);
    }
}

/// Returns true when the client said quit.
fn serve_original(s: &mut TcpStream, id: u64, state: &State, flaw: Flaw) -> bool {
    let mut buf = [0u8; 1024];
    let mut held = String::new();
    for _ in 0..10_000 {
        let n = match s.read(&mut buf) {
            Ok(0) | Err(_) => return false,
            Ok(_) if state.dead.load(Ordering::SeqCst) => return false,
            Ok(n) => n,
        };
        if n == buf.len() && flaw == Flaw::ClosesOnLongInput {
            return false;
        }
        held.push_str(&String::from_utf8_lossy(&buf[..n]));
        let cmd = std::mem::take(&mut held);
        let pause = || std::thread::sleep(Duration::from_millis(20));
        let reply: Vec<u8> = match cmd.as_str() {
            "lis" if flaw == Flaw::Reassembles => {
                held = cmd;
                continue;
            }
            "listaquit" if flaw == Flaw::SplitsGluedWords => {
                let _ = s.write_all(&list_reply(flaw));
                let _ = s.write_all(original::GOODBYE);
                return true;
            }
            "lista" | "7" => list_reply(flaw),
            "quit" | "9" => {
                if flaw != Flaw::NoGoodbye {
                    let _ = s.write_all(original::GOODBYE);
                }
                return true;
            }
            "lista_dispositivos" | "10" => devices_original(state, flaw),
            c if c.starts_with("att_status ") => {
                set_song(state, id, &c["att_status ".len()..], flaw);
                match flaw {
                    Flaw::AnswersAttStatus => b"ok".to_vec(),
                    _ => continue,
                }
            }
            c if c.starts_with("download ") => {
                let name = &c["download ".len()..];
                match songs().into_iter().find(|(n, _)| n == name) {
                    Some((_, mut pcm)) => {
                        let _ = s.write_all(original::TRACK_START);
                        pause();
                        if flaw == Flaw::OddAudioLength {
                            pcm.push(0);
                        }
                        if flaw == Flaw::MarkerInAudio {
                            let half = pcm.len() / 2;
                            pcm[half..half + 14].copy_from_slice(original::TRACK_END);
                        }
                        let _ = s.write_all(&pcm);
                        match flaw {
                            Flaw::NoEndMarker => Vec::new(),
                            _ => original::TRACK_END.to_vec(),
                        }
                    }
                    None if flaw == Flaw::EnglishNotFound => b"Song not found".to_vec(),
                    None => original::not_found(name),
                }
            }
            _ if flaw == Flaw::EnglishUnknown => b"Unknown command.".to_vec(),
            _ => original::UNKNOWN_COMMAND.as_bytes().to_vec(),
        };
        let _ = s.write_all(&reply);
        pause();
    }
    false
}

fn list_reply(flaw: Flaw) -> Vec<u8> {
    let names: Vec<String> = songs().into_iter().map(|(n, _)| n).collect();
    let mut reply = original::encode_song_list(&names);
    if flaw == Flaw::ListWithoutLastNewline {
        reply.pop();
    }
    reply
}

fn set_song(state: &State, id: u64, song: &str, flaw: Flaw) {
    let mut devices = state.devices.lock().unwrap();
    let Some(ip) = devices.iter().find(|d| d.0 == id).map(|d| d.1.ip()) else {
        return;
    };
    for d in devices.iter_mut() {
        let mine = match flaw {
            Flaw::StatusForEveryone => true,
            Flaw::StatusByIp => d.1.ip() == ip,
            _ => d.0 == id,
        };
        if mine {
            d.2 = Some(song.to_string());
        }
    }
}

fn devices_original(state: &State, flaw: Flaw) -> Vec<u8> {
    let devices = state.devices.lock().unwrap();
    let lines: Vec<String> = devices
        .iter()
        .enumerate()
        .map(|(i, (_, peer, song))| {
            let song = song.as_deref().unwrap_or("None");
            match flaw {
                Flaw::DevicesWithColons => format!("{}-{} Musica: {song}", i + 1, peer),
                _ => format!("{}-{} ; {} Musica: {song}", i + 1, peer.ip(), peer.port()),
            }
        })
        .collect();
    lines.join("\n").into_bytes()
}

/// Returns true when the client said quit.
fn serve_framed(s: &mut TcpStream, id: u64, state: &State, flaw: Flaw) -> bool {
    let mut lines = LineBuffer::new(framed::MAX_LINE);
    let mut buf = [0u8; 4096];
    for _ in 0..10_000 {
        let n = match s.read(&mut buf) {
            Ok(0) | Err(_) => return false,
            Ok(_) if state.dead.load(Ordering::SeqCst) => return false,
            Ok(n) => n,
        };
        lines.extend(&buf[..n]);
        if flaw == Flaw::ReadIsALine {
            lines.extend(b"\n");
        }
        for _ in 0..100 {
            let line = match lines.next_line() {
                Line::Complete(l) => String::from_utf8_lossy(&l).into_owned(),
                Line::Incomplete => break,
                Line::TooLong if flaw == Flaw::IgnoresLongLines => {
                    let _ = lines.take(lines.len());
                    break;
                }
                Line::TooLong => {
                    let _ = s.write_all(&framed::err(framed::code::TOO_LONG, "line too long"));
                    return false;
                }
            };
            if line.trim().is_empty() {
                continue;
            }
            if framed_command(s, id, state, flaw, line.trim()) {
                return true;
            }
            if flaw == Flaw::FirstLineOnly {
                let _ = lines.take(lines.len());
            }
        }
    }
    false
}

/// Answers one framed command; true after quit.
fn framed_command(s: &mut TcpStream, id: u64, state: &State, flaw: Flaw, line: &str) -> bool {
    let (word, arg) = line.split_once(' ').unwrap_or((line, ""));
    let names: Vec<String> = songs().into_iter().map(|(n, _)| n).collect();
    let reply = match word {
        "hello" => framed::ok("streamlab/1 ready"),
        "list" if flaw == Flaw::ListCountTooHigh => {
            let body: String = names.iter().map(|n| format!("{n}\n")).collect();
            format!("OK {} songs\n{body}", names.len() + 1).into_bytes()
        }
        "list" => framed::counted_list("songs", &names),
        "quit" => {
            let _ = s.write_all(&framed::ok("goodbye"));
            if flaw == Flaw::StaysOpenAfterQuit {
                return false;
            }
            return true;
        }
        "help" => {
            let lines: Vec<String> = framed::COMMAND_WORDS
                .iter()
                .filter(|w| !(flaw == Flaw::HelpWithoutDevices && **w == "devices"))
                .map(|w| format!("{w:<10} what it does"))
                .collect();
            framed::counted_list("commands", &lines)
        }
        "status" => {
            let state_word = arg.split_whitespace().next().unwrap_or("");
            let known = ["idle", "playing", "paused", "stopped"].contains(&state_word);
            if !known && flaw != Flaw::AnyStatus {
                framed::err(400, &format!("bad state '{state_word}'"))
            } else {
                if flaw != Flaw::IgnoresStatus {
                    set_song(state, id, arg.strip_prefix("playing ").unwrap_or(arg), flaw);
                }
                framed::ok("")
            }
        }
        "devices" => {
            let devices = state.devices.lock().unwrap();
            let lines: Vec<String> = devices
                .iter()
                .enumerate()
                .map(|(i, (_, p, song))| match song {
                    Some(song) => format!("{} {} {} playing {song}", i + 1, p.ip(), p.port()),
                    None => format!("{} {} {} idle", i + 1, p.ip(), p.port()),
                })
                .collect();
            framed::counted_list("devices", &lines)
        }
        "download" if arg.is_empty() && flaw != Flaw::EmptyDownloadIsNotFound => {
            framed::err(400, "download needs a song name")
        }
        "download" if arg.contains('/') || arg.contains("..") => {
            framed::err(400, "a song name is not a path")
        }
        "download" => match songs().into_iter().find(|(n, _)| n == arg) {
            Some((name, pcm)) => {
                let announced = match flaw {
                    Flaw::WrongByteCount => pcm.len() + 4,
                    _ => pcm.len(),
                };
                let head = format!("track_data_start {announced} 44100 2 s16le {name}\n");
                [head.into_bytes(), pcm, framed::track_end(&name)].concat()
            }
            None if flaw == Flaw::NotFoundAs400 => framed::err(400, "no such song"),
            None => framed::err(404, &format!("no song named '{arg}'")),
        },
        _ if flaw == Flaw::Err500ForUnknown => framed::err(500, "what?"),
        _ => framed::err(400, &format!("unknown command '{word}'")),
    };
    let _ = s.write_all(&reply);
    false
}
