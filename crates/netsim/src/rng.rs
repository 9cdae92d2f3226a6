//! The simulator's one source of randomness: xoshiro256**, seeded with
//! SplitMix64, written out here so the algorithm can never change under us
//! with a dependency update.
//!
//! Everything random in a run — jitter, loss, initial sequence numbers —
//! draws from one `SimRng` in event order, so a seed names a run exactly.
//! (Algorithm by Blackman and Vigna; the test vectors below were computed
//! by an independent implementation.)

/// A seeded pseudo-random generator (not for cryptography).
#[derive(Debug, Clone)]
pub struct SimRng {
    s: [u64; 4],
}

impl SimRng {
    /// The generator for `seed`: the four state words are the first four
    /// outputs of SplitMix64 started at `seed`.
    pub fn new(seed: u64) -> Self {
        let mut sm = seed;
        let mut next = || {
            sm = sm.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = sm;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        };
        SimRng {
            s: [next(), next(), next(), next()],
        }
    }

    pub fn next_u64(&mut self) -> u64 {
        let s = &mut self.s;
        let result = s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    pub fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }

    /// A number in `0..n`, without modulo bias (zero when `n` is zero).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            return 0;
        }
        // Reject the top partial range so every value is equally likely.
        let zone = u64::MAX - (u64::MAX % n) - 1;
        loop {
            let x = self.next_u64();
            if x <= zone {
                return x % n;
            }
        }
    }

    /// An index in `0..n` (zero when `n` is zero): [`below`](Self::below)
    /// for lengths, so tests can pick positions without casts.
    pub fn index(&mut self, n: usize) -> usize {
        // usize is at most 64 bits on every target Rust supports here.
        self.below(n as u64) as usize
    }

    /// A float in `[0, 1)` with 53 random bits.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// True with probability `p` (clamped to `[0, 1]`).
    pub fn chance(&mut self, p: f64) -> bool {
        p > 0.0 && (p >= 1.0 || self.unit() < p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_algorithm_is_pinned() {
        let mut r = SimRng::new(0);
        assert_eq!(
            [r.next_u64(), r.next_u64(), r.next_u64()],
            [
                0x99ec_5f36_cb75_f2b4,
                0xbf6e_1f78_4956_452a,
                0x1a5f_849d_4933_e6e0
            ]
        );
        let mut r = SimRng::new(2635);
        assert_eq!(
            [r.next_u64(), r.next_u64(), r.next_u64()],
            [
                0xf2e7_4f7b_692e_4d91,
                0x51ce_33b0_6341_507c,
                0x992d_814c_caa8_5005
            ]
        );
    }

    #[test]
    fn same_seed_same_stream_other_seed_other_stream() {
        let a: Vec<u64> = (0..5)
            .scan(SimRng::new(7), |r, _| Some(r.next_u64()))
            .collect();
        let b: Vec<u64> = (0..5)
            .scan(SimRng::new(7), |r, _| Some(r.next_u64()))
            .collect();
        let c: Vec<u64> = (0..5)
            .scan(SimRng::new(8), |r, _| Some(r.next_u64()))
            .collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn ranges_and_chances_stay_in_bounds() {
        let mut r = SimRng::new(1);
        let mut seen = [0u32; 6];
        for _ in 0..6000 {
            seen[r.below(6) as usize] += 1;
        }
        // Every face comes up, none wildly more than others.
        assert!(seen.iter().all(|&n| (800..1200).contains(&n)), "{seen:?}");
        assert_eq!(r.below(0), 0);
        assert!((0..1000).all(|_| (0.0..1.0).contains(&r.unit())));
        assert!(!r.chance(0.0) && r.chance(1.0));
        let hits = (0..10_000).filter(|_| r.chance(0.2)).count();
        assert!((1800..2200).contains(&hits), "{hits}");
    }
}
