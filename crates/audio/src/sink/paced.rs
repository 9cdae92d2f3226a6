//! A sink adapter that plays at the audio's own speed.
//!
//! Files and `null` take audio as fast as it comes, which is what tests and
//! scripts want. A person at the menu wants the opposite: a file standing in
//! for a missing sound card should "play" for as long as the song lasts, so
//! that pause, stop and loop mean something. [`Paced`] gives any sink that
//! clock: after each write it sleeps until the wall clock catches up with
//! the audio written, keeping at most [`LEAD`] ahead.

use std::time::{Duration, Instant};

use streamlab_proto::PcmFormat;

use super::Sink;
use crate::AudioError;

/// How far the audio written may run ahead of the wall clock (a sound
/// card's buffer is about this big).
pub const LEAD: Duration = Duration::from_millis(100);

/// Falling further behind than this (after a pause, say) restarts the clock
/// instead of rushing to catch up.
const SLACK: Duration = Duration::from_millis(200);

/// Wraps a sink and paces its writes in real time.
pub struct Paced {
    inner: Box<dyn Sink>,
    bytes_per_second: u64,
    /// When the audio written so far should have started playing.
    start: Instant,
    written: u64,
}

impl Paced {
    pub fn new(inner: Box<dyn Sink>) -> Self {
        Paced {
            inner,
            bytes_per_second: 0,
            start: Instant::now(),
            written: 0,
        }
    }

    /// How long the audio written so far lasts.
    fn audio_time(&self) -> Duration {
        match self.bytes_per_second {
            0 => Duration::ZERO,
            bps => Duration::from_secs_f64(self.written as f64 / bps as f64),
        }
    }
}

impl Sink for Paced {
    fn begin(&mut self, name: &str, format: PcmFormat) -> Result<(), AudioError> {
        self.bytes_per_second = format.bytes_per_second();
        self.start = Instant::now();
        self.written = 0;
        self.inner.begin(name, format)
    }

    fn write(&mut self, pcm: &[u8]) -> Result<(), AudioError> {
        let elapsed = self.start.elapsed();
        if self.audio_time() + SLACK < elapsed {
            // Late (paused, or the download stalled): start the clock again.
            self.start = Instant::now() - self.audio_time();
        }
        self.inner.write(pcm)?;
        self.written += pcm.len() as u64;
        let ahead = self.audio_time().saturating_sub(self.start.elapsed());
        if ahead > LEAD {
            std::thread::sleep(ahead - LEAD);
        }
        Ok(())
    }

    fn end(&mut self) -> Result<(), AudioError> {
        self.inner.end()
    }

    fn realtime(&self) -> bool {
        true
    }

    fn describe(&self) -> String {
        format!("{} (paced in real time)", self.inner.describe())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::NullSink;

    #[test]
    fn writes_keep_to_the_audio_clock() {
        let mut sink = Paced::new(Box::new(NullSink::new()));
        // 8-bit mono at 1000 Hz: 1000 bytes last one second.
        let format = PcmFormat {
            sample_rate: 1000,
            channels: 1,
            sample: streamlab_proto::SampleFormat::U8,
        };
        sink.begin("t", format).unwrap();
        let t = Instant::now();
        for _ in 0..4 {
            sink.write(&[128; 100]).unwrap(); // 0.4 s of audio in all
        }
        // 400 ms of audio, of which LEAD may be written early.
        assert!(
            t.elapsed() >= Duration::from_millis(290),
            "{:?}",
            t.elapsed()
        );
        assert!(sink.realtime());
    }
}
