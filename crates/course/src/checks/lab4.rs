//! Lab 4: the experiment table, which must be the simulator's own table for
//! the student's seed, and the answers.

use std::path::Path;

use streamlab_netsim::figures::RunFigures;
use streamlab_netsim::scenario::{experiment_csv, experiment_runs, Options, Scenario};
use streamlab_netsim::tcp::TcpFlavor;

use super::{missing, of_kind, Context, Input, Kind};
use crate::variant::MAX_EVENTS;
use crate::{answers, CourseError, Lab, Variant, Verdict};

/// The experiment's table (CSV) for `seed`, as `sim experiment --csv`
/// prints it, and its runs.
pub fn table(seed: u64) -> Result<(String, Vec<RunFigures>), CourseError> {
    let runs = experiment_runs(seed, TcpFlavor::Linux)
        .map_err(|e| CourseError::Simulation(format!("running the experiment: {e}")))?;
    Ok((experiment_csv(&runs), runs))
}

/// The student's table.
pub fn student_table(v: &Variant) -> Result<(String, Vec<RunFigures>), CourseError> {
    table(v.seed("experiment"))
}

/// One download scenario for the student, with `base`'s knobs.
fn figures(v: &Variant, scenario: Scenario, base: Options) -> Result<RunFigures, CourseError> {
    let options = v.sim_options(scenario, base);
    let mut runs = scenario.build(&options);
    let run = runs
        .first_mut()
        .ok_or_else(|| CourseError::Simulation(format!("{scenario} has no run")))?;
    run.sim
        .run_until_idle(MAX_EVENTS)
        .map_err(|e| CourseError::Simulation(format!("simulating {scenario}: {e}")))?;
    Ok(run.figures())
}

/// `streamlab sim starved --student ID`'s figures.
pub fn starved_figures(v: &Variant) -> Result<RunFigures, CourseError> {
    figures(v, Scenario::Starved, Options::new(1))
}

/// The least bandwidth (Mbit/s, to 0.01) at which the student's `starved`
/// run plays without a stall: a scan in steps of 0.05 from 1 Mbit/s, then
/// halving between the last that stalls and the first that does not.
pub fn least_stall_free_mbps(v: &Variant) -> Result<f64, CourseError> {
    let stalls = |bps: u64| -> Result<bool, CourseError> {
        let base = Options {
            bandwidth: Some(bps),
            ..Options::new(1)
        };
        Ok(figures(v, Scenario::Starved, base)?.stalls.unwrap_or(0) > 0)
    };
    let (mut low, mut high) = (1_000_000u64, None);
    for step in 1..=60u64 {
        let bps = 1_000_000 + step * 50_000;
        if stalls(bps)? {
            low = bps;
        } else {
            high = Some(bps);
            break;
        }
    }
    let mut high = high
        .ok_or_else(|| CourseError::Simulation("the starved run stalls even at 4 Mbit/s".into()))?;
    while high - low > 10_000 {
        let mid = (low + high) / 2 / 10_000 * 10_000;
        if mid <= low {
            break;
        }
        if stalls(mid)? {
            low = mid;
        } else {
            high = mid;
        }
    }
    Ok(high as f64 / 1e6)
}

/// `streamlab sim lossy --student ID --song ode_to_joy --bandwidth 10M`'s
/// figures.
pub fn lossy_figures(v: &Variant, cx: &Context) -> Result<RunFigures, CourseError> {
    let song = load_song(&cx.music, "ode_to_joy")?;
    let base = Options {
        song: Some(song),
        bandwidth: Some(10_000_000),
        ..Options::new(1)
    };
    figures(v, Scenario::Lossy, base)
}

fn load_song(music: &Path, name: &str) -> Result<streamlab_proto::Track, CourseError> {
    let fail = |why: String| {
        CourseError::Submission(format!("the song {name} in {}: {why}", music.display()))
    };
    let library =
        streamlab_audio::library::Library::scan(music).map_err(|e| fail(e.to_string()))?;
    let song = library.find(name).ok_or_else(|| fail("not there".into()))?;
    song.track().map_err(|e| fail(e.to_string()))
}

/// Lines of a CSV file, without `\r`, so a table saved by a spreadsheet
/// on Windows still compares.
fn lines(text: &str) -> Vec<&str> {
    text.lines().map(|l| l.trim_end_matches('\r')).collect()
}

pub fn check(v: &Variant, inputs: &[Input], cx: &Context) -> Result<Vec<Verdict>, CourseError> {
    let mut verdicts = Vec::new();
    let how = format!(
        "make it with `streamlab sim experiment --student {} --csv > table.csv`",
        v.student
    );
    match of_kind(inputs, Kind::Table).first() {
        None => verdicts.push(missing(Kind::Table, &how)),
        Some(t) => {
            let text = t.text();
            let (own, _) = student_table(v)?;
            let verdict = if lines(&text) == lines(&own) {
                Verdict::pass(
                    "the experiment table",
                    format!(
                        "{} is student {}'s table (seed {})",
                        t.name(),
                        v.student,
                        v.seed("experiment")
                    ),
                )
            } else if lines(&text) == lines(&table(1)?.0) {
                Verdict::fail(
                    "the experiment table",
                    format!(
                        "{} is the handout's table (seed 1), made without --student; {how}",
                        t.name()
                    ),
                )
            } else {
                Verdict::fail(
                    "the experiment table",
                    format!(
                        "{} is not student {}'s table (another student's, or edited); {how}",
                        t.name(),
                        v.student
                    ),
                )
            };
            verdicts.push(verdict);
        }
    }
    verdicts.extend(answers::grade_file(Lab::Lab4, v, inputs, cx)?);
    Ok(verdicts)
}
