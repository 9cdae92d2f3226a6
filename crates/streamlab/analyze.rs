//! `streamlab analyze`: read a capture, report what a student looks for in
//! Wireshark (the report's questions A–E, the track markers, the TCP
//! events), and optionally write the transferred songs back as WAV files.
//!
//! Exit codes: 0 when the whole file was read; 1 when it could not be read
//! at all (a one-line error); 3 when it is cut off or damaged part-way —
//! the report of what was read is still printed, with a warning.

use std::cell::RefCell;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};
use std::rc::Rc;

use anyhow::{Context, Result};

use crate::exit::{self, Exit};
use clap::Args;
use streamlab_analyzer::report::{self, Analysis, Filter};
use streamlab_analyzer::scan::{AudioOut, Track};
use streamlab_analyzer::stream::ConnInfo;
use streamlab_audio::wav::WavFileWriter;
use streamlab_proto::PcmFormat;

/// Shown after `streamlab analyze --help`.
pub const EXIT_HELP: &str = "\
Exit status: 0 the whole file was read; 1 it could not be read at all (not a
capture, cannot open: one line on stderr); 3 it is cut off or damaged
part-way (the report covers what was read); 4 --check found something
missing. The JSON schema is in docs/analyze-json.md.";

#[derive(Debug, Args)]
pub struct AnalyzeArgs {
    /// The capture: pcap or pcapng, from Wireshark, tshark, dumpcap,
    /// tcpdump or `streamlab sim` (`-` reads standard input).
    pub file: PathBuf,
    /// Print JSON (schema streamlab-analyze/1, see docs/analyze-json.md).
    #[arg(long, conflicts_with = "follow")]
    pub json: bool,
    /// Print each conversation as Wireshark's Follow TCP Stream shows it,
    /// with the audio elided.
    #[arg(long)]
    pub follow: bool,
    /// Write each transferred track into DIR as a WAV file (the framed
    /// dialect's format; CD audio for the original dialect).
    #[arg(long, value_name = "DIR")]
    pub extract: Option<PathBuf>,
    /// Only this TCP stream (Wireshark's tcp.stream number).
    #[arg(long, value_name = "N")]
    pub stream: Option<u64>,
    /// Only connections with this port on either side.
    #[arg(long, value_name = "PORT")]
    pub port: Option<u16>,
    /// Grade the capture for a lab instead of reporting it: `lab2` checks
    /// for the handshake, a list and its reply, a complete download and
    /// quit/goodbye, and names what is missing (exit code 4 if anything is;
    /// 3 if the capture itself is cut off).
    #[arg(long, value_name = "LAB", value_parser = ["lab2"], conflicts_with_all = ["json", "follow"])]
    pub check: Option<String>,
}

pub fn run(args: AnalyzeArgs) -> Result<()> {
    let name = args.file.display().to_string();
    // `-` is standard input: `tcpdump -w - | streamlab analyze -`.
    let input: Box<dyn Read> = if name == "-" {
        Box::new(std::io::stdin().lock())
    } else {
        Box::new(File::open(&args.file).with_context(|| format!("opening {name}"))?)
    };
    let filter = Filter {
        stream: args.stream,
        port: args.port,
    };
    let extracted: Rc<RefCell<Vec<Extracted>>> = Rc::default();
    let mut outs = |info: &ConnInfo| -> Option<Box<dyn AudioOut>> {
        let dir = args.extract.as_ref()?;
        Some(Box::new(Extractor {
            dir: dir.clone(),
            stream: info.stream,
            writer: None,
            done: extracted.clone(),
        }))
    };
    let analysis = report::analyze(&name, BufReader::new(input), &filter, &mut outs)
        .with_context(|| format!("reading {name}"))?;
    if let Some(check) = &args.check {
        let grade = report::check::lab2(&analysis);
        print!("{}", report::check::render(&analysis, check, &grade));
        damage(&analysis, &name)?;
        if !grade.passed() {
            let missing = grade.items.iter().filter(|i| i.found.is_err()).count();
            return Err(Exit::new(
                exit::CHECKS_FAILED,
                format!("{name}: {missing} thing(s) missing for {check}"),
            )
            .into());
        }
        return Ok(());
    }
    let out = if args.json {
        report::json::render(&analysis)
    } else if args.follow {
        report::follow::render(&analysis)
    } else {
        report::text::render(&analysis)
    };
    print!("{out}");
    let extracted = extracted.take();
    report_extraction(&extracted, args.json)?;
    damage(&analysis, &name)
}

/// Exit 3 ([`exit::DAMAGED`]) if the file was read only in part.
fn damage(a: &Analysis, name: &str) -> Result<()> {
    match &a.stopped {
        None => Ok(()),
        Some(e) => Err(Exit::new(
            exit::DAMAGED,
            format!(
                "{name}: {e}; the report covers the {} frames read",
                a.frames
            ),
        )
        .into()),
    }
}

fn report_extraction(done: &[Extracted], json: bool) -> Result<()> {
    for e in done {
        if let Some(err) = &e.error {
            anyhow::bail!("extracting a track: {err}");
        }
        if !json {
            println!("extracted {} ({} B of audio)", e.path.display(), e.bytes);
        }
    }
    Ok(())
}

/// One WAV file written.
struct Extracted {
    path: PathBuf,
    bytes: u64,
    error: Option<String>,
}

/// Writes one connection's tracks, each to its own WAV file.
struct Extractor {
    dir: PathBuf,
    stream: u64,
    writer: Option<WavFileWriter>,
    done: Rc<RefCell<Vec<Extracted>>>,
}

impl Extractor {
    fn fail(&mut self, path: &Path, error: String) {
        self.writer = None;
        self.done.borrow_mut().push(Extracted {
            path: path.to_path_buf(),
            bytes: 0,
            error: Some(error),
        });
    }
}

impl AudioOut for Extractor {
    fn start(&mut self, index: usize, track: &Track) {
        let name = safe_name(track.name.as_deref().unwrap_or("track"));
        let path = self
            .dir
            .join(format!("stream{}-{}-{name}.wav", self.stream, index + 1));
        if let Err(e) = std::fs::create_dir_all(&self.dir) {
            return self.fail(&path, format!("creating {}: {e}", self.dir.display()));
        }
        // The original dialect sends CD audio without saying so.
        let format = track.format.unwrap_or(PcmFormat::CD);
        match WavFileWriter::create(&path, format) {
            Ok(w) => self.writer = Some(w),
            Err(e) => self.fail(&path, e.to_string()),
        }
    }

    fn audio(&mut self, _index: usize, bytes: &[u8]) {
        if let Some(w) = &mut self.writer {
            if let Err(e) = w.write(bytes) {
                let path = w.path().to_path_buf();
                self.fail(&path, e.to_string());
            }
        }
    }

    fn end(&mut self, _index: usize, _track: &Track) {
        let Some(w) = self.writer.take() else { return };
        let path = w.path().to_path_buf();
        let bytes = w.data_len();
        let error = w.finish().err().map(|e| e.to_string());
        self.done
            .borrow_mut()
            .push(Extracted { path, bytes, error });
    }
}

/// A song name as a file name: letters, digits, `-`, `_` and `.` kept,
/// anything else `_`, at most 64 characters.
fn safe_name(name: &str) -> String {
    let s: String = name
        .chars()
        .take(64)
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.is_empty() || s.starts_with('.') {
        format!("track{s}")
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn song_names_become_safe_file_names() {
        assert_eq!(safe_name("ode_to_joy"), "ode_to_joy");
        assert_eq!(safe_name("my song/../x"), "my_song_.._x");
        assert_eq!(safe_name(".."), "track..");
        assert_eq!(safe_name(""), "track");
    }
}
