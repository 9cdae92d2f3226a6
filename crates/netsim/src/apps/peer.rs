//! A scripted peer: given bytes at given times.

use std::any::Any;
use std::collections::VecDeque;

use super::{SimApp, FRAMED_READ};
use crate::time::SimTime;
use crate::trace::preview;

/// A peer that writes given bytes at given (virtual) times and keeps
/// everything it reads — to act like the original Python client, whose
/// `send("lista")` and `send("quit")` could leave in one segment.
///
/// Writes due at the same time go to TCP one after the other, before TCP
/// sends anything, so they share a segment. The peer closes its socket
/// after its last write if told to ([`ScriptedPeer::close_at`]), or when
/// the other side closes.
#[derive(Debug)]
pub struct ScriptedPeer {
    /// (when, bytes not yet written), in time order.
    script: VecDeque<(SimTime, Vec<u8>)>,
    close_at: Option<SimTime>,
    received: Vec<u8>,
    eof: bool,
    notes: VecDeque<String>,
}

impl ScriptedPeer {
    /// `script` lists (time, bytes) writes; they are sorted by time (a
    /// stable sort: writes at one instant keep their order).
    pub fn new(script: Vec<(SimTime, Vec<u8>)>) -> Self {
        let mut script = script;
        script.sort_by_key(|(t, _)| *t);
        ScriptedPeer {
            script: script.into(),
            close_at: None,
            received: Vec::new(),
            eof: false,
            notes: VecDeque::new(),
        }
    }

    /// Closes the socket at `t` (once every write is done).
    pub fn close_at(mut self, t: SimTime) -> Self {
        self.close_at = Some(t);
        self
    }

    /// Everything read so far.
    pub fn received(&self) -> &[u8] {
        &self.received
    }
}

impl SimApp for ScriptedPeer {
    fn pending(&self, now: SimTime) -> &[u8] {
        match self.script.front() {
            Some((t, bytes)) if *t <= now => bytes,
            _ => &[],
        }
    }

    fn consume(&mut self, _now: SimTime, n: usize) {
        if let Some((_, bytes)) = self.script.front_mut() {
            bytes.drain(..n.min(bytes.len()));
            if bytes.is_empty() {
                self.script.pop_front();
            }
        }
    }

    fn read_size(&self, _now: SimTime) -> usize {
        FRAMED_READ
    }

    fn handle_read(&mut self, _now: SimTime, data: &[u8]) {
        self.notes.push_back(format!("peer read {}", preview(data)));
        self.received.extend_from_slice(data);
    }

    fn handle_eof(&mut self, _now: SimTime) {
        self.notes.push_back("peer read end of stream".into());
        self.eof = true;
    }

    fn poll_timeout(&self) -> Option<SimTime> {
        let next_write = self.script.front().map(|(t, _)| *t);
        match (next_write, self.close_at) {
            (Some(w), _) => Some(w),
            (None, c) => c,
        }
    }

    fn wants_close(&self, now: SimTime) -> bool {
        self.script.is_empty() && (self.eof || self.close_at.is_some_and(|t| t <= now))
    }

    fn poll_note(&mut self) -> Option<String> {
        self.notes.pop_front()
    }

    fn describe(&self) -> String {
        format!(
            "scripted peer: {} writes left, {} B read, eof {}",
            self.script.len(),
            self.received.len(),
            self.eof
        )
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scripted_peer_offers_its_writes_when_they_are_due() {
        let ms = SimTime::from_millis;
        let mut p = ScriptedPeer::new(vec![(ms(5), b"quit".to_vec()), (ms(0), b"lista".to_vec())]);
        assert_eq!(p.pending(ms(0)), b"lista");
        p.consume(ms(0), 2);
        assert_eq!(p.pending(ms(0)), b"sta");
        p.consume(ms(0), 3);
        assert_eq!(p.pending(ms(1)), b"");
        assert_eq!(p.poll_timeout(), Some(ms(5)));
        assert_eq!(p.pending(ms(5)), b"quit");
        p.consume(ms(5), 4);
        assert!(!p.wants_close(ms(6)), "no close time and no end of stream");
        p.handle_eof(ms(7));
        assert!(p.wants_close(ms(7)));
    }
}
