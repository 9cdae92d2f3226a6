//! The reader's one buffer: bytes come from the file into it, records are
//! parsed in place, and packets are handed out as slices of it.
//!
//! ```text
//!  buf: [ consumed ... | start ..... unread ..... end | free ......... ]
//!                        ^ the next record begins here
//! ```
//!
//! [`Input::require`] makes sure a whole record is buffered, sliding the
//! unread bytes to the front (they are at most one record long) and growing
//! the buffer only as far as bytes actually arrive, so a record that claims
//! to be huge in a short file allocates no more than the file holds.
//! [`Input::take`] marks the record consumed and returns where it starts;
//! its bytes stay valid until the next `require`. That is the only place
//! packet bytes are copied, and only the unread tail, once per buffer fill.

use std::io::{self, Read};

use super::CaptureError;

/// How much to read from the file at once, in the end: large enough that a
/// system call and the slide of the unread tail cost nothing per packet.
const CHUNK: usize = 1 << 20;

/// The first buffer, so that a small file costs little; it grows to
/// [`CHUNK`] as the file turns out long.
const FIRST: usize = 64 << 10;

/// A buffered source of bytes with its position in the file.
#[derive(Debug)]
pub(super) struct Input<R> {
    inner: R,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    eof: bool,
    /// The file offset of `buf[start]`, for error messages.
    offset: u64,
}

impl<R: Read> Input<R> {
    pub(super) fn new(inner: R) -> Self {
        Input {
            inner,
            buf: Vec::new(),
            start: 0,
            end: 0,
            eof: false,
            offset: 0,
        }
    }

    /// Makes `n` bytes available at the front. `Ok(true)`: they are;
    /// `Ok(false)`: the file ended cleanly here (nothing buffered);
    /// [`CaptureError::Truncated`] (with a count the reader fills in): the
    /// file ended part of the way through.
    pub(super) fn require(&mut self, n: usize) -> Result<bool, CaptureError> {
        if self.end - self.start >= n {
            return Ok(true);
        }
        if self.buf.len() - self.start < n {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
            if self.buf.len() < CHUNK {
                // A long file: read a whole chunk per system call.
                let grown = (self.buf.len() * 2).clamp(FIRST, CHUNK);
                self.buf.resize(grown, 0);
            }
        }
        while self.end - self.start < n && !self.eof {
            if self.end == self.buf.len() {
                // Grow by at most a doubling per fill, so memory follows
                // the bytes that really arrive.
                let grown = (self.buf.len() * 2).max(FIRST).min(n.max(FIRST));
                self.buf.resize(grown, 0);
            }
            match self.inner.read(&mut self.buf[self.end..]) {
                Ok(0) => self.eof = true,
                Ok(read) => self.end += read,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(CaptureError::Io(e)),
            }
        }
        match self.end - self.start {
            have if have >= n => Ok(true),
            0 => Ok(false),
            _ => Err(CaptureError::Truncated { frames_read: 0 }),
        }
    }

    /// The buffered bytes, from the start of the current record.
    pub(super) fn peek(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    /// Consumes `n` buffered bytes (the caller has `require`d them) and
    /// returns the index in [`Input::slice`] terms where they begin.
    pub(super) fn take(&mut self, n: usize) -> usize {
        let at = self.start;
        let n = n.min(self.end - self.start);
        self.start += n;
        self.offset += n as u64;
        at
    }

    /// Bytes from the buffer by index, as returned by [`Input::take`].
    /// Out-of-range indices give an empty slice rather than a panic.
    pub(super) fn slice(&self, from: usize, len: usize) -> &[u8] {
        from.checked_add(len)
            .and_then(|to| self.buf.get(from..to))
            .unwrap_or(&[])
    }

    /// Skips `n` bytes without buffering them (for blocks the reader does
    /// not know, which may be large).
    pub(super) fn skip(&mut self, n: u64) -> Result<(), CaptureError> {
        let buffered = (self.end - self.start) as u64;
        if n <= buffered {
            // `n` is at most the buffered count, which is a usize.
            self.take(n as usize);
            return Ok(());
        }
        self.take(self.end - self.start);
        let rest = n - buffered;
        let skipped = io::copy(&mut (&mut self.inner).take(rest), &mut io::sink())?;
        self.offset += skipped;
        if skipped < rest {
            self.eof = true;
            return Err(CaptureError::Truncated { frames_read: 0 });
        }
        Ok(())
    }

    /// The file offset of the next unread byte.
    pub(super) fn offset(&self) -> u64 {
        self.offset
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that hands out at most three bytes per call, as a pipe may.
    struct Trickle<'a>(&'a [u8]);

    impl Read for Trickle<'_> {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            let n = out.len().min(3).min(self.0.len());
            out[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn short_reads_are_joined_into_whole_records() {
        let data: Vec<u8> = (0..100).collect();
        let mut input = Input::new(Trickle(&data));
        assert!(input.require(10).unwrap());
        assert_eq!(&input.peek()[..10], &data[..10]);
        let at = input.take(10);
        assert_eq!(input.slice(at, 10), &data[..10]);
        input.skip(80).unwrap();
        assert_eq!(input.offset(), 90);
        assert!(input.require(10).unwrap());
        assert_eq!(&input.peek()[..10], &data[90..]);
        input.take(10);
        assert!(!input.require(1).unwrap());
    }

    #[test]
    fn a_record_cut_short_is_truncated_and_a_huge_claim_allocates_little() {
        let data = [7u8; 10];
        let mut input = Input::new(&data[..]);
        let err = input.require(200 << 20).unwrap_err();
        assert!(matches!(err, CaptureError::Truncated { .. }));
        assert!(input.buf.len() <= CHUNK);
        let mut input = Input::new(&data[..]);
        assert!(matches!(
            input.skip(11),
            Err(CaptureError::Truncated { .. })
        ));
    }

    #[test]
    fn records_larger_than_a_chunk_are_buffered_whole() {
        let data: Vec<u8> = (0..3 * CHUNK + 5).map(|i| i as u8).collect();
        let mut input = Input::new(&data[..]);
        input.require(3).unwrap();
        input.take(3);
        assert!(input.require(3 * CHUNK).unwrap());
        let at = input.take(3 * CHUNK);
        assert_eq!(input.slice(at, 3 * CHUNK), &data[3..3 * CHUNK + 3]);
        assert_eq!(input.slice(usize::MAX, 2), b"");
    }
}
