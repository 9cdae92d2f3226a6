//! `streamlab conformance server` as a teacher runs it: our server (in this
//! process, on 127.0.0.1:0, serving the bundled music) passes every check
//! in both dialects; a rude server fails with exit code 4 and diagnoses;
//! nothing listening is one error line and exit code 1.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::time::Duration;

use streamlab_audio::library::Library;
use streamlab_proto::{DialectChoice, ServerConfig};
use streamlab_server::{RunningServer, Server, ServerOptions};

mod support;
use support::streamlab;

fn our_server() -> RunningServer {
    let music =
        Library::scan(concat!(env!("CARGO_MANIFEST_DIR"), "/music")).expect("the bundled music");
    let options = ServerOptions {
        session: ServerConfig {
            dialect: DialectChoice::Auto,
            ..ServerConfig::default()
        },
        ..ServerOptions::default()
    };
    let addr: SocketAddr = "127.0.0.1:0".parse().expect("a literal address");
    Server::bind(addr, music, options)
        .expect("binding 127.0.0.1:0")
        .spawn()
}

/// A server that answers every read with "nope" and never closes first:
/// the kind of server the timeouts exist for. Serves at most 50 clients.
fn rude_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("binding 127.0.0.1:0");
    let addr = listener.local_addr().expect("a bound address");
    std::thread::spawn(move || {
        for _ in 0..50 {
            let Ok((mut s, _)) = listener.accept() else {
                continue;
            };
            std::thread::spawn(move || {
                let _ = s.set_read_timeout(Some(Duration::from_secs(20)));
                let mut buf = [0u8; 1024];
                for _ in 0..1000 {
                    match s.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(_) => drop(s.write_all(b"nope")),
                    }
                }
            });
        }
    });
    addr
}

#[test]
fn our_server_passes_every_check_in_both_dialects() {
    let server = our_server();
    let dir = tempfile::tempdir().expect("a temporary directory");
    for dialect in ["original", "framed"] {
        let junit = dir.path().join(format!("{dialect}.xml"));
        let out = streamlab()
            .args([
                "conformance",
                "server",
                &server.addr.to_string(),
                "--dialect",
                dialect,
            ])
            .args([
                "--music",
                "music",
                "--timeout-ms",
                "2000",
                "--settle-ms",
                "150",
            ])
            .arg("--junit")
            .arg(&junit)
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        let text = String::from_utf8_lossy(&out);
        assert!(
            text.contains(&format!("({dialect} dialect, timeout 2000 ms)")),
            "{text}"
        );
        // help and bad-request are about the framed dialect only.
        let total = streamlab_conformance::checks::ALL.len();
        let applicable = if dialect == "framed" {
            total
        } else {
            total - 2
        };
        assert!(
            text.contains(&format!("{applicable} of {applicable} checks passed")),
            "{text}"
        );
        let xml = std::fs::read_to_string(&junit).expect("the JUnit file");
        assert!(
            xml.contains(&format!("tests=\"{total}\" failures=\"0\"")),
            "{xml}"
        );
    }
    server.shutdown();
}

#[test]
fn a_rude_server_fails_with_exit_code_4_and_says_why() {
    let addr = rude_server().to_string();
    let out = streamlab()
        .args(["conformance", "server", &addr, "--dialect", "original"])
        .args(["--timeout-ms", "500", "--settle-ms", "100"])
        .args(["--check", "unknown-command", "--check", "quit-goodbye"])
        .assert()
        .code(4)
        .get_output()
        .clone();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("FAIL unknown-command"), "{text}");
    assert!(
        text.contains("  expected: \"Comando Inexistente.\"\n  got:      \"nope\""),
        "{text}"
    );
    assert!(
        text.contains("  got:      \"nope\", then nothing for 500 ms"),
        "{text}"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim(), "streamlab: 2 of 2 conformance checks failed");
}

#[test]
fn json_output_follows_the_schema() {
    let addr = rude_server().to_string();
    let out = streamlab()
        .args([
            "conformance",
            "server",
            &addr,
            "--dialect",
            "framed",
            "--json",
        ])
        .args(["--timeout-ms", "300", "--check", "list"])
        .assert()
        .code(4)
        .get_output()
        .stdout
        .clone();
    let json: serde_json::Value = serde_json::from_slice(&out).expect("JSON on stdout");
    assert_eq!(json["schema"], "streamlab-conformance/1");
    assert_eq!(json["passed"], 0);
    assert_eq!(json["failed"], 1);
    let check = &json["checks"][0];
    assert_eq!(check["name"], "list");
    assert_eq!(check["result"], "fail");
    assert_eq!(
        check["diagnosis"]["sent"],
        "\"hello streamlab/1 conformance\\n\""
    );
    assert_eq!(
        check["diagnosis"]["got"],
        "\"nope\", then nothing for 300 ms"
    );
}

/// A server that completes every handshake and resets the connection at
/// once (`SO_LINGER` 0, then close): whether the RST reaches the checker
/// inside `connect` or at its first read is a race. Serves at most 200.
#[cfg(unix)]
fn resetting_server() -> SocketAddr {
    use std::os::fd::AsRawFd;
    let listener = TcpListener::bind("127.0.0.1:0").expect("binding 127.0.0.1:0");
    let addr = listener.local_addr().expect("a bound address");
    std::thread::spawn(move || {
        for _ in 0..200 {
            let Ok((s, _)) = listener.accept() else {
                continue;
            };
            let linger = libc::linger {
                l_onoff: 1,
                l_linger: 0,
            };
            // SAFETY: setsockopt reads one `linger` from a live value, on a
            // descriptor this thread owns until `s` drops below.
            let rc = unsafe {
                libc::setsockopt(
                    s.as_raw_fd(),
                    libc::SOL_SOCKET,
                    libc::SO_LINGER,
                    (&linger as *const libc::linger).cast(),
                    std::mem::size_of::<libc::linger>() as libc::socklen_t,
                )
            };
            assert_eq!(rc, 0, "SO_LINGER on a fresh socket");
            drop(s);
        }
    });
    addr
}

/// Issue 13, item 13: it exited 1 ("cannot connect … reset by peer") or 4
/// at random. The handshake succeeded, so there is a server: the checks
/// run, fail and say so, and the exit code is 4 every time.
#[cfg(unix)]
#[test]
fn a_server_that_accepts_then_resets_fails_the_checks_with_exit_code_4_every_time() {
    let addr = resetting_server().to_string();
    for run in 0..8 {
        let out = streamlab()
            .args(["conformance", "server", &addr, "--dialect", "original"])
            .args(["--timeout-ms", "300", "--settle-ms", "50"])
            .args(["--check", "list", "--check", "quit-goodbye"])
            .assert()
            .code(4)
            .get_output()
            .clone();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("FAIL list"), "run {run}: {text}");
        assert!(
            text.contains("reset"),
            "run {run}: the diagnosis names the reset: {text}"
        );
        assert!(!text.contains("os error"), "run {run}: {text}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            stderr.trim(),
            "streamlab: 2 of 2 conformance checks failed",
            "run {run}"
        );
    }
}

#[test]
fn nothing_listening_is_one_error_line_and_exit_code_1() {
    let addr = {
        let l = TcpListener::bind("127.0.0.1:0").expect("binding 127.0.0.1:0");
        l.local_addr().expect("a bound address")
    }; // closed again: nobody listens there now
    let out = streamlab()
        .args(["conformance", "server", &addr.to_string()])
        .assert()
        .code(1)
        .get_output()
        .clone();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with(&format!("streamlab: cannot connect to {addr}")),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn an_unknown_check_name_is_refused_before_connecting() {
    let out = streamlab()
        .args(["conformance", "server", "127.0.0.1:9", "--check", "speed"])
        .assert()
        .code(1)
        .get_output()
        .clone();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("streamlab: no check named 'speed' (the checks: list, "),
        "{stderr}"
    );
}

/// `streamlab conformance client … -- <our client>` for one dialect.
fn check_our_client(dialect: &str, junit: &std::path::Path) -> String {
    let out = streamlab()
        .args(["conformance", "client", "--dialect", dialect, "--junit"])
        .arg(junit)
        .args(["--", env!("CARGO_BIN_EXE_streamlab"), "client", "{addr}"])
        .args(["--dialect", dialect, "--output", "wav:{out}"])
        .args(["--script", "list; play {song}; wait; quit"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn our_client_passes_every_client_check_in_both_dialects() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    for dialect in ["original", "framed"] {
        let junit = dir.path().join(format!("{dialect}.xml"));
        let text = check_our_client(dialect, &junit);
        assert!(
            text.contains(&format!("({dialect} dialect, timeout 10000 ms)")),
            "{text}"
        );
        assert!(text.contains("8 of 8 checks passed"), "{text}");
        let xml = std::fs::read_to_string(&junit).expect("the JUnit file");
        assert!(xml.contains("tests=\"8\" failures=\"0\""), "{xml}");
    }
}

#[test]
fn a_client_that_closes_before_goodbye_fails_with_exit_code_4() {
    let script = "exec 3<>/dev/tcp/127.0.0.1/$1; printf 'hello streamlab/1 bash\\nquit\\n' >&3";
    let out = streamlab()
        .args(["conformance", "client", "--json", "--check", "quit-goodbye"])
        .args([
            "--timeout-ms",
            "5000",
            "--",
            "bash",
            "-c",
            script,
            "bash",
            "{port}",
        ])
        .assert()
        .code(4)
        .get_output()
        .clone();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    assert_eq!(json["schema"], "streamlab-conformance/1");
    assert_eq!(json["dialect"], "framed");
    assert_eq!(json["failed"], 1);
    let check = &json["checks"][0];
    assert_eq!(check["name"], "quit-goodbye");
    assert_eq!(
        check["diagnosis"]["expected"],
        "the client keeps the connection open until \"OK goodbye\\n\" is sent"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim(), "streamlab: 1 of 1 conformance checks failed");
}

#[test]
fn a_client_command_that_does_not_exist_is_one_line_and_exit_code_1() {
    let out = streamlab()
        .args([
            "conformance",
            "client",
            "--",
            "no-such-client-xyz",
            "{addr}",
        ])
        .assert()
        .code(1)
        .get_output()
        .clone();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        stderr,
        "streamlab: cannot run 'no-such-client-xyz': not found on PATH\n"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn a_client_check_needs_a_command() {
    streamlab()
        .args(["conformance", "client", "--dialect", "original"])
        .assert()
        .code(2);
}

// `streamlab conformance server --exec CMD` (issue 12): the checker starts
// the server, checks it and stops it. Each command below first writes its
// shell's pid (`echo $$`) to a file: that shell leads the server's process
// group, and each test ends by asking the kernel whether anything of that
// group is left (`kill(-pgid, 0)` must fail with ESRCH).

/// The lab 5 starter, as a student runs it.
#[cfg(unix)]
const STARTER: &str = "labs/05-build-your-own/server.py";

/// Is python3 installed? Where it is not, the tests that need it say so and
/// pass, except when `STREAMLAB_REQUIRE_PYTHON` is set, as CI sets it (the
/// rule of tests/labs.rs).
#[cfg(unix)]
fn python3(test: &str) -> bool {
    let ok = std::process::Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok && std::env::var_os("STREAMLAB_REQUIRE_PYTHON").is_some() {
        panic!("STREAMLAB_REQUIRE_PYTHON is set but python3 is not installed");
    }
    if !ok {
        println!("{test}: skipped (python3 is not installed)");
    }
    ok
}

/// `command` preceded by writing the group's id to `pidfile`.
#[cfg(unix)]
fn recording_group(pidfile: &std::path::Path, command: &str) -> String {
    format!("echo $$ > '{}'; {command}", pidfile.display())
}

/// The process group a command of [`recording_group`] ran in.
#[cfg(unix)]
fn group_of(pidfile: &std::path::Path) -> libc::pid_t {
    let text = std::fs::read_to_string(pidfile).expect("the command wrote its group's id");
    text.trim().parse().expect("a pid")
}

/// Whether no process of group `pgid` is left, zombies included.
#[cfg(unix)]
fn group_is_gone(pgid: libc::pid_t) -> bool {
    // SAFETY: signal 0 only asks whether the group exists.
    let rc = unsafe { libc::kill(-pgid, 0) };
    rc == -1 && std::io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH)
}

/// The check name → "pass"/"fail" of a JSON report.
#[cfg(unix)]
fn verdicts(json: &serde_json::Value) -> Vec<(String, String)> {
    let checks = json["checks"].as_array().expect("a checks array");
    checks
        .iter()
        .map(|c| (c["name"].to_string(), c["result"].to_string()))
        .collect()
}

/// The starter started by hand with `--port 0`, and the address it printed.
#[cfg(unix)]
fn starter_by_hand() -> (std::process::Child, String) {
    use std::io::BufRead;
    let mut child = std::process::Command::new("python3")
        .args([STARTER, "--port", "0"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python3 runs the starter");
    let stderr = child.stderr.take().expect("a piped stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            if let Some(rest) = line.strip_prefix("listening on ") {
                let _ = tx.send(rest.split_whitespace().next().unwrap_or("").to_string());
            }
        }
    });
    let addr = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("the starter says where it listens");
    (child, addr)
}

#[cfg(unix)]
#[test]
fn exec_gives_the_starter_the_verdicts_it_gets_when_started_by_hand() {
    if !python3("exec_gives_the_starter_the_verdicts_it_gets_when_started_by_hand") {
        return;
    }
    let dir = tempfile::tempdir().expect("a temporary directory");
    let pidfile = dir.path().join("group");
    let patience = ["--timeout-ms", "1500", "--dialect", "original", "--json"];
    let (mut by_hand, addr) = starter_by_hand();
    let exec = recording_group(&pidfile, &format!("exec python3 {STARTER} --port {{port}}"));
    let (hand, started) = std::thread::scope(|s| {
        let hand = s.spawn(|| {
            streamlab()
                .args(["conformance", "server", &addr])
                .args(patience)
                .assert()
                .code(4)
                .get_output()
                .stdout
                .clone()
        });
        let started = streamlab()
            .args(["conformance", "server", "--exec", &exec])
            .args(patience)
            .assert()
            .code(4)
            .get_output()
            .stdout
            .clone();
        (hand.join().expect("the run by hand"), started)
    });
    let _ = by_hand.kill();
    let _ = by_hand.wait();
    let hand: serde_json::Value = serde_json::from_slice(&hand).expect("JSON");
    let started: serde_json::Value = serde_json::from_slice(&started).expect("JSON");
    assert_eq!(verdicts(&started), verdicts(&hand));
    // The starter passes some checks and fails others: the comparison
    // means something.
    assert!(hand["passed"].as_u64() > Some(0) && hand["failed"].as_u64() > Some(0));
    assert_eq!(started["exec"]["starts"], 1);
    assert_eq!(started["exec"]["deaths"], serde_json::json!([]));
    assert!(hand.get("exec").is_none(), "{hand}");
    assert!(
        group_is_gone(group_of(&pidfile)),
        "the starter outlived the run"
    );
}

#[cfg(unix)]
#[test]
fn exec_checks_our_server_and_stops_it() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let pidfile = dir.path().join("group");
    let server = format!(
        "exec '{}' server --port {{port}}",
        env!("CARGO_BIN_EXE_streamlab")
    );
    let out = streamlab()
        .args([
            "conformance",
            "server",
            "--exec",
            &recording_group(&pidfile, &server),
        ])
        .args(["--check", "list", "--check", "quit-goodbye"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8_lossy(&out);
    assert!(text.contains("started with: echo $$ > "), "{text}");
    assert!(text.contains("(one server for every check)"), "{text}");
    assert!(text.contains("2 of 2 checks passed"), "{text}");
    assert!(group_is_gone(group_of(&pidfile)));
}

/// Runs `streamlab conformance server --exec CMD ARGS…` for a server that
/// never gets to listen: exit code 1, one line on stderr, within `within`.
#[cfg(unix)]
fn exec_that_fails_to_start(
    command: &str,
    args: &[&str],
    within: Duration,
) -> (String, std::process::Output) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let pidfile = dir.path().join("group");
    let started = std::time::Instant::now();
    let out = streamlab()
        .args([
            "conformance",
            "server",
            "--exec",
            &recording_group(&pidfile, command),
        ])
        .args(args)
        .assert()
        .code(1)
        .get_output()
        .clone();
    assert!(started.elapsed() < within, "took {:?}", started.elapsed());
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        group_is_gone(group_of(&pidfile)),
        "a process was left behind"
    );
    (stderr, out)
}

#[cfg(unix)]
#[test]
fn a_server_that_exits_at_once_is_one_line_with_its_last_words() {
    let (stderr, out) = exec_that_fails_to_start(
        "echo 'no music folder here' >&2; exit 3 # {port}",
        &[],
        Duration::from_secs(5),
    );
    assert!(
        stderr.starts_with(
            "streamlab: the server exited with status 3 before listening on 127.0.0.1:"
        ),
        "{stderr}"
    );
    assert!(stderr.ends_with(": no music folder here\n"), "{stderr}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("no check ran: the server exited with status 3"),
        "{text}"
    );
    assert!(
        !text.contains("check  "),
        "no table when nothing ran: {text}"
    );
}

#[cfg(unix)]
#[test]
fn a_server_that_exits_at_once_gives_a_json_and_junit_report_that_says_so() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let junit = dir.path().join("report.xml");
    let (_, out) = exec_that_fails_to_start(
        "echo 'Traceback (most recent call last):' >&2; echo 'NameError: x' >&2; exit 1 # {port}",
        &[
            "--json",
            "--check",
            "list",
            "--check",
            "quit-goodbye",
            "--junit",
            junit.to_str().expect("a UTF-8 path"),
        ],
        Duration::from_secs(5),
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    assert_eq!(
        (json["passed"].as_u64(), json["failed"].as_u64()),
        (Some(0), Some(2))
    );
    let error = json["exec"]["start_error"].as_str().expect("a start error");
    assert!(
        error.contains("exited with status 1 before listening"),
        "{error}"
    );
    assert!(error.ends_with(": NameError: x"), "{error}");
    assert_eq!(
        json["exec"]["output"],
        serde_json::json!(["Traceback (most recent call last):", "NameError: x"])
    );
    assert_eq!(
        json["checks"][0]["diagnosis"]["sent"],
        "nothing (the check did not run)"
    );
    let xml = std::fs::read_to_string(&junit).expect("the JUnit file");
    assert!(xml.contains("tests=\"2\" failures=\"2\""), "{xml}");
    assert!(
        xml.contains(
            "<system-err>Traceback (most recent call last):&#10;NameError: x</system-err>"
        ),
        "{xml}"
    );
}

#[cfg(unix)]
#[test]
fn a_server_that_never_listens_is_stopped_at_the_start_timeout() {
    // Two sleepers in the group: the shell's child in the background too.
    let (stderr, _) = exec_that_fails_to_start(
        "sleep 60 & sleep 60 # {port}",
        &["--start-timeout-ms", "500"],
        Duration::from_secs(5),
    );
    assert!(
        stderr.starts_with("streamlab: the server did not accept connections on 127.0.0.1:"),
        "{stderr}"
    );
    assert!(
        stderr.ends_with(" within 500 ms (it printed nothing)\n"),
        "{stderr}"
    );
}

/// An original-dialect server that lists one song, says goodbye, and dies
/// with a traceback on any other command (a download, say).
#[cfg(unix)]
const DYING_SERVER: &str = r#"
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen()
while True:
    c, _ = s.accept()
    with c:
        while True:
            d = c.recv(1024)
            if not d:
                break
            if d.startswith(b"lista"):
                c.sendall(b"song\n")
            elif d.startswith(b"quit"):
                c.sendall(b"goodbye")
                break
            else:
                raise RuntimeError("cannot handle %r" % d)
"#;

/// Runs the dying server through `--exec` on three checks (`list` passes,
/// `download-integrity` kills it, `quit-goodbye` comes after), with `extra`
/// arguments; exit code 4 within 20 s and no process left.
#[cfg(unix)]
fn check_the_dying_server(extra: &[&str]) -> std::process::Output {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let script = dir.path().join("dying.py");
    std::fs::write(&script, DYING_SERVER).expect("writing the script");
    let pidfile = dir.path().join("group");
    let command = format!("exec python3 '{}' {{port}}", script.display());
    let started = std::time::Instant::now();
    let out = streamlab()
        .args([
            "conformance",
            "server",
            "--dialect",
            "original",
            "--timeout-ms",
            "1000",
        ])
        .args(["--exec", &recording_group(&pidfile, &command)])
        .args([
            "--check",
            "list",
            "--check",
            "download-integrity",
            "--check",
            "quit-goodbye",
        ])
        .args(extra)
        .assert()
        .code(4)
        .get_output()
        .clone();
    assert!(started.elapsed() < Duration::from_secs(20));
    assert!(
        group_is_gone(group_of(&pidfile)),
        "a process was left behind"
    );
    out
}

#[cfg(unix)]
#[test]
fn a_server_that_dies_mid_checks_fails_the_rest_without_running_them() {
    if !python3("a_server_that_dies_mid_checks_fails_the_rest_without_running_them") {
        return;
    }
    let out = check_the_dying_server(&[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        stderr,
        "streamlab: 2 of 3 conformance checks failed; \
         the server exited with status 1 during download-integrity\n"
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("list                pass"), "{text}");
    assert!(
        text.contains("  hint:     the server exited with status 1 during this check"),
        "{text}"
    );
    assert!(
        text.contains(
            "FAIL quit-goodbye: \"quit\" gets \"goodbye\", then the server closes\n  \
             sent:     nothing (the check did not run)\n"
        ),
        "{text}"
    );
    assert!(
        text.contains("  got:      the server is no longer running (it died during download-integrity: it exited with status 1)\n"),
        "{text}"
    );
    assert!(
        text.contains("its last output:\n  Traceback (most recent call last):\n"),
        "{text}"
    );
    assert!(
        text.contains("  RuntimeError: cannot handle b'download song'\n"),
        "{text}"
    );
}

#[cfg(unix)]
#[test]
fn restart_per_check_gives_each_check_a_fresh_server() {
    if !python3("restart_per_check_gives_each_check_a_fresh_server") {
        return;
    }
    let out = check_the_dying_server(&["--restart-per-check", "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    assert_eq!(
        verdicts(&json),
        [
            ("\"list\"".to_string(), "\"pass\"".to_string()),
            ("\"download-integrity\"".into(), "\"fail\"".into()),
            // The server that download-integrity killed is not the one
            // quit-goodbye talks to.
            ("\"quit-goodbye\"".into(), "\"pass\"".into()),
        ]
    );
    assert_eq!(json["exec"]["restart_per_check"], true);
    assert_eq!(json["exec"]["starts"], 3);
    assert_eq!(
        json["exec"]["deaths"],
        serde_json::json!(["exited with status 1 during download-integrity"])
    );
}

#[cfg(unix)]
#[test]
fn ctrl_c_during_the_checks_stops_the_server_too() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let pidfile = dir.path().join("group");
    // A framed server waits for the end of a line that an original-dialect
    // checker never sends: the checker sits in its first check for up to
    // the minute of --timeout-ms.
    let server = format!(
        "exec '{}' server --dialect framed --port {{port}}",
        env!("CARGO_BIN_EXE_streamlab")
    );
    let mut checker = std::process::Command::new(env!("CARGO_BIN_EXE_streamlab"))
        .args(["conformance", "server", "--dialect", "original"])
        .args(["--timeout-ms", "60000", "--check", "list"])
        .args(["--exec", &recording_group(&pidfile, &server)])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the checker starts");
    let until = std::time::Instant::now() + Duration::from_secs(20);
    while std::fs::read_to_string(&pidfile).map_or(true, |t| !t.ends_with('\n')) {
        assert!(
            std::time::Instant::now() < until,
            "the server never started"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // Into the check.
    std::thread::sleep(Duration::from_millis(1000));
    let pgid = group_of(&pidfile);
    assert!(!group_is_gone(pgid), "the server runs during the check");
    assert!(
        checker.try_wait().expect("waiting").is_none(),
        "the checker is in its check"
    );
    let pid = libc::pid_t::try_from(checker.id()).expect("a pid");
    // SAFETY: kill has no memory preconditions; `pid` is our unreaped child.
    unsafe { libc::kill(pid, libc::SIGINT) };
    let until = std::time::Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = checker.try_wait().expect("waiting for the checker") {
            break status;
        }
        assert!(
            std::time::Instant::now() < until,
            "the checker ignored Ctrl-C"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(130));
    let mut stderr = String::new();
    let _ = checker
        .stderr
        .take()
        .map(|mut e| e.read_to_string(&mut stderr));
    assert_eq!(stderr, "streamlab: interrupted; stopping the server\n");
    assert!(group_is_gone(pgid), "the server outlived the checker");
}

#[test]
fn an_empty_exec_command_is_one_line_and_exit_code_2() {
    let out = streamlab()
        .args(["conformance", "server", "--exec", ""])
        .assert()
        .code(2)
        .get_output()
        .clone();
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "streamlab: --exec: the command is empty\n"
    );
}

#[test]
fn an_exec_command_without_a_port_is_one_line_and_exit_code_2() {
    let out = streamlab()
        .args(["conformance", "server", "--exec", "python3 server.py"])
        .assert()
        .code(2)
        .get_output()
        .clone();
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "streamlab: --exec: 'python3 server.py' does not say where to listen: \
         put {port} (or {addr}) in it, as in \"python3 server.py --port {port}\"\n"
    );
}

#[test]
fn exec_and_an_address_are_one_or_the_other() {
    streamlab()
        .args([
            "conformance",
            "server",
            "127.0.0.1:2635",
            "--exec",
            "s {port}",
        ])
        .assert()
        .code(2);
    streamlab()
        .args([
            "conformance",
            "server",
            "127.0.0.1:2635",
            "--restart-per-check",
        ])
        .assert()
        .code(2);
}
