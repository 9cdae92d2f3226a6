//! What differs between two students: each lab's numbers, derived from the
//! student's ID ([`Student::number`]), so two students hand in different
//! figures and one student always gets the same ones.
//!
//! | what | labs | from |
//! |---|---|---|
//! | the server's port | 1, 2, 5 | 20000–49999 |
//! | the song to download | 1, 2 | one of the bundled songs |
//! | each scenario's seed | 3, 4 | 2–999999 (never the handouts' 1) |
//! | `starved`'s bandwidth | 4 | 0.7–1.2 Mbit/s |
//! | `lossy`'s loss | 4 | 2–6% each way |
//! | `framing`'s MSS | 3 | one that splits the original dialect's end marker for that seed |

use streamlab_netsim::scenario::{marker_frames, Options, Scenario};
use streamlab_proto::observe::Marker;
use streamlab_proto::Dialect;

use crate::Student;

/// The bundled songs (music/), in the order the variants pick from. A test
/// checks that music/ has each one.
pub const BUNDLED_SONGS: [&str; 5] = [
    "amazing_grace",
    "frere_jacques",
    "greensleeves",
    "ode_to_joy",
    "twinkle",
];

/// `starved`'s link speeds, bits per second: all slower than the song's
/// 1.41 Mbit/s, so every variant stalls.
pub const STARVED_BANDWIDTHS: [u64; 6] =
    [700_000, 800_000, 900_000, 1_000_000, 1_100_000, 1_200_000];

/// `lossy`'s loss rates, each way.
pub const LOSSY_LOSSES: [f64; 5] = [0.02, 0.03, 0.04, 0.05, 0.06];

/// MSS values tried for `framing`, from the first the student's number
/// picks: the first that splits the end marker is the variant's. These
/// are values that do (of 300–1460, only 24 do: the marker must straddle
/// a segment boundary); the check runs the scenario all the same.
pub const FRAMING_MSS: [u16; 13] = [
    1460, 1458, 979, 976, 737, 735, 592, 590, 495, 426, 374, 334, 302,
];

/// The most events one check's simulation may take.
pub const MAX_EVENTS: usize = 1_000_000;

/// One student's numbers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variant {
    pub student: Student,
}

impl Variant {
    pub fn new(student: Student) -> Variant {
        Variant { student }
    }

    /// The port the student's server listens on (labs 1, 2 and 5).
    pub fn port(&self) -> u16 {
        20_000 + (self.student.number("port") % 30_000) as u16
    }

    /// The song the student downloads in labs 1 and 2.
    pub fn song(&self) -> &'static str {
        self.student.pick("song", &BUNDLED_SONGS)
    }

    /// The seed of `scenario` (its name, or `experiment`).
    pub fn seed(&self, scenario: &str) -> u64 {
        2 + self.student.number(&format!("seed:{scenario}")) % 999_998
    }

    pub fn starved_bandwidth(&self) -> u64 {
        self.student.pick("starved:bandwidth", &STARVED_BANDWIDTHS)
    }

    pub fn lossy_loss(&self) -> f64 {
        self.student.pick("lossy:loss", &LOSSY_LOSSES)
    }

    /// An MSS that splits `track_data_end` across two segments in the
    /// original dialect's `framing` run with this student's seed: the
    /// first in [`FRAMING_MSS`], from where the student's number starts,
    /// that does (1460 if none does, which the tests rule out).
    pub fn framing_mss(&self) -> u16 {
        let start = (self.student.number("framing:mss") % FRAMING_MSS.len() as u64) as usize;
        let seed = self.seed(Scenario::Framing.name());
        (0..FRAMING_MSS.len())
            .map(|i| FRAMING_MSS[(start + i) % FRAMING_MSS.len()])
            .find(|&mss| splits_end_marker(seed, mss))
            .unwrap_or(FRAMING_MSS[0])
    }

    /// `base` with the student's variant of `scenario` filled in where the
    /// user set nothing: the seed always, and the lab's own knob.
    pub fn sim_options(&self, scenario: Scenario, base: Options) -> Options {
        let mut o = base;
        o.seed = self.seed(scenario.name());
        match scenario {
            Scenario::Starved => {
                o.bandwidth.get_or_insert(self.starved_bandwidth());
            }
            Scenario::Lossy => {
                o.loss.get_or_insert(self.lossy_loss());
            }
            Scenario::Framing => {
                if o.mss.is_none() {
                    o.mss = Some(self.framing_mss());
                }
            }
            Scenario::Report | Scenario::SlowReader => {}
        }
        o
    }

    /// What the student's variant of `scenario` is, in one line.
    pub fn describe(&self, scenario: Scenario) -> String {
        format!("student {}: {}", self.student, self.knobs(scenario))
    }

    /// The seed and the lab's knob of `scenario`: `seed 41, loss 4%`.
    pub fn knobs(&self, scenario: Scenario) -> String {
        let seed = self.seed(scenario.name());
        match scenario {
            Scenario::Starved => format!(
                "seed {seed}, bandwidth {} kbit/s",
                self.starved_bandwidth() / 1000
            ),
            Scenario::Lossy => format!("seed {seed}, loss {}%", self.lossy_loss() * 100.0),
            Scenario::Framing => format!("seed {seed}, MSS {}", self.framing_mss()),
            Scenario::Report | Scenario::SlowReader => format!("seed {seed}"),
        }
    }
}

/// True when the original dialect's `framing` run with `seed` and `mss`
/// carries `track_data_end` in two segments.
fn splits_end_marker(seed: u64, mss: u16) -> bool {
    let options = Options {
        dialect: Some(Dialect::Original),
        mss: Some(mss),
        ..Options::new(seed)
    };
    let mut runs = Scenario::Framing.build(&options);
    let Some(run) = runs.first_mut() else {
        return false;
    };
    if run.sim.run_until_idle(MAX_EVENTS).is_err() {
        return false;
    }
    marker_frames(&run.sim)
        .iter()
        .any(|m| m.marker == Marker::End && m.frames.len() > 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn variant(id: &str) -> Variant {
        Variant::new(Student::new(id).expect("an ID"))
    }

    #[test]
    fn students_get_their_own_numbers() {
        let ids: Vec<String> = (0..200).map(|i| format!("2023-{i:04}")).collect();
        let ports: std::collections::BTreeSet<u16> =
            ids.iter().map(|i| variant(i).port()).collect();
        assert!(ports.len() > 190, "{} distinct ports of 200", ports.len());
        let seeds: std::collections::BTreeSet<u64> =
            ids.iter().map(|i| variant(i).seed("lossy")).collect();
        assert_eq!(seeds.len(), 200);
        for id in &ids {
            let v = variant(id);
            assert!((20_000..50_000).contains(&v.port()));
            assert!(v.seed("framing") >= 2);
            assert_eq!(v, variant(id));
        }
        // Every choice is used by someone.
        for song in BUNDLED_SONGS {
            assert!(ids.iter().any(|i| variant(i).song() == song), "{song}");
        }
    }

    #[test]
    fn the_framing_mss_splits_the_end_marker() {
        for id in ["a", "b", "2023-0042", "teacher"] {
            let v = variant(id);
            let mss = v.framing_mss();
            assert!(splits_end_marker(v.seed("framing"), mss), "{id}: {mss}");
        }
    }

    #[test]
    fn options_the_user_set_are_kept() {
        let v = variant("2023-0042");
        let set = Options {
            bandwidth: Some(5_000_000),
            ..Options::new(1)
        };
        let o = v.sim_options(Scenario::Starved, set);
        assert_eq!(o.bandwidth, Some(5_000_000));
        assert_eq!(o.seed, v.seed("starved"));
        let o = v.sim_options(Scenario::Starved, Options::new(1));
        assert_eq!(o.bandwidth, Some(v.starved_bandwidth()));
    }
}
