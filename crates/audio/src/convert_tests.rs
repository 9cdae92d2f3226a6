//! Tests of `convert`: exact sample values, partial frames, channel maps and
//! a resampler that streams the same as it converts in one go.

use super::*;

fn fmt(sample_rate: u32, channels: u16, sample: SampleFormat) -> PcmFormat {
    PcmFormat {
        sample_rate,
        channels,
        sample,
    }
}

fn decode_all(format: PcmFormat, bytes: &[u8]) -> (Vec<f32>, usize) {
    let mut out = Vec::new();
    let used = decode(format, bytes, &mut out);
    (out, used)
}

#[test]
fn every_format_decodes_silence_full_scale_and_half() {
    let cases: [(SampleFormat, Vec<u8>, [f32; 3]); 5] = [
        (SampleFormat::U8, vec![128, 0, 192], [0.0, -1.0, 0.5]),
        (
            SampleFormat::S16,
            [0i16, i16::MIN, 16_384]
                .iter()
                .flat_map(|s| s.to_le_bytes())
                .collect(),
            [0.0, -1.0, 0.5],
        ),
        (
            SampleFormat::S24,
            vec![0, 0, 0, 0, 0, 0x80, 0, 0, 0x40],
            [0.0, -1.0, 0.5],
        ),
        (
            SampleFormat::S32,
            [0i32, i32::MIN, 1 << 30]
                .iter()
                .flat_map(|s| s.to_le_bytes())
                .collect(),
            [0.0, -1.0, 0.5],
        ),
        (
            SampleFormat::F32,
            [0.0f32, -1.0, 0.5]
                .iter()
                .flat_map(|s| s.to_le_bytes())
                .collect(),
            [0.0, -1.0, 0.5],
        ),
    ];
    for (sample, bytes, want) in cases {
        let (got, used) = decode_all(fmt(8000, 1, sample), &bytes);
        assert_eq!(got, want, "{sample}");
        assert_eq!(used, bytes.len());
    }
}

#[test]
fn s24_is_sign_extended() {
    // 0xFFFFFF is -1 in 24 bits, the smallest negative step.
    let (got, _) = decode_all(fmt(8000, 1, SampleFormat::S24), &[0xff, 0xff, 0xff]);
    assert_eq!(got, [-1.0 / 8_388_608.0]);
}

#[test]
fn float_out_of_range_is_clamped_and_nan_is_silence() {
    let bytes: Vec<u8> = [2.0f32, -3.0, f32::NAN]
        .iter()
        .flat_map(|s| s.to_le_bytes())
        .collect();
    let (got, _) = decode_all(fmt(8000, 1, SampleFormat::F32), &bytes);
    assert_eq!(got, [1.0, -1.0, 0.0]);
}

#[test]
fn a_trailing_partial_frame_is_left_over() {
    // Stereo s16: 4-byte frames; 10 bytes = 2 frames + 2 bytes.
    let (got, used) = decode_all(fmt(8000, 2, SampleFormat::S16), &[0; 10]);
    assert_eq!(used, 8);
    assert_eq!(got.len(), 4);
}

#[test]
fn channel_maps() {
    let mut out = Vec::new();
    map_channels(&[0.5, -0.5], 1, 2, &mut out);
    assert_eq!(out, [0.5, 0.5, -0.5, -0.5], "mono to stereo duplicates");

    out.clear();
    map_channels(&[1.0, 0.0, 0.2, 0.4], 2, 1, &mut out);
    assert_eq!(out, [0.5, 0.3], "stereo to mono averages");

    out.clear();
    map_channels(&[0.1, 0.2, 0.3, 0.4, 0.5, 0.6], 6, 2, &mut out);
    assert_eq!(
        out,
        [(0.1 + 0.3 + 0.5) / 3.0, (0.2 + 0.4 + 0.6) / 3.0],
        "5.1 to stereo"
    );

    out.clear();
    map_channels(&[0.1, 0.2], 2, 4, &mut out);
    assert_eq!(out, [0.1, 0.2, 0.1, 0.2], "stereo to quad repeats");
}

#[test]
fn resampling_a_constant_keeps_it_and_scales_the_length() {
    let input = vec![0.25f32; 2 * 4410]; // 100 ms of stereo at 44.1 kHz
    let mut out = Vec::new();
    Resampler::new(44_100, 48_000, 2).process(&input, &mut out);
    let frames = out.len() / 2;
    assert!((4799..=4800).contains(&frames), "{frames} frames");
    assert!(out.iter().all(|&s| s == 0.25));
}

#[test]
fn resampling_interpolates_between_frames() {
    // Doubling the rate puts a midpoint between each pair of input frames.
    let mut out = Vec::new();
    Resampler::new(1000, 2000, 1).process(&[0.0, 1.0, 0.0], &mut out);
    assert_eq!(out, [0.0, 0.5, 1.0, 0.5]);
}

#[test]
fn resampling_in_pieces_equals_resampling_at_once() {
    let input: Vec<f32> = (0..3000)
        .map(|i| ((i * 37) % 200) as f32 / 100.0 - 1.0)
        .collect();
    for (from, to) in [(44_100, 48_000), (48_000, 22_050), (16_000, 44_100)] {
        let mut whole = Vec::new();
        Resampler::new(from, to, 2).process(&input, &mut whole);
        let mut pieces = Vec::new();
        let mut r = Resampler::new(from, to, 2);
        for piece in input.chunks(2 * 7) {
            r.process(piece, &mut pieces);
        }
        assert_eq!(whole, pieces, "{from} -> {to}");
    }
}

#[test]
fn a_converter_keeps_partial_frames_between_pushes() {
    // u8 stereo at 8 kHz to stereo at 8 kHz: bytes fed one at a time.
    let mut conv = Converter::new(fmt(8000, 2, SampleFormat::U8), 8000, 2);
    let mut out = Vec::new();
    for b in [128u8, 0, 255, 192, 64] {
        conv.push(&[b], &mut out);
    }
    assert_eq!(out, [0.0, -1.0, 127.0 / 128.0, 0.5]);

    // mono s16 at 8 kHz to stereo at 16 kHz: twice the frames, two channels.
    let mut conv = Converter::new(fmt(8000, 1, SampleFormat::S16), 16_000, 2);
    let mut out = Vec::new();
    conv.push(&[0; 200], &mut out);
    assert_eq!(out.len(), 2 * (2 * 99));
}
