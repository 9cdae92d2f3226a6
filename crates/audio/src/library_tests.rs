//! Tests of `library`: what a scan takes and skips, the symlink policy, and
//! songs read on first use, once, or refused when their file went wrong.

use std::sync::{Arc, Barrier};

use super::*;
use crate::wav::write_wav;
use streamlab_proto::PcmFormat;

fn song(dir: &Path, file: &str, bytes: &[u8]) {
    write_wav(dir.join(file), PcmFormat::CD, bytes).unwrap();
}

fn pcm_of(library: &Library, name: &str) -> Vec<u8> {
    library.find(name).unwrap().track().unwrap().pcm.to_vec()
}

#[test]
fn scans_wav_files_sorted_and_skips_broken_ones() {
    let dir = tempfile::tempdir().unwrap();
    song(dir.path(), "b_song.WAV", &[1, 2, 3, 4]);
    song(dir.path(), "a_song.wav", &[5, 6, 7, 8]);
    song(dir.path(), "Zebra.wav", &[9, 9, 9, 9]);
    fs::write(dir.path().join("broken.wav"), b"not audio").unwrap();
    fs::write(dir.path().join("readme.txt"), b"hi").unwrap();
    fs::create_dir(dir.path().join("sub")).unwrap();
    song(&dir.path().join("sub"), "deep.wav", &[0; 4]);

    let library = Library::scan(dir.path()).unwrap();
    // Byte order: uppercase sorts before lowercase.
    assert_eq!(library.names(), ["Zebra", "a_song", "b_song"]);
    assert_eq!(library.skipped().len(), 1);
    assert!(library.skipped()[0].1.contains("not a WAV file"));
    assert_eq!(library.dir(), dir.path());
    assert_eq!(library.songs().len(), 3);
    assert_eq!(pcm_of(&library, "b_song"), [1, 2, 3, 4]);
}

#[test]
fn a_file_cut_short_is_skipped_at_scan_without_reading_its_audio() {
    let dir = tempfile::tempdir().unwrap();
    song(dir.path(), "whole.wav", &[1, 2, 3, 4]);
    song(dir.path(), "cut.wav", &[0; 400]);
    let cut = dir.path().join("cut.wav");
    let len = fs::metadata(&cut).unwrap().len();
    fs::File::options()
        .write(true)
        .open(&cut)
        .unwrap()
        .set_len(len - 100)
        .unwrap();
    let library = Library::scan(dir.path()).unwrap();
    assert_eq!(library.names(), ["whole"]);
    assert!(
        library.skipped()[0]
            .1
            .ends_with("truncated: data chunk says 400 bytes, file has 300"),
        "{:?}",
        library.skipped()
    );
}

#[test]
fn songs_whose_names_a_client_cannot_send_are_skipped() {
    let dir = tempfile::tempdir().unwrap();
    song(dir.path(), "good.wav", &[1, 2, 3, 4]);
    song(dir.path(), "two..dots.wav", &[1, 2, 3, 4]);
    song(dir.path(), "new\nline.wav", &[1, 2, 3, 4]);
    song(dir.path(), " padded.wav", &[1, 2, 3, 4]);
    let library = Library::scan(dir.path()).unwrap();
    assert_eq!(library.names(), ["good"]);
    assert_eq!(library.skipped().len(), 3, "{:?}", library.skipped());
}

#[test]
fn find_ignores_case_and_every_track_shares_the_pcm() {
    let dir = tempfile::tempdir().unwrap();
    song(dir.path(), "Ode.wav", &[1, 2, 3, 4]);
    let library = Library::scan(dir.path()).unwrap();
    let found = library.find("oDE").unwrap();
    assert_eq!(found.name(), "Ode");
    let (a, b) = (found.track().unwrap(), found.track().unwrap());
    assert!(Arc::ptr_eq(&a.pcm, &b.pcm));
    assert!(library.find("od").is_none());
}

#[test]
fn names_equal_ignoring_case_keep_the_first() {
    let dir = tempfile::tempdir().unwrap();
    song(dir.path(), "SONG.wav", &[1, 1, 1, 1]);
    song(dir.path(), "song.wav", &[2, 2, 2, 2]);
    let library = Library::scan(dir.path()).unwrap();
    assert_eq!(library.names(), ["SONG"]);
    assert_eq!(pcm_of(&library, "song"), [1, 1, 1, 1]);
    assert!(library.skipped()[0].1.contains("already named"));
}

#[test]
fn unusable_directories_are_one_line_errors() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope");
    let err = Library::scan(&missing).unwrap_err().to_string();
    assert_eq!(
        err,
        format!("song directory {}: does not exist", missing.display())
    );

    let file = dir.path().join("file.wav");
    song(dir.path(), "file.wav", &[0; 4]);
    let err = Library::scan(&file).unwrap_err().to_string();
    assert!(err.ends_with("file.wav: not a directory"), "{err}");

    let empty = tempfile::tempdir().unwrap();
    let err = Library::scan(empty.path()).unwrap_err().to_string();
    assert!(err.ends_with(": no playable WAV file"), "{err}");

    fs::write(empty.path().join("bad.wav"), b"RIFF").unwrap();
    let err = Library::scan(empty.path()).unwrap_err().to_string();
    assert!(err.ends_with(": no playable WAV file (1 skipped)"), "{err}");
    assert!(!err.contains('\n'));
}

#[test]
fn from_tracks_sorts_and_dedups() {
    let t = |name: &str| Track {
        name: name.into(),
        format: PcmFormat::CD,
        pcm: vec![0u8; 4].into(),
    };
    let library = Library::from_tracks("bundled", vec![t("b"), t("a"), t("A")]);
    assert_eq!(library.names(), ["A", "b"]);
    assert_eq!(library.skipped()[0].0, Path::new("bundled/a.wav"));
    assert!(library.songs().iter().all(Song::is_loaded));
}

// ----- symlinks -----

/// A music folder holding `real.wav`, `inside.wav` (a link to a file in a
/// subfolder) and `outside.wav` (a link to a file in another folder).
#[cfg(unix)]
fn linked_folder() -> (tempfile::TempDir, tempfile::TempDir) {
    use std::os::unix::fs::symlink;
    let music = tempfile::tempdir().unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    song(music.path(), "real.wav", &[1, 1, 1, 1]);
    fs::create_dir(music.path().join("store")).unwrap();
    song(&music.path().join("store"), "kept.wav", &[2, 2, 2, 2]);
    song(elsewhere.path(), "private.wav", &[3, 3, 3, 3]);
    symlink(
        music.path().join("store/kept.wav"),
        music.path().join("inside.wav"),
    )
    .unwrap();
    symlink(
        elsewhere.path().join("private.wav"),
        music.path().join("outside.wav"),
    )
    .unwrap();
    (music, elsewhere)
}

#[cfg(unix)]
#[test]
fn a_symlink_out_of_the_folder_is_skipped_by_default() {
    let (music, _elsewhere) = linked_folder();
    let library = Library::scan(music.path()).unwrap();
    assert_eq!(library.names(), ["inside", "real"]);
    assert_eq!(pcm_of(&library, "inside"), [2, 2, 2, 2]);
    let [(path, reason)] = library.skipped() else {
        panic!("one file skipped: {:?}", library.skipped())
    };
    assert_eq!(path, &music.path().join("outside.wav"));
    assert!(
        reason.contains("private.wav, outside the song directory"),
        "{reason}"
    );
}

#[cfg(unix)]
#[test]
fn follow_symlinks_serves_links_out_of_the_folder() {
    let (music, _elsewhere) = linked_folder();
    let options = ScanOptions {
        follow_symlinks: true,
    };
    let library = Library::scan_with(music.path(), options).unwrap();
    assert_eq!(library.names(), ["inside", "outside", "real"]);
    assert_eq!(pcm_of(&library, "outside"), [3, 3, 3, 3]);
    assert!(library.skipped().is_empty());
}

#[cfg(unix)]
#[test]
fn a_file_swapped_for_an_outside_link_after_the_scan_is_refused() {
    let (music, elsewhere) = linked_folder();
    let library = Library::scan(music.path()).unwrap();
    let real = music.path().join("real.wav");
    fs::remove_file(&real).unwrap();
    std::os::unix::fs::symlink(elsewhere.path().join("private.wav"), &real).unwrap();
    let err = library.find("real").unwrap().track().unwrap_err();
    assert!(matches!(err, AudioError::OutsideLibrary { .. }), "{err}");
}

// ----- reading on first use -----

#[test]
fn a_scan_reads_no_audio_until_a_song_is_asked_for() {
    let dir = tempfile::tempdir().unwrap();
    song(dir.path(), "a.wav", &[1, 2, 3, 4]);
    song(dir.path(), "b.wav", &[5, 6, 7, 8]);
    let library = Library::scan(dir.path()).unwrap();
    let (a, b) = (library.find("a").unwrap(), library.find("b").unwrap());
    assert!(!a.is_loaded() && !b.is_loaded());
    assert_eq!((a.audio_bytes(), a.format()), (4, PcmFormat::CD));
    assert_eq!(&a.track().unwrap().pcm[..], [1, 2, 3, 4]);
    assert!(a.is_loaded());
    assert!(!b.is_loaded(), "only the song asked for is read");
}

#[test]
fn two_threads_asking_at_once_read_the_song_once() {
    let dir = tempfile::tempdir().unwrap();
    // Large enough that a second read would overlap the first.
    let pcm: Vec<u8> = (0..8 << 20).map(|i: u32| (i % 251) as u8).collect();
    song(dir.path(), "big.wav", &pcm);
    let library = Library::scan(dir.path()).unwrap();
    let big = library.find("big").unwrap();
    let start = Barrier::new(2);
    let (a, b) = std::thread::scope(|s| {
        let ask = || {
            start.wait();
            big.track().unwrap()
        };
        let a = s.spawn(ask);
        let b = s.spawn(ask);
        (a.join().unwrap(), b.join().unwrap())
    });
    assert!(Arc::ptr_eq(&a.pcm, &b.pcm), "one read, one shared copy");
    assert!(a.pcm[..] == pcm[..]);
}

#[test]
fn a_song_whose_file_vanished_or_changed_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    song(dir.path(), "gone.wav", &[1, 2, 3, 4]);
    song(dir.path(), "changed.wav", &[1, 2, 3, 4]);
    song(dir.path(), "kept.wav", &[5, 6, 7, 8]);
    let library = Library::scan(dir.path()).unwrap();

    fs::remove_file(dir.path().join("gone.wav")).unwrap();
    let err = library.find("gone").unwrap().track().unwrap_err();
    assert!(matches!(err, AudioError::Io { .. }), "{err}");
    assert!(err.to_string().contains("gone.wav: "), "{err}");

    song(dir.path(), "changed.wav", &[1, 2, 3, 4, 5, 6, 7, 8]);
    let err = library.find("changed").unwrap().track().unwrap_err();
    assert!(
        err.to_string()
            .ends_with("changed.wav: changed since the songs were scanned: its audio was 4 bytes at byte 44, now 8 at byte 44"),
        "{err}"
    );
    assert_eq!(pcm_of(&library, "kept"), [5, 6, 7, 8]);

    // Put back as it was, the song is read on the next request.
    song(dir.path(), "gone.wav", &[1, 2, 3, 4]);
    assert_eq!(pcm_of(&library, "gone"), [1, 2, 3, 4]);
}
