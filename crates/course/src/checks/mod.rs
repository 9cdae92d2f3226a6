//! Each lab's check of one student's hand-in.
//!
//! A hand-in is a list of files; each is told apart by what it holds (a
//! capture by its magic number, the experiment table by its header, the
//! conformance report by its schema, `answers.txt` by its name, anything
//! else that is text as a transcript), so the order and the file names
//! do not matter, except for the answers.
//!
//! A check does not take the student's word for which variant a file is:
//! simulated files are compared with the kit's own run for the student's
//! ID, byte for byte; real captures must show the student's port and song.
//! A file that is right for someone else says so in one line. Lab 5's
//! report is the exception: it is read as it is, and a JSON file is easy
//! to edit, so a teacher who needs certainty runs the checker on the
//! student's server (`streamlab conformance server --exec`).

use std::path::{Path, PathBuf};

use crate::{CourseError, Graded, Lab, Variant, Verdict};

pub mod capture;
mod lab1;
mod lab3;
mod lab4;
mod lab5;

/// What a check needs besides the files: where the bundled songs are.
#[derive(Debug, Clone)]
pub struct Context {
    pub music: PathBuf,
}

/// What a file of the hand-in is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Capture,
    Table,
    Report,
    Answers,
    Transcript,
}

impl Kind {
    /// The kind as a noun, without an article: "capture".
    fn noun(self) -> &'static str {
        match self {
            Kind::Capture => "capture",
            Kind::Table => "experiment table",
            Kind::Report => "conformance report",
            Kind::Answers => "answers.txt",
            Kind::Transcript => "transcript",
        }
    }
}

/// One file of a hand-in.
#[derive(Debug, Clone)]
pub struct Input {
    pub path: PathBuf,
    pub kind: Kind,
    pub bytes: Vec<u8>,
}

impl Input {
    pub fn name(&self) -> String {
        self.path.file_name().map_or_else(
            || self.path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        )
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }
}

/// The most bytes read of one file (a capture of a whole lab session is a
/// few MB).
pub const MAX_FILE: u64 = 512 << 20;

/// Reads and sorts the hand-in's files; a file that cannot be read, or is
/// none of the kinds, is an error naming it.
pub fn read_inputs(files: &[PathBuf]) -> Result<Vec<Input>, CourseError> {
    files.iter().map(|p| read_input(p)).collect()
}

fn read_input(path: &Path) -> Result<Input, CourseError> {
    let fail = |why: String| CourseError::Submission(format!("{}: {why}", path.display()));
    let size = std::fs::metadata(path)
        .map_err(|e| fail(e.to_string()))?
        .len();
    if size > MAX_FILE {
        return Err(fail(format!(
            "{size} bytes: larger than any hand-in ({MAX_FILE} at most)"
        )));
    }
    let bytes = std::fs::read(path).map_err(|e| fail(e.to_string()))?;
    let kind = classify(path, &bytes).ok_or_else(|| {
        fail("neither a capture, the experiment table, a conformance report, answers.txt nor a text transcript".into())
    })?;
    Ok(Input {
        path: path.to_path_buf(),
        kind,
        bytes,
    })
}

/// What `bytes` (from `path`) are, if anything a check reads.
pub fn classify(path: &Path, bytes: &[u8]) -> Option<Kind> {
    const MAGICS: [[u8; 4]; 5] = [
        [0x0a, 0x0d, 0x0d, 0x0a],
        [0xa1, 0xb2, 0xc3, 0xd4],
        [0xd4, 0xc3, 0xb2, 0xa1],
        [0xa1, 0xb2, 0x3c, 0x4d],
        [0x4d, 0x3c, 0xb2, 0xa1],
    ];
    if bytes.len() >= 4 && MAGICS.iter().any(|m| bytes[..4] == m[..]) {
        return Some(Kind::Capture);
    }
    let text = std::str::from_utf8(bytes).ok()?;
    let name = path.file_name()?.to_string_lossy().to_ascii_lowercase();
    if name.starts_with("answers") {
        return Some(Kind::Answers);
    }
    if text.starts_with("bandwidth_bps,") {
        return Some(Kind::Table);
    }
    if text.trim_start().starts_with('{') {
        return Some(Kind::Report);
    }
    Some(Kind::Transcript)
}

/// The files of one kind.
pub fn of_kind(inputs: &[Input], kind: Kind) -> Vec<&Input> {
    inputs.iter().filter(|i| i.kind == kind).collect()
}

/// A failing verdict when the hand-in has no file of `kind`.
pub fn missing(kind: Kind, how: &str) -> Verdict {
    Verdict::fail(
        format!("{} handed in", kind.noun()),
        format!("no {} among the files; {how}", kind.noun()),
    )
}

/// Runs `lab`'s check of `files` for the student of `variant`.
pub fn check(
    lab: Lab,
    variant: &Variant,
    files: &[PathBuf],
    cx: &Context,
) -> Result<Graded, CourseError> {
    check_inputs(lab, variant, &read_inputs(files)?, cx)
}

/// [`check`] over files already read.
pub fn check_inputs(
    lab: Lab,
    variant: &Variant,
    inputs: &[Input],
    cx: &Context,
) -> Result<Graded, CourseError> {
    let verdicts = match lab {
        Lab::Lab1 => lab1::check(variant, inputs),
        Lab::Lab2 => capture::lab2(variant, inputs),
        Lab::Lab3 => lab3::check(variant, inputs, cx)?,
        Lab::Lab4 => lab4::check(variant, inputs, cx)?,
        Lab::Lab5 => lab5::check(variant, inputs),
    };
    Ok(Graded {
        student: variant.student.to_string(),
        lab: lab.name().to_string(),
        verdicts,
    })
}

pub use lab3::{framing_runs, FramingRun};
pub use lab4::{least_stall_free_mbps, lossy_figures, starved_figures, student_table, table};
pub use lab5::check_verdicts as lab5_verdicts;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_told_apart_by_what_they_hold() {
        let p = |n: &str| PathBuf::from(n);
        assert_eq!(
            classify(&p("x.bin"), &[0x0a, 0x0d, 0x0d, 0x0a, 1]),
            Some(Kind::Capture)
        );
        assert_eq!(
            classify(&p("x"), &[0xd4, 0xc3, 0xb2, 0xa1]),
            Some(Kind::Capture)
        );
        assert_eq!(
            classify(&p("t.csv"), b"bandwidth_bps,loss\n"),
            Some(Kind::Table)
        );
        assert_eq!(
            classify(&p("c.json"), b"  {\"schema\": 1}"),
            Some(Kind::Report)
        );
        assert_eq!(classify(&p("Answers.txt"), b"q: 1\n"), Some(Kind::Answers));
        assert_eq!(
            classify(&p("session.txt"), b"> list\n"),
            Some(Kind::Transcript)
        );
        assert_eq!(classify(&p("song.wav"), &[0xff, 0xfe, 0x00, 0x80]), None);
    }
}
