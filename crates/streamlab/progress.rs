//! Progress on long reads, for `analyze`: a bar on a terminal (indicatif),
//! plain lines when stderr is a file or a pipe, nothing for a short job.
//! Progress goes to stderr, so the report on stdout stays clean.

use std::io::{IsTerminal, Read};

use clap::ValueEnum;
use indicatif::{ProgressBar, ProgressStyle};

/// When to show progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProgressMode {
    /// On a terminal, for files of 256 MB or more.
    Auto,
    /// Always: a bar on a terminal, a line per tenth elsewhere.
    Always,
    /// Never.
    Never,
}

/// Files at least this big show progress in [`ProgressMode::Auto`].
pub const AUTO_BYTES: u64 = 256_000_000;

/// How progress is shown.
enum Shown {
    None,
    Bar(ProgressBar),
    /// A line each time another tenth (or, with no known size, another
    /// 100 MB) is done.
    Lines {
        label: String,
        next: u64,
    },
}

/// What to show for a job of `total` bytes (`None`: unknown, as for
/// standard input), given whether stderr is a terminal.
fn choose(mode: ProgressMode, total: Option<u64>, terminal: bool) -> Kind {
    match (mode, terminal) {
        (ProgressMode::Never, _) => Kind::None,
        (ProgressMode::Always, true) => Kind::Bar,
        (ProgressMode::Always, false) => Kind::Lines,
        (ProgressMode::Auto, true) if total.is_some_and(|t| t >= AUTO_BYTES) => Kind::Bar,
        (ProgressMode::Auto, _) => Kind::None,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    None,
    Bar,
    Lines,
}

/// A reader that reports how much of it was read.
pub struct ProgressReader<R> {
    inner: R,
    done: u64,
    total: Option<u64>,
    shown: Shown,
}

impl<R: Read> ProgressReader<R> {
    /// `label` names the job ("reading big.pcapng").
    pub fn new(inner: R, label: &str, total: Option<u64>, mode: ProgressMode) -> Self {
        let shown = match choose(mode, total, std::io::stderr().is_terminal()) {
            Kind::None => Shown::None,
            Kind::Bar => {
                let bar = match total {
                    Some(t) => ProgressBar::new(t),
                    None => ProgressBar::new_spinner(),
                };
                let template = match total {
                    Some(_) => {
                        "{msg} [{bar:30}] {bytes}/{total_bytes} ({bytes_per_sec}, {eta} left)"
                    }
                    None => "{msg} {spinner} {bytes} ({bytes_per_sec})",
                };
                if let Ok(style) = ProgressStyle::with_template(template) {
                    bar.set_style(style.progress_chars("=> "));
                }
                bar.set_message(label.to_string());
                Shown::Bar(bar)
            }
            Kind::Lines => Shown::Lines {
                label: label.to_string(),
                next: step(total),
            },
        };
        ProgressReader {
            inner,
            done: 0,
            total,
            shown,
        }
    }

    fn show(&mut self) {
        match &mut self.shown {
            Shown::None => {}
            Shown::Bar(bar) => bar.set_position(self.done),
            Shown::Lines { label, next } => {
                // The whole file is said by `finish`, not as 100%.
                while self.done >= *next && self.total.is_none_or(|t| *next < t) {
                    eprintln!("{label}: {}", words(*next, self.total));
                    *next += step(self.total);
                }
            }
        }
    }

    /// The job is over: the bar is cleared, or the last line printed.
    pub fn finish(&mut self) {
        match &self.shown {
            Shown::None => {}
            Shown::Bar(bar) => bar.finish_and_clear(),
            Shown::Lines { label, .. } => {
                eprintln!("{label}: done, {}", size(self.done));
            }
        }
        self.shown = Shown::None;
    }
}

/// A tenth of `total`, or 100 MB when the size is unknown (never 0).
fn step(total: Option<u64>) -> u64 {
    match total {
        Some(t) => t.div_ceil(10).max(1),
        None => 100_000_000,
    }
}

/// "40% (208 MB of 520 MB)" or "300 MB".
fn words(done: u64, total: Option<u64>) -> String {
    match total {
        Some(t) if t > 0 => format!(
            "{}% ({} of {})",
            (done.min(t) as f64 * 100.0 / t as f64).round(),
            size(done.min(t)),
            size(t)
        ),
        _ => size(done),
    }
}

/// Bytes in the unit a person reads: "520 MB", "2.5 MB", "48 kB".
fn size(bytes: u64) -> String {
    if bytes >= 10_000_000 {
        format!("{} MB", bytes / 1_000_000)
    } else if bytes >= 1_000_000 {
        format!("{:.1} MB", bytes as f64 / 1e6)
    } else {
        format!("{} kB", bytes / 1000)
    }
}

impl<R: Read> Read for ProgressReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.done += n as u64;
        self.show();
        Ok(n)
    }
}

impl<R> Drop for ProgressReader<R> {
    fn drop(&mut self) {
        // An error part-way leaves no half-drawn bar behind.
        if let Shown::Bar(bar) = &self.shown {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_shows_a_bar_only_for_big_files_on_a_terminal() {
        let big = Some(AUTO_BYTES);
        assert_eq!(choose(ProgressMode::Auto, big, true), Kind::Bar);
        assert_eq!(choose(ProgressMode::Auto, big, false), Kind::None);
        assert_eq!(
            choose(ProgressMode::Auto, Some(AUTO_BYTES - 1), true),
            Kind::None
        );
        assert_eq!(choose(ProgressMode::Auto, None, true), Kind::None);
        assert_eq!(choose(ProgressMode::Always, Some(10), false), Kind::Lines);
        assert_eq!(choose(ProgressMode::Always, None, true), Kind::Bar);
        assert_eq!(choose(ProgressMode::Never, big, true), Kind::None);
    }

    #[test]
    fn lines_say_how_far() {
        assert_eq!(
            words(208_000_000, Some(520_000_000)),
            "40% (208 MB of 520 MB)"
        );
        assert_eq!(words(300_000_000, None), "300 MB");
        assert_eq!(words(6_100, Some(61_000)), "10% (6 kB of 61 kB)");
        assert_eq!(size(2_500_000), "2.5 MB");
        assert_eq!(step(Some(5)), 1);
        assert_eq!(step(Some(95)), 10);
    }

    #[test]
    fn reading_through_it_gives_the_same_bytes() {
        let data: Vec<u8> = (0..=255).cycle().take(10_000).collect();
        let mut r = ProgressReader::new(&data[..], "test", Some(10_000), ProgressMode::Never);
        let mut out = Vec::new();
        r.read_to_end(&mut out).expect("reading memory");
        r.finish();
        assert_eq!(out, data);
        assert_eq!(r.done, 10_000);
    }
}
