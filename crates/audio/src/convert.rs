//! Turning PCM bytes of any [`PcmFormat`] into the `f32` frames a sound card
//! wants: decoding, channel mapping and (linear) resampling.
//!
//! Everything here streams: bytes arrive in pieces of any size, a piece may
//! end in the middle of a frame, and the output of many small pieces equals
//! the output of one big piece. Only the speaker sink needs it; the WAV and
//! null sinks keep the bytes as they are.

use streamlab_proto::{PcmFormat, SampleFormat};

/// Decodes the whole frames at the start of `bytes` into interleaved
/// samples in -1.0..=1.0, appended to `out`. Returns how many bytes it
/// used: a trailing partial frame is left for the caller to keep.
pub fn decode(format: PcmFormat, bytes: &[u8], out: &mut Vec<f32>) -> usize {
    let frame = format.frame_bytes();
    if frame == 0 {
        return 0;
    }
    let used = bytes.len() - bytes.len() % frame;
    let size = format.sample.bytes();
    out.extend(
        bytes[..used]
            .chunks_exact(size)
            .map(|b| decode_sample(format.sample, b)),
    );
    used
}

/// Decodes one sample (`b` holds exactly `sample.bytes()` bytes).
pub fn decode_sample(sample: SampleFormat, b: &[u8]) -> f32 {
    match (sample, b) {
        (SampleFormat::U8, [x]) => (f32::from(*x) - 128.0) / 128.0,
        (SampleFormat::S16, [x, y]) => f32::from(i16::from_le_bytes([*x, *y])) / 32_768.0,
        (SampleFormat::S24, [x, y, z]) => {
            // Put the 3 bytes at the top of an i32 and shift back: sign extension.
            (i32::from_le_bytes([0, *x, *y, *z]) >> 8) as f32 / 8_388_608.0
        }
        (SampleFormat::S32, [w, x, y, z]) => {
            i32::from_le_bytes([*w, *x, *y, *z]) as f32 / 2_147_483_648.0
        }
        (SampleFormat::F32, [w, x, y, z]) => {
            let v = f32::from_le_bytes([*w, *x, *y, *z]);
            if v.is_nan() {
                0.0
            } else {
                v.clamp(-1.0, 1.0)
            }
        }
        _ => 0.0, // a slice of the wrong length: only reachable by misuse
    }
}

/// Maps interleaved frames of `from` channels to `to` channels, appended to
/// `out`:
///
/// * the same count: copied;
/// * fewer channels: output channel `c` is the average of the input
///   channels `i` with `i % to == c` (stereo → mono averages L and R);
/// * more channels: output channel `c` repeats input channel `c % from`
///   (mono → stereo duplicates).
pub fn map_channels(input: &[f32], from: u16, to: u16, out: &mut Vec<f32>) {
    let (from, to) = (usize::from(from), usize::from(to));
    if from == 0 || to == 0 {
        return;
    }
    if from == to {
        out.extend_from_slice(input);
        return;
    }
    for frame in input.chunks_exact(from) {
        for c in 0..to {
            if from > to {
                let mixed = frame.iter().skip(c).step_by(to);
                let (sum, n) = mixed.fold((0.0, 0u16), |(sum, n), v| (sum + v, n + 1));
                out.push(sum / f32::from(n));
            } else {
                out.push(frame[c % from]);
            }
        }
    }
}

/// A streaming linear-interpolation resampler for interleaved frames.
///
/// Output frame `k` sits at input time `k * from / to` (in input frames),
/// computed with integers so it never drifts however long the stream.
#[derive(Debug, Clone)]
pub struct Resampler {
    from: u32,
    to: u32,
    channels: usize,
    /// The last input frame of the previous call (input index -1).
    last: Vec<f32>,
    /// Where the next output frame sits, in 1/`to` input frames after `last`.
    next: u64,
}

impl Resampler {
    /// A resampler from `from` Hz to `to` Hz for frames of `channels`.
    pub fn new(from: u32, to: u32, channels: u16) -> Self {
        Self {
            from: from.max(1),
            to: to.max(1),
            channels: usize::from(channels.max(1)),
            last: Vec::new(),
            next: 0,
        }
    }

    /// Resamples whole frames of `input`, appending to `out`.
    pub fn process(&mut self, input: &[f32], out: &mut Vec<f32>) {
        let ch = self.channels;
        if self.from == self.to {
            out.extend_from_slice(&input[..input.len() - input.len() % ch]);
            return;
        }
        let mut input = input;
        if self.last.is_empty() {
            // The very first frame becomes input index -1.
            let Some(first) = input.get(..ch) else { return };
            self.last = first.to_vec();
            input = &input[ch..];
        }
        let frames = (input.len() / ch) as u64;
        let to = u64::from(self.to);
        while self.next / to < frames {
            let i = (self.next / to) as usize;
            let f = (self.next % to) as f32 / to as f32;
            let a = if i == 0 {
                &self.last[..]
            } else {
                &input[(i - 1) * ch..i * ch]
            };
            let b = &input[i * ch..(i + 1) * ch];
            out.extend(a.iter().zip(b).map(|(a, b)| a + (b - a) * f));
            self.next += u64::from(self.from);
        }
        if frames > 0 {
            self.next -= frames * to;
            let end = frames as usize * ch;
            self.last.copy_from_slice(&input[end - ch..end]);
        }
    }
}

/// Bytes in one format to `f32` frames at another rate and channel count:
/// [`decode`], then [`map_channels`], then [`Resampler`]. Keeps a trailing
/// partial frame until the next call completes it.
#[derive(Debug, Clone)]
pub struct Converter {
    from: PcmFormat,
    to_channels: u16,
    pending: Vec<u8>,
    resampler: Resampler,
    decoded: Vec<f32>,
    mapped: Vec<f32>,
}

impl Converter {
    /// Converts from `from` to `to_rate` Hz with `to_channels` channels.
    pub fn new(from: PcmFormat, to_rate: u32, to_channels: u16) -> Self {
        Self {
            from,
            to_channels,
            pending: Vec::new(),
            resampler: Resampler::new(from.sample_rate, to_rate, to_channels),
            decoded: Vec::new(),
            mapped: Vec::new(),
        }
    }

    /// Converts `bytes` (after whatever partial frame was kept), appending
    /// interleaved samples to `out`.
    pub fn push(&mut self, bytes: &[u8], out: &mut Vec<f32>) {
        self.pending.extend_from_slice(bytes);
        self.decoded.clear();
        let used = decode(self.from, &self.pending, &mut self.decoded);
        self.pending.drain(..used);
        self.mapped.clear();
        map_channels(
            &self.decoded,
            self.from.channels,
            self.to_channels,
            &mut self.mapped,
        );
        self.resampler.process(&self.mapped, out);
    }
}

#[cfg(test)]
#[path = "convert_tests.rs"]
mod tests;
