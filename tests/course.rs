//! The teacher pack from the command line: `--student` on `sim` and
//! `server`, `check labN` with its answer key, and `grade DIR` with its
//! CSV, JUnit XML and HTML page, which a real headless browser opens.

mod support;

use std::path::Path;
use std::process::Command;

use support::streamlab;

fn stdout(args: &[&str]) -> String {
    let out = streamlab().args(args).assert().success();
    String::from_utf8_lossy(&out.get_output().stdout).into_owned()
}

/// A student's lab 4 hand-in in `dir`: the table and the answers, made by
/// the commands the handout gives.
fn lab4_hand_in(dir: &Path, student: &str) {
    std::fs::create_dir_all(dir).expect("a folder");
    let table = stdout(&["sim", "experiment", "--student", student, "--csv"]);
    std::fs::write(dir.join("table.csv"), table).expect("the table");
    // The key, as a student who got everything right would write it.
    let key = stdout(&["check", "lab4", "--student", student, "--answers"]);
    let answers: String = key
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| format!("{}\n", l.split('#').next().unwrap_or("").trim()))
        .collect();
    std::fs::write(dir.join("answers.txt"), answers).expect("the answers");
}

#[test]
fn sim_takes_a_students_variant_and_says_which() {
    let a = stdout(&["sim", "starved", "--student", "2023-0001"]);
    let b = stdout(&["sim", "starved", "--student", "2023-0002"]);
    assert!(a.starts_with("student 2023-0001: seed "), "{a}");
    assert_ne!(a, b);
    assert_eq!(a, stdout(&["sim", "starved", "--student", "2023-0001"]));
    // A bad ID and a seed beside a student: one line each.
    for args in [
        vec!["sim", "starved", "--student", "a b"],
        vec!["sim", "starved", "--student", "x", "--seed", "3"],
    ] {
        let out = streamlab().args(&args).assert().failure();
        let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
        assert!(!err.trim().is_empty(), "{args:?}");
    }
}

#[test]
fn the_server_tells_the_student_their_port_and_song() {
    // An explicit port wins (tests listen on port 0 only); the log still
    // names the student's own port and song.
    let out = streamlab()
        .args([
            "server",
            "--student",
            "2023-0001",
            "--port",
            "0",
            "--max-clients",
            "1",
        ])
        .timeout(std::time::Duration::from_secs(2))
        .assert()
        .interrupted();
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    let course =
        streamlab_course::Variant::new(streamlab_course::Student::new("2023-0001").expect("an ID"));
    assert!(
        err.contains(&format!("student 2023-0001: port {}", course.port())),
        "{err}"
    );
    assert!(
        err.contains(&format!("labs 1 and 2: {}", course.song())),
        "{err}"
    );
}

#[test]
fn check_grades_a_hand_in_and_names_whose_it_is() {
    let dir = tempfile::tempdir().expect("a temp dir");
    lab4_hand_in(dir.path(), "s1");
    let files = [dir.path().join("table.csv"), dir.path().join("answers.txt")];
    let ok = streamlab()
        .args(["check", "lab4", "--student", "s1"])
        .args(&files)
        .assert()
        .success();
    let text = String::from_utf8_lossy(&ok.get_output().stdout).to_string();
    assert!(text.ends_with("6 of 6 passed\n"), "{text}");
    // Another student's name on the same files: exit 4, one line on stderr.
    let bad = streamlab()
        .args(["check", "lab4", "--student", "s2", "--json"])
        .args(&files)
        .assert()
        .code(4);
    let err = String::from_utf8_lossy(&bad.get_output().stderr).to_string();
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    let json: serde_json::Value =
        serde_json::from_slice(&bad.get_output().stdout).expect("JSON verdicts");
    assert_eq!(json["verdicts"][0]["passed"], false);
    // A file that is not there: exit 1.
    streamlab()
        .args(["check", "lab2", "--student", "s1", "no-such.pcapng"])
        .assert()
        .code(1);
}

/// Is headless Chromium here? CI installs it and must run this.
fn chromium() -> Option<&'static str> {
    let found = ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|b| {
            Command::new(b)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        });
    if found.is_none() && std::env::var_os("STREAMLAB_REQUIRE_CHROMIUM").is_some() {
        panic!("STREAMLAB_REQUIRE_CHROMIUM is set but no chromium is installed");
    }
    found
}

#[test]
fn grade_writes_csv_junit_and_a_page_a_browser_shows() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let batch = dir.path().join("hand-ins");
    // ana hands in her own work; bruno hands in a copy of ana's; carla
    // forgot the manifest.
    lab4_hand_in(&batch.join("ana"), "ana-1");
    std::fs::write(
        batch.join("ana/submission.txt"),
        "student: ana-1\nlab: lab4\n",
    )
    .expect("a manifest");
    std::fs::create_dir_all(batch.join("bruno")).expect("a folder");
    for f in ["table.csv", "answers.txt"] {
        std::fs::copy(batch.join("ana").join(f), batch.join("bruno").join(f)).expect("a copy");
    }
    std::fs::write(
        batch.join("bruno/submission.txt"),
        "student: bruno-2\nlab: lab4\n",
    )
    .expect("a manifest");
    std::fs::create_dir_all(batch.join("carla")).expect("a folder");
    std::fs::write(batch.join("carla/table.csv"), "x").expect("a file");

    let out = dir.path().join("out");
    let run = streamlab()
        .args(["grade"])
        .arg(&batch)
        .arg("--out")
        .arg(&out)
        .assert()
        .success();
    let progress = String::from_utf8_lossy(&run.get_output().stderr).to_string();
    // Three folders, graded in whatever order the workers finish.
    assert!(progress.contains("[3/3] "), "{progress}");
    assert!(progress.contains("] carla: student carla"), "{progress}");

    let csv = std::fs::read_to_string(out.join("grade.csv")).expect("the CSV");
    let rows: Vec<&str> = csv.lines().collect();
    assert_eq!(rows[0], "folder,student,lab,check,passed,diagnosis");
    assert!(rows
        .iter()
        .filter(|r| r.starts_with("ana,"))
        .all(|r| r.contains(",true,")));
    let copied = rows
        .iter()
        .find(|r| r.starts_with("bruno,bruno-2,lab4,the experiment table,false,"))
        .expect("bruno's table row");
    assert!(
        copied.contains("it is student ana-1's (folder ana)"),
        "{copied}"
    );
    assert!(rows
        .iter()
        .any(|r| r.starts_with("carla,carla,?,the submission,false,")));

    let junit = std::fs::read_to_string(out.join("grade.junit.xml")).expect("the JUnit");
    let doc = roxmltree::Document::parse(&junit).expect("JUnit is XML");
    let cases: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .collect();
    assert_eq!(cases.len(), rows.len() - 1, "a test case per CSV row");
    assert!(cases
        .iter()
        .all(|c| c.attribute("name").is_some_and(|n| n.ends_with(')'))));
    let failures = cases
        .iter()
        .filter(|c| c.children().any(|f| f.has_tag_name("failure")));
    assert_eq!(
        failures.count(),
        rows.iter().filter(|r| r.contains(",false,")).count()
    );

    let page = out.join("grade.html");
    let html = std::fs::read_to_string(&page).expect("the page");
    assert!(
        html.contains("bruno-2") && html.contains("3 submission(s)"),
        "{html}"
    );
    let Some(browser) = chromium() else {
        eprintln!("skipped the browser half: no chromium (CI installs it)");
        return;
    };
    // The page as a browser lays it out: its DOM, and a screenshot.
    let url = format!("file://{}", page.display());
    let dom = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--dump-dom",
            &url,
        ])
        .output()
        .expect("chromium runs");
    let dom = String::from_utf8_lossy(&dom.stdout);
    assert_eq!(dom.matches("<td class=\"score fail\">").count(), 2, "{dom}");
    assert_eq!(dom.matches("<td class=\"score pass\">").count(), 1, "{dom}");
    let shot = dir.path().join("grade.png");
    let status = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--window-size=1200,900",
        ])
        .arg(format!("--screenshot={}", shot.display()))
        .arg(&url)
        .output()
        .expect("chromium runs");
    assert!(
        shot.is_file(),
        "no screenshot: {}",
        String::from_utf8_lossy(&status.stderr)
    );
    // The summary table's cells are drawn in their colours: green for a
    // passing score, red for a failing one.
    let (pass, fail) = colours(&shot);
    assert!(pass > 500, "{pass} green pixels");
    assert!(fail > 1000, "{fail} red pixels");
}

/// How many pixels of the screenshot are the page's pass (#d4edda) and
/// fail (#f8d7da) backgrounds.
fn colours(png_path: &Path) -> (usize, usize) {
    let file = std::fs::File::open(png_path).expect("the screenshot");
    let mut reader = png::Decoder::new(file).read_info().expect("a PNG");
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).expect("a frame");
    let step = info.color_type.samples();
    assert!(step >= 3, "an RGB screenshot");
    let mut counts = (0, 0);
    for px in buf[..info.buffer_size()].chunks(step) {
        match (px[0], px[1], px[2]) {
            (0xd4, 0xed, 0xda) => counts.0 += 1,
            (0xf8, 0xd7, 0xda) => counts.1 += 1,
            _ => {}
        }
    }
    counts
}

/// Is python3 here? CI installs it and must run this.
fn python() -> bool {
    let ok = Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok && std::env::var_os("STREAMLAB_REQUIRE_PYTHON").is_some() {
        panic!("STREAMLAB_REQUIRE_PYTHON is set but python3 is not installed");
    }
    ok
}

#[test]
fn grade_runs_lab_5_servers_from_their_folders() {
    if !python() {
        eprintln!("skipped: no python3 (CI installs it)");
        return;
    }
    let dir = tempfile::tempdir().expect("a temp dir");
    let batch = dir.path().join("hand-ins");
    // eva hands in the starter server as it is; fabio's server never starts.
    let eva = batch.join("eva");
    std::fs::create_dir_all(&eva).expect("a folder");
    let starter = Path::new(env!("CARGO_MANIFEST_DIR")).join("labs/05-build-your-own/server.py");
    std::fs::copy(&starter, eva.join("server.py")).expect("the starter");
    let music = Path::new(env!("CARGO_MANIFEST_DIR")).join("music");
    std::fs::write(
        eva.join("submission.txt"),
        format!(
            "student: eva-5\nlab: lab5\nexec: python3 server.py --port {{port}} --music '{}'\n",
            music.display()
        ),
    )
    .expect("a manifest");
    let fabio = batch.join("fabio");
    std::fs::create_dir_all(&fabio).expect("a folder");
    std::fs::write(
        fabio.join("submission.txt"),
        "student: fabio-6\nlab: lab5\nexec: echo cannot start on {port} >&2; exit 3\n",
    )
    .expect("a manifest");
    streamlab()
        .args(["grade", "--jobs", "2"])
        .arg(&batch)
        .timeout(std::time::Duration::from_secs(300))
        .assert()
        .success();
    let csv = std::fs::read_to_string(batch.join("grade.csv")).expect("the CSV");
    let rows: Vec<&str> = csv.lines().collect();
    let eva_rows: Vec<&&str> = rows.iter().filter(|r| r.starts_with("eva,")).collect();
    assert!(
        eva_rows[0]
            .starts_with("eva,eva-5,lab5,your own server,true,started by grade from this folder"),
        "{csv}"
    );
    // The starter passes some checks and fails others (its TODOs).
    let passed = eva_rows.iter().filter(|r| r.contains(",true,")).count();
    assert!(passed > 1 && passed < eva_rows.len(), "{csv}");
    let fabio_row = rows
        .iter()
        .find(|r| r.starts_with("fabio,"))
        .expect("fabio's row");
    assert!(fabio_row.contains("your own server,false,"), "{fabio_row}");
    assert!(fabio_row.contains("status 3"), "{fabio_row}");
}
