//! The server side the client checks play: a listener on 127.0.0.1:0, a
//! thread per accepted connection, each answering as our server would,
//! except where the check's [`Behaviour`] says otherwise. Every byte the
//! client sends, everything written back and the moment the client closed
//! are recorded in a [`ConnLog`], which the checks then judge.
//!
//! Everything is bounded: at most [`MAX_CONNECTIONS`] connections, reads
//! that wake every 20 ms to look at the stop flag, writes with a timeout,
//! and a stop flag that [`FakeServer::finish`] raises.

use std::io::{self, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use streamlab_proto::{framed, original, Dialect, Request, Track};

use super::conn::{ConnLog, Event, Reader};

mod track;
use crate::diagnosis::show;

/// Connections served per run; more are closed at once.
pub const MAX_CONNECTIONS: usize = 8;
/// The reference server's pause after a control message (original dialect).
pub const PAUSE: Duration = Duration::from_millis(50);
/// Audio bytes glued to the start marker in `glued-marker`.
pub const GLUED_BYTES: usize = 4096;
/// The gap between the two halves of the end marker in `split-end-marker`.
pub const SPLIT_GAP: Duration = Duration::from_millis(1000);
/// `slow-server`: the song in this many pieces, one every [`TRICKLE_GAP`].
pub const TRICKLE_PIECES: usize = 30;
pub const TRICKLE_GAP: Duration = Duration::from_millis(50);
/// `quit-goodbye`: how long the server watches for the client's close
/// before it writes its goodbye.
pub const GOODBYE_WATCH: Duration = Duration::from_millis(1000);

/// How the fake server departs from a well-behaved one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    /// Exactly like the reference server.
    Normal,
    /// The start marker (framed: the header line) and the first audio
    /// bytes in one write, no pause.
    GluedMarker,
    /// The end marker in two writes, [`SPLIT_GAP`] apart.
    SplitEndMarker,
    /// Every download gets the not-found reply.
    NotFound,
    /// Waits [`GOODBYE_WATCH`] for the client's close before `goodbye`.
    LateGoodbye,
    /// Closes the connection halfway through the audio.
    Vanishes,
    /// The audio in [`TRICKLE_PIECES`] pieces, [`TRICKLE_GAP`] apart.
    Trickle,
}

/// What every connection of one run shares.
#[derive(Debug, Clone)]
pub struct Plan {
    pub dialect: Dialect,
    pub behaviour: Behaviour,
    pub songs: Arc<[Track]>,
    /// Nothing is written after this (the client's own timeout, plus a margin).
    pub deadline: Instant,
}

/// A running fake server.
pub struct FakeServer {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    acceptor: JoinHandle<Vec<JoinHandle<ConnLog>>>,
}

impl FakeServer {
    pub fn start(plan: Plan) -> io::Result<FakeServer> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let acceptor = std::thread::spawn(move || accept_loop(&listener, &plan, &flag));
        Ok(FakeServer {
            addr,
            stop,
            acceptor,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting, gives the connections up to `grace` to see the
    /// client's close, stops them, and returns their logs in accept order.
    pub fn finish(self, grace: Duration) -> Vec<ConnLog> {
        let give_up = Instant::now() + grace;
        self.stop.store(true, Ordering::SeqCst);
        // The acceptor polls the flag every few ms, so this join is short.
        let conns = self.acceptor.join().unwrap_or_default();
        while Instant::now() < give_up && !conns.iter().all(JoinHandle::is_finished) {
            std::thread::sleep(Duration::from_millis(5));
        }
        conns
            .into_iter()
            .map(|h| h.join().unwrap_or_default())
            .collect()
    }
}

fn accept_loop(
    listener: &TcpListener,
    plan: &Plan,
    stop: &Arc<AtomicBool>,
) -> Vec<JoinHandle<ConnLog>> {
    let mut conns = Vec::new();
    while !stop.load(Ordering::SeqCst) && Instant::now() < plan.deadline {
        match listener.accept() {
            Ok((stream, peer)) if conns.len() < MAX_CONNECTIONS => {
                let (plan, stop) = (plan.clone(), Arc::clone(stop));
                conns.push(std::thread::spawn(move || serve(stream, peer, &plan, stop)));
            }
            Ok((stream, _)) => drop(stream),
            Err(_) => std::thread::sleep(Duration::from_millis(5)),
        }
    }
    conns
}

fn serve(stream: TcpStream, peer: SocketAddr, plan: &Plan, stop: Arc<AtomicBool>) -> ConnLog {
    let mut session = Session {
        reader: Reader::new(plan.dialect, stop, plan.deadline),
        log: ConnLog::default(),
        stream,
        peer,
        plan,
    };
    if session.setup().is_ok() {
        session.run();
    }
    session.log
}

/// One connection: read a command, answer it, until the client closes or
/// says quit.
struct Session<'a> {
    reader: Reader,
    log: ConnLog,
    stream: TcpStream,
    peer: SocketAddr,
    plan: &'a Plan,
}

impl Session<'_> {
    fn setup(&mut self) -> io::Result<()> {
        self.stream.set_nodelay(true)?;
        self.stream
            .set_read_timeout(Some(Duration::from_millis(20)))?;
        self.stream.set_write_timeout(Some(Duration::from_secs(5)))
    }

    fn run(&mut self) {
        while let Some(command) = self.reader.next(&mut self.stream, &mut self.log) {
            let text = String::from_utf8_lossy(&command).into_owned();
            let done = match Request::parse(&text) {
                Ok(request) => self.answer(request),
                Err(_) => self.unknown(&text),
            };
            if done.unwrap_or(true) {
                break;
            }
        }
        let _ = self.stream.shutdown(Shutdown::Both);
        self.log.events.push(Event::ServerClosed);
    }

    /// Answers one request; `Ok(true)` when the connection is over.
    fn answer(&mut self, request: Request) -> io::Result<bool> {
        let is_framed = self.plan.dialect == Dialect::Framed;
        match request {
            Request::Hello { .. } if is_framed => {
                self.write(&framed::ok(&format!("{} ready", framed::VERSION)))?
            }
            Request::List => {
                let names: Vec<String> = self.plan.songs.iter().map(|t| t.name.clone()).collect();
                match is_framed {
                    true => self.write(&framed::counted_list("songs", &names))?,
                    false => self.control(&original::encode_song_list(&names))?,
                }
            }
            Request::Download { name } => return self.download(&name),
            Request::Devices => self.devices()?,
            Request::Status { .. } if is_framed => self.write(&framed::ok(""))?,
            Request::Status { .. } => {}
            Request::Quit => {
                self.goodbye()?;
                return Ok(true);
            }
            Request::Hello { .. } | Request::Help => {
                self.unknown("")?;
            }
        }
        Ok(false)
    }

    fn unknown(&mut self, text: &str) -> io::Result<bool> {
        match self.plan.dialect {
            Dialect::Framed => {
                let word = text.split_whitespace().next().unwrap_or("");
                let message = format!("unknown command '{word}'; send 'help' for the commands");
                self.write(&framed::err(framed::code::BAD_REQUEST, &message))?;
            }
            Dialect::Original => self.control(original::UNKNOWN_COMMAND.as_bytes())?,
        }
        Ok(false)
    }

    fn devices(&mut self) -> io::Result<()> {
        let me = streamlab_proto::Device {
            ip: self.peer.ip().to_string(),
            port: self.peer.port(),
            state: streamlab_proto::PlayState::Idle,
            song: None,
            position_ms: None,
        };
        match self.plan.dialect {
            Dialect::Framed => self.write(&framed::counted_list(
                "devices",
                &[framed::device_line(1, &me)],
            )),
            Dialect::Original => self.control(&original::encode_devices(&[me])),
        }
    }

    fn goodbye(&mut self) -> io::Result<()> {
        if self.plan.behaviour == Behaviour::LateGoodbye {
            self.reader
                .watch_for_close(&mut self.stream, &mut self.log, GOODBYE_WATCH);
        }
        match self.plan.dialect {
            Dialect::Framed => self.write(&framed::ok("goodbye"))?,
            Dialect::Original => self.write(original::GOODBYE)?,
        }
        self.log.events.push(Event::Goodbye);
        if self.plan.dialect == Dialect::Original {
            self.pause(PAUSE);
        }
        // Give the client its chance to close first, as the reference
        // server's close would race with it anyway.
        self.reader
            .watch_for_close(&mut self.stream, &mut self.log, PAUSE);
        Ok(())
    }

    /// Writes `bytes` as one write, logged with a readable label.
    fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.write_labelled(bytes, show(bytes))
    }

    fn write_labelled(&mut self, bytes: &[u8], label: String) -> io::Result<()> {
        if Instant::now() > self.plan.deadline {
            return Err(io::ErrorKind::TimedOut.into());
        }
        let result = self
            .stream
            .write_all(bytes)
            .and_then(|()| self.stream.flush());
        match &result {
            Ok(()) => self.log.events.push(Event::Wrote(label)),
            Err(e) => self
                .log
                .events
                .push(Event::WriteFailed(label, e.to_string())),
        }
        result
    }

    /// An original-dialect control message and the reference server's pause.
    fn control(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.write(bytes)?;
        self.pause(PAUSE);
        Ok(())
    }

    fn pause(&mut self, gap: Duration) {
        std::thread::sleep(gap);
        self.log.events.push(Event::Paused(gap));
    }

    /// Answers `download`: the song, shaped by the behaviour.
    fn download(&mut self, name: &str) -> io::Result<bool> {
        let found = streamlab_proto::find_track(&self.plan.songs, name).cloned();
        let track = match found {
            Some(t) if self.plan.behaviour != Behaviour::NotFound => t,
            _ => return self.not_found(name).map(|()| false),
        };
        self.send_track(&track)
    }

    fn not_found(&mut self, name: &str) -> io::Result<()> {
        match self.plan.dialect {
            Dialect::Original => self.control(&original::not_found(name)),
            Dialect::Framed => {
                let message = format!("no song named '{name}'; send 'list' to see the songs");
                self.write(&framed::err(framed::code::NOT_FOUND, &message))
            }
        }
    }
}
