use crate::core::time::{Clock, Millis};

/// Wall-clock time from the host's `Date.now()`.
#[derive(Clone, Copy)]
pub struct HostClock;

impl Clock for HostClock {
    fn now(&self) -> Millis {
        // `as` saturates: a clock before 1970 reads as 0, never wraps.
        js_sys::Date::now() as Millis
    }
}
