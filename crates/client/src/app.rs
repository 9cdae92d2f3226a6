//! The player application: user commands in, protocol requests and
//! playback controls out, one line of feedback per result.
//!
//! [`App::execute`] runs one [`UserCommand`] and writes what happened to
//! its output. The same code serves the interactive menu and the script
//! mode, so a script is an exact transcript of what a user would see.

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use streamlab_audio::buffer::TrackBuffer;
use streamlab_audio::player::{Player, PlayerState};
use streamlab_proto::{ClientEvent, Device, Dialect, PlayState, Request};

use crate::commands::{UserCommand, HELP};
use crate::connection::Connection;
pub use crate::render::status_line;
use crate::render::{describe, device_line, plural, shown, state_word};
use crate::ClientError;

/// How long to wait for an answer that needs no download to finish first.
const REPLY_TIMEOUT: Duration = Duration::from_secs(10);
/// How long to wait for a track to start: an earlier download may have to
/// finish first, since replies come in order.
const TRACK_TIMEOUT: Duration = Duration::from_secs(120);
/// How long a player control may take to apply (it is a channel message).
const SYNC_TIMEOUT: Duration = Duration::from_secs(5);
/// The longest `wait` waits for a song to end.
const WAIT_LIMIT: Duration = Duration::from_secs(30 * 60);

/// The playback controls that act on the player alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Control {
    Pause,
    Resume,
    Restart,
    Stop,
}

/// Whether to go on after a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    Continue,
    Quit,
}

/// A connected player.
pub struct App<W: Write> {
    conn: Connection,
    player: Player,
    /// The song `play` with no name plays.
    chosen: Option<String>,
    /// The last device list shown, for `listen N`.
    devices: Vec<Device>,
    /// The last song list, to spell names as the server does.
    songs: Vec<String>,
    /// What the server was last told we do.
    reported: PlayState,
    /// The device `listen N` follows, until another playback command.
    following: Option<Following>,
    out: W,
}

/// A device whose song this client plays along with.
#[derive(Debug, Clone)]
struct Following {
    ip: String,
    port: u16,
    song: String,
    /// When the device list was last asked for.
    asked: std::time::Instant,
}

/// How often a listener asks where the device it follows is.
pub const FOLLOW_EVERY: Duration = Duration::from_secs(2);

impl<W: Write> App<W> {
    pub fn new(conn: Connection, player: Player, out: W) -> Self {
        App {
            conn,
            player,
            chosen: None,
            devices: Vec::new(),
            songs: Vec::new(),
            reported: PlayState::Idle,
            following: None,
            out,
        }
    }

    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    pub fn player(&self) -> &Player {
        &self.player
    }

    pub fn chosen(&self) -> Option<&str> {
        self.chosen.as_deref()
    }

    /// The devices the last `devices` listed.
    pub fn devices(&self) -> &[Device] {
        &self.devices
    }

    /// The output, for tests that render into a buffer.
    pub fn output(&mut self) -> &mut W {
        &mut self.out
    }

    /// Runs one command. Errors that concern only this command (a song not
    /// found, a bad argument) are printed and do not stop the app; an error
    /// returned means the connection is unusable.
    pub fn execute(&mut self, cmd: UserCommand) -> Result<Flow, ClientError> {
        match self.run(cmd) {
            // A late answer is not fatal: the next request gets its own.
            Err(e @ ClientError::Timeout { .. }) => {
                self.say(&e.to_string());
                Ok(Flow::Continue)
            }
            other => other,
        }
    }

    fn run(&mut self, cmd: UserCommand) -> Result<Flow, ClientError> {
        if let Some(reason) = self.conn.closed_reason() {
            if cmd == UserCommand::Quit {
                self.say("the connection is already closed");
                return Ok(Flow::Quit);
            }
            return Err(ClientError::Closed(reason));
        }
        self.catch_up();
        // Choosing what to play stops following another device.
        if matches!(
            cmd,
            UserCommand::Play(_)
                | UserCommand::Change(_)
                | UserCommand::Stop
                | UserCommand::Restart
                | UserCommand::Listen(_)
        ) {
            self.following = None;
        }
        match cmd {
            UserCommand::Play(name) => self.play(name)?,
            UserCommand::Change(Some(name)) => self.play(Some(name))?,
            UserCommand::Change(None) => self.say("change needs a song name: change NAME"),
            UserCommand::Resume => self.control(Control::Resume),
            UserCommand::Pause => self.control(Control::Pause),
            UserCommand::Restart => self.control(Control::Restart),
            UserCommand::Stop => self.control(Control::Stop),
            UserCommand::Loop(on) => self.set_loop(on),
            UserCommand::List => self.list()?,
            UserCommand::Devices => self.show_devices()?,
            UserCommand::Listen(n) => self.listen(n)?,
            UserCommand::Quit => return self.quit(),
            UserCommand::Wait => self.wait(),
            UserCommand::Sleep(d) => self.sleep(d)?,
            UserCommand::Status => {
                let line = self.status_line();
                self.say(&line);
            }
            UserCommand::Help => self.say(HELP),
        }
        Ok(Flow::Continue)
    }

    fn say(&mut self, text: &str) {
        // Output goes to a terminal or a buffer; if stdout is gone there is
        // nobody to tell.
        let _ = writeln!(self.out, "{text}");
        let _ = self.out.flush();
    }

    /// Sends a request and waits for the reply to it.
    fn ask(&mut self, req: Request, timeout: Duration) -> Result<ClientEvent, ClientError> {
        // A song name may come from the server (`listen N`).
        let what = shown(streamlab_proto::client::framed_line(&req).trim_end());
        let id = self.conn.send(req)?;
        self.conn.answer(id, timeout).map_err(|e| match e {
            ClientError::Timeout { secs, .. } => ClientError::Timeout { what, secs },
            e => e,
        })
    }

    /// Tells the server what we do; it does not answer (original) or says
    /// OK, which the connection swallows (framed).
    fn report(&mut self, state: PlayState) {
        let song = self.chosen.clone();
        self.reported = state;
        // Where we are, so a listener can join there (the original dialect
        // has no room for it, and its encoding leaves it out).
        let secs = self.player.status().position_secs;
        let position_ms = (secs.is_finite() && secs >= 0.0).then_some((secs * 1000.0) as u64);
        let _ = self.conn.send(Request::Status {
            state,
            song,
            position_ms,
        });
    }

    /// A song that played to its end was last reported as playing: tell
    /// the server it stopped, so other devices' lists stay true.
    fn catch_up(&mut self) {
        let s = self.player.status().state;
        let over = matches!(s, PlayerState::Finished | PlayerState::Stopped);
        if self.reported == PlayState::Playing && over {
            self.report(PlayState::Stopped);
        }
    }

    /// Pause, resume, restart or stop: act at once, tell the server, and
    /// show the status line; refuse what makes no sense in this state.
    fn control(&mut self, c: Control) {
        let status = self.player.status();
        let active = matches!(status.state, PlayerState::Playing | PlayerState::Buffering);
        let refusal = match c {
            _ if status.song.is_none() => Some("nothing is playing (play NAME first)"),
            Control::Pause if !active => Some("nothing is playing"),
            Control::Resume if status.state != PlayerState::Paused => Some("not paused"),
            Control::Stop if !active && status.state != PlayerState::Paused => {
                Some("nothing is playing")
            }
            _ => None,
        };
        if let Some(why) = refusal {
            return self.say(why);
        }
        let state = match c {
            Control::Pause => {
                self.player.pause();
                PlayState::Paused
            }
            Control::Resume => {
                self.player.resume();
                PlayState::Playing
            }
            Control::Restart => {
                self.player.restart();
                PlayState::Playing
            }
            Control::Stop => {
                self.player.stop();
                PlayState::Stopped
            }
        };
        self.player.sync(SYNC_TIMEOUT);
        self.report(state);
        let line = self.status_line();
        self.say(&line);
    }

    fn set_loop(&mut self, on: Option<bool>) {
        let on = on.unwrap_or(!self.player.status().looping);
        if on && !self.player.realtime() {
            // A file or null output plays as fast as it can: a loop would
            // write without end.
            return self.say(
                "loop needs a real-time output (a speaker, or --realtime): this one would grow without end",
            );
        }
        self.player.set_loop(on);
        self.player.sync(SYNC_TIMEOUT);
        self.say(if on { "loop on" } else { "loop off" });
    }

    fn play(&mut self, name: Option<String>) -> Result<(), ClientError> {
        self.play_at(name, None)
    }

    /// Plays `name` (or the chosen song), from `at` into it if given.
    fn play_at(&mut self, name: Option<String>, at: Option<Duration>) -> Result<(), ClientError> {
        let Some(name) = name.or_else(|| self.chosen.clone()) else {
            self.say("no song chosen: play NAME (list shows the names)");
            return Ok(());
        };
        // The server matches names ignoring case; use its spelling when the
        // list is known (the original dialect never says it back).
        let name = self
            .songs
            .iter()
            .find(|s| s.to_lowercase() == name.to_lowercase())
            .cloned()
            .unwrap_or(name);
        let cached = self.cached(&name);
        let from_cache = cached.is_some();
        let buffer = match cached {
            Some(b) => b,
            None => match self.download(&name)? {
                Some(b) => b,
                None => return Ok(()),
            },
        };
        let song = buffer.name().to_string();
        self.chosen = Some(song.clone());
        match at {
            Some(at) => self.player.play_from(Arc::clone(&buffer), at),
            None => self.player.play(Arc::clone(&buffer)),
        }
        self.player.sync(SYNC_TIMEOUT);
        self.report(PlayState::Playing);
        let from = if from_cache {
            "from the cache"
        } else {
            "streaming"
        };
        let song = shown(&song);
        let start = at
            .map(|at| format!(", from {:.1} s", at.as_secs_f64()))
            .unwrap_or_default();
        self.say(&format!(
            "playing '{song}' ({}, {from}{start})",
            buffer.format()
        ));
        Ok(())
    }

    fn cached(&self, name: &str) -> Option<Arc<TrackBuffer>> {
        let cache = self.conn.cache().lock().unwrap_or_else(|p| p.into_inner());
        cache
            .get(&name.to_lowercase())
            .filter(|b| b.failure().is_none())
            .cloned()
    }

    /// Asks for a song; returns its buffer as soon as the first byte may
    /// arrive, or `None` (after saying why) when the server refused.
    fn download(&mut self, name: &str) -> Result<Option<Arc<TrackBuffer>>, ClientError> {
        // Replies come in order: a song still arriving goes first.
        if let Some(busy) = self.downloading() {
            let line = format!(
                "'{}' is still downloading; '{}' follows it",
                shown(busy.name()),
                shown(name)
            );
            self.say(&line);
        }
        let req = Request::Download { name: name.into() };
        match self.ask(req, TRACK_TIMEOUT)? {
            ClientEvent::TrackStart { name, .. } => {
                let buffer = self.cached(&name);
                if buffer.is_none() {
                    let why = self
                        .conn
                        .closed_reason()
                        .unwrap_or_else(|| "it failed".into());
                    let name = shown(&name);
                    // The session's reasons are already escaped.
                    self.say(&format!("the download of '{name}' failed: {why}"));
                }
                Ok(buffer)
            }
            ClientEvent::NotFound { message, .. } => {
                self.say(&shown(&message));
                Ok(None)
            }
            other => {
                self.say(&describe(&other));
                Ok(None)
            }
        }
    }

    /// A song whose download has started and not ended, if any.
    fn downloading(&self) -> Option<Arc<TrackBuffer>> {
        let cache = self.conn.cache().lock().unwrap_or_else(|p| p.into_inner());
        cache
            .values()
            .find(|b| !b.is_complete() && b.failure().is_none())
            .cloned()
    }

    fn list(&mut self) -> Result<(), ClientError> {
        match self.ask(Request::List, REPLY_TIMEOUT)? {
            ClientEvent::Songs(names) => {
                self.say(&format!("{}:", plural(names.len(), "song")));
                for n in &names {
                    self.say(&format!("  {}", shown(n)));
                }
                self.songs = names;
            }
            other => self.say(&describe(&other)),
        }
        Ok(())
    }

    fn show_devices(&mut self) -> Result<(), ClientError> {
        match self.ask(Request::Devices, REPLY_TIMEOUT)? {
            ClientEvent::Devices(devices) => {
                self.say(&format!("{}:", plural(devices.len(), "device")));
                let me = self.conn.local();
                for (i, d) in devices.iter().enumerate() {
                    let mut line = device_line(i + 1, d, me);
                    // `att_status` can only say "playing": an original
                    // server keeps a stopped client playing. Say so, rather
                    // than let the two dialects seem to disagree.
                    let mine = d.port == me.port() && d.ip == me.ip().to_string();
                    let stale = self.conn.dialect() == Dialect::Original
                        && d.state == PlayState::Playing
                        && self.reported != PlayState::Playing;
                    if mine && stale {
                        line.push_str(
                            "\n     (the server still says playing: the original dialect cannot \
                             report a stop; this client is not playing)",
                        );
                    }
                    self.say(&line);
                }
                self.devices = devices;
            }
            other => self.say(&describe(&other)),
        }
        Ok(())
    }

    fn listen(&mut self, n: usize) -> Result<(), ClientError> {
        if self.devices.is_empty() {
            self.show_devices()?;
        }
        let device = match self.devices.get(n.wrapping_sub(1)) {
            None => {
                let count = self.devices.len();
                self.say(&format!("no device {n}: there are {count}"));
                return Ok(());
            }
            Some(d) => d.clone(),
        };
        let Some(song) = device.song.clone() else {
            self.say(&format!("device {n} is not playing anything"));
            return Ok(());
        };
        // Join it where it is (a framed device that reports its position),
        // and follow it when it changes song.
        let at = device.position_ms.map(Duration::from_millis);
        self.play_at(Some(song.clone()), at)?;
        self.following = Some(Following {
            ip: device.ip.clone(),
            port: device.port,
            song,
            asked: std::time::Instant::now(),
        });
        Ok(())
    }

    /// `sleep`: waits, and keeps up with the device it follows meanwhile.
    fn sleep(&mut self, d: Duration) -> Result<(), ClientError> {
        let end = std::time::Instant::now() + d;
        loop {
            let now = std::time::Instant::now();
            if now >= end {
                return Ok(());
            }
            std::thread::sleep((end - now).min(Duration::from_millis(250)));
            if let Some(news) = self.follow_tick()? {
                self.say(&news);
            }
        }
    }

    /// When following a device and [`FOLLOW_EVERY`] has passed: asks the
    /// device list, and when the device plays another song, plays it too,
    /// from where the device is. Answers what changed, in a line.
    pub fn follow_tick(&mut self) -> Result<Option<String>, ClientError> {
        let Some(f) = &self.following else {
            return Ok(None);
        };
        if f.asked.elapsed() < FOLLOW_EVERY {
            return Ok(None);
        }
        let (ip, port, song) = (f.ip.clone(), f.port, f.song.clone());
        let devices = match self.ask(Request::Devices, REPLY_TIMEOUT)? {
            ClientEvent::Devices(d) => d,
            _ => return Ok(None),
        };
        if let Some(f) = &mut self.following {
            f.asked = std::time::Instant::now();
        }
        let Some(device) = devices.iter().find(|d| d.ip == ip && d.port == port) else {
            self.following = None;
            return Ok(Some(format!("{ip}:{port} left: no longer following it")));
        };
        match &device.song {
            Some(now) if *now != song && device.state == PlayState::Playing => {
                let at = device.position_ms.map(Duration::from_millis);
                let now = now.clone();
                let following = self.following.take();
                self.play_at(Some(now.clone()), at)?;
                self.following = following.map(|f| Following {
                    song: now.clone(),
                    ..f
                });
                Ok(Some(format!(
                    "{ip}:{port} changed to '{}': following",
                    shown(&now)
                )))
            }
            _ => Ok(None),
        }
    }

    fn quit(&mut self) -> Result<Flow, ClientError> {
        self.player.stop();
        match self.ask(Request::Quit, REPLY_TIMEOUT) {
            Ok(ClientEvent::Goodbye) => self.say("goodbye"),
            Ok(other) => self.say(&describe(&other)),
            Err(e) => self.say(&format!("no goodbye from the server: {e}")),
        }
        Ok(Flow::Quit)
    }

    fn wait(&mut self) {
        let status = self.player.status();
        if status.song.is_none() {
            return self.say("nothing is playing");
        }
        if status.looping && status.state != PlayerState::Finished {
            return self.say("loop is on: the song never ends (loop off, then wait)");
        }
        if status.state == PlayerState::Paused {
            return self.say("paused: the song cannot end (resume, then wait)");
        }
        self.player.wait_until_done(WAIT_LIMIT);
        let s = self.player.status();
        let song = shown(s.song.as_deref().unwrap_or_default());
        let line = match (&s.state, &s.last_error) {
            (_, Some(e)) => format!("playback of '{song}' failed: {e}"),
            // Stalls mean something only when playback keeps real time.
            (PlayerState::Finished, None) if self.player.realtime() => format!(
                "finished '{song}': {} bytes, {:.2} s, {} stalls",
                s.position_bytes, s.position_secs, s.stalls
            ),
            (PlayerState::Finished, None) => format!(
                "finished '{song}': {} bytes, {:.2} s",
                s.position_bytes, s.position_secs
            ),
            (state, None) => format!("'{song}' is {}", state_word(state)),
        };
        self.say(&line);
    }

    /// `playing ode_to_joy 1.2/4.8 s, downloading 42%`
    pub fn status_line(&self) -> String {
        let status = self.player.status();
        let download = status
            .song
            .as_deref()
            .and_then(|song| self.cached(song))
            .map(|b| (b.len(), b.expected_len(), b.is_complete()));
        status_line(&status, download)
    }
}
