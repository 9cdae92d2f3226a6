//! Issue 13, item 10: memory must not grow with the number of connections.
//! Checked by structure, not by measuring: connections finish when they
//! close or go silent (in capture time) and are dropped; the table never
//! holds more than its limit and says what it skipped; the filters keep
//! unwanted connections out of it.

use std::time::Duration;

use super::tests::{Capture, ACK, CLIENT, FIN_ACK, PSH_ACK, SERVER, SYN, SYN_ACK};
use super::*;
use crate::recorder::Recorder;
use crate::stream::Dir;

const SECOND: u64 = 1_000_000_000;

fn limits(max_connections: usize) -> Limits {
    Limits {
        max_connections,
        idle_timeout: Duration::from_secs(60),
        close_linger: Duration::from_secs(2),
        ..Limits::default()
    }
}

fn capture(limits: Limits) -> Capture<Recorder> {
    Capture::with(Flows::new(|_: &ConnInfo| Recorder::default()).with_limits(limits))
}

/// The `n`-th host of a scan.
fn host(n: usize) -> String {
    format!("10.1.{}.{}:40000", n / 250, n % 250 + 1)
}

/// Every finished connection waiting, by stream number as they came out.
fn taken(cap: &mut Capture<Recorder>) -> Vec<u64> {
    std::iter::from_fn(|| cap.flows.poll_finished())
        .map(|(info, _)| info.stream)
        .collect()
}

#[test]
fn the_table_never_tracks_more_than_its_limit_and_counts_what_it_skipped() {
    let mut cap = capture(limits(10));
    for n in 0..25 {
        cap.send(&host(n), SERVER, 7, SYN, b"");
        assert!(cap.flows.tracked() <= 10, "after SYN {n}");
    }
    // A tracked connection goes on as usual while the table is full.
    cap.send(&host(3), SERVER, 8, PSH_ACK, b"lista");
    assert_eq!(cap.flows.most_tracked(), 10);
    let skipped = cap.flows.skipped();
    assert_eq!((skipped.segments, skipped.syns), (15, 15));
    assert_eq!(skipped.first_frame, Some(11));
    // Skipped segments take no stream number.
    let numbers: Vec<Option<u64>> = (0..10).map(Some).chain([None; 15]).collect();
    assert_eq!(cap.streams[..25], numbers);
    let conns = cap.flows.finish();
    assert_eq!(conns.len(), 10);
    assert_eq!(conns[3].1.bytes(Dir::ToServer), b"lista");
}

#[test]
fn a_connection_silent_past_the_idle_timeout_is_finished_and_dropped() {
    let mut cap = capture(limits(10));
    cap.send(CLIENT, SERVER, 100, SYN, b"");
    cap.send(CLIENT, SERVER, 101, PSH_ACK, b"lista");
    cap.later_ns = 60 * SECOND - 1_000_000; // 60 s after frame 2: not past it
    cap.send("10.0.0.11:1000", SERVER, 5, SYN, b"");
    assert_eq!((taken(&mut cap), cap.flows.tracked()), (vec![], 2));
    cap.later_ns = 61 * SECOND;
    cap.send("10.0.0.12:1000", SERVER, 5, SYN, b"");
    let (info, sink) = cap.flows.poll_finished().expect("stream 0, timed out");
    assert_eq!(
        (info.stream, sink.bytes(Dir::ToServer)),
        (0, b"lista".to_vec())
    );
    assert_eq!(cap.flows.tracked(), 2);
    // What comes after is another connection, as the report says.
    cap.send(CLIENT, SERVER, 106, PSH_ACK, b"quit");
    assert_eq!(cap.streams.last(), Some(&Some(3)));
}

#[test]
fn a_closed_connection_keeps_its_stragglers_then_finishes() {
    let mut cap = capture(limits(10));
    cap.send(CLIENT, SERVER, 100, SYN, b"");
    cap.send(SERVER, CLIENT, 500, SYN_ACK, b"");
    cap.send(CLIENT, SERVER, 101, PSH_ACK, b"quit");
    cap.send(SERVER, CLIENT, 501, FIN_ACK, b"");
    cap.send(CLIENT, SERVER, 105, FIN_ACK, b"");
    cap.later_ns = SECOND; // within the linger: the last ACK is stream 0's
    cap.send(SERVER, CLIENT, 502, ACK, b"");
    assert_eq!(cap.streams.last(), Some(&Some(0)));
    cap.later_ns = 3 * SECOND + 5_000_000; // 2 s of silence after it, and more
    cap.send("10.0.0.11:1000", SERVER, 5, SYN, b"");
    let (info, _) = cap.flows.poll_finished().expect("stream 0, closed");
    assert_eq!((info.stream, info.dirs[1].segments), (0, 3));
    assert_eq!(cap.flows.tracked(), 1);
}

#[test]
fn connections_come_out_as_their_deadlines_pass_then_by_number() {
    let mut cap = capture(limits(10));
    cap.send("10.0.0.1:1", SERVER, 1, SYN, b""); // 0: silent from frame 1
    cap.send("10.0.0.2:1", SERVER, 1, SYN, b""); // 1: closed at frame 4
    cap.send("10.0.0.3:1", SERVER, 1, SYN, b""); // 2: open to the end
    cap.send("10.0.0.2:1", SERVER, 2, 0x04, b"");
    cap.later_ns = 10 * SECOND;
    cap.send("10.0.0.3:1", SERVER, 2, ACK, b"");
    assert_eq!(taken(&mut cap), [1]); // the linger passed, not the timeout
    cap.later_ns = 61 * SECOND;
    cap.send("10.0.0.3:1", SERVER, 2, ACK, b"");
    assert_eq!(taken(&mut cap), [0]);
    cap.send("10.0.0.4:1", SERVER, 1, SYN, b"");
    cap.flows.end();
    assert_eq!(taken(&mut cap), [2, 3]);
}

#[test]
fn unwanted_connections_cost_no_sink_and_the_last_stream_ends_tracking() {
    let made = std::rc::Rc::new(std::cell::Cell::new(0));
    let count = made.clone();
    let flows = Flows::new(move |_: &ConnInfo| {
        count.set(count.get() + 1);
        Recorder::default()
    })
    .with_filter(|info| info.stream == 1)
    .last_stream(1);
    let mut cap = Capture::with(flows);
    for n in 0..100 {
        cap.send(&host(n), SERVER, 7, SYN, b"");
        cap.send(&host(n), SERVER, 8, PSH_ACK, b"lista");
        assert!(cap.flows.tracked() <= 2, "after host {n}");
    }
    assert_eq!(made.get(), 1); // only stream 1's sink was ever made
    assert_eq!(cap.flows.streams(), 2);
    assert_eq!(cap.flows.skipped(), Skipped::default()); // filtered, not skipped
    let conns = cap.flows.finish();
    assert_eq!(conns.len(), 1);
    assert_eq!(conns[0].0.stream, 1);
    assert_eq!(conns[0].1.bytes(Dir::ToServer), b"lista");
}
