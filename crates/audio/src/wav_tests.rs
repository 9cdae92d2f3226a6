//! Tests of `wav`: bit-exact round trips, files written by hound itself,
//! and one test per kind of broken file.

use super::*;

fn fmt(sample_rate: u32, channels: u16, sample: SampleFormat) -> PcmFormat {
    PcmFormat {
        sample_rate,
        channels,
        sample,
    }
}

/// Bytes 0, 1, 2, … 250, 0, 1, …: every byte value, no structure.
fn ramp(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

/// A WAV file built by hand, for headers hound would never write.
fn raw_wav(tag: u16, channels: u16, bits: u16, block_align: u16, data: &[u8]) -> Vec<u8> {
    let rate = 8000u32;
    let mut out = Vec::new();
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + data.len() as u32).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&tag.to_le_bytes());
    out.extend_from_slice(&channels.to_le_bytes());
    out.extend_from_slice(&rate.to_le_bytes());
    out.extend_from_slice(&(rate * u32::from(block_align)).to_le_bytes());
    out.extend_from_slice(&block_align.to_le_bytes());
    out.extend_from_slice(&bits.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out.extend_from_slice(data);
    out
}

fn load_bytes(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> Result<Track, AudioError> {
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).expect("temp dir is writable");
    load_wav(&path)
}

#[test]
fn every_sample_format_round_trips_bit_exactly() {
    let dir = tempfile::tempdir().unwrap();
    for sample in SampleFormat::ALL {
        for channels in [1u16, 2, 3] {
            let format = fmt(22_050, channels, sample);
            // An odd number of frames, so 8- and 24-bit mono need a pad byte.
            let pcm = ramp(format.frame_bytes() * 1001);
            let path = dir.path().join(format!("{sample}-{channels}.wav"));
            write_wav(&path, format, &pcm).unwrap();

            let track = load_wav(&path).unwrap();
            assert_eq!(track.format, format, "{path:?}");
            assert_eq!(&track.pcm[..], &pcm[..], "{path:?}");
            assert_eq!(track.name, format!("{sample}-{channels}"));
            let file_len = std::fs::metadata(&path).unwrap().len();
            assert_eq!(file_len % 2, 0, "{path:?} is not word aligned");
        }
    }
}

#[test]
fn hound_reads_what_we_write() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("u8.wav");
    write_wav(&path, fmt(8000, 1, SampleFormat::U8), &[0, 128, 255]).unwrap();
    let mut reader = hound::WavReader::open(&path).unwrap();
    let samples: Vec<i8> = reader.samples::<i8>().map(|s| s.unwrap()).collect();
    assert_eq!(samples, [-128, 0, 127]);

    let path = dir.path().join("f32.wav");
    let pcm: Vec<u8> = [0.5f32, -1.0]
        .iter()
        .flat_map(|s| s.to_le_bytes())
        .collect();
    write_wav(&path, fmt(48_000, 2, SampleFormat::F32), &pcm).unwrap();
    let mut reader = hound::WavReader::open(&path).unwrap();
    assert_eq!(reader.spec().sample_format, hound::SampleFormat::Float);
    let samples: Vec<f32> = reader.samples::<f32>().map(|s| s.unwrap()).collect();
    assert_eq!(samples, [0.5, -1.0]);
}

#[test]
fn eight_bit_files_from_hound_load_as_unsigned_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hound8.wav");
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 11_025,
        bits_per_sample: 8,
        sample_format: hound::SampleFormat::Int,
    };
    let mut writer = hound::WavWriter::create(&path, spec).unwrap();
    for s in [-128i8, -1, 0, 1, 127] {
        writer.write_sample(s).unwrap();
    }
    writer.finalize().unwrap();
    let track = load_wav(&path).unwrap();
    assert_eq!(track.format, fmt(11_025, 1, SampleFormat::U8));
    assert_eq!(&track.pcm[..], [0, 127, 128, 129, 255]);
}

#[test]
fn extensible_files_from_hound_load() {
    let dir = tempfile::tempdir().unwrap();
    // hound writes WAVE_FORMAT_EXTENSIBLE for more than 2 channels.
    let path = dir.path().join("quad24.wav");
    let spec = hound::WavSpec {
        channels: 4,
        sample_rate: 96_000,
        bits_per_sample: 24,
        sample_format: hound::SampleFormat::Int,
    };
    let mut writer = hound::WavWriter::create(&path, spec).unwrap();
    for s in [1i32, -1, 0x7f_ffff, -0x80_0000] {
        writer.write_sample(s).unwrap();
    }
    writer.finalize().unwrap();
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(&bytes[20..22], [0xfe, 0xff], "WAVE_FORMAT_EXTENSIBLE tag");

    let track = load_wav(&path).unwrap();
    assert_eq!(track.format, fmt(96_000, 4, SampleFormat::S24));
    assert_eq!(
        &track.pcm[..],
        [1, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 0, 0, 0x80]
    );
}

#[test]
fn samples_narrower_than_their_container_are_refused() {
    // hound stores these right-justified, the WAV rules left-justified:
    // the bytes are ambiguous, so they are refused rather than misplayed.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("24in32.wav");
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 8000,
        bits_per_sample: 24,
        sample_format: hound::SampleFormat::Int,
    };
    let spec_ex = hound::WavSpecEx {
        spec,
        bytes_per_sample: 4,
    };
    let file = BufWriter::new(File::create(&path).unwrap());
    let mut writer = hound::WavWriter::new_with_spec_ex(file, spec_ex).unwrap();
    writer.write_sample(1i32).unwrap();
    writer.finalize().unwrap();
    let err = load_wav(&path).unwrap_err();
    assert!(
        err.to_string()
            .ends_with("24in32.wav: unsupported WAV: 24-bit samples in 4-byte containers"),
        "{err}"
    );
}

#[test]
fn a_writer_leaves_a_valid_file_after_each_sync() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("grow.wav");
    let format = fmt(8000, 1, SampleFormat::S24);
    let mut writer = WavFileWriter::create(&path, format).unwrap();
    writer.write(&[1, 2, 3]).unwrap();
    writer.sync().unwrap();
    assert_eq!(&load_wav(&path).unwrap().pcm[..], [1, 2, 3]);

    writer.write(&[4, 5, 6]).unwrap();
    drop(writer); // no finish: Drop must still fix the header
    assert_eq!(&load_wav(&path).unwrap().pcm[..], [1, 2, 3, 4, 5, 6]);
}

#[test]
fn a_text_file_is_not_a_wav() {
    let dir = tempfile::tempdir().unwrap();
    let err = load_bytes(&dir, "notes.wav", b"hello, this is text").unwrap_err();
    assert!(matches!(err, AudioError::NotWav { .. }), "{err}");
    assert!(
        err.to_string().ends_with("notes.wav: not a WAV file"),
        "{err}"
    );
    let err = load_bytes(&dir, "empty.wav", b"").unwrap_err();
    assert!(matches!(err, AudioError::NotWav { .. }), "{err}");
    let err = load_bytes(&dir, "movie.wav", b"RIFF\x04\0\0\0AVI ").unwrap_err();
    assert!(matches!(err, AudioError::NotWav { .. }), "{err}");
}

#[test]
fn a_missing_file_names_the_file() {
    let err = load_wav("/nonexistent/song.wav").unwrap_err();
    assert!(matches!(err, AudioError::Io { .. }), "{err}");
    assert!(
        err.to_string().starts_with("/nonexistent/song.wav: "),
        "{err}"
    );
}

#[test]
fn twelve_bit_and_64_bit_float_are_unsupported() {
    let dir = tempfile::tempdir().unwrap();
    let err = load_bytes(&dir, "12bit.wav", &raw_wav(1, 1, 12, 2, &[0; 4])).unwrap_err();
    assert!(matches!(err, AudioError::Unsupported { .. }), "{err}");
    assert!(
        err.to_string().contains("12bit.wav: unsupported WAV: "),
        "{err}"
    );

    let err = load_bytes(&dir, "f64.wav", &raw_wav(3, 1, 64, 8, &[0; 16])).unwrap_err();
    assert!(matches!(err, AudioError::Unsupported { .. }), "{err}");

    let err = load_bytes(&dir, "adpcm.wav", &raw_wav(2, 1, 8, 1, &[0; 16])).unwrap_err();
    assert!(
        err.to_string().contains("compressed or unknown encoding"),
        "{err}"
    );
}

#[test]
fn a_cut_file_is_truncated() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = raw_wav(1, 2, 16, 4, &ramp(400));
    bytes.truncate(44 + 100);
    let err = load_bytes(&dir, "cut.wav", &bytes).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "{}: truncated: data chunk says 400 bytes, file has 100",
            dir.path().join("cut.wav").display()
        )
    );
    bytes.truncate(30); // inside the fmt chunk
    let err = load_bytes(&dir, "cut.wav", &bytes).unwrap_err();
    assert!(matches!(err, AudioError::Truncated { .. }), "{err}");
}

#[test]
fn no_frames_or_a_partial_frame_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let err = load_bytes(&dir, "silent.wav", &raw_wav(1, 2, 16, 4, &[])).unwrap_err();
    assert!(matches!(err, AudioError::Empty { .. }), "{err}");
    assert!(
        err.to_string().ends_with("silent.wav: no audio frames"),
        "{err}"
    );
    // 6 bytes of 4-byte frames: hound refuses the header.
    let err = load_bytes(&dir, "odd.wav", &raw_wav(1, 2, 16, 4, &[1, 2, 3, 4, 5, 6])).unwrap_err();
    assert!(matches!(err, AudioError::Unsupported { .. }), "{err}");
}

#[test]
fn formats_a_wav_header_cannot_hold_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.wav");
    let err = write_wav(&path, fmt(8000, 0, SampleFormat::S16), &[]).unwrap_err();
    assert!(matches!(err, AudioError::TooBig { .. }), "{err}");
    let err = write_wav(&path, fmt(u32::MAX, 2, SampleFormat::S16), &[]).unwrap_err();
    assert!(matches!(err, AudioError::TooBig { .. }), "{err}");
}
