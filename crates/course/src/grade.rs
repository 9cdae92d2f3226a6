//! Batch grading: a folder with one folder per submission, each holding a
//! manifest (`submission.txt`: `student: ID` and `lab: labN` lines) and the
//! hand-in's files, graded in one go and written as CSV, JUnit XML and an
//! HTML page a teacher opens in a browser.
//!
//! ```text
//! hand-ins/
//!   ana/      submission.txt  table.csv  answers.txt
//!   bruno/    submission.txt  my-session.pcapng
//! ```
//!
//! A file that fails its identity check (not the student's port, seed or
//! table) is compared with every other student's of the same lab in the
//! batch, and the diagnosis names whose it is.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use minijinja::{context, Environment};
use streamlab_conformance::launch::{self, Exec, ServerCommand, Stopper, GRACE};
use streamlab_conformance::Config;
use streamlab_proto::Dialect;

use crate::checks::{self, capture, Context, Input, Kind};
use crate::{answers, CourseError, Graded, Lab, Student, Variant, Verdict};

/// The manifest's file name in each submission folder.
pub const MANIFEST: &str = "submission.txt";

/// One graded submission.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Submission {
    /// The folder's name.
    pub folder: String,
    pub graded: Graded,
}

/// Every submission of a folder, in the folders' order.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Batch {
    pub submissions: Vec<Submission>,
}

impl Batch {
    /// Submissions that passed every check, and those that did not.
    pub fn counts(&self) -> (usize, usize) {
        let passed = self
            .submissions
            .iter()
            .filter(|s| s.graded.passed())
            .count();
        (passed, self.submissions.len() - passed)
    }
}

/// The submission folders of `dir`, sorted by name.
pub fn folders(dir: &Path) -> Result<Vec<PathBuf>, CourseError> {
    let fail = |e: std::io::Error| CourseError::Submission(format!("{}: {e}", dir.display()));
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(fail)? {
        let path = entry.map_err(fail)?.path();
        if path.is_dir() {
            out.push(path);
        }
    }
    out.sort();
    Ok(out)
}

/// Grades every submission folder of `dir`; `progress` hears of each as
/// it is done (its number, how many, and it).
///
/// Submissions are graded by `stoppers.len()` workers at once (at least
/// one); each worker starts a lab 5 server with its own stopper, which a
/// Ctrl-C handler may use to stop it.
pub fn grade_dir(
    dir: &Path,
    cx: &Context,
    stoppers: &[Stopper],
    progress: &mut (dyn FnMut(usize, usize, &Submission) + Send),
) -> Result<Batch, CourseError> {
    let folders = folders(dir)?;
    if folders.is_empty() {
        return Err(CourseError::Submission(format!(
            "{} has no submission folders (one folder per student, each with a {MANIFEST})",
            dir.display()
        )));
    }
    let fallback = [Stopper::new(GRACE)];
    let stoppers = if stoppers.is_empty() {
        &fallback[..]
    } else {
        stoppers
    };
    let next = AtomicUsize::new(0);
    let finished = AtomicUsize::new(0);
    let results: Vec<Mutex<Option<Graded1>>> = folders.iter().map(|_| Mutex::new(None)).collect();
    let progress = Mutex::new(progress);
    std::thread::scope(|scope| {
        for stopper in stoppers {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(folder) = folders.get(i) else { break };
                let graded = grade_one(folder, cx, stopper);
                let n = finished.fetch_add(1, Ordering::Relaxed) + 1;
                if let Ok(mut report) = progress.lock() {
                    (*report)(n, folders.len(), &graded.0);
                }
                if let Ok(mut slot) = results[i].lock() {
                    *slot = Some(graded);
                }
            });
        }
    });
    let mut batch = Batch::default();
    let mut handed = Vec::new();
    for (slot, folder) in results.into_iter().zip(&folders) {
        let graded = slot.into_inner().ok().flatten().unwrap_or_else(|| {
            // A worker that panicked: its folder says so.
            let name = folder_name(folder);
            (
                Submission {
                    folder: name.clone(),
                    graded: Graded {
                        student: name,
                        lab: "?".into(),
                        verdicts: vec![Verdict::fail(
                            "the submission",
                            "grading it failed unexpectedly",
                        )],
                    },
                },
                None,
            )
        });
        batch.submissions.push(graded.0);
        handed.push(graded.1);
    }
    name_copies(&mut batch, &handed);
    Ok(batch)
}

/// One folder graded, and what it handed in (for naming copies).
type Graded1 = (Submission, Option<(Lab, Vec<Input>)>);

fn folder_name(folder: &Path) -> String {
    folder.file_name().map_or_else(
        || folder.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// One folder: its manifest, its files, its check.
fn grade_one(folder: &Path, cx: &Context, stopper: &Stopper) -> Graded1 {
    let name = folder_name(folder);
    let broken = |why: String| Submission {
        folder: name.clone(),
        graded: Graded {
            student: name.clone(),
            lab: "?".into(),
            verdicts: vec![Verdict::fail("the submission", why)],
        },
    };
    let (student, lab, fields) = match manifest(folder) {
        Ok(m) => m,
        Err(why) => return (broken(why), None),
    };
    let mut files: Vec<PathBuf> = match std::fs::read_dir(folder) {
        Ok(entries) => entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.is_file() && p.file_name().is_some_and(|n| n != MANIFEST))
            .collect(),
        Err(e) => return (broken(format!("{}: {e}", folder.display())), None),
    };
    files.sort();
    let variant = Variant::new(student.clone());
    if let (Lab::Lab5, Some(exec)) = (lab, fields.get("exec")) {
        let dialect = fields
            .get("dialect")
            .map(String::as_str)
            .unwrap_or("original");
        let verdicts = run_server(folder, exec, dialect, stopper);
        let graded = Graded {
            student: student.to_string(),
            lab: lab.name().into(),
            verdicts,
        };
        return (
            Submission {
                folder: name,
                graded,
            },
            None,
        );
    }
    let inputs = match checks::read_inputs(&files) {
        Ok(i) => i,
        Err(e) => {
            let mut s = broken(e.to_string());
            s.graded.student = student.to_string();
            s.graded.lab = lab.name().into();
            return (s, None);
        }
    };
    let graded = match checks::check_inputs(lab, &variant, &inputs, cx) {
        Ok(g) => g,
        Err(e) => Graded {
            student: student.to_string(),
            lab: lab.name().into(),
            verdicts: vec![Verdict::fail("the check", e.to_string())],
        },
    };
    (
        Submission {
            folder: name,
            graded,
        },
        Some((lab, inputs)),
    )
}

/// The student and lab a folder's manifest names.
fn manifest(folder: &Path) -> Result<(Student, Lab, BTreeMap<String, String>), String> {
    let path = folder.join(MANIFEST);
    let text = std::fs::read_to_string(&path).map_err(|e| {
        format!("no readable {MANIFEST} ({e}): write one with 'student: ID' and 'lab: labN' lines")
    })?;
    let fields = answers::parse(&text);
    let student = fields
        .get("student")
        .ok_or_else(|| format!("{MANIFEST} has no 'student: ID' line"))?;
    let lab = fields
        .get("lab")
        .ok_or_else(|| format!("{MANIFEST} has no 'lab: labN' line"))?;
    let student = Student::new(student).map_err(|e| format!("{MANIFEST}: {e}"))?;
    let lab = lab.parse::<Lab>().map_err(|e| format!("{MANIFEST}: {e}"))?;
    Ok((student, lab, fields))
}

/// Lab 5 with an `exec:` line: starts the hand-in's server from its folder
/// (`cd FOLDER && EXEC`, `{port}` a free loopback port), runs the
/// conformance checks against it and stops it, as `streamlab conformance
/// server --exec` does. The teacher ran it, so the report needs no port
/// of the student's to be believed.
fn run_server(folder: &Path, exec: &str, dialect: &str, stopper: &Stopper) -> Vec<Verdict> {
    let name = "your own server";
    let dialect = match dialect {
        "original" => Dialect::Original,
        "framed" => Dialect::Framed,
        other => {
            return vec![Verdict::fail(
                name,
                format!("{MANIFEST}: dialect '{other}' (original or framed)"),
            )]
        }
    };
    let Some(dir) = folder.to_str().filter(|d| !d.contains('\'')) else {
        return vec![Verdict::fail(
            name,
            format!(
                "{}: a folder name with a quote cannot be run",
                folder.display()
            ),
        )];
    };
    let template = format!("cd '{dir}' && {exec}");
    let command = match ServerCommand::parse(&template) {
        Ok(c) => c,
        Err(e) => return vec![Verdict::fail(name, format!("{MANIFEST}: exec: {e}"))],
    };
    let config = Config::new(launch::placeholder_addr(), dialect);
    let report = match launch::run_exec(&config, &Exec::new(command), None, stopper, &mut |_, _| {})
    {
        Ok(r) => r,
        Err(e) => return vec![Verdict::fail(name, e.to_string())],
    };
    let doc: serde_json::Value = match serde_json::from_str(&report.to_json()) {
        Ok(d) => d,
        Err(e) => return vec![Verdict::fail(name, format!("the checker's report: {e}"))],
    };
    let started = match report.start_error() {
        None => Verdict::pass(name, format!("started by grade from this folder: {exec}")),
        Some(why) => Verdict::fail(name, why.to_string()),
    };
    std::iter::once(started)
        .chain(checks::lab5_verdicts(&doc))
        .collect()
}

/// The verdicts that say whose a file is.
const IDENTITY: [&str; 4] = [
    "your own server",
    "the experiment table",
    "framing capture, original dialect",
    "framing capture, framed dialect",
];

/// What makes a hand-in someone's: its server ports (labs 1, 2 and 5), its
/// captures' bytes (lab 3), its table (lab 4).
fn marks(lab: Lab, inputs: &[Input]) -> Vec<Vec<u8>> {
    match lab {
        // Only connections that speak the protocol: a capture may hold
        // other loopback traffic.
        Lab::Lab1 | Lab::Lab2 => checks::of_kind(inputs, Kind::Capture)
            .iter()
            .filter_map(|i| capture::analyze(i).ok())
            .flat_map(|a| {
                a.connections
                    .into_iter()
                    .filter(|c| c.scan.dialect.is_some())
                    .map(|c| c.info.server.port().to_be_bytes().to_vec())
            })
            .collect(),
        Lab::Lab5 => checks::of_kind(inputs, Kind::Report)
            .iter()
            .filter_map(|i| serde_json::from_slice::<serde_json::Value>(&i.bytes).ok())
            .filter_map(|d| {
                d["server"]
                    .as_str()
                    .and_then(|s| s.rsplit_once(':'))
                    .and_then(|(_, p)| p.parse::<u16>().ok())
            })
            .map(|p| p.to_be_bytes().to_vec())
            .collect(),
        Lab::Lab3 => checks::of_kind(inputs, Kind::Capture)
            .iter()
            .map(|i| i.bytes.clone())
            .collect(),
        Lab::Lab4 => checks::of_kind(inputs, Kind::Table)
            .iter()
            .map(|i| i.text().replace('\r', "").into_bytes())
            .collect(),
    }
}

/// The same marks for what a student's own hand-in would hold.
fn own_marks(lab: Lab, v: &Variant) -> Vec<Vec<u8>> {
    match lab {
        Lab::Lab1 | Lab::Lab2 | Lab::Lab5 => vec![v.port().to_be_bytes().to_vec()],
        Lab::Lab3 => checks::framing_runs(Some(v))
            .map(|runs| runs.into_iter().map(|r| r.capture).collect())
            .unwrap_or_default(),
        Lab::Lab4 => checks::student_table(v)
            .map(|(t, _)| vec![t.into_bytes()])
            .unwrap_or_default(),
    }
}

/// Adds "it is student X's" to identity verdicts that failed because the
/// file is another student's of the batch.
/// A student and their submission's folder.
type Owner = (String, String);

fn name_copies(batch: &mut Batch, handed: &[Option<(Lab, Vec<Input>)>]) {
    // Every student of the batch whose own hand-in would carry each mark
    // (two students may share a port: then both are named).
    let mut owners: BTreeMap<(Lab, Vec<u8>), Vec<Owner>> = BTreeMap::new();
    for (s, h) in batch.submissions.iter().zip(handed) {
        let (Some((lab, _)), Ok(student)) = (h, Student::new(&s.graded.student)) else {
            continue;
        };
        for mark in own_marks(*lab, &Variant::new(student)) {
            let list = owners.entry((*lab, mark)).or_default();
            let me = (s.graded.student.clone(), s.folder.clone());
            if !list.contains(&me) {
                list.push(me);
            }
        }
    }
    for (s, h) in batch.submissions.iter_mut().zip(handed) {
        let Some((lab, inputs)) = h else { continue };
        let copied = s
            .graded
            .verdicts
            .iter()
            .any(|v| !v.passed && IDENTITY.contains(&v.name.as_str()));
        if !copied {
            continue;
        }
        let mut whose: Vec<&Owner> = marks(*lab, inputs)
            .into_iter()
            .filter_map(|m| owners.get(&(*lab, m)))
            .flatten()
            .filter(|(student, _)| *student != s.graded.student)
            .collect();
        whose.sort();
        whose.dedup();
        let said = match whose.as_slice() {
            [] => continue,
            [(student, folder)] => format!(" — it is student {student}'s (folder {folder})"),
            many => {
                let names: Vec<String> = many
                    .iter()
                    .map(|(student, folder)| format!("{student} (folder {folder})"))
                    .collect();
                format!(
                    " — it matches the work of {}, who share that mark",
                    names.join(" and ")
                )
            }
        };
        for v in s.graded.verdicts.iter_mut() {
            if !v.passed && IDENTITY.contains(&v.name.as_str()) {
                v.detail += &said;
            }
        }
    }
}

/// One row per verdict: folder, student, lab, check, passed, diagnosis.
pub fn csv(batch: &Batch) -> String {
    let field = |s: &str| {
        // A spreadsheet runs a cell that starts with = + - @ as a formula:
        // a student's file name must not.
        let s = if s.starts_with(['=', '+', '-', '@']) {
            format!("'{s}")
        } else {
            s.to_string()
        };
        if s.contains([',', '"', '\n', '\r']) {
            format!("\"{}\"", s.replace('"', "\"\""))
        } else {
            s
        }
    };
    let mut out = String::from("folder,student,lab,check,passed,diagnosis\n");
    for s in &batch.submissions {
        for v in &s.graded.verdicts {
            out += &[
                field(&s.folder),
                field(&s.graded.student),
                field(&s.graded.lab),
                field(&v.name),
                v.passed.to_string(),
                field(&v.detail),
            ]
            .join(",");
            out.push('\n');
        }
    }
    out
}

/// JUnit XML: a test suite per submission, a test case per check, each
/// named by the student.
pub fn junit(batch: &Batch) -> String {
    use streamlab_conformance::report::xml;
    let total: usize = batch
        .submissions
        .iter()
        .map(|s| s.graded.verdicts.len())
        .sum();
    let failures: usize = batch
        .submissions
        .iter()
        .flat_map(|s| &s.graded.verdicts)
        .filter(|v| !v.passed)
        .count();
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"streamlab grade\" tests=\"{total}\" failures=\"{failures}\">\n"
    );
    for s in &batch.submissions {
        let g = &s.graded;
        let failed = g.verdicts.iter().filter(|v| !v.passed).count();
        out += &format!(
            "  <testsuite name=\"{} {}\" tests=\"{}\" failures=\"{failed}\">\n",
            xml(&g.lab),
            xml(&g.student),
            g.verdicts.len()
        );
        for v in &g.verdicts {
            let head = format!(
                "    <testcase classname=\"{}.{}\" name=\"{} ({})\"",
                xml(&g.lab),
                xml(&g.student),
                xml(&v.name),
                xml(&g.student)
            );
            if v.passed {
                out += &format!("{head}/>\n");
            } else {
                out += &format!(
                    "{head}>\n      <failure message=\"{}\"/>\n    </testcase>\n",
                    xml(&v.detail)
                );
            }
        }
        out += "  </testsuite>\n";
    }
    out += "</testsuites>\n";
    out
}

/// The HTML page: a summary table, then each submission's verdicts with
/// their diagnoses. Every text is escaped by the template engine.
pub fn html(batch: &Batch, title: &str) -> Result<String, CourseError> {
    let mut env = Environment::new();
    env.add_template("grade.html", include_str!("../templates/grade.html"))
        .map_err(|e| CourseError::Report(format!("the HTML template: {e}")))?;
    let (all_passed, some_failed) = batch.counts();
    let submissions: Vec<_> = batch
        .submissions
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let (p, n) = s.graded.score();
            let failed: Vec<&str> = s.graded.failed_names();
            context! {
                anchor => format!("s{i}"),
                folder => s.folder,
                student => s.graded.student,
                lab => s.graded.lab,
                passed => s.graded.passed(),
                score => format!("{p} of {n}"),
                failed_names => failed.join("; "),
                verdicts => s.graded.verdicts,
            }
        })
        .collect();
    env.get_template("grade.html")
        .and_then(|t| {
            t.render(context! {
                title,
                students => batch.submissions.len(),
                all_passed,
                some_failed,
                made_at => Option::<String>::None,
                submissions,
            })
        })
        .map_err(|e| CourseError::Report(format!("rendering the HTML page: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch() -> Batch {
        Batch {
            submissions: vec![Submission {
                folder: "ana".into(),
                graded: Graded {
                    student: "ana-1".into(),
                    lab: "lab4".into(),
                    verdicts: vec![
                        Verdict::pass("the experiment table", "ok"),
                        Verdict::fail("answer x", "1, \"2\" <b>is</b> not right"),
                    ],
                },
            }],
        }
    }

    #[test]
    fn csv_cells_never_start_a_formula() {
        let mut b = batch();
        b.submissions[0].graded.verdicts[0].detail = "=HYPERLINK(\"x\")".into();
        let text = csv(&b);
        assert!(text.contains(",\"'=HYPERLINK(\"\"x\"\")\"\n"), "{text}");
    }

    #[test]
    fn csv_quotes_what_needs_it() {
        let text = csv(&batch());
        assert_eq!(
            text,
            "folder,student,lab,check,passed,diagnosis\n\
             ana,ana-1,lab4,the experiment table,true,ok\n\
             ana,ana-1,lab4,answer x,false,\"1, \"\"2\"\" <b>is</b> not right\"\n"
        );
    }

    #[test]
    fn junit_and_html_escape_the_diagnosis() {
        let x = junit(&batch());
        assert!(x.contains("failures=\"1\""), "{x}");
        assert!(
            x.contains("classname=\"lab4.ana-1\" name=\"answer x (ana-1)\""),
            "{x}"
        );
        assert!(x.contains("&lt;b&gt;is&lt;/b&gt;"), "{x}");
        let h = html(&batch(), "lab 4").expect("a page");
        assert!(
            h.contains("&lt;b&gt;is&lt;&#x2f;b&gt;") || h.contains("&lt;b&gt;is&lt;/b&gt;"),
            "{h}"
        );
        assert!(!h.contains("<b>is</b>"));
        assert!(h.contains("1 of 2"), "{h}");
    }
}
