//! The speaker sink on a real ALSA stack with no sound card: a `null`
//! default device that takes the audio and plays it nowhere.
//!
//! HOME is pointed at a temporary `.asoundrc` before cpal is touched. This
//! file is its own test binary with a single test, so no other test can
//! race with that change of the environment.

use std::sync::Arc;
use std::time::{Duration, Instant};

use streamlab_audio::{output_devices, Player, PlayerState, SinkSpec, TrackBuffer};
use streamlab_proto::{PcmFormat, SampleFormat, Track};

#[test]
fn the_speaker_plays_into_an_alsa_null_device() {
    let home = tempfile::tempdir().unwrap();
    std::fs::write(
        home.path().join(".asoundrc"),
        "pcm.!default { type null }\n",
    )
    .unwrap();
    // Safety of set_var: this binary runs this one test, before any thread
    // that reads the environment (cpal, ALSA) exists.
    std::env::set_var("HOME", home.path());

    let devices = output_devices().unwrap();
    eprintln!("output devices: {devices:?}");
    assert!(!devices.is_empty(), "the null default device is listed");

    let mut sink = SinkSpec::Speaker(None).open().unwrap();
    assert!(sink.realtime());
    assert!(
        sink.describe().starts_with("speaker '"),
        "{}",
        sink.describe()
    );
    eprintln!("opened {}", sink.describe());

    // One second of a mono u8 square wave at 22 050 Hz: the sink converts it
    // to the device's format and rate. (ALSA's null device takes samples as
    // fast as they come, so this cannot show the real-time pacing; the
    // ring's own tests show that a full ring blocks the writer.)
    let format = PcmFormat {
        sample_rate: 22_050,
        channels: 1,
        sample: SampleFormat::U8,
    };
    let pcm: Vec<u8> = (0..22_050)
        .map(|i| if i / 50 % 2 == 0 { 96 } else { 160 })
        .collect();
    let started = Instant::now();
    sink.begin("square", format).unwrap();
    for piece in pcm.chunks(441) {
        sink.write(piece).unwrap();
    }
    sink.end().unwrap();
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(5),
        "end() waits for the ring to drain: took {took:?}"
    );

    // The same through the player: CD audio, half a second.
    let player = Player::new(sink).unwrap();
    assert!(player.realtime());
    let track = Track {
        name: "cd".into(),
        format: PcmFormat::CD,
        pcm: vec![0u8; 88_200].into(),
    };
    player.play(Arc::new(TrackBuffer::from_track(track)));
    assert!(player.wait_until_done(Duration::from_secs(10)));
    let status = player.status();
    assert_eq!(status.state, PlayerState::Finished, "{status:?}");
    assert_eq!(status.position_bytes, 88_200);

    // A device name that matches nothing is a one-line error naming it.
    let err = SinkSpec::Speaker(Some("no such card".into()))
        .open()
        .err()
        .unwrap();
    assert_eq!(
        err.to_string(),
        "audio device 'no such card': no output device has that name"
    );
}
