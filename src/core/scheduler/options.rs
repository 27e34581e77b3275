//! Scheduler and per-task settings. Values are checked before they reach any
//! state, so a rejected call changes nothing.

use crate::core::backoff::Backoff;
use super::priority::Priority;
use crate::core::error::{CoreError, ErrorCode, Field};
use crate::core::rate::RateLimit;
use crate::core::time::Millis;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Concurrency {
    /// At most this many attempts run at once; must be at least 1.
    Limited(u32),
    Unlimited,
}

impl Concurrency {
    pub(super) fn validated(self) -> Result<Self, CoreError> {
        match self {
            Concurrency::Limited(0) => Err(CoreError::out_of_range(Field::Concurrency, "must be at least 1")),
            ok => Ok(ok),
        }
    }

    /// Whether one more attempt may run next to `running` ones.
    pub(super) fn admits(self, running: usize) -> bool {
        match self {
            // usize is at least 32 bits on every target we build for.
            Concurrency::Limited(n) => running < n as usize,
            Concurrency::Unlimited => true,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SchedulerOptions {
    pub concurrency: Concurrency,
    pub rate_limit: Option<RateLimit>,
    /// Default time an attempt may run; 0 means it times out at the next
    /// `advance`, which is what a caller asking for zero gets.
    pub timeout: Option<Millis>,
    /// Default number of retries after the first attempt.
    pub retries: u32,
    pub backoff: Backoff,
    /// When false the scheduler starts paused (p-queue's `autoStart`).
    pub auto_start: bool,
}

impl Default for SchedulerOptions {
    fn default() -> Self {
        Self {
            concurrency: Concurrency::Unlimited,
            rate_limit: None,
            timeout: None,
            retries: 0,
            backoff: Backoff::NONE,
            auto_start: true,
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TaskOptions {
    /// Higher runs first; equal priorities run in the order they were added.
    pub priority: Priority,
    /// None: the scheduler's default.
    pub timeout: Option<Millis>,
    /// None: the scheduler's default.
    pub retries: Option<u32>,
}

pub(super) fn invalid(message: &str) -> CoreError {
    CoreError::new(ErrorCode::InvalidArgument, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_zero_concurrency_is_refused_naming_it() {
        assert_eq!(Concurrency::Limited(0).validated().map_err(|e| e.field), Err(Some(Field::Concurrency)));
        assert_eq!(Concurrency::Limited(1).validated(), Ok(Concurrency::Limited(1)));
        assert_eq!(Concurrency::Unlimited.validated(), Ok(Concurrency::Unlimited));
    }
}
