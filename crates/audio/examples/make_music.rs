//! Writes the bundled songs as WAV files.
//!
//! ```text
//! cargo run -p streamlab-audio --example make_music -- music
//! ```
//!
//! The output is the same on every machine; the test
//! `bundled_music_is_up_to_date` fails when `music/` is out of date.

use std::path::PathBuf;
use std::process::ExitCode;

use streamlab_audio::synth::write_bundled;

fn main() -> ExitCode {
    let dir = PathBuf::from(std::env::args_os().nth(1).unwrap_or_else(|| "music".into()));
    match write_bundled(&dir) {
        Ok(paths) => {
            for path in paths {
                let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
                println!("{} ({size} bytes)", path.display());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("make_music: {e}");
            ExitCode::FAILURE
        }
    }
}
