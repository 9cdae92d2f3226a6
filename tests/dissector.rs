//! The Wireshark dissector, `wireshark/streamlab.lua`, read beside the
//! analyzer. On every capture in captures/ (and on two simulated runs
//! whose small segments split markers and lines), tshark with the
//! dissector and `streamlab analyze --json` must find:
//!
//! * each connection's dialect;
//! * the same client commands, in the same order, in the same frames;
//! * the same `track_data_start` and `track_data_end` frames;
//! * the same framed headers (announced byte count and name);
//! * the same audio byte count, captured or not;
//! * the expert infos exactly where the analyzer's facts put them (a start
//!   marker sharing its segment with audio, audio less than 1 ms after
//!   an original start marker, a marker split across segments) and where
//!   proto's command parser reads one original segment as two commands.
//!
//! **Which frame.** Wireshark shows a PDU that TCP reassembled (a marker
//! or a line split across two segments) in the frame that completes it:
//! the frame of its last byte. So a marker is compared at the frame that
//! holds its message's last byte: for an original marker that is the
//! analyzer's `last_frame`; a framed marker is its whole line (the
//! dissector needs the line's `\n` to read the header's fields), which
//! may end a segment later than the marker word the analyzer's
//! `last_frame` points at. That frame is found from the analyzer's
//! message (`offset` + `len`) and TCP's own sequence numbers, read by
//! tshark without the dissector. The commands in these captures each fit
//! in one segment, so their `frame` is where they end too.
//!
//! A reading of one capture to compare by eye:
//!
//! ```text
//! tshark -X lua_script:wireshark/streamlab.lua -r captures/sim-framing-original.pcapng -Y streamlab
//! streamlab analyze captures/sim-framing-original.pcapng --json
//! ```
//!
//! Without tshark the tests skip (and say so), unless
//! `STREAMLAB_REQUIRE_TSHARK` is set, as CI sets it.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::Value;
use streamlab_testkit::tshark;
use support::streamlab;

/// The dissector, as the handouts name it from the repository's root.
const SCRIPT: &str = "wireshark/streamlab.lua";

/// Audio sooner than this after an original start marker was not held
/// back by the server's pause (the dissector's `NO_PAUSE_S`).
const NO_PAUSE_NS: u64 = 1_000_000;

/// The dissector's own expert infos.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Expert {
    GluedStart,
    NoPause,
    SplitMarker,
    TwoCommands,
}

impl Expert {
    /// Which of ours an expert message is, if any.
    fn from_message(text: &str) -> Option<Expert> {
        if text.starts_with("start marker glued to audio") {
            Some(Expert::GluedStart)
        } else if text.contains("after the start marker, no pause") {
            Some(Expert::NoPause)
        } else if text.contains("marker split across segments") {
            Some(Expert::SplitMarker)
        } else if text == "two commands in one segment" {
            Some(Expert::TwoCommands)
        } else {
            None
        }
    }
}

/// What either reader found in one capture, in the terms both share.
/// Streams are Wireshark's `tcp.stream` numbers.
#[derive(Debug, Default, Clone, PartialEq)]
struct View {
    dialects: BTreeMap<u64, String>,
    /// (stream, frame, command) in capture order.
    commands: Vec<(u64, u64, String)>,
    /// (stream, frame of the marker's last byte), in capture order.
    starts: Vec<(u64, u64)>,
    ends: Vec<(u64, u64)>,
    /// (stream, announced bytes, name) of each framed track header.
    headers: Vec<(u64, u64, String)>,
    /// Per stream: audio bytes, captured or not.
    audio: BTreeMap<u64, u64>,
    experts: BTreeSet<(u64, Expert)>,
}

impl View {
    /// Connection by connection, each in capture order (the analyzer
    /// lists connections as they finish, tshark frames as they come).
    fn by_stream(mut self) -> View {
        self.commands.sort_by_key(|c| (c.0, c.1));
        self.starts.sort();
        self.ends.sort();
        self.headers.sort_by_key(|h| h.0);
        self
    }
}

/// Every way the two views differ, one line each.
fn differences(dissected: &View, analyzed: &View) -> Vec<String> {
    let (dissected, analyzed) = (
        &dissected.clone().by_stream(),
        &analyzed.clone().by_stream(),
    );
    let mut out = Vec::new();
    let mut check = |what: &str, ours: String, theirs: String| {
        if ours != theirs {
            out.push(format!(
                "{what}:\n  dissector: {ours}\n  analyzer:  {theirs}"
            ));
        }
    };
    check(
        "dialects",
        format!("{:?}", dissected.dialects),
        format!("{:?}", analyzed.dialects),
    );
    check(
        "commands",
        format!("{:?}", dissected.commands),
        format!("{:?}", analyzed.commands),
    );
    check(
        "start markers",
        format!("{:?}", dissected.starts),
        format!("{:?}", analyzed.starts),
    );
    check(
        "end markers",
        format!("{:?}", dissected.ends),
        format!("{:?}", analyzed.ends),
    );
    check(
        "headers",
        format!("{:?}", dissected.headers),
        format!("{:?}", analyzed.headers),
    );
    check(
        "audio bytes",
        format!("{:?}", dissected.audio),
        format!("{:?}", analyzed.audio),
    );
    check(
        "expert infos",
        format!("{:?}", dissected.experts),
        format!("{:?}", analyzed.experts),
    );
    out
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn script_arg() -> String {
    format!("lua_script:{}", root().join(SCRIPT).display())
}

/// The committed captures, by name.
fn committed() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join("captures"))
        .expect("the captures folder")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "pcap" || x == "pcapng"))
        .collect();
    files.sort();
    assert!(files.len() >= 14, "captures/ lost its captures: {files:?}");
    files
}

/// The dissector's reading of `file`, with tshark's extra `options`.
fn dissect(file: &Path, options: &[&str]) -> View {
    let script = script_arg();
    let fields = [
        "frame.number",
        "tcp.stream",
        "streamlab.dialect",
        "streamlab.command",
        "streamlab.marker",
        "streamlab.track.name",
        "streamlab.track.length",
        "streamlab.audio",
        "_ws.expert.message",
    ];
    let mut args = vec!["-X", &script, "-Y", "streamlab", "-T", "fields"];
    args.extend(["-E", "occurrence=a", "-E", "aggregator=\u{1f}"]);
    args.extend(options);
    for f in fields {
        args.extend(["-e", f]);
    }
    let text = tshark::read(file, &args);
    let mut view = View::default();
    for line in text.lines() {
        let cols: Vec<Vec<&str>> = line
            .split('\t')
            .map(|c| c.split('\u{1f}').filter(|s| !s.is_empty()).collect())
            .collect();
        let [frame, stream, dialect, command, marker, name, length, audio, expert] =
            <[Vec<&str>; 9]>::try_from(cols).unwrap_or_else(|c| panic!("9 columns: {c:?}"));
        let frame: u64 = frame[0].parse().expect("a frame number");
        let stream: u64 = stream[0].parse().expect("a stream number");
        if let Some(d) = dialect.first() {
            view.dialects.entry(stream).or_insert_with(|| d.to_string());
        }
        for c in command {
            view.commands.push((stream, frame, c.to_string()));
        }
        let mut lengths = length.iter();
        for (i, m) in marker.iter().enumerate() {
            match *m {
                "track_data_start" => view.starts.push((stream, frame)),
                "track_data_end" => view.ends.push((stream, frame)),
                other => panic!("frame {frame}: marker {other:?}"),
            }
            // A framed marker carries the name from its line, so names and
            // markers pair up; an original one carries neither.
            if *m == "track_data_start" && name.len() == marker.len() {
                let bytes = lengths.next().expect("a framed header has a length");
                let bytes = bytes.parse().expect("a number");
                view.headers.push((stream, bytes, name[i].to_string()));
            }
        }
        assert!(
            lengths.next().is_none(),
            "frame {frame}: a length without a header"
        );
        let sum: u64 = audio
            .iter()
            .map(|a| a.parse::<u64>().expect("a number"))
            .sum();
        *view.audio.entry(stream).or_default() += sum;
        for message in expert {
            assert!(
                !message.starts_with("Lua Error"),
                "{}: frame {frame}: {message}",
                file.display()
            );
            if let Some(e) = Expert::from_message(message) {
                view.experts.insert((frame, e));
            }
        }
    }
    view.audio.retain(|_, n| *n > 0);
    view
}

/// The analyzer's JSON for `file`.
fn analyze_json(file: &Path) -> Value {
    let out = streamlab()
        .args(["analyze", "--json"])
        .arg(file)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    serde_json::from_slice(&out).expect("the analyzer's JSON")
}

/// The analyzer's `text` field read back: it escapes `\n`, `\r`, `\t`,
/// `\\`, `\"` and other bytes as `\xNN` (docs/analyze-json.md).
fn unescape(text: &str) -> String {
    let mut out = Vec::new();
    let mut bytes = text.bytes();
    while let Some(b) = bytes.next() {
        if b != b'\\' {
            out.push(b);
            continue;
        }
        match bytes.next() {
            Some(b'n') => out.push(b'\n'),
            Some(b'r') => out.push(b'\r'),
            Some(b't') => out.push(b'\t'),
            Some(b'x') => {
                let hex: String = [bytes.next(), bytes.next()]
                    .iter()
                    .map(|b| char::from(b.expect("two hex digits")))
                    .collect();
                out.push(u8::from_str_radix(&hex, 16).expect("hex"));
            }
            Some(other) => out.push(other),
            None => panic!("a trailing backslash in {text:?}"),
        }
    }
    String::from_utf8(out).expect("commands are UTF-8 here")
}

/// Is this original-dialect segment two commands the server reads as
/// one? Asked of proto, not of the dissector: the text is no command,
/// and it splits into two that are.
fn two_commands(text: &str) -> bool {
    use streamlab_proto::Request;
    Request::parse(text).is_err()
        && (1..text.len()).any(|i| {
            text.is_char_boundary(i)
                && Request::parse(&text[..i]).is_ok()
                && Request::parse(&text[i..]).is_ok()
        })
}

fn num(v: &Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("a number: {v}"))
}

/// Where each segment's data lies in its direction's stream, by TCP
/// alone (no dissector): (stream, source port) to (frame, offset, len),
/// the offset counted as the analyzer counts it (relative seq − 1).
type Segments = BTreeMap<(u64, u64), Vec<(u64, u64, u64)>>;

fn segments(file: &Path) -> Segments {
    let fields = [
        "frame.number",
        "tcp.stream",
        "tcp.srcport",
        "tcp.seq",
        "tcp.len",
    ];
    let mut args = vec!["-Y", "tcp.len > 0", "-T", "fields"];
    for f in fields {
        args.extend(["-e", f]);
    }
    let mut out = Segments::new();
    for line in tshark::read(file, &args).lines() {
        let v: Vec<u64> = line
            .split('\t')
            .map(|x| x.parse().expect("a number"))
            .collect();
        let [frame, stream, port, seq, len] = <[u64; 5]>::try_from(v).expect("five numbers");
        out.entry((stream, port))
            .or_default()
            .push((frame, seq - 1, len));
    }
    out
}

/// The first frame that carried the byte at `offset`.
fn frame_of(segments: &Segments, key: (u64, u64), offset: u64) -> u64 {
    segments[&key]
        .iter()
        .find(|(_, at, len)| (*at..at + len).contains(&offset))
        .map(|s| s.0)
        .unwrap_or_else(|| panic!("no segment of {key:?} holds byte {offset}"))
}

/// The analyzer's reading of `file`, in the dissector's terms.
fn analyzed(file: &Path) -> View {
    let doc = analyze_json(file);
    let segs = segments(file);
    let mut view = View::default();
    let mut conns: Vec<&Value> = doc["connections"]
        .as_array()
        .expect("connections")
        .iter()
        .collect();
    conns.sort_by_key(|c| num(&c["first_frame"]));
    for c in conns {
        let stream = num(&c["stream"]);
        let original = c["dialect"] != "framed";
        if let Some(d) = c["dialect"].as_str() {
            view.dialects.insert(stream, d.to_string());
        }
        let server = (stream, num(&c["server"]["port"]));
        for m in c["messages"].as_array().expect("messages") {
            let end = || frame_of(&segs, server, num(&m["offset"]) + num(&m["len"]) - 1);
            match m["kind"].as_str() {
                Some("track_start") => view.starts.push((stream, end())),
                Some("track_end") => view.ends.push((stream, end())),
                _ => {}
            }
            if m["dir"] == "client_to_server" {
                let text = unescape(m["text"].as_str().expect("text"));
                let command = if original {
                    text
                } else {
                    text.trim_end_matches('\n')
                        .trim_end_matches('\r')
                        .to_string()
                };
                let frame = num(&m["frame"]);
                if original && two_commands(&command) {
                    view.experts.insert((frame, Expert::TwoCommands));
                }
                view.commands.push((stream, frame, command));
            }
        }
        let mut audio = 0;
        for t in c["tracks"].as_array().expect("tracks") {
            audio += num(&t["audio_bytes"]) + num(&t["missing_bytes"]);
            for (key, list) in [("start", &view.starts), ("end", &view.ends)] {
                let marker = &t[key];
                if marker.is_null() || !original {
                    continue;
                }
                let last = num(&marker["last_frame"]);
                // The original marker is its message, so both ways agree.
                assert!(list.contains(&(stream, last)), "{key} {marker} in {list:?}");
                if num(&marker["frame"]) != last {
                    view.experts.insert((last, Expert::SplitMarker));
                }
            }
            if let Some(bytes) = t["announced_bytes"].as_u64() {
                let name = t["name"].as_str().expect("a framed track's name");
                view.headers.push((stream, bytes, name.to_string()));
            }
            let start = &t["start"];
            if original && !start.is_null() && !t["first_audio_frame"].is_null() {
                let first = num(&t["first_audio_frame"]);
                if first == num(&start["last_frame"]) {
                    view.experts.insert((first, Expert::GluedStart));
                } else if num(&t["first_audio_ns"]) - num(&start["time_ns"]) < NO_PAUSE_NS {
                    view.experts.insert((first, Expert::NoPause));
                }
            }
        }
        if audio > 0 {
            view.audio.insert(stream, audio);
        }
    }
    view
}

/// Two simulated framing runs with small segments: MSS 426 splits the
/// original end marker, MSS 60 splits framed lines and the header.
fn simulated(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for mss in ["426", "60"] {
        let base = dir.join(format!("framing-mss{mss}.pcapng"));
        streamlab()
            .args(["sim", "framing", "--mss", mss, "--pcap"])
            .arg(&base)
            .assert()
            .success();
        for dialect in ["original", "framed"] {
            out.push(dir.join(format!("framing-mss{mss}-{dialect}.pcapng")));
        }
    }
    out
}

#[test]
fn the_dissector_agrees_with_the_analyzer_on_every_capture() {
    if !tshark::available() {
        return;
    }
    let dir = tempfile::tempdir().expect("a temporary directory");
    let mut failures = Vec::new();
    for file in committed().into_iter().chain(simulated(dir.path())) {
        let (ours, theirs) = (dissect(&file, &[]), analyzed(&file));
        assert!(
            !theirs.dialects.is_empty(),
            "{}: the analyzer found no conversation",
            file.display()
        );
        for d in differences(&ours, &theirs) {
            failures.push(format!("{}: {d}", file.display()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The expert infos the handouts point at are where captures/README.md
/// says the original dialect breaks.
#[test]
fn the_expert_infos_mark_where_the_original_dialect_breaks() {
    if !tshark::available() {
        return;
    }
    let experts = |name: &str| {
        let view = dissect(&root().join("captures").join(name), &[]);
        view.experts
            .iter()
            .map(|&(_, e)| e)
            .collect::<BTreeSet<_>>()
    };
    use Expert::*;
    assert_eq!(
        experts("sim-framing-original.pcapng"),
        BTreeSet::from([GluedStart, SplitMarker, TwoCommands])
    );
    assert_eq!(
        experts("loopback-original-glued.pcapng"),
        BTreeSet::from([NoPause])
    );
    assert_eq!(experts("loopback-original.pcapng"), BTreeSet::new());
    assert_eq!(experts("sim-framing-framed.pcapng"), BTreeSet::new());
}

/// The comparison can fail: a wrong frame, a lost command or a missing
/// expert info is a difference.
#[test]
fn a_wrong_expectation_is_a_difference() {
    if !tshark::available() {
        return;
    }
    let file = root().join("captures/sim-framing-original.pcapng");
    let (ours, theirs) = (dissect(&file, &[]), analyzed(&file));
    assert_eq!(differences(&ours, &theirs), Vec::<String>::new());

    // The split end marker expected in the frame of its first byte.
    let mut wrong = theirs.clone();
    let first = analyze_json(&file)["connections"][0]["tracks"][0]["end"]["frame"].clone();
    wrong.ends[0].1 = num(&first);
    assert_ne!(
        wrong.ends, theirs.ends,
        "the marker is split in this capture"
    );
    assert_eq!(differences(&ours, &wrong).len(), 1);

    let mut wrong = theirs.clone();
    wrong.commands.remove(0);
    assert_eq!(differences(&ours, &wrong).len(), 1);

    let mut wrong = theirs.clone();
    wrong.experts.pop_first();
    assert_eq!(differences(&ours, &wrong).len(), 1);

    let mut wrong = theirs;
    *wrong.audio.get_mut(&0).expect("stream 0 has audio") += 1;
    assert_eq!(differences(&ours, &wrong).len(), 1);
}

/// With the port preference at 0 the heuristic alone finds every
/// conversation, and reads it the same (from the segment that gives it
/// away: a mid-stream capture's audio before its end marker is not
/// claimed, so audio is left out here). With the heuristic disabled too,
/// nothing is ours: the port preference did turn the port off.
#[test]
fn the_heuristic_finds_conversations_on_any_port() {
    if !tshark::available() {
        return;
    }
    let no_port = ["-o", "streamlab.port:0"];
    for file in committed() {
        let (mut by_port, mut found) = (dissect(&file, &[]), dissect(&file, &no_port));
        by_port.audio.clear();
        found.audio.clear();
        assert_eq!(
            differences(&found, &by_port),
            Vec::<String>::new(),
            "{}",
            file.display()
        );
    }
    let file = root().join("captures/sim-report.pcapng");
    let off = [
        "-o",
        "streamlab.port:0",
        "--disable-heuristic",
        "streamlab_tcp",
    ];
    assert_eq!(dissect(&file, &off), View::default());
}

/// A second pass (the GUI clicking a packet, `tshark -2`) draws what the
/// first pass found: the same Info column and expert infos, frame by frame.
#[test]
fn a_second_pass_shows_what_the_first_found() {
    if !tshark::available() {
        return;
    }
    let script = script_arg();
    let columns = [
        "-T",
        "fields",
        "-e",
        "frame.number",
        "-e",
        "_ws.col.Info",
        "-e",
        "_ws.expert.message",
    ];
    for file in committed() {
        let once = tshark::read(
            &file,
            &[&["-X", script.as_str(), "-Y", "streamlab"], &columns[..]].concat(),
        );
        let twice = tshark::read(
            &file,
            &[
                &["-2", "-X", script.as_str(), "-Y", "streamlab"],
                &columns[..],
            ]
            .concat(),
        );
        assert!(once.lines().count() > 3, "{}: {once}", file.display());
        assert_eq!(once, twice, "{}", file.display());
    }
}

/// The constants at the top of the dissector are proto's.
#[test]
fn the_dissector_speaks_protos_constants() {
    use streamlab_proto::{framed, original};
    let lua = std::fs::read_to_string(root().join(SCRIPT)).expect("the dissector");
    let value = |name: &str| -> String {
        let prefix = format!("local {name} = ");
        let line = lua
            .lines()
            .find_map(|l| l.strip_prefix(&prefix))
            .unwrap_or_else(|| panic!("no `{prefix}` in {SCRIPT}"));
        let v = line.split("--").next().unwrap_or("").trim();
        v.trim_matches('"').to_string()
    };
    assert_eq!(value("PORT"), original::PORT.to_string());
    assert_eq!(value("TRACK_START"), original::TRACK_START_WORD);
    assert_eq!(value("TRACK_END"), original::TRACK_END_WORD);
    assert_eq!(value("HELLO"), framed::HELLO_WORD);
    assert_eq!(value("MAX_LINE"), framed::MAX_LINE.to_string());
    assert_eq!(value("MAX_REPLY_LINE"), framed::MAX_REPLY_LINE.to_string());
}

/// What lab 2 shows of the dissector is what tshark shows today: the
/// block between the `dissector-view` markers in its README is
/// regenerated here and must be equal.
#[test]
fn lab_2_shows_what_the_dissector_shows() {
    if !tshark::available() {
        return;
    }
    let readme_path = root().join("labs/02-reading-the-wire/README.md");
    let readme = std::fs::read_to_string(&readme_path).expect("lab 2's handout");
    let (start, end) = (
        "<!-- dissector-view:start -->\n",
        "<!-- dissector-view:end -->",
    );
    let from = readme.find(start).expect("the start marker") + start.len();
    let to = readme[from..].find(end).expect("the end marker") + from;
    let fresh = lab_view();
    assert!(
        readme[from..to] == fresh,
        "{} no longer shows what the dissector shows; put this between the markers:\n{fresh}",
        readme_path.display()
    );
}

/// The commands lab 2 shows, run from the repository's root, and their
/// output in a `text` block.
fn lab_view() -> String {
    let capture = "captures/loopback-original.pcapng";
    let runs: [&[&str]; 2] = [
        &["-Y", "streamlab"],
        &["-Y", "frame.number == 9", "-O", "streamlab"],
    ];
    let mut out = String::from("```text\n");
    for extra in runs {
        let shown: Vec<String> = extra
            .iter()
            .map(|a| {
                if a.contains(' ') {
                    format!("'{a}'")
                } else {
                    a.to_string()
                }
            })
            .collect();
        out += &format!(
            "$ tshark -n -X lua_script:{SCRIPT} -r {capture} {}\n",
            shown.join(" ")
        );
        let script = script_arg();
        let args = [&["-X", script.as_str()], extra].concat();
        let text = tshark::read(&root().join(capture), &args);
        out += text.trim_end();
        out += "\n";
    }
    out + "```\n"
}
