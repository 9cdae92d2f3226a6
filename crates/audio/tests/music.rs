//! The WAV files in `music/` are exactly what `synth` makes today.

use std::path::Path;

use streamlab_audio::{load_wav, synth::bundled_songs};

const REGENERATE: &str =
    "regenerate with: cargo run -p streamlab-audio --example make_music -- music";

#[test]
fn bundled_music_is_up_to_date() {
    let music = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../music");
    for song in bundled_songs() {
        let path = music.join(format!("{}.wav", song.name));
        let file = load_wav(&path).unwrap_or_else(|e| panic!("{e}; {REGENERATE}"));
        assert_eq!(
            file.format,
            song.format,
            "{}: format differs; {REGENERATE}",
            path.display()
        );
        assert!(
            file.pcm == song.pcm,
            "{}: audio differs; {REGENERATE}",
            path.display()
        );
    }
}
