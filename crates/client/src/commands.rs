//! What a user can type: the original menu's numbers, or words.
//!
//! ```text
//!  1 play [NAME]     2 resume        3 restart       4 stop
//!  5 loop [on|off]   6 pause         7 list          8 change NAME
//!  9 devices        10 quit
//!  listen N          play the song device N plays (after `devices`)
//!  wait              block until the current song has finished playing
//!  sleep MS          pause the script for MS milliseconds
//!  status            print the status line
//!  help              this text
//! ```
//!
//! The numbers are the original *client's* menu. The original server gives
//! some of the same numbers other meanings (`10` lists devices, `9` quits);
//! this client always sends words, so that trap stays in the original.

use std::time::Duration;

/// One parsed user command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserCommand {
    Play(Option<String>),
    Resume,
    Restart,
    Stop,
    Loop(Option<bool>),
    Pause,
    List,
    Change(Option<String>),
    Devices,
    Quit,
    Listen(usize),
    Wait,
    Sleep(Duration),
    Status,
    Help,
}

/// The menu as the original client drew it (with our word for each entry).
pub const MENU: &str = concat!(
    " ____________________________________________________________\n",
    "|  1 Play       2 Resume     3 Restart    4 Stop             |\n",
    "|  5 Loop       6 Pause      7 List       8 Change song      |\n",
    "|  9 List devices           10 Quit      (or type: help)     |\n",
    "|____________________________________________________________|",
);

/// The help text for words.
pub const HELP: &str = "\
commands (number or word):
  1 play [NAME]    play NAME, or the chosen song
  2 resume         continue after pause
  3 restart        play the song again from the start
  4 stop           stop playing
  5 loop [on|off]  toggle (or set) looping
  6 pause          pause playback (the download goes on)
  7 list           list the server's songs
  8 change NAME    switch to another song (it follows a download in progress)
  9 devices        list connected clients and what they play
 10 quit           say goodbye to the server and leave
  listen N         play what device N plays (see devices)
  wait             wait until the current song ends
  sleep MS         wait MS milliseconds
  status           show playback and download progress";

impl UserCommand {
    /// Parses one command. Errors are one line, ready to print.
    pub fn parse(input: &str) -> Result<UserCommand, String> {
        let input = input.trim();
        let (word, rest) = match input.split_once(char::is_whitespace) {
            Some((w, r)) => (w, r.trim()),
            None => (input, ""),
        };
        let arg = (!rest.is_empty()).then(|| rest.to_string());
        let cmd = match word.to_ascii_lowercase().as_str() {
            "1" | "play" => UserCommand::Play(arg),
            "2" | "resume" => UserCommand::Resume,
            "3" | "restart" | "replay" => UserCommand::Restart,
            "4" | "stop" => UserCommand::Stop,
            "5" | "loop" => UserCommand::Loop(parse_switch(rest)?),
            "6" | "pause" => UserCommand::Pause,
            "7" | "list" | "lista" => UserCommand::List,
            "8" | "change" => UserCommand::Change(arg),
            "9" | "devices" | "lista_dispositivos" => UserCommand::Devices,
            "10" | "quit" | "exit" => UserCommand::Quit,
            "listen" => UserCommand::Listen(parse_number(rest, "listen needs a device number")?),
            "wait" => UserCommand::Wait,
            "sleep" => UserCommand::Sleep(Duration::from_millis(parse_number(
                rest,
                "sleep needs a number of milliseconds",
            )? as u64)),
            "status" | "s" => UserCommand::Status,
            "help" | "?" | "h" => UserCommand::Help,
            "" => return Err("empty command".into()),
            other => return Err(format!("unknown command '{other}' (type help)")),
        };
        Ok(cmd)
    }
}

fn parse_switch(rest: &str) -> Result<Option<bool>, String> {
    match rest.to_ascii_lowercase().as_str() {
        "" => Ok(None),
        "on" | "yes" | "true" => Ok(Some(true)),
        "off" | "no" | "false" => Ok(Some(false)),
        other => Err(format!("loop takes on or off, not '{other}'")),
    }
}

fn parse_number(rest: &str, missing: &str) -> Result<usize, String> {
    if rest.is_empty() {
        return Err(missing.to_string());
    }
    rest.parse()
        .map_err(|_| format!("'{rest}' is not a number"))
}

/// Splits a script (`"list; play RV; wait"`) into commands; `;` and line
/// ends separate them, `#` starts a comment.
pub fn split_script(script: &str) -> Vec<String> {
    script
        .lines()
        .map(|l| l.split('#').next().unwrap_or(""))
        .flat_map(|l| l.split(';'))
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(String::from)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_words_are_the_same_command() {
        let pairs = [
            ("1", "play"),
            ("2", "resume"),
            ("3", "restart"),
            ("4", "stop"),
            ("5", "loop"),
            ("6", "pause"),
            ("7", "list"),
            ("8", "change"),
            ("9", "devices"),
            ("10", "quit"),
        ];
        for (n, w) in pairs {
            assert_eq!(UserCommand::parse(n), UserCommand::parse(w), "{n} vs {w}");
        }
        assert_eq!(
            UserCommand::parse("play Ode To Joy"),
            Ok(UserCommand::Play(Some("Ode To Joy".into())))
        );
        assert_eq!(
            UserCommand::parse("loop off"),
            Ok(UserCommand::Loop(Some(false)))
        );
    }

    #[test]
    fn mistakes_get_one_line_errors() {
        assert_eq!(
            UserCommand::parse("dance"),
            Err("unknown command 'dance' (type help)".into())
        );
        assert_eq!(
            UserCommand::parse("listen"),
            Err("listen needs a device number".into())
        );
        assert_eq!(
            UserCommand::parse("sleep x"),
            Err("'x' is not a number".into())
        );
        assert_eq!(
            UserCommand::parse("loop maybe"),
            Err("loop takes on or off, not 'maybe'".into())
        );
    }

    #[test]
    fn scripts_split_on_semicolons_lines_and_comments() {
        let s = "list; play RV # the report's song\n\nwait;devices;quit";
        assert_eq!(
            split_script(s),
            vec!["list", "play RV", "wait", "devices", "quit"]
        );
    }
}
