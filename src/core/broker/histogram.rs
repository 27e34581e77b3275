//! Fixed-memory latency histogram with log-linear buckets (HDR-style): each
//! power of two is split into 32 equal buckets, so reporting a bucket's
//! midpoint is off by at most 1/64 (≈1.6%) of the true value.

use crate::core::error::{CoreError, ErrorCode};
use crate::core::time::Millis;

const SUB_BITS: u32 = 5;
const SUB: u64 = 1 << SUB_BITS;
/// Exact buckets for 0..32, then 32 per power of two up to 2^64.
const BUCKETS: usize = (SUB as usize) * (64 - SUB_BITS as usize + 1);

#[derive(Clone, Debug, Default, PartialEq)]
pub(super) struct Histogram {
    // Allocated on the first sample: queues that never see an ack cost nothing.
    counts: Vec<u64>,
    total: u64,
}

fn index(v: u64) -> usize {
    if v < SUB {
        return v as usize;
    }
    let exp = 63 - v.leading_zeros();
    let shift = exp - SUB_BITS;
    let sub = (v >> shift) - SUB;
    (SUB + u64::from(shift) * SUB + sub) as usize
}

/// Midpoint of the bucket's value range.
fn value(i: usize) -> f64 {
    let i = i as u64;
    if i < SUB {
        return i as f64;
    }
    let shift = (i - SUB) / SUB;
    let sub = (i - SUB) % SUB;
    let lower = (SUB + sub) << shift;
    let width = 1u64 << shift;
    lower as f64 + (width - 1) as f64 / 2.0
}

impl Histogram {
    pub fn record(&mut self, v: Millis) {
        if self.counts.is_empty() {
            self.counts = vec![0; BUCKETS];
        }
        if let Some(c) = self.counts.get_mut(index(v)) {
            *c += 1;
            self.total += 1;
        }
    }

    /// The non-empty buckets as (index, count): a snapshot's compact form.
    pub fn buckets(&self) -> Vec<(u32, u64)> {
        (0..).zip(&self.counts).filter(|(_, &c)| c > 0).map(|(i, &c)| (i, c)).collect()
    }

    pub fn from_buckets(buckets: &[(u32, u64)]) -> Result<Self, CoreError> {
        let mut h = Self::default();
        for &(i, count) in buckets {
            if h.counts.is_empty() {
                h.counts = vec![0; BUCKETS];
            }
            let slot = h.counts.get_mut(i as usize);
            let slot = slot.ok_or_else(|| CoreError::new(ErrorCode::Storage, format!("latency bucket {i} out of range")))?;
            *slot = count;
            h.total = h.total.saturating_add(count);
        }
        Ok(h)
    }

    /// `q` in 0..=1; 0 when nothing was recorded.
    pub fn quantile(&self, q: f64) -> f64 {
        if self.total == 0 {
            return 0.0;
        }
        let rank = ((q.clamp(0.0, 1.0) * self.total as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (i, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return value(i);
            }
        }
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_values_are_exact() {
        let mut h = Histogram::default();
        for v in 1..=20 {
            h.record(v);
        }
        assert_eq!(h.quantile(0.5), 10.0);
        assert_eq!(h.quantile(1.0), 20.0);
        assert_eq!(Histogram::default().quantile(0.5), 0.0);
    }

    #[test]
    fn relative_error_is_bounded_everywhere() {
        let mut v = 1u64;
        while v < u64::MAX / 3 {
            for x in [v, v + v / 3, v * 2 - 1] {
                let got = value(index(x));
                let err = (got - x as f64).abs() / x as f64;
                assert!(err <= 1.0 / 64.0 + 1e-12, "{x}: {got} ({err})");
            }
            v *= 2;
        }
        assert!(index(u64::MAX) < BUCKETS);
    }

    #[test]
    fn buckets_rebuild_the_histogram() {
        let mut h = Histogram::default();
        for v in [0, 3, 3, 700, 1 << 40] {
            h.record(v);
        }
        assert_eq!(Histogram::from_buckets(&h.buckets()), Ok(h));
        assert_eq!(Histogram::from_buckets(&[]), Ok(Histogram::default()));
        assert!(Histogram::from_buckets(&[(BUCKETS as u32, 1)]).is_err());
    }

    #[test]
    fn percentiles_of_a_uniform_spread() {
        let mut h = Histogram::default();
        for v in 1..=10_000 {
            h.record(v);
        }
        for (q, want) in [(0.5, 5_000.0), (0.95, 9_500.0), (0.99, 9_900.0)] {
            let got = h.quantile(q);
            assert!((got - want).abs() / want < 0.02, "p{q}: {got}");
        }
    }
}
