//! `streamlab analyze`: read a capture, report what a student looks for in
//! Wireshark (the report's questions A–E, the track markers, the TCP
//! events), and optionally write the transferred songs back as WAV files.
//!
//! The report is printed a connection at a time, as each finishes (see
//! `streamlab_analyzer::flows`), so memory does not grow with the number
//! of connections in the capture.
//!
//! Exit codes: 0 when the whole file was read; 1 when it could not be read
//! at all (a one-line error); 3 when it is cut off or damaged part-way —
//! the report of what was read is still printed, with a warning.

use std::cell::RefCell;
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::Duration;

use anyhow::{Context, Result};

use crate::exit::{self, Exit};
use crate::graphs::{self, Gathered, Plotter};
use crate::progress::{ProgressMode, ProgressReader};
use clap::Args;
use streamlab_analyzer::capture::Format;
use streamlab_analyzer::flows::{DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_CONNECTIONS};
use streamlab_analyzer::report::{self, Analysis, Connection, Filter, Limits, Options, Report};
use streamlab_analyzer::scan::{AudioOut, CapturedTrack};
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
// `--stream -1` is a value out of range, not an unknown flag `-1`.
#[command(allow_negative_numbers = true)]
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
    /// Draw each connection that carried data into DIR, as SVG files a
    /// browser opens: stream-N-time-sequence.svg (the server's bytes
    /// against time, with retransmissions, out-of-order segments, window
    /// probes, zero windows and the track markers) and
    /// stream-N-throughput.svg.
    #[arg(long, value_name = "DIR", conflicts_with = "check")]
    pub plot: Option<PathBuf>,
    /// Show how far the reading got, on stderr: `auto` draws a bar on a
    /// terminal for files of 256 MB or more; `always` draws it on a
    /// terminal and prints a line per tenth elsewhere.
    #[arg(long, value_enum, default_value_t = ProgressMode::Auto)]
    pub progress: ProgressMode,
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
    /// The most connections tracked at once; segments of connections
    /// beyond it are skipped, with a warning.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_CONNECTIONS as u64,
          value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    pub max_connections: u64,
    /// Seconds of capture time after which a silent connection is
    /// reported and forgotten (a later packet starts a new stream).
    #[arg(long, value_name = "SECS", default_value_t = DEFAULT_IDLE_TIMEOUT.as_secs(),
          value_parser = clap::value_parser!(u64).range(1..=31_536_000))]
    pub idle_timeout: u64,
}

pub fn run(args: AnalyzeArgs) -> Result<()> {
    let name = args.file.display().to_string();
    // `-` is standard input: `tcpdump -w - | streamlab analyze -`.
    let (input, size): (Box<dyn Read>, Option<u64>) = if name == "-" {
        (Box::new(std::io::stdin().lock()), None)
    } else {
        let file = File::open(&args.file).with_context(|| format!("opening {name}"))?;
        // A pipe or a FIFO named on the command line has no size.
        let size = file
            .metadata()
            .ok()
            .filter(|m| m.is_file() && m.len() > 0)
            .map(|m| m.len());
        (Box::new(file), size)
    };
    let mut input = ProgressReader::new(input, &format!("reading {name}"), size, args.progress);
    let result = analyze(&args, &name, BufReader::new(&mut input));
    if result.is_ok() {
        input.finish();
    }
    result
}

fn analyze(args: &AnalyzeArgs, name: &str, input: impl Read) -> Result<()> {
    let options = options(args);
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
    if let Some(check) = &args.check {
        let mut grader = Grader::default();
        let analysis = report::analyze_into(name, input, &options, &mut outs, &mut grader)
            .with_context(|| format!("reading {name}"))?;
        return grade(&analysis, name, check, grader.0.finish());
    }
    let style = match (args.json, args.follow) {
        (true, _) => Style::Json,
        (_, true) => Style::Follow,
        _ => Style::Text,
    };
    if let Some(dir) = &args.plot {
        graphs::make_dir(dir)?;
    }
    let mut printer = Printer {
        style,
        out: BufWriter::new(std::io::stdout().lock()),
        count: 0,
        failed: None,
    };
    let (analysis, plotted) = match &args.plot {
        Some(dir) => {
            let mut plotter = Plotter {
                dir: dir.clone(),
                gathered: Gathered::default(),
                inner: &mut printer,
                written: Vec::new(),
                failed: None,
            };
            let analysis = report::analyze_into(name, input, &options, &mut outs, &mut plotter)
                .with_context(|| format!("reading {name}"))?;
            (analysis, Some((plotter.written, plotter.failed)))
        }
        None => {
            let analysis = report::analyze_into(name, input, &options, &mut outs, &mut printer)
                .with_context(|| format!("reading {name}"))?;
            (analysis, None)
        }
    };
    printer.finish(&analysis).context("writing the report")?;
    if let Some((written, failed)) = plotted {
        if let Some(e) = failed {
            return Err(e.context("drawing the plots"));
        }
        for path in &written {
            eprintln!("plot written to {} (open it in a browser)", path.display());
        }
        if written.is_empty() {
            eprintln!("no plot: no connection in {name} carried data");
        }
    }
    let extracted = extracted.take();
    report_extraction(&extracted, args.json)?;
    damage(&analysis, name)
}

/// The filters and bounds the flags ask for.
fn options(args: &AnalyzeArgs) -> Options {
    Options {
        filter: Filter {
            stream: args.stream,
            port: args.port,
        },
        limits: Limits {
            // At most 10,000,000 (the flag's range): it fits a usize.
            max_connections: usize::try_from(args.max_connections).unwrap_or(usize::MAX),
            idle_timeout: Duration::from_secs(args.idle_timeout),
            ..Limits::default()
        },
    }
}

/// `--check`: prints the grade; exit 4 if something is missing.
fn grade(analysis: &Analysis, name: &str, check: &str, grade: report::check::Grade) -> Result<()> {
    print!("{}", report::check::render(analysis, check, &grade));
    damage(analysis, name)?;
    if !grade.passed() {
        let missing = grade.items.iter().filter(|i| i.found.is_err()).count();
        return Err(Exit::new(
            exit::CHECKS_FAILED,
            format!("{name}: {missing} thing(s) missing for {check}"),
        )
        .into());
    }
    Ok(())
}

/// Grades each connection as it finishes (`--check`).
#[derive(Default)]
struct Grader(report::check::Lab2);

impl Report for Grader {
    fn begin(&mut self, _: &str, _: Format) {}
    fn connection(&mut self, c: Connection, _: Option<u64>) {
        self.0.grade(&c);
    }
}

/// The ways to print a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Style {
    Text,
    Json,
    Follow,
}

/// Prints each connection as it finishes, then forgets it.
struct Printer<W: Write> {
    style: Style,
    out: W,
    /// Connections printed.
    count: u64,
    /// The first write that failed; nothing is written after it.
    failed: Option<std::io::Error>,
}

impl<W: Write> Printer<W> {
    fn write(&mut self, text: &str) {
        if self.failed.is_none() {
            self.failed = self.out.write_all(text.as_bytes()).err();
        }
    }

    /// The end of the report, once the whole file is read.
    fn finish(mut self, a: &Analysis) -> std::io::Result<()> {
        let tail = match self.style {
            Style::Text => report::text::tail(a),
            Style::Json => report::json::tail(a),
            Style::Follow => String::new(),
        };
        self.write(&tail);
        match self.failed.take() {
            Some(e) => Err(e),
            None => self.out.flush(),
        }
    }
}

impl<W: Write> Report for Printer<W> {
    fn begin(&mut self, file: &str, format: Format) {
        let head = match self.style {
            Style::Text => report::text::head(file, format),
            Style::Json => report::json::head(file, format),
            Style::Follow => String::new(),
        };
        self.write(&head);
    }

    fn connection(&mut self, c: Connection, start_ns: Option<u64>) {
        let text = match self.style {
            Style::Text => report::text::connection(&c, start_ns),
            Style::Json => report::json::connection(&c, start_ns, self.count == 0),
            Style::Follow => report::follow::connection(&c),
        };
        self.count += 1;
        self.write(&text);
    }
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
    fn start(&mut self, index: usize, track: &CapturedTrack) {
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

    fn end(&mut self, _index: usize, _track: &CapturedTrack) {
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
