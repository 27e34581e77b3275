//! Injected randomness, so jitter is reproducible under test.

pub trait Rng {
    fn next_u64(&mut self) -> u64;

    /// Uniform in `0..=max`.
    fn below_or_eq(&mut self, max: u64) -> u64 {
        match max.checked_add(1) {
            None => self.next_u64(),
            // Modulo bias is at most max/2^64: irrelevant for millisecond jitter.
            Some(span) => self.next_u64() % span,
        }
    }
}

/// SplitMix64: tiny, fast, and good enough for jitter; not for secrets.
#[derive(Clone, Debug)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }
}

impl Rng for SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_sequence() {
        let mut a = SplitMix64::new(42);
        let mut b = SplitMix64::new(42);
        for _ in 0..100 {
            assert_eq!(a.next_u64(), b.next_u64());
        }
    }

    #[test]
    fn below_or_eq_stays_in_range() {
        let mut r = SplitMix64::new(7);
        for max in [0, 1, 2, 99, u64::MAX] {
            for _ in 0..200 {
                assert!(r.below_or_eq(max) <= max);
            }
        }
    }
}
