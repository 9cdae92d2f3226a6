//! Lab 3: the framing captures, which must be the simulator's own run for
//! the student's variant, byte for byte, and the answers.

use streamlab_netsim::scenario::{marker_frames, MarkerFrames, Options, Scenario};
use streamlab_netsim::sim::CapturePoint;
use streamlab_proto::Dialect;

use super::{missing, of_kind, Context, Input, Kind};
use crate::variant::MAX_EVENTS;
use crate::{answers, CourseError, Lab, Variant, Verdict};

/// One dialect's `framing` run: its capture (as `sim --pcap` writes it)
/// and where the markers fell.
pub struct FramingRun {
    pub dialect: Dialect,
    pub capture: Vec<u8>,
    pub markers: Vec<MarkerFrames>,
}

/// Both dialects' `framing` runs for the student (`None`: the handouts'
/// own run, seed 1, MSS as the scenario sets it).
pub fn framing_runs(v: Option<&Variant>) -> Result<Vec<FramingRun>, CourseError> {
    let options = match v {
        Some(v) => v.sim_options(Scenario::Framing, Options::new(1)),
        None => Options::new(1),
    };
    Scenario::Framing
        .build(&options)
        .into_iter()
        .map(|mut run| {
            run.sim
                .run_until_idle(MAX_EVENTS)
                .map_err(|e| CourseError::Simulation(format!("simulating framing: {e}")))?;
            let capture = run
                .sim
                .write_pcapng_at(CapturePoint::Client, Vec::new())
                .map_err(|e| {
                    CourseError::Simulation(format!("writing the framing capture: {e}"))
                })?;
            Ok(FramingRun {
                dialect: run.dialect,
                markers: marker_frames(&run.sim),
                capture,
            })
        })
        .collect()
}

pub fn check(v: &Variant, inputs: &[Input], cx: &Context) -> Result<Vec<Verdict>, CourseError> {
    let mut verdicts = Vec::new();
    let captures = of_kind(inputs, Kind::Capture);
    let how = format!(
        "make them with `streamlab sim framing --student {} --pcap framing.pcapng`",
        v.student
    );
    if captures.is_empty() {
        verdicts.push(missing(Kind::Capture, &how));
    } else {
        let own = framing_runs(Some(v))?;
        let example = framing_runs(None)?;
        for run in &own {
            let name = format!("framing capture, {} dialect", run.dialect);
            let found = captures.iter().find(|c| c.bytes == run.capture);
            let verdict = match found {
                Some(c) => Verdict::pass(
                    name,
                    format!("{} is student {}'s run, byte for byte", c.name(), v.student),
                ),
                None => {
                    let same = example.iter().find(|e| e.dialect == run.dialect);
                    let unvaried = captures
                        .iter()
                        .find(|c| same.is_some_and(|e| e.capture == c.bytes));
                    match unvaried {
                        Some(c) => Verdict::fail(
                            name,
                            format!("{} is the handout's run (seed 1), made without --student; {how}", c.name()),
                        ),
                        None => Verdict::fail(
                            name,
                            format!(
                                "no capture handed in is student {}'s {} run (another student's, or changed since); {how}",
                                v.student, run.dialect
                            ),
                        ),
                    }
                }
            };
            verdicts.push(verdict);
        }
    }
    verdicts.extend(answers::grade_file(Lab::Lab3, v, inputs, cx)?);
    Ok(verdicts)
}
