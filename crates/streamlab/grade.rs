//! `streamlab grade DIR`: grade a folder of submissions (one folder per
//! student, each with a `submission.txt` naming the student and the lab)
//! and write `grade.csv`, `grade.junit.xml` and `grade.html`.
//!
//! The grading is `streamlab_course::grade`; this file parses the flags,
//! shows progress on stderr, and writes the three files.

use std::path::PathBuf;

use anyhow::{Context as _, Result};
use clap::Args;
use streamlab_conformance::launch::{self, Stopper};
use streamlab_course::checks::Context;
use streamlab_course::grade;

use crate::music::default_music_dir;

/// Shown after `streamlab grade --help`.
pub const GRADE_HELP: &str = "\
DIR holds one folder per submission; each has a submission.txt with two
lines, 'student: ID' and 'lab: labN', and the hand-in's files (see
`streamlab check --help` for what each lab takes). For lab 5 a line
'exec: python3 server.py --port {port}' has grade start the hand-in's
server from its folder and check it (add 'dialect: framed' for a framed
server), instead of reading a report. The exit status is 0
when every submission was graded, whatever the grades; 1 when DIR cannot be
read.";

#[derive(Debug, Args)]
pub struct GradeArgs {
    /// The folder of submissions.
    pub dir: PathBuf,
    /// Where grade.csv, grade.junit.xml and grade.html go [default: DIR].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// The page's title [default: DIR's name].
    #[arg(long)]
    pub title: Option<String>,
    /// The folder the bundled songs are in [default: music/].
    #[arg(long, value_name = "DIR")]
    pub music: Option<PathBuf>,
    /// Submissions graded at once [default: the number of cores]. A lab 5
    /// server spends most of a check waiting, so more than the cores pays.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=64))]
    pub jobs: Option<u64>,
}

pub fn run(args: GradeArgs) -> Result<()> {
    let cx = Context {
        music: args.music.clone().unwrap_or_else(default_music_dir),
    };
    let out = args.out.clone().unwrap_or_else(|| args.dir.clone());
    std::fs::create_dir_all(&out).with_context(|| format!("making {}", out.display()))?;
    let jobs = args.jobs.map_or_else(
        || std::thread::available_parallelism().map_or(1, |n| n.get()),
        |n| n as usize,
    );
    // One stopper per worker: a Ctrl-C stops every lab 5 server running.
    let stoppers: Vec<Stopper> = (0..jobs).map(|_| Stopper::new(launch::GRACE)).collect();
    let on_interrupt = stoppers.clone();
    ctrlc::set_handler(move || {
        for s in &on_interrupt {
            s.stop_now();
        }
        eprintln!("streamlab: interrupted; every server started is stopped");
        std::process::exit(130);
    })
    .context("installing the stop-signal handler")?;
    let batch = grade::grade_dir(&args.dir, &cx, &stoppers, &mut |i, n, s| {
        let (p, t) = s.graded.score();
        eprintln!(
            "[{i}/{n}] {}: student {} {} — {p} of {t} passed",
            s.folder, s.graded.student, s.graded.lab
        );
    })?;
    let title = args.title.clone().unwrap_or_else(|| {
        args.dir
            .canonicalize()
            .ok()
            .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_else(|| args.dir.display().to_string())
    });
    let files = [
        ("grade.csv", grade::csv(&batch)),
        ("grade.junit.xml", grade::junit(&batch)),
        ("grade.html", grade::html(&batch, &title)?),
    ];
    for (name, text) in &files {
        let path = out.join(name);
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    }
    println!(
        "{:<24} {:<6} {:>9}  failed checks",
        "student", "lab", "score"
    );
    for s in &batch.submissions {
        let g = &s.graded;
        let (p, t) = g.score();
        let failed: Vec<&str> = g.failed_names();
        println!(
            "{:<24} {:<6} {:>9}  {}",
            g.student,
            g.lab,
            format!("{p} of {t}"),
            failed.join("; ")
        );
    }
    let (passed, failed) = batch.counts();
    println!(
        "{} submission(s): {passed} passed every check, {failed} did not; written: {}, {}, {}",
        batch.submissions.len(),
        out.join("grade.csv").display(),
        out.join("grade.junit.xml").display(),
        out.join("grade.html").display()
    );
    Ok(())
}
