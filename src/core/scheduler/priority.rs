//! Task priorities: any finite number, as p-queue users pass them
//! (`Date.now()`, fractions, negatives), higher first. Kept as a key whose
//! integer order is the numbers' order, so lanes sort without floats.

use crate::core::error::{CoreError, ErrorCode};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Priority(u64);

/// The key of 0: the default priority.
const ZERO: u64 = 1 << 63;

impl Default for Priority {
    fn default() -> Self {
        Self(ZERO)
    }
}

impl Priority {
    /// Refuses NaN and infinities; -0 is 0.
    pub fn new(value: f64) -> Result<Self, CoreError> {
        if !value.is_finite() {
            return Err(CoreError::new(ErrorCode::InvalidArgument, "priority must be a finite number"));
        }
        // IEEE 754 bits ordered as the numbers are: flip all bits of a
        // negative, only the sign bit of a positive. +0.0 keeps -0 apart.
        let bits = (value + 0.0).to_bits();
        Ok(Self(if bits >> 63 == 1 { !bits } else { bits | ZERO }))
    }
}

/// Every i32 is a finite f64.
impl From<i32> for Priority {
    fn from(value: i32) -> Self {
        Self::new(f64::from(value)).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_like_the_numbers() {
        let values = [f64::MIN, -1e300, -2.5, -1.0, -f64::MIN_POSITIVE, 0.0, 5e-324, 0.5, 1.0, 1.5, 1.7e12, f64::MAX];
        let keys: Vec<Priority> = values.iter().map(|&v| Priority::new(v).unwrap()).collect();
        assert!(keys.windows(2).all(|w| w[0] < w[1]), "{keys:?}");
        assert_eq!(Priority::new(-0.0).unwrap(), Priority::new(0.0).unwrap());
        assert_eq!(Priority::default(), Priority::new(0.0).unwrap());
        for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            assert_eq!(Priority::new(bad).map_err(|e| e.code), Err(ErrorCode::InvalidArgument));
        }
        for i in [i32::MIN, -7, 0, 3, i32::MAX] {
            assert_eq!(Priority::from(i), Priority::new(f64::from(i)).unwrap());
        }
    }
}
