//! Delay before a retry, shared by broker redelivery and scheduler retries.

use super::rng::Rng;
use super::time::Millis;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BackoffKind {
    Fixed,
    Exponential,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    pub kind: BackoffKind,
    pub base: Millis,
    /// Upper bound for the computed delay (before jitter).
    pub max: Option<Millis>,
    /// Full jitter: the delay is drawn uniformly from `0..=computed`, which
    /// spreads retries of many failures that happened together.
    pub jitter: bool,
}

impl Backoff {
    /// Retry at once: what a queue does when no backoff is configured.
    pub const NONE: Backoff = Backoff { kind: BackoffKind::Fixed, base: 0, max: None, jitter: false };

    /// Delay before the retry that follows the `failures`-th failure (1-based).
    pub fn delay(&self, failures: u32, rng: &mut impl Rng) -> Millis {
        let computed = match self.kind {
            BackoffKind::Fixed => self.base,
            BackoffKind::Exponential => {
                let doublings = failures.saturating_sub(1).min(63);
                self.base.saturating_mul(1u64 << doublings)
            }
        };
        let capped = self.max.map_or(computed, |max| computed.min(max));
        if self.jitter {
            rng.below_or_eq(capped)
        } else {
            capped
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::rng::SplitMix64;

    fn b(kind: BackoffKind, base: Millis, max: Option<Millis>, jitter: bool) -> Backoff {
        Backoff { kind, base, max, jitter }
    }

    #[test]
    fn fixed_is_constant() {
        let mut r = SplitMix64::new(1);
        let f = b(BackoffKind::Fixed, 250, None, false);
        assert_eq!([1, 2, 9].map(|n| f.delay(n, &mut r)), [250, 250, 250]);
    }

    #[test]
    fn exponential_doubles_then_caps() {
        let mut r = SplitMix64::new(1);
        let e = b(BackoffKind::Exponential, 100, Some(1_000), false);
        assert_eq!([1, 2, 3, 4, 5].map(|n| e.delay(n, &mut r)), [100, 200, 400, 800, 1_000]);
    }

    #[test]
    fn exponential_never_overflows() {
        let mut r = SplitMix64::new(1);
        let e = b(BackoffKind::Exponential, u64::MAX / 2, None, false);
        assert_eq!(e.delay(u32::MAX, &mut r), u64::MAX);
    }

    #[test]
    fn jitter_stays_within_computed_delay() {
        let mut r = SplitMix64::new(3);
        let e = b(BackoffKind::Exponential, 100, Some(400), true);
        let draws: Vec<_> = (0..500).map(|_| e.delay(5, &mut r)).collect();
        assert!(draws.iter().all(|&d| d <= 400));
        assert!(draws.iter().any(|&d| d < 200), "jitter should spread delays");
    }

    #[test]
    fn none_retries_immediately() {
        let mut r = SplitMix64::new(1);
        assert_eq!(Backoff::NONE.delay(3, &mut r), 0);
    }
}
