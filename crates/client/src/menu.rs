//! The two ways to drive the client: the interactive menu and scripts.
//!
//! Both run commands through [`App::execute`], so they print the same
//! lines. A script echoes each command first (`> play RV`), which makes its
//! output a transcript that tests snapshot and labs quote.

use std::io::{BufRead, Write};
use std::sync::mpsc;
use std::time::Duration;

use crate::app::{App, Flow};
use crate::commands::{split_script, UserCommand, MENU};
use crate::ClientError;

/// Parses a whole script before anything runs, so a typo in the last
/// command does not leave a half-run session behind.
pub fn parse_script(script: &str) -> Result<Vec<UserCommand>, ClientError> {
    split_script(script)
        .iter()
        .enumerate()
        .map(|(i, text)| {
            UserCommand::parse(text)
                .map_err(|e| ClientError::Script(format!("command {} ({text:?}): {e}", i + 1)))
        })
        .collect()
}

/// Runs parsed commands in order, echoing each; stops after `quit`.
pub fn run_script<W: Write>(app: &mut App<W>, script: &str) -> Result<(), ClientError> {
    let texts = split_script(script);
    let commands = parse_script(script)?;
    for (text, cmd) in texts.iter().zip(commands) {
        let _ = writeln!(app.output(), "> {text}");
        if app.execute(cmd)? == Flow::Quit {
            break;
        }
    }
    Ok(())
}

/// Runs commands read line by line from a non-terminal input (a pipe), as
/// a script: each line is echoed and run as soon as it is read. At the end
/// of the input the client says goodbye, as if `quit` had been typed.
pub fn run_lines<W: Write>(app: &mut App<W>, input: impl BufRead) -> Result<(), ClientError> {
    for line in input.lines() {
        let line = line.map_err(|e| ClientError::Io(format!("reading commands: {e}")))?;
        for text in split_script(&line) {
            let _ = writeln!(app.output(), "> {text}");
            match UserCommand::parse(&text) {
                Ok(cmd) => {
                    if app.execute(cmd)? == Flow::Quit {
                        return Ok(());
                    }
                }
                Err(e) => {
                    // Leave politely, then fail: a bad command is an error.
                    app.execute(UserCommand::Quit)?;
                    return Err(ClientError::Script(format!("{text:?}: {e}")));
                }
            }
        }
    }
    let _ = writeln!(app.output(), "> (end of input) quit");
    app.execute(UserCommand::Quit).map(|_| ())
}

/// Where the interactive menu's lines come from: a reader, or the keyboard
/// read on a thread of its own ([`Keyboard`]) so that the status line can
/// be redrawn while nobody types.
pub trait Lines {
    /// The next line (without its line break), `None` at the end of input.
    /// While waiting, calls `tick` now and then, if this source can.
    fn next_line(&mut self, tick: &mut dyn FnMut()) -> std::io::Result<Option<String>>;
}

impl<R: BufRead> Lines for R {
    fn next_line(&mut self, _tick: &mut dyn FnMut()) -> std::io::Result<Option<String>> {
        let mut line = String::new();
        match self.read_line(&mut line)? {
            0 => Ok(None),
            _ => Ok(Some(line.trim_end_matches(['\r', '\n']).to_string())),
        }
    }
}

/// How often a live status line is redrawn.
pub const TICK: Duration = Duration::from_millis(250);

/// The keyboard, read line by line on a thread of its own; the menu waits
/// for a line at most [`TICK`] at a time and redraws the status between.
/// (The thread stays blocked in `read` when the menu ends: the process is
/// ending too.)
pub struct Keyboard {
    lines: mpsc::Receiver<std::io::Result<String>>,
}

impl Keyboard {
    pub fn spawn<R: BufRead + Send + 'static>(input: R) -> Keyboard {
        let (tx, lines) = mpsc::channel();
        std::thread::Builder::new()
            .name("keyboard".into())
            .spawn(move || {
                for line in input.lines() {
                    let failed = line.is_err();
                    if tx.send(line).is_err() || failed {
                        break;
                    }
                }
            })
            .map(|_| ())
            .unwrap_or_else(|e| tracing::warn!("no keyboard thread: {e}"));
        Keyboard { lines }
    }
}

impl Lines for Keyboard {
    fn next_line(&mut self, tick: &mut dyn FnMut()) -> std::io::Result<Option<String>> {
        loop {
            match self.lines.recv_timeout(TICK) {
                Ok(line) => return line.map(|l| Some(l.trim_end_matches('\r').to_string())),
                Err(mpsc::RecvTimeoutError::Timeout) => tick(),
                Err(mpsc::RecvTimeoutError::Disconnected) => return Ok(None),
            }
        }
    }
}

/// The interactive menu: draws the original menu, shows the status line in
/// the prompt, and asks for what a number needs (a song name, a device).
pub fn run_interactive<W: Write>(
    app: &mut App<W>,
    mut input: impl BufRead,
) -> Result<(), ClientError> {
    run_menu_with(app, &mut input, false)
}

/// The menu on a terminal: the status line stands on its own line above
/// the prompt and is redrawn in place while the menu waits for a key
/// (download %, seconds buffered, the playing position), with the
/// terminal's save-cursor, up and restore-cursor sequences, so what the
/// person is typing is left alone.
pub fn run_live<W: Write>(app: &mut App<W>, keyboard: &mut Keyboard) -> Result<(), ClientError> {
    run_menu_with(app, keyboard, true)
}

/// The menu over any source of lines; `live` as in [`run_live`].
pub fn run_menu_with<W: Write>(
    app: &mut App<W>,
    input: &mut dyn Lines,
    live: bool,
) -> Result<(), ClientError> {
    let _ = writeln!(app.output(), "{MENU}");
    loop {
        let prompt = if live {
            format!("[{}]\n> ", app.status_line())
        } else {
            format!("[{}] > ", app.status_line())
        };
        let Some(line) = ask_live(app, input, &prompt, live)? else {
            // End of input (Ctrl-D): leave politely.
            app.execute(UserCommand::Quit)?;
            return Ok(());
        };
        if line.trim().is_empty() {
            continue;
        }
        let cmd = match UserCommand::parse(&line) {
            Ok(c) => c,
            Err(e) => {
                let _ = writeln!(app.output(), "{e}");
                continue;
            }
        };
        let cmd = match cmd {
            UserCommand::Play(None) if app.chosen().is_none() => {
                match ask(app, input, "song name: ")? {
                    Some(n) if !n.trim().is_empty() => UserCommand::Play(Some(n.trim().into())),
                    _ => continue,
                }
            }
            UserCommand::Change(None) => match ask(app, input, "new song name: ")? {
                Some(n) if !n.trim().is_empty() => UserCommand::Change(Some(n.trim().into())),
                _ => continue,
            },
            c => c,
        };
        let is_devices = cmd == UserCommand::Devices;
        if app.execute(cmd)? == Flow::Quit {
            return Ok(());
        }
        if is_devices {
            pick_device(app, input)?;
        }
    }
}

/// The bytes that redraw the line above the cursor with `status` and put
/// the cursor back where it was: save (ESC 7), up one line, clear it,
/// write, restore (ESC 8).
pub fn redraw_above(status: &str) -> String {
    format!("\x1b7\x1b[1A\r\x1b[2K[{}]\x1b8", fit(status, width()))
}

/// The terminal's width in columns, from `COLUMNS` when the shell exports
/// it, else 80.
fn width() -> usize {
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<usize>().ok())
        .filter(|&c| c >= 20)
        .unwrap_or(80)
}

/// `status` cut to fit one line of `columns` with its brackets, ending in
/// `…` when cut: a line that wrapped would put the redraw on the wrong
/// line.
fn fit(status: &str, columns: usize) -> String {
    let room = columns.saturating_sub(3);
    if status.chars().count() <= room {
        return status.to_string();
    }
    let mut cut: String = status.chars().take(room.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// After a device list: a number plays that device's song. The prompt says
/// it is a question of its own, and Enter (or `b`) goes back; a number that
/// is no device is not taken as a menu command, and the answer says so.
/// Nothing is asked when no device is playing a song.
fn pick_device<W: Write>(app: &mut App<W>, input: &mut dyn Lines) -> Result<(), ClientError> {
    let count = app.devices().len();
    if !app.devices().iter().any(|d| d.song.is_some()) {
        return Ok(());
    }
    let prompt = format!("  which device's song to play? 1-{count}, or Enter for the menu: ");
    let Some(answer) = ask(app, input, &prompt)? else {
        return Ok(());
    };
    let back = |app: &mut App<W>, why: String| {
        let _ = writeln!(app.output(), "{why}; back at the menu");
        Ok(())
    };
    match answer.trim() {
        "" | "b" | "back" | "n" | "N" => Ok(()),
        n => match n.parse::<usize>() {
            Ok(i) if (1..=count).contains(&i) => app.execute(UserCommand::Listen(i)).map(|_| ()),
            Ok(i) => back(
                app,
                format!("no device {i} (there are {count}), so nothing was done with it"),
            ),
            Err(_) => back(app, format!("'{n}' is not a device number")),
        },
    }
}

/// Prints a prompt and reads one line; `None` at end of input.
fn ask<W: Write>(
    app: &mut App<W>,
    input: &mut dyn Lines,
    prompt: &str,
) -> Result<Option<String>, ClientError> {
    ask_live(app, input, prompt, false)
}

/// [`ask`]; when `live`, the line above the prompt is the status line, and
/// it is redrawn whenever it changes while the person has not answered.
fn ask_live<W: Write>(
    app: &mut App<W>,
    input: &mut dyn Lines,
    prompt: &str,
    live: bool,
) -> Result<Option<String>, ClientError> {
    let _ = write!(app.output(), "{prompt}");
    let _ = app.output().flush();
    let mut shown = app.status_line();
    let mut tick = || {
        if !live {
            return;
        }
        // Keep up with a device this client listens along with; what
        // changed shows in the status line.
        let _ = app.follow_tick();
        let now = app.status_line();
        if now != shown {
            let _ = write!(app.output(), "{}", redraw_above(&now));
            let _ = app.output().flush();
            shown = now;
        }
    };
    input
        .next_line(&mut tick)
        .map_err(|e| ClientError::Io(format!("reading the keyboard: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_status_is_cut_to_one_line() {
        assert_eq!(fit("playing RV 1.0/2.0 s", 80), "playing RV 1.0/2.0 s");
        let long = "x".repeat(200);
        let cut = fit(&long, 40);
        assert_eq!(cut.chars().count(), 37);
        assert!(cut.ends_with('…'));
        assert!(redraw_above(&long).chars().count() < 100);
    }
}
