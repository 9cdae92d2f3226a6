//! The server under pressure: stuck readers, idle and slow sockets by the
//! hundred, and the client that must be served through it all.

mod support;

use std::io::Write;
use std::time::{Duration, Instant};

use streamlab_proto::DialectChoice;
use streamlab_server::conn::WRITE_POLL;
use streamlab_server::{RunningServer, ServerOptions};
use support::{connect, eventually, options, start_with};

/// Seconds from "download big" to the server dropping a client that
/// never reads, with `--write-timeout secs`.
fn time_to_drop_a_stuck_reader(server: &RunningServer) -> Duration {
    let mut sleeper = connect(server);
    eventually("the sleeper is registered", || {
        server.shared.registry.len() == 1
    });
    sleeper.write_all(b"download big\n").unwrap();
    let asked = Instant::now();
    eventually("the sleeper is dropped", || {
        server.shared.registry.is_empty()
    });
    asked.elapsed()
}

#[test]
fn a_client_that_never_reads_is_dropped_after_the_write_timeout_not_three() {
    for secs in [1, 2] {
        let window = Duration::from_secs(secs);
        let server = start_with(ServerOptions {
            write_timeout: window,
            ..options(DialectChoice::Framed, 0, 8)
        });
        let took = time_to_drop_a_stuck_reader(&server);
        eprintln!("--write-timeout {secs}: dropped after {took:.2?}");
        // Never before the window. After it: the kernel's last gulps as
        // it grows the buffers (tens of ms), a poll to see them, a poll to
        // notice the silence, and slack for a busy machine.
        assert!(took >= window, "{secs} s: dropped early, after {took:?}");
        let late = window + 2 * WRITE_POLL + Duration::from_millis(500);
        assert!(took < late, "{secs} s: dropped after {took:?}");
    }
}
