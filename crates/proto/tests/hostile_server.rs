//! The client session against a server that lies, floods or goes quiet:
//! whatever it sends, the session holds a bounded amount, never waits for
//! ever, and gives reasons that are safe to print.

use std::time::Duration;

use streamlab_proto::client::{MAX_BODY_BYTES, MAX_BODY_LINES};
use streamlab_proto::{ClientConfig, ClientEvent, ClientSession, Dialect, Request};

const T0: Duration = Duration::ZERO;

fn events(client: &mut ClientSession) -> Vec<ClientEvent> {
    std::iter::from_fn(|| client.poll_event()).collect()
}

/// The reason of the `Closed` event among `events`; panics without one.
fn close_reason(events: &[ClientEvent]) -> String {
    events
        .iter()
        .find_map(|e| match e {
            ClientEvent::Closed { reason } => Some(reason.clone().unwrap_or_default()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no close in {events:?}"))
}

fn audio_bytes(events: &[ClientEvent]) -> usize {
    events
        .iter()
        .map(|e| match e {
            ClientEvent::TrackData { data, .. } => data.len(),
            _ => 0,
        })
        .sum()
}

/// A session that has asked for `RV` (and, framed, been greeted).
fn downloading(dialect: Dialect, config: impl FnOnce(&mut ClientConfig)) -> ClientSession {
    let mut c = ClientConfig::new(dialect);
    config(&mut c);
    let mut client = ClientSession::new(c);
    client.send(T0, Request::Download { name: "RV".into() });
    client.consume(T0, client.pending(T0).len());
    if dialect == Dialect::Framed {
        client.handle_input(T0, b"OK streamlab/1 ready\n");
    }
    client
}

#[test]
fn a_framed_track_announced_as_100_gb_is_refused_before_any_audio() {
    let mut client = downloading(Dialect::Framed, |_| {});
    client.handle_input(T0, b"track_data_start 100000000000 44100 2 s16le RV\nPCM");
    let events = events(&mut client);
    assert!(client.is_closed());
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, ClientEvent::TrackStart { .. })),
        "{events:?}"
    );
    assert_eq!(
        close_reason(&events),
        "the server announced 100000000000 bytes for 'RV', more than the 536870912 this client accepts for one track"
    );
}

#[test]
fn the_track_bound_is_the_configured_one() {
    let small = |c: &mut ClientConfig| c.max_track_bytes = 1000;
    let mut client = downloading(Dialect::Framed, small);
    client.handle_input(T0, b"track_data_start 1000 44100 2 s16le RV\n");
    assert!(!client.is_closed(), "exactly the bound is allowed");
    let mut client = downloading(Dialect::Framed, small);
    client.handle_input(T0, b"track_data_start 1001 44100 2 s16le RV\n");
    assert!(client.is_closed());
}

#[test]
fn endless_original_audio_is_cut_off_at_the_bound() {
    let max = 64 * 1024;
    let mut client = downloading(Dialect::Original, |c| c.max_track_bytes = max);
    client.handle_input(T0, b"track_data_start");
    let chunk = [7u8; 4096];
    let mut held = 0;
    // Twice the bound, in reads; the session must stop taking bytes in between.
    for i in 0..(2 * max / 4096) {
        client.handle_input(Duration::from_millis(i), &chunk);
        held += audio_bytes(&events(&mut client));
        if client.is_closed() {
            break;
        }
    }
    assert!(client.is_closed());
    assert!(
        held as u64 <= max,
        "{held} bytes held past a bound of {max}"
    );
    let mut client = downloading(Dialect::Original, |c| c.max_track_bytes = max);
    client.handle_input(T0, b"track_data_start");
    for i in 0..(2 * max / 4096) {
        client.handle_input(Duration::from_millis(i), &chunk);
    }
    assert_eq!(
        close_reason(&events(&mut client)),
        "the server sent more than 65536 bytes of 'RV' without track_data_end, more than this client accepts for one track"
    );
}

#[test]
fn a_framed_track_that_stalls_mid_download_ends_the_session() {
    let mut client = downloading(Dialect::Framed, |_| {});
    client.handle_input(T0, b"track_data_start 4000000 44100 2 s16le RV\n");
    let second = Duration::from_secs(1);
    client.handle_input(second, &vec![0u8; 1 << 20]);
    // The deadline follows the last byte.
    let deadline = second + Duration::from_secs(30);
    assert_eq!(client.poll_timeout(), Some(deadline));
    client.handle_timeout(deadline - Duration::from_millis(1));
    assert!(!client.is_closed(), "not stalled yet");
    client.handle_timeout(deadline);
    assert_eq!(
        close_reason(&events(&mut client)),
        "the download of 'RV' stalled: no byte for 30 s after 1048576 of 4000000 bytes"
    );
}

#[test]
fn an_original_track_that_stalls_ends_the_session_at_the_configured_time() {
    let stall = Duration::from_millis(1500);
    let mut client = downloading(Dialect::Original, |c| c.track_stall = stall);
    client.handle_input(T0, b"track_data_start");
    client.handle_input(T0, &[1u8; 1000]);
    // The original dialect's own timers come sooner; the stall is the last.
    let mut now = T0;
    for _ in 0..1000 {
        match client.poll_timeout() {
            Some(t) if !client.is_closed() => {
                now = t;
                client.handle_timeout(t);
            }
            _ => break,
        }
    }
    assert!(client.is_closed());
    assert_eq!(now, stall);
    let reason = close_reason(&events(&mut client));
    // The last 13 bytes could be the start of track_data_end: held back.
    assert_eq!(
        reason,
        "the download of 'RV' stalled: no byte for 1.5 s after 987 bytes"
    );
}

#[test]
fn a_framed_list_may_not_fill_memory() {
    let mut client = ClientSession::new(ClientConfig::new(Dialect::Framed));
    client.send(T0, Request::List);
    client.handle_input(T0, b"OK streamlab/1 ready\n");
    client.handle_input(T0, format!("OK {MAX_BODY_LINES} songs\n").as_bytes());
    let line = [b'a'; 60_000];
    let mut fed = 0;
    while !client.is_closed() && fed < 2 * MAX_BODY_BYTES {
        client.handle_input(T0, &line);
        client.handle_input(T0, b"\n");
        fed += line.len() + 1;
    }
    assert!(client.is_closed());
    assert!(fed <= MAX_BODY_BYTES + line.len() + 1);
    let reason = close_reason(&events(&mut client));
    assert!(reason.starts_with("the server's list passed"), "{reason}");
}

#[test]
fn reasons_quote_the_servers_bytes_escaped() {
    // A busy message that tries to clear the screen, then the close.
    let mut client = ClientSession::new(ClientConfig::new(Dialect::Original));
    client.handle_input(T0, b"ERR 503 busy\x1b[2J\x1b]0;owned\x07\n");
    client.handle_eof(T0);
    let reason = close_reason(&events(&mut client));
    assert_eq!(reason, "ERR 503 busy\\x1b[2J\\x1b]0;owned\\x07");
    // A track whose name carries a colour, cut short.
    let mut client = downloading(Dialect::Framed, |_| {});
    client.handle_input(T0, b"track_data_start 9 44100 2 s16le RV\x1b[31m\nab");
    client.handle_eof(T0);
    let reason = close_reason(&events(&mut client));
    assert_eq!(
        reason,
        "the server closed the connection 7 bytes before the end of 'RV\\x1b[31m'"
    );
    // A header with a bad field.
    let mut client = downloading(Dialect::Framed, |_| {});
    client.handle_input(T0, b"track_data_start 9 44100 2 \x1b[5m RV\n");
    let reason = close_reason(&events(&mut client));
    assert!(!reason.contains('\x1b'), "{reason}");
}
