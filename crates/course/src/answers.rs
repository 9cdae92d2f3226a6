//! The answer key, computed for one student's variant, and the answers
//! file a student hands in.
//!
//! The key is never published: `streamlab check labN --student ID
//! --answers` prints it for the teacher. A student hands in `answers.txt`,
//! one `key: value` line per numeric answer (`#` starts a comment); the
//! handout names the keys. Questions whose answer is an explanation are
//! graded by a person, with the rubric in `labs/teacher/`.

use std::collections::BTreeMap;

use streamlab_proto::observe::Marker;
use streamlab_proto::Dialect;

use crate::checks::{self, of_kind, Context, Input, Kind};
use crate::{CourseError, Lab, Variant, Verdict};

/// One answer of the key.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub key: &'static str,
    /// Which question of the handout it answers.
    pub question: &'static str,
    pub value: Value,
}

/// An answer's value, and how close a student's must come.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// Exactly.
    Count(u64),
    /// Within 2% (or 0.01 s).
    Seconds(f64),
    /// The same frame numbers, in any order.
    Frames(Vec<u64>),
    /// Within 1%.
    Mbps(f64),
    /// A least value found by trying (Mbit/s): from it (less 0.005) to
    /// 0.25 above it, since a student tries a few values, not every one.
    AtLeast(f64),
}

impl Value {
    pub fn text(&self) -> String {
        match self {
            Value::Count(n) => n.to_string(),
            Value::Seconds(s) => format!("{s:.3}"),
            Value::Frames(f) => f.iter().map(u64::to_string).collect::<Vec<_>>().join(" "),
            Value::Mbps(m) => format!("{m}"),
            Value::AtLeast(m) => format!("{m:.2}"),
        }
    }

    /// `Ok(())` when `given` is this answer; `Err(why not)` otherwise.
    pub fn check(&self, given: &str) -> Result<(), String> {
        // "0,533" as a Brazilian (or French, or German) student writes it.
        let number = |s: &str| -> Result<f64, String> {
            let t = s
                .trim()
                .trim_end_matches(|c: char| c.is_ascii_alphabetic() || c == '/')
                .trim()
                .replace(',', ".");
            t.parse::<f64>()
                .map_err(|_| format!("'{}' is not a number", s.trim()))
        };
        match self {
            Value::Count(n) => {
                let g = number(given)?;
                (g == *n as f64)
                    .then_some(())
                    .ok_or_else(|| format!("{given} is not right"))
            }
            Value::Seconds(s) => {
                let g = number(given)?;
                ((g - s).abs() <= (s.abs() * 0.02).max(0.01))
                    .then_some(())
                    .ok_or_else(|| format!("{} s is not right", given.trim()))
            }
            Value::Mbps(m) => {
                let g = number(given)?;
                ((g - m).abs() <= m.abs() * 0.01 + 1e-9)
                    .then_some(())
                    .ok_or_else(|| format!("{} Mbit/s is not right", given.trim()))
            }
            Value::AtLeast(m) => {
                let g = number(given)?;
                if g < m - 0.005 {
                    Err(format!("{} Mbit/s still stalls", given.trim()))
                } else if g > m + 0.25 {
                    Err(format!("{} Mbit/s is more than the least", given.trim()))
                } else {
                    Ok(())
                }
            }
            Value::Frames(f) => {
                let mut g: Vec<u64> = given
                    .split(|c: char| !c.is_ascii_digit())
                    .filter(|t| !t.is_empty())
                    .filter_map(|t| t.parse().ok())
                    .collect();
                g.sort_unstable();
                g.dedup();
                let mut want = f.clone();
                want.sort_unstable();
                (g == want)
                    .then_some(())
                    .ok_or_else(|| format!("frames {} are not right", given.trim()))
            }
        }
    }
}

/// The key of `lab` for the student of `v` (empty for labs without
/// numeric answers).
pub fn key(lab: Lab, v: &Variant, cx: &Context) -> Result<Vec<Answer>, CourseError> {
    match lab {
        Lab::Lab3 => {
            let runs = checks::framing_runs(Some(v))?;
            let original = runs
                .iter()
                .find(|r| r.dialect == Dialect::Original)
                .ok_or_else(|| CourseError::Simulation("framing has no original run".into()))?;
            let frames = |m: Marker| -> Vec<u64> {
                original
                    .markers
                    .iter()
                    .find(|f| f.marker == m)
                    .map(|f| f.frames.iter().map(|&n| n as u64).collect())
                    .unwrap_or_default()
            };
            Ok(vec![
                Answer {
                    key: "start_marker_frame",
                    question: "question 2",
                    value: Value::Frames(frames(Marker::Start)),
                },
                Answer {
                    key: "end_marker_frames",
                    question: "question 3",
                    value: Value::Frames(frames(Marker::End)),
                },
                Answer {
                    key: "mss",
                    question: "question 4",
                    value: Value::Count(u64::from(v.framing_mss())),
                },
            ])
        }
        Lab::Lab4 => {
            let starved = checks::starved_figures(v)?;
            let lossy = checks::lossy_figures(v, cx)?;
            let least = checks::least_stall_free_mbps(v)?;
            Ok(vec![
                Answer {
                    key: "starved_stalls",
                    question: "question 3",
                    value: Value::Count(u64::from(starved.stalls.unwrap_or(0))),
                },
                Answer {
                    key: "starved_stalled_s",
                    question: "question 3",
                    value: Value::Seconds(starved.stalled_s.unwrap_or(0.0)),
                },
                Answer {
                    key: "lossy_dropped",
                    question: "question 6",
                    value: Value::Count(lossy.dropped),
                },
                Answer {
                    key: "lossy_retransmitted",
                    question: "question 6",
                    value: Value::Count(lossy.retransmitted),
                },
                Answer {
                    key: "least_stall_free_mbps",
                    question: "question 4",
                    value: Value::AtLeast(least),
                },
            ])
        }
        Lab::Lab1 | Lab::Lab2 | Lab::Lab5 => Ok(Vec::new()),
    }
}

/// The key as an answers file, with what each answer is for.
pub fn render_key(lab: Lab, v: &Variant, key: &[Answer]) -> String {
    let mut s = format!(
        "# {lab} answer key for student {} (the teacher's: not to be handed out)\n",
        v.student
    );
    if key.is_empty() {
        s += "# this lab has no numeric answers: see labs/teacher/ for its rubric\n";
    }
    for a in key {
        s += &format!("{}: {}    # {}\n", a.key, a.value.text(), a.question);
    }
    s
}

/// `key: value` (or `key = value`) lines; `#` starts a comment; keys in
/// lower case.
pub fn parse(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .map(|l| l.split('#').next().unwrap_or(""))
        .filter_map(|l| l.split_once(':').or_else(|| l.split_once('=')))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .filter(|(k, _)| !k.is_empty())
        .collect()
}

/// Grades the hand-in's answers.txt against the key (nothing for a lab
/// without one).
pub fn grade_file(
    lab: Lab,
    v: &Variant,
    inputs: &[Input],
    cx: &Context,
) -> Result<Vec<Verdict>, CourseError> {
    let key = key(lab, v, cx)?;
    if key.is_empty() {
        return Ok(Vec::new());
    }
    let Some(file) = of_kind(inputs, Kind::Answers).into_iter().next() else {
        let keys: Vec<&str> = key.iter().map(|a| a.key).collect();
        return Ok(vec![checks::missing(
            Kind::Answers,
            &format!(
                "write answers.txt with a line for each of {}",
                keys.join(", ")
            ),
        )]);
    };
    let given = parse(&file.text());
    Ok(key
        .iter()
        .map(|a| {
            let name = format!("answer {} ({})", a.key, a.question);
            match given.get(a.key) {
                None => Verdict::fail(name, format!("no line '{}: …' in {}", a.key, file.name())),
                Some(g) => match a.value.check(g) {
                    Ok(()) => Verdict::pass(name, g.clone()),
                    Err(why) => Verdict::fail(name, why),
                },
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_read_loosely_and_judged_strictly() {
        let given = parse("# mine\nStarved_Stalls: 3\nlossy_dropped = 12 # about\nbad line\n");
        assert_eq!(given.get("starved_stalls").map(String::as_str), Some("3"));
        assert_eq!(given.get("lossy_dropped").map(String::as_str), Some("12"));
        assert_eq!(given.len(), 2);
        assert!(Value::Count(3).check("3").is_ok());
        assert!(Value::Count(3).check("4").is_err());
        assert!(Value::Count(3)
            .check("three")
            .unwrap_err()
            .contains("not a number"));
        assert!(Value::Seconds(1.5).check("1.52 s").is_ok());
        assert!(Value::Seconds(1.5).check("1,52").is_ok());
        assert!(Value::Seconds(1.5).check("1.6").is_err());
        assert!(Value::Seconds(0.0).check("0.005").is_ok());
        assert!(Value::Frames(vec![12, 14]).check("14, 12").is_ok());
        assert!(Value::Frames(vec![12, 14]).check("12").is_err());
        assert!(Value::Mbps(2.0).check("2 Mbit/s").is_ok());
        assert!(Value::Mbps(2.0).check("1").is_err());
        assert!(Value::AtLeast(1.43).check("1.5").is_ok());
        assert!(Value::AtLeast(1.43).check("1.43 Mbit/s").is_ok());
        assert!(Value::AtLeast(1.43)
            .check("1.4")
            .unwrap_err()
            .contains("still stalls"));
        assert!(Value::AtLeast(1.43).check("2").is_err());
    }
}
