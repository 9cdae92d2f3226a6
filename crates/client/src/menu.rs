//! The two ways to drive the client: the interactive menu and scripts.
//!
//! Both run commands through [`App::execute`], so they print the same
//! lines. A script echoes each command first (`> play RV`), which makes its
//! output a transcript that tests snapshot and labs quote.

use std::io::{BufRead, Write};

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

/// The interactive menu: draws the original menu, shows the status line in
/// the prompt, and asks for what a number needs (a song name, a device).
pub fn run_interactive<W: Write>(
    app: &mut App<W>,
    mut input: impl BufRead,
) -> Result<(), ClientError> {
    let _ = writeln!(app.output(), "{MENU}");
    loop {
        let prompt = format!("[{}] > ", app.status_line());
        let Some(line) = ask(app, &mut input, &prompt)? else {
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
                match ask(app, &mut input, "song name: ")? {
                    Some(n) if !n.trim().is_empty() => UserCommand::Play(Some(n.trim().into())),
                    _ => continue,
                }
            }
            UserCommand::Change(None) => match ask(app, &mut input, "new song name: ")? {
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
            pick_device(app, &mut input)?;
        }
    }
}

/// After a device list: a number plays that device's song. The prompt says
/// it is a question of its own, and Enter (or `b`) goes back; a number that
/// is no device is not taken as a menu command, and the answer says so.
/// Nothing is asked when no device is playing a song.
fn pick_device<W: Write>(app: &mut App<W>, input: &mut impl BufRead) -> Result<(), ClientError> {
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
    input: &mut impl BufRead,
    prompt: &str,
) -> Result<Option<String>, ClientError> {
    let _ = write!(app.output(), "{prompt}");
    let _ = app.output().flush();
    let mut line = String::new();
    match input.read_line(&mut line) {
        Ok(0) => Ok(None),
        Ok(_) => Ok(Some(line.trim_end_matches(['\r', '\n']).to_string())),
        Err(e) => Err(ClientError::Io(format!("reading the keyboard: {e}"))),
    }
}
