//! `streamlab check labN --student ID FILES…`: grade one student's
//! hand-in for a lab, or (`--answers`) print that student's answer key.
//!
//! The verdicts and their diagnoses come from `streamlab_course::checks`;
//! this file parses the flags and prints. Exit 4 when a verdict fails.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use streamlab_course::checks::{self, Context};
use streamlab_course::{answers, Lab, Student, Variant};

use crate::exit::{self, Exit};
use crate::music::default_music_dir;

/// Shown after `streamlab check --help`.
pub const CHECK_HELP: &str = "\
What each lab takes: lab1 the script transcript (session.txt) and a capture
of the same session; lab2 your own capture; lab3 the framing captures and
answers.txt; lab4 the experiment table (table.csv) and answers.txt; lab5 the
conformance report (conformance.json). Files are told apart by what they
hold, except answers.txt, by its name. Exit status: 0 every verdict passed,
4 one failed, 1 the check could not run (one line on stderr).";

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The lab: lab1, lab2, lab3, lab4 or lab5.
    #[arg(value_parser = parse_lab)]
    pub lab: Lab,
    /// The student's ID, as given to `--student` in the lab's steps.
    #[arg(long, value_name = "ID")]
    pub student: String,
    /// Print the answer key for this student's variant instead of
    /// checking (the teacher's: never hand it out).
    #[arg(long, conflicts_with = "files")]
    pub answers: bool,
    /// Print the student's variant instead of checking: their port, song,
    /// seeds and each lab's knob (a student may run this).
    #[arg(long, conflicts_with_all = ["files", "answers"])]
    pub variant: bool,
    /// Print the verdicts as JSON.
    #[arg(long)]
    pub json: bool,
    /// The folder the bundled songs are in [default: music/].
    #[arg(long, value_name = "DIR")]
    pub music: Option<PathBuf>,
    /// The hand-in's files.
    #[arg(required_unless_present_any = ["answers", "variant"])]
    pub files: Vec<PathBuf>,
}

/// The student's variant, lab by lab: what `--student` changes.
fn variant_text(v: &Variant) -> String {
    use streamlab_netsim::scenario::Scenario;
    let id = &v.student;
    format!(
        "student {id}\n\
         \x20 labs 1, 2 and 5: your server listens on port {port} (`streamlab server --student {id}`)\n\
         \x20 labs 1 and 2: your song is {song}\n\
         \x20 lab 3: framing: {framing}\n\
         \x20 lab 4: starved: {starved}; lossy: {lossy}; experiment: seed {experiment}\n",
        port = v.port(),
        song = v.song(),
        framing = v.knobs(Scenario::Framing),
        starved = v.knobs(Scenario::Starved),
        lossy = v.knobs(Scenario::Lossy),
        experiment = v.seed("experiment"),
    )
}

fn parse_lab(s: &str) -> Result<Lab, String> {
    s.parse::<Lab>().map_err(|e| e.to_string())
}

pub fn run(args: CheckArgs) -> Result<()> {
    let variant = Variant::new(Student::new(&args.student)?);
    let cx = Context {
        music: args.music.clone().unwrap_or_else(default_music_dir),
    };
    if args.variant {
        print!("{}", variant_text(&variant));
        return Ok(());
    }
    if args.answers {
        let key = answers::key(args.lab, &variant, &cx)?;
        print!("{}", answers::render_key(args.lab, &variant, &key));
        return Ok(());
    }
    let graded = checks::check(args.lab, &variant, &args.files, &cx)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&graded)?);
    } else {
        print!("{}", graded.render());
    }
    if graded.passed() {
        Ok(())
    } else {
        let (passed, total) = graded.score();
        Err(Exit::new(
            exit::CHECKS_FAILED,
            format!(
                "{} for student {}: {} of {total} verdicts failed",
                args.lab,
                variant.student,
                total - passed
            ),
        )
        .into())
    }
}
