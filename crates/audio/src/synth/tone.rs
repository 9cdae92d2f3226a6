//! The instrument: pitches, a sine, an envelope and sample encoding, all
//! in arithmetic that gives the same bits on every machine.
//!
//! Only `+ - * /` on floats (which IEEE 754 rounds exactly, and Rust never
//! fuses into FMA on its own), integer phase accumulators and `as` casts
//! (exactly defined in Rust) are used. No `sin`, `exp` or `powf`: those
//! come from the platform's libm and may differ in the last bit.

use streamlab_proto::SampleFormat;

/// 2^(k/12) for k = 0..12, the equal-tempered semitone ratios. Decimal
/// literals parse to the same `f64` everywhere.
const SEMITONE: [f64; 12] = [
    1.0,
    1.059_463_094_359_295_3,
    1.122_462_048_309_373,
    1.189_207_115_002_721,
    1.259_921_049_894_873_2,
    1.334_839_854_170_034_4,
    std::f64::consts::SQRT_2,
    1.498_307_076_876_681_5,
    1.587_401_051_968_199_4,
    1.681_792_830_507_429,
    1.781_797_436_280_678_5,
    1.887_748_625_363_386_8,
];

/// The frequency of a note written like `A4`, `C5`, `F#4` or `Bb3` (A4 =
/// 440 Hz, equal temperament), or `None` if it is not such a name.
pub fn frequency(note: &str) -> Option<f64> {
    let mut chars = note.chars();
    let letter = match chars.next()? {
        'C' => 0,
        'D' => 2,
        'E' => 4,
        'F' => 5,
        'G' => 7,
        'A' => 9,
        'B' => 11,
        _ => return None,
    };
    let rest = chars.as_str();
    let (shift, octave) = match rest.as_bytes().first()? {
        b'#' => (1, &rest[1..]),
        b'b' => (-1, &rest[1..]),
        _ => (0, rest),
    };
    let octave: i32 = octave.parse().ok().filter(|o| (0..=9).contains(o))?;
    // Semitones from A4 (MIDI 69), split into octaves and a semitone.
    let from_a4 = 12 * (octave + 1) + letter + shift - 69;
    let (octaves, semitone) = (from_a4.div_euclid(12), from_a4.rem_euclid(12));
    let mut freq = 440.0 * SEMITONE[semitone as usize];
    for _ in 0..octaves.abs() {
        freq = if octaves > 0 { freq * 2.0 } else { freq / 2.0 };
    }
    Some(freq)
}

/// sin(2π · phase / 2^32), to about 1e-7, from a Taylor polynomial on a
/// quarter wave.
pub fn sine(phase: u32) -> f64 {
    const QUARTER: f64 = 1_073_741_824.0; // 2^30
    let quadrant = phase >> 30;
    let within = f64::from(phase & 0x3fff_ffff) / QUARTER;
    let t = if quadrant & 1 == 0 {
        within
    } else {
        1.0 - within
    };
    let x = t * std::f64::consts::FRAC_PI_2;
    let x2 = x * x;
    let y = x
        * (1.0
            - x2 / 6.0
                * (1.0 - x2 / 20.0 * (1.0 - x2 / 42.0 * (1.0 - x2 / 72.0 * (1.0 - x2 / 110.0)))));
    if quadrant >= 2 {
        -y
    } else {
        y
    }
}

/// Relative strength of harmonics 1..=5: a soft, slightly reedy tone.
const HARMONICS: [f64; 5] = [1.0, 0.45, 0.25, 0.12, 0.06];
/// Their sum, so the peak stays at the note's amplitude.
const HARMONICS_SUM: f64 = 1.88;

/// Adds one note of `len` samples at `freq` Hz to `out` (which must hold
/// it): a 10 ms attack, a decay that also mellows the upper harmonics, and
/// a 40 ms release so repeated notes stay apart.
pub fn add_note(out: &mut [f64], freq: f64, rate: u32, amplitude: f64) {
    let rate_f = f64::from(rate);
    // Phase step per sample in 1/2^32 of a cycle; truncation is exact.
    let step = (freq * 4_294_967_296.0 / rate_f) as u32;
    let attack = (rate / 100).max(1) as usize;
    let release = (rate / 25).max(1) as usize;
    let len = out.len();
    for (i, slot) in out.iter_mut().enumerate() {
        let rise = if i < attack {
            i as f64 / attack as f64
        } else {
            1.0
        };
        let fall = if len - i < release {
            (len - i) as f64 / release as f64
        } else {
            1.0
        };
        let decay = 1.0 / (1.0 + i as f64 * 2.5 / rate_f);
        let phase = step.wrapping_mul(i as u32);
        let mut tone = 0.0;
        let mut brightness = 1.0;
        for (k, weight) in HARMONICS.iter().enumerate() {
            tone += weight * brightness * sine(phase.wrapping_mul(k as u32 + 1));
            brightness *= decay;
        }
        *slot += amplitude * rise * fall * decay * tone / HARMONICS_SUM;
    }
}

/// Appends `x` (clamped to -1..=1) as one sample of `format`, rounding half
/// away from zero with casts only.
pub fn encode(format: SampleFormat, x: f64, out: &mut Vec<u8>) {
    let x = x.clamp(-1.0, 1.0);
    let round = |v: f64| {
        if v >= 0.0 {
            (v + 0.5) as i64
        } else {
            (v - 0.5) as i64
        }
    };
    match format {
        SampleFormat::U8 => out.push((128 + round(x * 127.0)) as u8),
        SampleFormat::S16 => out.extend_from_slice(&(round(x * 32_767.0) as i16).to_le_bytes()),
        SampleFormat::S24 => {
            out.extend_from_slice(&(round(x * 8_388_607.0) as i32).to_le_bytes()[..3])
        }
        SampleFormat::S32 => {
            out.extend_from_slice(&(round(x * 2_147_483_647.0) as i32).to_le_bytes())
        }
        SampleFormat::F32 => out.extend_from_slice(&(x as f32).to_le_bytes()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn note_names_give_equal_tempered_pitches() {
        assert_eq!(frequency("A4"), Some(440.0));
        assert_eq!(frequency("A5"), Some(880.0));
        assert_eq!(frequency("A3"), Some(220.0));
        let close = |note: &str, hz: f64| (frequency(note).unwrap() - hz).abs() < 0.01;
        assert!(close("C4", 261.63), "middle C");
        assert!(close("E5", 659.26));
        assert!(close("G#4", 415.30));
        assert!(close("Bb3", 233.08));
        assert_eq!(frequency("Ab4"), frequency("G#4"));
        assert_eq!(frequency("B#4"), frequency("C5"));
        for bad in ["", "H4", "C", "C#", "Cx4", "C10", "c4"] {
            assert_eq!(frequency(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn the_polynomial_sine_is_a_sine() {
        for i in 0..4096u32 {
            let phase = i.wrapping_mul(1_048_576) + i; // all over the circle
            let exact = (f64::from(phase) / 4_294_967_296.0 * std::f64::consts::TAU).sin();
            assert!((sine(phase) - exact).abs() < 1e-6, "phase {phase}");
        }
        assert_eq!(sine(0), 0.0);
        assert!((sine(1 << 30) - 1.0).abs() < 1e-6);
        assert!((sine(3 << 30) + 1.0).abs() < 1e-6);
    }

    #[test]
    fn encoding_rounds_and_clamps() {
        let enc = |f, x| {
            let mut out = Vec::new();
            encode(f, x, &mut out);
            out
        };
        assert_eq!(enc(SampleFormat::U8, 0.0), [128]);
        assert_eq!(enc(SampleFormat::U8, -1.0), [1]);
        assert_eq!(enc(SampleFormat::U8, 2.0), [255]);
        assert_eq!(enc(SampleFormat::S16, 1.0), 32_767i16.to_le_bytes());
        assert_eq!(enc(SampleFormat::S16, -0.5), (-16_384i16).to_le_bytes());
        assert_eq!(enc(SampleFormat::S24, -1.0), [0x01, 0x00, 0x80]);
        assert_eq!(enc(SampleFormat::S32, 1.0), i32::MAX.to_le_bytes());
        assert_eq!(enc(SampleFormat::F32, 0.25), 0.25f32.to_le_bytes());
    }

    #[test]
    fn a_note_starts_and_ends_silent_and_stays_in_range() {
        let mut out = vec![0.0; 8000];
        add_note(&mut out, 440.0, 16_000, 0.5);
        assert_eq!(out[0], 0.0);
        assert!(out[7999].abs() < 0.01);
        assert!(out.iter().all(|s| s.abs() <= 0.5));
        assert!(out.iter().any(|s| s.abs() > 0.3), "it is audible");
    }
}
