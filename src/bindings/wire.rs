//! Numbers shared with `js/wire.js`: effect records are `STRIDE` f64s; the
//! JS values they mention follow in a separate array, in order.

use crate::core::backoff::{Backoff, BackoffKind};
use crate::core::rate::{RateLimit, Window};
use crate::core::time::Millis;

pub const STRIDE: usize = 8;

pub const DELIVER: f64 = 1.0;
pub const WAIT_EXPIRED: f64 = 2.0;
pub const DEAD_LETTERED: f64 = 3.0;
pub const EXPIRED: f64 = 4.0;
pub const REDELIVERED: f64 = 5.0;
pub const REPLY: f64 = 6.0;
pub const REQUEST_TIMED_OUT: f64 = 7.0;
pub const HANDLER_TIMED_OUT: f64 = 8.0;

pub const NONE: f64 = -1.0;

/// A JS duration or deadline; the wrapper passes NONE (or any negative or
/// non-finite number) for "absent".
pub fn millis(value: f64) -> Option<Millis> {
    (value.is_finite() && value >= 0.0).then_some(value as Millis)
}

pub fn from_millis(value: Option<Millis>) -> f64 {
    value.map_or(NONE, |m| m as f64)
}

/// `backoff` as the wrapper flattens it: kind 0 = none, 1 = fixed,
/// 2 = exponential; `max` NONE for no cap.
pub fn backoff(kind: u32, base: f64, max: f64, jitter: bool) -> Backoff {
    let kind = match kind {
        1 => BackoffKind::Fixed,
        2 => BackoffKind::Exponential,
        _ => return Backoff::NONE,
    };
    Backoff { kind, base: millis(base).unwrap_or(0), max: millis(max), jitter }
}

/// A rate limit as the wrapper validated it: absent when `max` or
/// `interval` is NONE; the core refuses zeros.
pub fn rate_limit(max: f64, interval: f64, window: Window) -> Option<RateLimit> {
    let (max, interval) = (millis(max)?, millis(interval)?);
    Some(RateLimit { max: max.min(u32::MAX.into()) as u32, interval, window })
}

pub fn flag(on: bool) -> f64 {
    if on {
        1.0
    } else {
        0.0
    }
}
