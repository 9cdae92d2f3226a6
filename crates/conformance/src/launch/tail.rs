//! The end of what a started server prints: each pipe is read on a thread
//! of its own to its end (so the server never blocks on a full pipe), and
//! only the last [`TAIL_LIMIT`] bytes are kept — the traceback of a server
//! that died is at the end.

use std::collections::VecDeque;
use std::io::Read;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How much of each stream is kept.
pub const TAIL_LIMIT: usize = 64 * 1024;
/// The longest line [`Tail::last_lines`] shows before it cuts.
const LINE_CHARS: usize = 200;

/// The last bytes of one output stream, filled by a reader thread.
pub struct Tail {
    kept: Arc<Mutex<VecDeque<u8>>>,
    reader: Option<JoinHandle<()>>,
}

impl Tail {
    /// Starts reading `pipe` (nothing to read when `None`).
    pub fn read(pipe: Option<impl Read + Send + 'static>) -> Tail {
        let kept = Arc::new(Mutex::new(VecDeque::new()));
        let reader = pipe.map(|mut pipe| {
            let kept = Arc::clone(&kept);
            std::thread::spawn(move || {
                let mut buf = [0u8; 8192];
                while let Ok(n @ 1..) = pipe.read(&mut buf) {
                    let mut kept = kept.lock().unwrap_or_else(|p| p.into_inner());
                    kept.extend(&buf[..n]);
                    let over = kept.len().saturating_sub(TAIL_LIMIT);
                    kept.drain(..over);
                }
            })
        });
        Tail { kept, reader }
    }

    /// Waits until the pipe is closed (every process that held it ended)
    /// or `patience` passed: a server's child that escaped its process
    /// group may hold it open for ever.
    pub fn drain(&mut self, patience: Duration) {
        let until = Instant::now() + patience;
        if let Some(reader) = &self.reader {
            while !reader.is_finished() && Instant::now() < until {
                std::thread::sleep(Duration::from_millis(5));
            }
        }
        if self.reader.as_ref().is_some_and(JoinHandle::is_finished) {
            // The thread ended, so join returns at once; its panic (none
            // is possible in the loop above) would only lose the tail.
            let _ = self.reader.take().map(JoinHandle::join);
        }
    }

    /// The last `n` lines that hold more than blanks, each cut to 200
    /// characters, oldest first.
    pub fn last_lines(&self, n: usize) -> Vec<String> {
        let kept = self.kept.lock().unwrap_or_else(|p| p.into_inner());
        let bytes: Vec<u8> = kept.iter().copied().collect();
        let text = String::from_utf8_lossy(&bytes);
        let mut lines: Vec<String> = text
            .lines()
            .rev()
            .filter(|l| !l.trim().is_empty())
            .take(n)
            .map(|l| cut(l.trim_end()))
            .collect();
        lines.reverse();
        lines
    }
}

fn cut(line: &str) -> String {
    match line.char_indices().nth(LINE_CHARS) {
        Some((i, _)) => format!("{}…", &line[..i]),
        None => line.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_end_is_kept() {
        let mut text = "x".repeat(TAIL_LIMIT * 2);
        text.push_str("\nTraceback (most recent call last):\n\nRuntimeError: boom\n");
        let mut tail = Tail::read(Some(std::io::Cursor::new(text.into_bytes())));
        tail.drain(Duration::from_secs(5));
        assert_eq!(tail.kept.lock().unwrap().len(), TAIL_LIMIT);
        assert_eq!(
            tail.last_lines(2),
            ["Traceback (most recent call last):", "RuntimeError: boom"]
        );
        assert_eq!(tail.last_lines(3)[0].chars().count(), LINE_CHARS + 1);
    }
}
