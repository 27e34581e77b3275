//! What each number of an options object can hold, as pure functions. A JS
//! number is an f64; the core's whole milliseconds and counts hold only
//! some f64s, and a value they cannot hold is refused here, saying what it
//! must be (the caller puts the argument's name in front). The rules of
//! meaning (at least 1, at most 65535) are the core's and checked there,
//! once.
//!
//! Plain Rust, so its tests run natively (src/lib.rs).

use crate::core::scheduler::Concurrency;
use crate::core::time::Millis;

/// JS's Number.MAX_SAFE_INTEGER: above it, neighbouring integers share an
/// f64, so a count there is not the number the caller wrote.
pub const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// A number as JS's `String(value)` spells it, for messages.
pub fn js_number(value: f64) -> String {
    // In the browser or Node, JS spells it: exactly as String() does (1e+21,
    // 5e-324), and Rust's float formatting (9 KB of the gzipped wasm) stays
    // out of the package.
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    return js_sys::Number::from(value).to_string_with_radix(10).map(String::from).unwrap_or_default();
    #[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
    match value {
        f64::INFINITY => "Infinity".into(),
        f64::NEG_INFINITY => "-Infinity".into(),
        v if v.is_nan() => "NaN".into(),
        v => v.to_string(),
    }
}

fn must(expected: &str, value: f64) -> String {
    format!("must be {expected}, got {}", js_number(value))
}

/// A duration: finite and >= 0. The core counts whole milliseconds, so a
/// fraction of one is dropped (0.5 is 0, which the core refuses where it
/// needs at least 1).
pub fn duration(value: f64) -> Result<Millis, String> {
    if value.is_finite() && value >= 0.0 {
        // In range for u64 but for finite values above 2^64, which saturate
        // to the longest duration there is.
        Ok(value as Millis)
    } else {
        Err(must("a finite number of milliseconds >= 0", value))
    }
}

/// An integer from 0 to `max` (at most MAX_SAFE_INTEGER).
pub fn whole(value: f64, max: u64) -> Result<u64, String> {
    // NaN and the infinities have a NaN fraction.
    if value.fract() == 0.0 && value >= 0.0 && value <= max as f64 {
        Ok(value as u64)
    } else {
        Err(must(&format!("an integer from 0 to {max}"), value))
    }
}

/// A count the core keeps in a u64: any integer JS represents exactly.
pub fn safe_integer(value: f64) -> Result<u64, String> {
    whole(value, MAX_SAFE_INTEGER)
}

/// A count the core keeps in a u32.
pub fn count(value: f64) -> Result<u32, String> {
    // Exact: `whole` bounded it to u32's range.
    whole(value, u32::MAX.into()).map(|n| n as u32)
}

/// A scheduler's concurrency: a count, or Infinity for no limit.
pub fn concurrency(value: f64) -> Result<Concurrency, String> {
    if value == f64::INFINITY {
        return Ok(Concurrency::Unlimited);
    }
    count(value).map(Concurrency::Limited).map_err(|_| must(&format!("an integer from 0 to {}, or Infinity", u32::MAX), value))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOT_NUMBERS: [f64; 3] = [f64::NAN, f64::INFINITY, f64::NEG_INFINITY];

    #[test]
    fn durations_are_finite_whole_milliseconds() {
        assert_eq!([0.0, 0.5, 1.0, 1.9, 1e300].map(duration), [Ok(0), Ok(0), Ok(1), Ok(1), Ok(u64::MAX)]);
        for bad in [-1.0, -0.5].into_iter().chain(NOT_NUMBERS) {
            let message = duration(bad).expect_err("refused");
            assert_eq!(message, format!("must be a finite number of milliseconds >= 0, got {}", js_number(bad)));
        }
    }

    #[test]
    fn whole_numbers_are_integers_that_fit() {
        assert_eq!(whole(0.0, 5), Ok(0));
        assert_eq!(whole(MAX_SAFE_INTEGER as f64, MAX_SAFE_INTEGER), Ok(MAX_SAFE_INTEGER));
        assert_eq!(safe_integer(MAX_SAFE_INTEGER as f64), Ok(MAX_SAFE_INTEGER));
        assert!(safe_integer(2f64.powi(53)).is_err());
        for bad in [1.5, -1.0, 6.0].into_iter().chain(NOT_NUMBERS) {
            assert!(whole(bad, 5).is_err(), "{bad}");
        }
        assert!(whole(2f64.powi(53), MAX_SAFE_INTEGER).is_err(), "2^53 is no longer exact");
        assert_eq!(count(u32::MAX.into()), Ok(u32::MAX));
        assert_eq!(count(2f64.powi(32)), Err("must be an integer from 0 to 4294967295, got 4294967296".into()));
        assert_eq!(count(1.5), Err("must be an integer from 0 to 4294967295, got 1.5".into()));
    }

    #[test]
    fn concurrency_is_a_count_or_infinity() {
        assert_eq!(concurrency(f64::INFINITY), Ok(Concurrency::Unlimited));
        assert_eq!(concurrency(3.0), Ok(Concurrency::Limited(3)));
        for bad in [1.5, -1.0, f64::NAN, f64::NEG_INFINITY] {
            assert!(concurrency(bad).expect_err("refused").contains("or Infinity"), "{bad}");
        }
    }
}
