//! Sequence numbers: 32-bit counters that wrap around.
//!
//! TCP numbers every byte it sends. The counter starts at a random *initial
//! sequence number* (ISN) and is only 32 bits wide, so a long transfer — or
//! one that simply starts near the top — wraps from `4294967295` to `0`.
//! Comparing two sequence numbers as plain integers is therefore wrong:
//!
//! ```text
//!          0xFFFF_FFF0        0x0000_0010
//!   ... ---+------------------+--- ...      the second comes 32 bytes *after*
//!          a                  b              the first, although b < a as u32
//! ```
//!
//! The fix (RFC 1982, "serial number arithmetic") is to look at the
//! difference: `b - a` computed modulo 2³² and read as a *signed* 32-bit
//! number. If it is positive, `b` is after `a`. This works as long as the two
//! numbers are less than 2³¹ apart, which TCP guarantees: a window is at most
//! 65535 bytes here, so everything one endpoint compares lies close together.
//! When two numbers are exactly 2³¹ apart, neither is before the other;
//! [`SeqNum`]'s `partial_cmp` says so by returning `None`.
//!
//! Every comparison in the TCP code goes through this type, so the
//! wraparound is handled in this one place.

use std::cmp::Ordering;
use std::fmt;
use std::ops::{Add, AddAssign, Sub};

/// A TCP sequence (or acknowledgment) number, compared modulo 2³².
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SeqNum(pub u32);

impl SeqNum {
    /// The number as it goes in the header.
    pub const fn get(self) -> u32 {
        self.0
    }

    /// True if `self` lies in the `len` numbers starting at `start`:
    /// `start <= self < start + len`, modulo 2³².
    pub fn in_range(self, start: SeqNum, len: usize) -> bool {
        let d = self - start;
        d >= 0 && (d as usize) < len
    }

    /// The later of two sequence numbers.
    pub fn max(self, other: SeqNum) -> SeqNum {
        if other > self {
            other
        } else {
            self
        }
    }
}

impl Add<usize> for SeqNum {
    type Output = SeqNum;
    /// `n` numbers later, wrapping. Lengths here are far below 2³¹; only the
    /// low 32 bits of `n` matter, as on the wire.
    fn add(self, n: usize) -> SeqNum {
        SeqNum(self.0.wrapping_add(n as u32))
    }
}

impl AddAssign<usize> for SeqNum {
    fn add_assign(&mut self, n: usize) {
        *self = *self + n;
    }
}

impl Sub for SeqNum {
    type Output = i32;
    /// The signed distance from `earlier` to `self`: positive if `self`
    /// comes after it.
    fn sub(self, earlier: SeqNum) -> i32 {
        self.0.wrapping_sub(earlier.0) as i32
    }
}

impl PartialOrd for SeqNum {
    fn partial_cmp(&self, other: &SeqNum) -> Option<Ordering> {
        match *self - *other {
            0 => Some(Ordering::Equal),
            // Exactly half the circle apart: neither is first.
            i32::MIN => None,
            d if d > 0 => Some(Ordering::Greater),
            _ => Some(Ordering::Less),
        }
    }
}

impl fmt::Display for SeqNum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOP: SeqNum = SeqNum(u32::MAX);

    #[test]
    fn addition_wraps_past_the_top() {
        assert_eq!(TOP + 1, SeqNum(0));
        assert_eq!(SeqNum(u32::MAX - 5) + 10, SeqNum(4));
        let mut s = TOP;
        s += 2;
        assert_eq!(s, SeqNum(1));
    }

    #[test]
    fn subtraction_is_the_signed_distance() {
        assert_eq!(SeqNum(4) - SeqNum(u32::MAX - 5), 10);
        assert_eq!(SeqNum(u32::MAX - 5) - SeqNum(4), -10);
        assert_eq!(SeqNum(7) - SeqNum(7), 0);
    }

    #[test]
    fn ordering_follows_the_circle_not_the_integers() {
        let before_wrap = SeqNum(u32::MAX - 15);
        let after_wrap = SeqNum(16);
        assert!(before_wrap < after_wrap);
        assert!(after_wrap > before_wrap);
        assert!(TOP < SeqNum(0));
        assert!(SeqNum(100) > SeqNum(99));
        assert_eq!(before_wrap.max(after_wrap), after_wrap);
        assert_eq!(after_wrap.max(before_wrap), after_wrap);
    }

    #[test]
    fn half_a_circle_apart_is_incomparable() {
        let a = SeqNum(10);
        let b = a + (1usize << 31);
        assert_eq!(a.partial_cmp(&b), None);
        assert_eq!(b.partial_cmp(&a), None);
        let (a_first, b_first) = (a < b, b < a);
        assert!(!a_first && !b_first);
        // One less than half is still ordered.
        assert!(a < a + ((1usize << 31) - 1));
    }

    #[test]
    fn in_range_across_the_wrap() {
        let start = SeqNum(u32::MAX - 1);
        assert!(start.in_range(start, 4));
        assert!(SeqNum(1).in_range(start, 4));
        assert!(!SeqNum(2).in_range(start, 4));
        assert!(!SeqNum(u32::MAX - 2).in_range(start, 4));
        assert!(!start.in_range(start, 0));
    }
}
