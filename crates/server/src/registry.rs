//! The device registry: who is connected and what each says it plays.
//!
//! Every connection the server serves is registered when it is accepted
//! and removed when its thread ends, whatever the reason, a panic included
//! (a guard in `lib.rs` does it). A client refused for want of room is
//! never registered. The registry and the song catalogue together are what
//! a session sees as its [`ServerContext`].
//!
//! The catalogue is a [`Library`]: a song's audio is read from disk on its
//! first download, here in the context, so the sans-IO session never does
//! IO. The connection thread that asks first reads the file; others that
//! ask for the same song meanwhile wait for that read and share its copy.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

use streamlab_audio::Library;
use streamlab_proto::{Device, PlayState, ServerContext, Track, TrackUnavailable};

#[derive(Debug, Clone)]
struct Entry {
    addr: SocketAddr,
    state: PlayState,
    song: Option<String>,
    /// The position the client last reported (milliseconds), and when.
    position: Option<(u64, Instant)>,
}

impl Entry {
    /// Where the client is now: the reported position, plus the time
    /// since while it plays (a listener joining it starts there).
    fn position_now(&self, now: Instant) -> Option<u64> {
        let (ms, at) = self.position?;
        Some(match self.state {
            PlayState::Playing => ms.saturating_add(
                u64::try_from(now.saturating_duration_since(at).as_millis()).unwrap_or(u64::MAX),
            ),
            _ => ms,
        })
    }
}

/// Connected clients, in connection order (ids only grow).
#[derive(Debug, Default)]
pub struct Registry {
    entries: Mutex<BTreeMap<u64, Entry>>,
}

impl Registry {
    fn lock(&self) -> MutexGuard<'_, BTreeMap<u64, Entry>> {
        // A panic while holding this lock would be a bug in this file; the
        // map itself stays consistent, so keep serving.
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds a connection; returns how many are connected now.
    pub fn add(&self, id: u64, addr: SocketAddr) -> usize {
        let mut e = self.lock();
        e.insert(
            id,
            Entry {
                addr,
                state: PlayState::Idle,
                song: None,
                position: None,
            },
        );
        e.len()
    }

    pub fn remove(&self, id: u64) {
        self.lock().remove(&id);
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn devices(&self) -> Vec<Device> {
        let now = Instant::now();
        self.lock()
            .values()
            .map(|e| Device {
                ip: e.addr.ip().to_string(),
                port: e.addr.port(),
                state: e.state,
                song: e.song.clone(),
                position_ms: e.position_now(now),
            })
            .collect()
    }

    /// Records a status; a report without a position forgets the last one
    /// (it would go stale).
    pub fn report(
        &self,
        id: u64,
        state: PlayState,
        song: Option<String>,
        position_ms: Option<u64>,
    ) {
        if let Some(e) = self.lock().get_mut(&id) {
            e.state = state;
            if song.is_some() || state == PlayState::Idle {
                e.song = song;
            }
            e.position = position_ms.map(|ms| (ms, Instant::now()));
        }
    }
}

/// The song catalogue plus the registry: what every session shares.
#[derive(Debug)]
pub struct ServerState {
    pub library: Library,
    pub registry: Registry,
}

impl ServerContext for ServerState {
    fn song_names(&self) -> Vec<String> {
        self.library.names()
    }

    /// Reads the song's audio if no download has yet. A file that vanished
    /// or changed since the scan is logged here, with its path, and the
    /// client only told the song cannot be read.
    fn track(&self, name: &str) -> Result<Track, TrackUnavailable> {
        let song = self.library.find(name).ok_or(TrackUnavailable::NotFound)?;
        song.track().map_err(|e| {
            tracing::error!("cannot send '{}': {e}", song.name());
            TrackUnavailable::Unreadable
        })
    }

    fn devices(&self) -> Vec<Device> {
        self.registry.devices()
    }

    fn report(&self, conn: u64, state: PlayState, song: Option<String>, position_ms: Option<u64>) {
        self.registry.report(conn, state, song, position_ms);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_status_keeps_the_song_unless_it_goes_idle() {
        let r = Registry::default();
        let addr: SocketAddr = "127.0.0.1:40000".parse().unwrap();
        assert_eq!(r.add(1, addr), 1);
        r.report(1, PlayState::Playing, Some("RV".into()), None);
        r.report(1, PlayState::Paused, None, None);
        let d = &r.devices()[0];
        assert_eq!(
            (d.state, d.song.as_deref()),
            (PlayState::Paused, Some("RV"))
        );
        r.report(1, PlayState::Idle, None, None);
        assert_eq!(r.devices()[0].song, None);
        r.remove(1);
        assert!(r.is_empty());
    }
}
