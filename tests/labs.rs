//! Every command in every lab handout runs here, so a handout never rots.
//!
//! Each `labs/NN-name/README.md` is read in order and its fenced blocks run
//! by their info string (see labs/README.md, "How CI runs the handouts"):
//!
//! * `sh`: run with `bash -eu` (as a student's shell would, without
//!   `pipefail`: `streamlab … | head` ends the writer early); it must exit 0;
//! * `sh-server`: started in the background (a student's "terminal 1");
//!   `--port 2635` becomes `--port 0`, and the address the server prints
//!   replaces `127.0.0.1:2635` and `tcp port 2635` in the blocks after it;
//!   stopped when the handout ends;
//! * `sh-capture`: like `sh`, but it needs packet capture rights (dumpcap
//!   on `lo`): skipped, with a message, where it cannot run — except when
//!   `STREAMLAB_REQUIRE_TSHARK` is set, as CI sets it;
//! * anything else (`text`, `python`, …) is read, not run.
//!
//! A handout shows a student only the steps a student types; what proves
//! them (a `grep -q` of the output, a second client in the background) is
//! in an HTML comment a reader never sees, `<!-- ci KIND` … `-->`, run as
//! a block of that kind (`sh` when none is given) in its place.
//!
//! A block may also say `needs=TOOL` after its kind (`needs=python3`,
//! `needs=tshark`, or `needs=root` for the kernel testbed): it runs where
//! the tool is installed and is skipped elsewhere — except when
//! `STREAMLAB_REQUIRE_PYTHON`, `STREAMLAB_REQUIRE_TSHARK` or
//! `STREAMLAB_REQUIRE_KERNEL` is set, as CI sets them. When a server block
//! is skipped, the rest of that handout is too (later steps talk to it).
//!
//! Blocks run in a fresh folder where `captures`, `music` and `labs` link
//! to the repository's, with the `streamlab` just built first on `PATH`.
//! The handouts are shell for Linux and macOS, so this runs on Unix only.
#![cfg(unix)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// The longest one block may run.
const BLOCK_TIMEOUT: Duration = Duration::from_secs(120);

#[derive(Debug)]
struct Block {
    kind: String,
    /// Tools the block needs (`needs=python3`).
    needs: Vec<String>,
    code: String,
    line: usize,
}

/// The fenced blocks of a Markdown file, and its hidden checks
/// (`<!-- ci KIND … -->`), in order.
fn blocks(markdown: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut open: Option<Block> = None;
    // Which kind of block is open: a fence, or a hidden check.
    let mut hidden = false;
    // A fence's first word is its kind (none: not run); a hidden check
    // is `sh` unless it names another kind, and may start with needs=.
    let start = |info: &str, line: usize, hidden: bool| {
        let words: Vec<&str> = info.split_whitespace().collect();
        let (kind, rest) = match words.split_first() {
            Some((k, rest)) if !k.starts_with("needs=") => (k.to_string(), rest),
            _ if hidden => ("sh".to_string(), &words[..]),
            _ => (String::new(), &words[..]),
        };
        Block {
            kind,
            needs: rest
                .iter()
                .filter_map(|w| w.strip_prefix("needs="))
                .map(str::to_string)
                .collect(),
            code: String::new(),
            line,
        }
    };
    for (i, line) in markdown.lines().enumerate() {
        let trimmed = line.trim_start();
        match &mut open {
            None => {
                if let Some(info) = trimmed.strip_prefix("```") {
                    open = Some(start(info, i + 1, false));
                    hidden = false;
                } else if let Some(info) = trimmed
                    .strip_prefix("<!-- ci")
                    .filter(|rest| rest.is_empty() || rest.starts_with(' '))
                {
                    open = Some(start(info, i + 1, true));
                    hidden = true;
                }
            }
            Some(_) if !hidden && trimmed.starts_with("```") => out.extend(open.take()),
            Some(_) if hidden && trimmed.trim_end().ends_with("-->") => {
                if let (Some(b), Some(code)) =
                    (open.as_mut(), trimmed.trim_end().strip_suffix("-->"))
                {
                    if !code.trim().is_empty() {
                        b.code.push_str(code);
                        b.code.push('\n');
                    }
                }
                out.extend(open.take())
            }
            Some(b) => {
                b.code.push_str(line);
                b.code.push('\n');
            }
        }
    }
    out
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A folder to run a handout in, with the repository's data linked in.
fn workdir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a temporary directory");
    for name in ["captures", "music", "labs"] {
        std::os::unix::fs::symlink(repo().join(name), dir.path().join(name))
            .expect("link the repository's data");
    }
    dir
}

fn path_with_streamlab() -> String {
    let bin = Path::new(env!("CARGO_BIN_EXE_streamlab"));
    let dir = bin.parent().expect("the binary's folder");
    format!(
        "{}:{}",
        dir.display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

/// Can this machine capture on loopback? CI must.
fn can_capture() -> bool {
    let ok = Command::new("dumpcap")
        .args([
            "-i",
            "lo",
            "-c",
            "1",
            "-a",
            "duration:1",
            "-w",
            "/dev/null",
            "-q",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok && std::env::var_os("STREAMLAB_REQUIRE_TSHARK").is_some() {
        panic!("STREAMLAB_REQUIRE_TSHARK is set but dumpcap cannot capture on lo");
    }
    ok
}

/// Is `tool` installed? CI must have python3 and tshark.
fn have(tool: &str) -> bool {
    let ok = if tool == "root" {
        // `needs=root`: the kernel testbed's namespaces.
        streamlab_testbed::permitted()
    } else {
        Command::new(tool)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    let required = match tool {
        "python3" => "STREAMLAB_REQUIRE_PYTHON",
        "tshark" => "STREAMLAB_REQUIRE_TSHARK",
        "root" => "STREAMLAB_REQUIRE_KERNEL",
        _ => "",
    };
    if !ok && !required.is_empty() && std::env::var_os(required).is_some() {
        panic!("{required} is set but {tool} is not installed");
    }
    ok
}

/// A server started by a `sh-server` block, and the address it printed.
struct Server {
    child: Child,
    addr: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_server(code: &str, dir: &Path, path: &str, at: &str) -> Server {
    let code = code.replace("--port 2635", "--port 0");
    let mut child = Command::new("bash")
        .args(["-eu", "-c", &format!("exec {}", code.trim())])
        .current_dir(dir)
        .env("PATH", path)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{at}: start the server: {e}"));
    let stderr = child.stderr.take().expect("a piped stderr");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(i) = line.find("listening on ") {
                let addr = line[i + 13..]
                    .split_whitespace()
                    .next()
                    .unwrap_or("")
                    .to_string();
                let _ = tx.send(addr);
            }
        }
    });
    let addr = rx
        .recv_timeout(Duration::from_secs(30))
        .unwrap_or_else(|_| panic!("{at}: the server never said where it listens"));
    Server { child, addr }
}

/// Runs one block to its end (bounded); panics with its output if it fails.
fn run_block(code: &str, dir: &Path, path: &str, at: &str) {
    let mut child = Command::new("bash")
        .args(["-eu", "-c", code])
        .current_dir(dir)
        .env("PATH", path)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{at}: start bash: {e}"));
    let (tx, rx) = mpsc::channel();
    let out = child.stdout.take().expect("piped");
    let err = child.stderr.take().expect("piped");
    std::thread::spawn(move || {
        let mut text = String::new();
        let _ = std::io::Read::read_to_string(&mut BufReader::new(out), &mut text);
        let mut e = String::new();
        let _ = std::io::Read::read_to_string(&mut BufReader::new(err), &mut e);
        let _ = tx.send((text, e));
    });
    let (stdout, stderr) = match rx.recv_timeout(BLOCK_TIMEOUT) {
        Ok(o) => o,
        Err(_) => {
            let _ = child.kill();
            panic!("{at}: still running after {BLOCK_TIMEOUT:?}:\n{code}");
        }
    };
    let status = child.wait().expect("wait for bash");
    assert!(
        status.success(),
        "{at}: exited with {status}\n--- block ---\n{code}--- stdout ---\n{stdout}--- stderr ---\n{stderr}"
    );
}

/// What running a handout did.
struct Ran {
    blocks: usize,
    /// The handout stopped early for want of a tool.
    skipped: bool,
}

/// Runs every block of one handout.
fn run_handout(readme: &Path) -> Ran {
    let text = std::fs::read_to_string(readme).expect("read the handout");
    let dir = workdir();
    let path = path_with_streamlab();
    let mut server: Option<Server> = None;
    let mut ran = 0;
    let capture = blocks(&text).iter().any(|b| b.kind == "sh-capture") && can_capture();
    for b in blocks(&text) {
        let at = format!("{}:{}", readme.display(), b.line);
        if let Some(missing) = b.needs.iter().find(|t| !have(t)) {
            println!("{at}: skipped with the rest of the handout ({missing} is not installed)");
            return Ran {
                blocks: ran,
                skipped: true,
            };
        }
        let mut code = b.code.clone();
        if let Some(s) = &server {
            code = code
                .replace("127.0.0.1:2635", &s.addr)
                .replace("tcp port 2635", &format!("tcp port {}", port_of(&s.addr)));
        }
        match b.kind.as_str() {
            "sh-server" => server = Some(start_server(&code, dir.path(), &path, &at)),
            "sh" => run_block(&code, dir.path(), &path, &at),
            "sh-capture" if capture => run_block(&code, dir.path(), &path, &at),
            "sh-capture" => {
                println!("{at}: skipped (no capture rights here)");
                continue;
            }
            _ => continue,
        }
        ran += 1;
    }
    Ran {
        blocks: ran,
        skipped: false,
    }
}

fn port_of(addr: &str) -> &str {
    addr.rsplit(':').next().unwrap_or(addr)
}

/// The handouts: `labs/NN-name/README.md` (not labs/teacher, the
/// teachers' rubrics, nor labs/pt-BR, the translations, which
/// tests/translations.rs holds to these).
fn handouts() -> Vec<PathBuf> {
    let numbered = |p: &Path| {
        p.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
            n.len() > 3
                && n.as_bytes()[..2].iter().all(u8::is_ascii_digit)
                && n.as_bytes()[2] == b'-'
        })
    };
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(repo().join("labs"))
        .expect("the labs folder")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| numbered(p) && p.join("README.md").is_file())
        .collect();
    dirs.sort();
    dirs.into_iter().map(|d| d.join("README.md")).collect()
}

#[test]
fn the_block_reader_finds_fences_and_their_kinds() {
    let md = "text\n```sh\nstreamlab demo\n```\n\n```text\n> list\n```\n";
    let b = blocks(md);
    assert_eq!(b.len(), 2);
    assert_eq!(
        (b[0].kind.as_str(), b[0].code.as_str(), b[0].line),
        ("sh", "streamlab demo\n", 2)
    );
    assert_eq!(b[1].kind, "text");
}

#[test]
fn hidden_checks_run_in_their_place() {
    let md = "```sh\nstreamlab sim lossy | tee out.txt\n```\n<!-- ci\ngrep -q done out.txt\n-->\n\
              <!-- ci sh-capture needs=tshark\ndumpcap -w x &\n-->\n```text\n```\n\
              <!-- ci needs=sox\ntest -s a.png -->\n<!-- cite: not a check -->\n```\nplain\n```\n";
    let b = blocks(md);
    let kinds: Vec<&str> = b.iter().map(|b| b.kind.as_str()).collect();
    assert_eq!(kinds, ["sh", "sh", "sh-capture", "text", "sh", ""]);
    assert_eq!(b[1].code, "grep -q done out.txt\n");
    assert_eq!(b[2].needs, ["tshark"]);
    assert_eq!(b[2].line, 7);
    // A check that names only what it needs is `sh`; its last line may
    // close the comment.
    assert_eq!(b[4].needs, ["sox"]);
    assert_eq!(b[4].code, "test -s a.png \n");
}

#[test]
fn there_are_five_labs() {
    let names: Vec<String> = handouts()
        .iter()
        .filter_map(|p| {
            p.parent()?
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
        })
        .collect();
    assert_eq!(
        names,
        [
            "01-first-stream",
            "02-reading-the-wire",
            "03-framing",
            "04-tcp-under-pressure",
            "05-build-your-own"
        ]
    );
}

macro_rules! lab_test {
    ($name:ident, $dir:literal) => {
        #[test]
        fn $name() {
            let readme = repo().join("labs").join($dir).join("README.md");
            let ran = run_handout(&readme);
            assert!(
                ran.blocks > 0 || ran.skipped,
                "{}: no command ran",
                readme.display()
            );
        }
    };
}

lab_test!(lab_01_first_stream, "01-first-stream");
lab_test!(lab_02_reading_the_wire, "02-reading-the-wire");
lab_test!(lab_03_framing, "03-framing");
lab_test!(lab_04_tcp_under_pressure, "04-tcp-under-pressure");
lab_test!(lab_05_build_your_own, "05-build-your-own");
