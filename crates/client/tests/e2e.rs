//! The client against the real server on 127.0.0.1, with the bundled songs:
//! what reaches the sink must be the served WAV's audio, bit for bit.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use streamlab_audio::library::Library;
use streamlab_audio::sink::{NullSink, Paced, Sink, WavSink};
use streamlab_audio::wav::load_wav;
use streamlab_client::{connect, menu, App, ClientOptions};
use streamlab_proto::{Dialect, PcmFormat, ServerConfig, Track};
use streamlab_server::{RunningServer, Server, ServerOptions};

fn music_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../music")
}

/// A server of the bundled songs (read on first download, as `streamlab
/// server` does) and the songs it serves, read here for comparison.
fn start_server() -> (RunningServer, Vec<Track>) {
    let library = Library::scan(music_dir()).expect("the bundled music loads");
    let tracks = Library::scan(music_dir())
        .and_then(|l| l.load_all())
        .expect("the bundled music reads");
    let options = ServerOptions {
        session: ServerConfig::default(),
        ..ServerOptions::default()
    };
    let addr: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let server = Server::bind(addr, library, options).unwrap().spawn();
    (server, tracks)
}

fn app(server: &RunningServer, dialect: Dialect, sink: Box<dyn Sink>) -> App<Vec<u8>> {
    let mut opts = ClientOptions::new(server.addr);
    opts.dialect = dialect;
    connect(&opts, sink, Vec::new()).expect("connects")
}

fn run(app: &mut App<Vec<u8>>, script: &str) -> String {
    app.output().clear();
    menu::run_script(app, script).expect("script runs");
    String::from_utf8_lossy(app.output()).into_owned()
}

#[test]
fn every_bundled_song_reaches_the_sink_bit_identical_in_both_dialects() {
    let (server, tracks) = start_server();
    assert!(tracks.len() >= 3, "music/ has the bundled songs");
    for dialect in [Dialect::Framed, Dialect::Original] {
        let dir = tempfile::tempdir().unwrap();
        let mut app = app(&server, dialect, Box::new(WavSink::new(dir.path())));
        let script: Vec<String> = tracks
            .iter()
            .map(|t| format!("play {}; wait", t.name))
            .collect();
        let out = run(&mut app, &format!("{}; quit", script.join("; ")));
        assert!(out.ends_with("> quit\ngoodbye\n"), "{out}");
        drop(app);
        for (i, track) in tracks.iter().enumerate() {
            let path = dir.path().join(format!("{:02}-{}.wav", i + 1, track.name));
            let played = load_wav(&path).unwrap_or_else(|e| panic!("{dialect}: {e}"));
            assert!(
                played.pcm[..] == track.pcm[..],
                "{dialect} {}: {} bytes played, {} served",
                track.name,
                played.pcm.len(),
                track.pcm.len()
            );
            // The original dialect carries no format: the client assumes CD audio.
            let expected = match dialect {
                Dialect::Framed => track.format,
                Dialect::Original => PcmFormat::CD,
            };
            assert_eq!(played.format, expected, "{dialect} {}", track.name);
        }
    }
}

#[test]
fn a_scripted_session_reads_like_a_transcript() {
    for dialect in [Dialect::Framed, Dialect::Original] {
        let (server, _) = start_server();
        let mut app = app(&server, dialect, Box::new(NullSink::new()));
        let out = run(
            &mut app,
            "list; play ODE_TO_JOY; wait; status; devices; play nope; play; quit",
        );
        let port = app.connection().local().port().to_string();
        insta::with_settings!({
            snapshot_suffix => dialect.as_str(),
            filters => vec![(port.as_str(), "[port]")],
        }, {
            insta::assert_snapshot!(out);
        });
    }
}

#[test]
fn controls_act_on_the_player_at_once() {
    let (server, _) = start_server();
    // Paced like a speaker, so that the song lasts long enough to control.
    let paced = Paced::new(Box::new(NullSink::new()));
    let mut app = app(&server, Dialect::Framed, Box::new(paced));
    let out = run(
        &mut app,
        "pause; loop on; play twinkle; pause; status; wait",
    );
    assert!(
        out.starts_with("> pause\nnothing is playing (play NAME first)\n"),
        "{out}"
    );
    assert!(out.contains("> loop on\nloop on\n"), "{out}");
    assert!(out.contains("> pause\npaused twinkle"), "{out}");
    assert!(
        out.contains("> wait\nloop is on: the song never ends"),
        "{out}"
    );
    let paused_at = app.player().status().position_bytes;
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(
        app.player().status().position_bytes,
        paused_at,
        "pause holds position"
    );
    let out = run(
        &mut app,
        "resume; resume; loop off; wait; restart; stop; stop; quit",
    );
    assert!(out.contains("> resume\nplaying twinkle"), "{out}");
    assert!(out.contains("> resume\nnot paused\n"), "{out}");
    assert!(out.contains("finished 'twinkle'"), "{out}");
    assert!(out.contains("> stop\nstopped twinkle"), "{out}");
    assert!(out.contains("> stop\nnothing is playing\n"), "{out}");
    assert!(out.contains("goodbye"), "{out}");
}

#[test]
fn loop_is_refused_on_an_output_that_is_not_real_time() {
    let (server, _) = start_server();
    let mut app = app(&server, Dialect::Framed, Box::new(NullSink::new()));
    let out = run(&mut app, "loop on; quit");
    assert!(out.contains("loop needs a real-time output"), "{out}");
}

#[test]
fn the_second_play_comes_from_the_cache_and_change_switches_songs() {
    let (server, _) = start_server();
    let mut app = app(&server, Dialect::Framed, Box::new(NullSink::new()));
    let out = run(
        &mut app,
        "play greensleeves; change frere_jacques; wait; play greensleeves; quit",
    );
    assert!(
        out.contains("playing 'greensleeves' (32000 Hz, 1 ch, s24le, streaming)"),
        "{out}"
    );
    assert!(
        out.contains("playing 'frere_jacques' (22050 Hz, 1 ch, u8, streaming)"),
        "{out}"
    );
    assert!(out.contains("finished 'frere_jacques'"), "{out}");
    assert!(
        out.contains("playing 'greensleeves' (32000 Hz, 1 ch, s24le, from the cache)"),
        "{out}"
    );
}

#[test]
fn listen_along_plays_what_another_device_reports() {
    for dialect in [Dialect::Framed, Dialect::Original] {
        let (server, _) = start_server();
        let paced = Paced::new(Box::new(NullSink::new()));
        let mut alice = app(&server, dialect, Box::new(paced));
        run(&mut alice, "loop on; play amazing_grace");
        // Alice's status report travels on its own; wait (bounded) for it.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while server.shared.registry.devices()[0].song.is_none() {
            assert!(
                std::time::Instant::now() < deadline,
                "{dialect}: no status report"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        let mut bob = app(&server, Dialect::Framed, Box::new(NullSink::new()));
        let out = run(&mut bob, "devices; listen 1; quit");
        assert!(out.contains("playing amazing_grace"), "{dialect}: {out}");
        assert!(out.contains("playing 'amazing_grace'"), "{dialect}: {out}");
        run(&mut alice, "quit");
    }
}

#[test]
fn the_interactive_menu_asks_for_what_a_number_needs() {
    let (server, _) = start_server();
    let mut app = app(&server, Dialect::Framed, Box::new(NullSink::new()));
    // 1 asks for a song name; 9 lists devices and asks which one to follow.
    let keys = "7\n1\nfrere_jacques\n\nbogus\n9\n1\n8\ntwinkle\n10\n";
    menu::run_interactive(&mut app, keys.as_bytes()).expect("the menu runs");
    let out = String::from_utf8_lossy(app.output()).into_owned();
    assert!(out.starts_with(streamlab_client::commands::MENU), "{out}");
    assert!(out.contains("[idle] > 6 songs:"), "{out}");
    assert!(out.contains("song name: playing 'frere_jacques'"), "{out}");
    assert!(out.contains("unknown command 'bogus' (type help)"), "{out}");
    assert!(
        out.contains("  which device's song to play? 1-1, or Enter for the menu: "),
        "{out}"
    );
    assert!(out.contains("from the cache"), "{out}");
    assert!(out.contains("new song name: playing 'twinkle'"), "{out}");
    assert!(out.ends_with("goodbye\n"), "{out}");
}

#[test]
fn a_menu_number_typed_at_the_device_question_is_not_swallowed_silently() {
    let (server, _) = start_server();
    let mut app = app(&server, Dialect::Framed, Box::new(NullSink::new()));
    // 9 before anything plays: no device has a song, so nothing is asked
    // and 7 is a menu command. Then 9 again while a song plays: 8 is no
    // device, and the answer says so; b goes back quietly.
    let keys = "9\n7\n1\nfrere_jacques\n9\n8\n9\nb\n10\n";
    menu::run_interactive(&mut app, keys.as_bytes()).expect("the menu runs");
    let out = String::from_utf8_lossy(app.output()).into_owned();
    assert!(out.contains("6 songs:"), "7 ran as a menu command: {out}");
    assert!(
        out.contains("no device 8 (there are 1), so nothing was done with it; back at the menu"),
        "{out}"
    );
    assert_eq!(
        out.matches("which device's song to play?").count(),
        2,
        "{out}"
    );
    assert!(out.ends_with("goodbye\n"), "{out}");
}

#[test]
fn change_during_a_long_download_plays_the_new_song_and_keeps_the_old_one() {
    // A 64 MB song takes a while even on loopback; `change` is typed at once.
    let big = streamlab_proto::Track {
        name: "long".into(),
        format: PcmFormat::CD,
        pcm: (0..64u32 << 20).map(|i| (i % 251) as u8).collect(),
    };
    let short = load_wav(music_dir().join("frere_jacques.wav")).unwrap();
    let addr: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let tracks = vec![big.clone(), short.clone()];
    let server = Server::bind(addr, tracks, ServerOptions::default())
        .unwrap()
        .spawn();
    let mut app = app(&server, Dialect::Framed, Box::new(NullSink::new()));
    let out = run(&mut app, "play long; change frere_jacques; wait");
    assert!(out.contains("playing 'frere_jacques'"), "{out}");
    assert!(out.contains("finished 'frere_jacques'"), "{out}");
    let cache = app.connection().cache().lock().unwrap().clone();
    let long = &cache["long"];
    assert!(long.is_complete(), "the first song finished downloading");
    assert_eq!(long.len(), big.pcm.len() as u64);
    assert_eq!(cache["frere_jacques"].len(), short.pcm.len() as u64);
}

/// Lines typed slowly: before each, the menu waits `ticks` times.
struct Slow {
    lines: Vec<&'static str>,
    ticks: usize,
}

impl menu::Lines for Slow {
    fn next_line(&mut self, tick: &mut dyn FnMut()) -> std::io::Result<Option<String>> {
        if self.lines.is_empty() {
            return Ok(None);
        }
        for _ in 0..self.ticks {
            std::thread::sleep(Duration::from_millis(40));
            tick();
        }
        Ok(Some(self.lines.remove(0).to_string()))
    }
}

#[test]
fn the_live_menu_redraws_its_status_line_in_place() {
    let (server, _) = start_server();
    // A paced sink plays in real time, and the half-minute song lasts: 10
    // waits of at least 40 ms move its position (shown to 0.1 s) on.
    let paced = Paced::new(Box::new(NullSink::new()));
    let mut live = app(&server, Dialect::Framed, Box::new(paced));
    let mut keys = Slow {
        lines: vec!["1", "frere_jacques_whole", "7", "10"],
        ticks: 10,
    };
    menu::run_menu_with(&mut live, &mut keys, true).expect("the menu runs");
    let out = String::from_utf8_lossy(live.output()).into_owned();
    // The status stands on its own line above the prompt...
    assert!(out.contains("[idle]\n> "), "{out:?}");
    // ...and is redrawn there while the menu waits: save the cursor, go up
    // a line, clear it, write, restore.
    let redraws: Vec<&str> = out.split("\x1b7\x1b[1A\r\x1b[2K[").skip(1).collect();
    assert!(!redraws.is_empty(), "{out:?}");
    for r in &redraws {
        let (status, _) = r.split_once("]\x1b8").expect("a whole redraw");
        assert!(status.contains("frere_jacques_whole"), "{status}");
    }
    // The sub-prompt for the song name is not the place for it.
    let song_prompt = out.find("song name: ").expect("the question");
    let answered = out
        .find("playing 'frere_jacques_whole'")
        .expect("the answer");
    assert!(!out[song_prompt..answered].contains('\x1b'), "{out:?}");
    assert!(out.ends_with("goodbye\n"), "{out:?}");

    // Not live: no escape sequence at all.
    let mut plain = app(&server, Dialect::Framed, Box::new(NullSink::new()));
    let mut keys = Slow {
        lines: vec!["1", "frere_jacques", "10"],
        ticks: 3,
    };
    menu::run_menu_with(&mut plain, &mut keys, false).expect("the menu runs");
    let out = String::from_utf8_lossy(plain.output()).into_owned();
    assert!(!out.contains('\x1b'), "{out:?}");
}

#[test]
fn a_listener_joins_where_the_device_is_and_follows_its_song() {
    let (server, _) = start_server();
    // Alice, framed, plays in real time and reports where she is.
    let paced = Paced::new(Box::new(NullSink::new()));
    let mut alice = app(&server, Dialect::Framed, Box::new(paced));
    run(
        &mut alice,
        "loop on; play amazing_grace; sleep 1200; pause; resume",
    );
    // The resume's report carries her position: wait (bounded) for it.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let position = loop {
        let d = &server.shared.registry.devices()[0];
        if let Some(ms) = d.position_ms.filter(|&ms| ms >= 1000) {
            break ms;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no position report: {d:?}"
        );
        std::thread::sleep(Duration::from_millis(10));
    };
    assert!(position >= 1000, "{position}");
    // Bob joins her there, not at 0, and follows her change of song.
    let paced = Paced::new(Box::new(NullSink::new()));
    let mut bob = app(&server, Dialect::Framed, Box::new(paced));
    let out = run(&mut bob, "devices; listen 1");
    let from = out
        .split("from ")
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .and_then(|s| s.parse::<f64>().ok())
        .unwrap_or_else(|| panic!("no start position: {out}"));
    assert!(from >= 1.0, "{out}");
    run(&mut alice, "change twinkle");
    let out = run(&mut bob, "sleep 2600; status; quit");
    assert!(out.contains("changed to 'twinkle': following"), "{out}");
    assert!(out.contains("playing twinkle"), "{out}");
    run(&mut alice, "quit");
}
