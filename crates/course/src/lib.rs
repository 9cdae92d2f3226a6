//! The teacher's side of streamlab: a course for a hundred students.
//!
//! * [`student`]: a student's ID, and the pinned hash that turns it into
//!   numbers;
//! * [`variant`]: what differs between students — ports, songs, seeds,
//!   each lab's knob — so two students almost surely hand in different
//!   figures (a port is one of 30,000: in a class of 100 two share one
//!   about one time in seven; a seed is one of a million);
//! * [`checks`]: each lab's check of a hand-in (captures, transcripts, the
//!   experiment table, the conformance report, an answers file), every
//!   verdict with a one-line diagnosis;
//! * [`answers`]: the answer key, computed for one student's variant (never
//!   published), and the answers file a student hands in;
//! * [`grade`]: a folder of submissions graded in one go, written as CSV,
//!   JUnit XML and an HTML page.
//!
//! Everything a check needs to know is recomputed from the student's ID:
//! a simulated run is deterministic, so a student's capture or table must
//! equal the one the kit makes for that ID, byte for byte, and a real
//! capture must show the student's own port and song.

#![forbid(unsafe_code)]

use std::fmt;
use std::str::FromStr;

pub mod answers;
pub mod checks;
pub mod grade;
pub mod student;
pub mod variant;

pub use student::Student;
pub use variant::Variant;

/// Why a check could not be run at all (bad input of the teacher's, not a
/// failing verdict of the student's).
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum CourseError {
    #[error("{0}")]
    Student(String),
    #[error("no lab '{0}' (the labs are lab1, lab2, lab3, lab4 and lab5)")]
    Lab(String),
    #[error("{0}")]
    Submission(String),
    #[error("{0}")]
    Simulation(String),
    #[error("{0}")]
    Report(String),
}

/// The five labs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Lab {
    Lab1,
    Lab2,
    Lab3,
    Lab4,
    Lab5,
}

impl Lab {
    pub const ALL: [Lab; 5] = [Lab::Lab1, Lab::Lab2, Lab::Lab3, Lab::Lab4, Lab::Lab5];

    pub fn name(self) -> &'static str {
        match self {
            Lab::Lab1 => "lab1",
            Lab::Lab2 => "lab2",
            Lab::Lab3 => "lab3",
            Lab::Lab4 => "lab4",
            Lab::Lab5 => "lab5",
        }
    }

    /// What the lab's hand-in is, for help and errors.
    pub fn hand_in(self) -> &'static str {
        match self {
            Lab::Lab1 => "the script transcript (session.txt) and the capture of the same session",
            Lab::Lab2 => "your own capture of a session in the original dialect",
            Lab::Lab3 => "the framing captures (framing-original.pcapng, framing-framed.pcapng) and answers.txt",
            Lab::Lab4 => "the experiment table (table.csv) and answers.txt",
            Lab::Lab5 => "the conformance report of your server (conformance.json)",
        }
    }
}

impl fmt::Display for Lab {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Lab {
    type Err = CourseError;

    fn from_str(s: &str) -> Result<Lab, CourseError> {
        // "lab4", "Lab-04", "4".
        let t = s.trim().to_ascii_lowercase();
        let n = t
            .strip_prefix("lab")
            .unwrap_or(&t)
            .trim_start_matches(['-', '_', ' ']);
        let digits = !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit());
        match n.parse::<usize>() {
            Ok(n @ 1..=5) if digits => Ok(Lab::ALL[n - 1]),
            _ => Err(CourseError::Lab(s.to_string())),
        }
    }
}

/// One verdict of a check: what was looked for, whether it was there, and
/// a line saying where, or what is wrong and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Verdict {
    pub name: String,
    pub passed: bool,
    pub detail: String,
}

impl Verdict {
    pub fn pass(name: impl Into<String>, detail: impl Into<String>) -> Verdict {
        Verdict {
            name: name.into(),
            passed: true,
            detail: detail.into(),
        }
    }

    pub fn fail(name: impl Into<String>, detail: impl Into<String>) -> Verdict {
        Verdict {
            name: name.into(),
            passed: false,
            detail: detail.into(),
        }
    }

    /// `Ok(detail)` passes, `Err(detail)` fails.
    pub fn from(name: impl Into<String>, r: Result<String, String>) -> Verdict {
        match r {
            Ok(d) => Verdict::pass(name, d),
            Err(d) => Verdict::fail(name, d),
        }
    }
}

/// A lab's check of one student's hand-in.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Graded {
    pub student: String,
    pub lab: String,
    pub verdicts: Vec<Verdict>,
}

impl Graded {
    pub fn passed(&self) -> bool {
        self.verdicts.iter().all(|v| v.passed)
    }

    /// The names of the verdicts that failed, in order.
    pub fn failed_names(&self) -> Vec<&str> {
        self.verdicts
            .iter()
            .filter(|v| !v.passed)
            .map(|v| v.name.as_str())
            .collect()
    }

    pub fn score(&self) -> (usize, usize) {
        let passed = self.verdicts.iter().filter(|v| v.passed).count();
        (passed, self.verdicts.len())
    }

    /// The check as a person reads it: a line per verdict, then the score.
    pub fn render(&self) -> String {
        let mut s = format!("{} check of student {}:\n", self.lab, self.student);
        for v in &self.verdicts {
            let mark = if v.passed { "ok  " } else { "FAIL" };
            s += &format!("  {mark} {}: {}\n", v.name, v.detail);
        }
        let (p, n) = self.score();
        s += &format!("{p} of {n} passed\n");
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labs_are_named_loosely() {
        for (text, lab) in [
            ("lab4", Lab::Lab4),
            ("4", Lab::Lab4),
            ("Lab-05", Lab::Lab5),
            ("lab1", Lab::Lab1),
        ] {
            assert_eq!(text.parse::<Lab>(), Ok(lab), "{text}");
        }
        for bad in ["lab6", "", "lab", "labs", "b1", "lab0", "+4"] {
            assert!(bad.parse::<Lab>().is_err(), "{bad}");
        }
    }
}
