//! What a server session tells its driver about a peer that has not said
//! anything useful yet: whether it has greeted, and since when a command
//! has been incomplete. The reference server's timeouts and its choice of
//! whom to evict rest on these two answers.

use std::time::Duration;

use streamlab_proto::{
    Device, DialectChoice, PlayState, ServerConfig, ServerContext, ServerSession, Track,
    TrackUnavailable,
};

/// A server with no songs and no devices: enough to answer commands.
struct Empty;

impl ServerContext for Empty {
    fn song_names(&self) -> Vec<String> {
        Vec::new()
    }
    fn track(&self, _name: &str) -> Result<Track, TrackUnavailable> {
        Err(TrackUnavailable::NotFound)
    }
    fn devices(&self) -> Vec<Device> {
        Vec::new()
    }
    fn report(&self, _conn: u64, _state: PlayState, _song: Option<String>, _at: Option<u64>) {}
}

fn session(dialect: DialectChoice) -> ServerSession {
    let config = ServerConfig {
        dialect,
        pause: Duration::ZERO,
        ..ServerConfig::default()
    };
    ServerSession::new(1, config)
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

#[test]
fn a_slow_greeting_is_incomplete_from_its_first_byte_until_its_line_ends() {
    let mut s = session(DialectChoice::Auto);
    assert_eq!(s.incomplete_since(), None, "nothing read yet");
    s.handle_read(secs(1), b"he", &Empty);
    assert_eq!(s.dialect(), None, "`he` may still become `hello `");
    assert_eq!(s.incomplete_since(), Some(secs(1)));
    s.handle_read(secs(4), b"llo slow", &Empty);
    assert_eq!(s.incomplete_since(), Some(secs(1)), "still the same line");
    assert!(!s.greeted());
    s.handle_read(secs(7), b"loris\nli", &Empty);
    assert!(s.greeted(), "a hello is a greeting");
    assert_eq!(
        s.incomplete_since(),
        Some(secs(7)),
        "the next line began at 7 s"
    );
    s.handle_read(secs(8), b"st\n", &Empty);
    assert_eq!(s.incomplete_since(), None);
}

#[test]
fn in_the_original_dialect_only_a_known_command_greets_and_nothing_is_partial() {
    let mut s = session(DialectChoice::Auto);
    for junk in [&b"x"[..], b"l", b"hello", b"help", b"download ../etc"] {
        s.handle_read(secs(1), junk, &Empty);
        assert!(
            !s.greeted(),
            "{:?} is no command",
            String::from_utf8_lossy(junk)
        );
        assert_eq!(s.incomplete_since(), None, "one read, one command");
    }
    s.handle_read(secs(2), b"lista", &Empty);
    assert!(s.greeted());
}

#[test]
fn in_the_framed_dialect_any_valid_command_greets_but_an_error_does_not() {
    let mut s = session(DialectChoice::Framed);
    s.handle_read(secs(1), b"dance\n\n", &Empty);
    assert!(!s.greeted(), "an unknown command and an empty line");
    s.handle_read(secs(1), b"list\n", &Empty);
    assert!(s.greeted(), "a client need not say hello first");
}
