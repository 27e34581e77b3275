//! Injected time. The core never reads a system clock: the host supplies one
//! (`Date.now()` in JS), tests supply a [`ManualClock`] they advance by hand.

use std::cell::Cell;
use std::rc::Rc;

/// Milliseconds since the Unix epoch. Epoch time rather than a monotonic one,
/// because delays, TTLs and leases must keep their meaning across a restart
/// of a durable broker.
pub type Millis = u64;

pub trait Clock {
    fn now(&self) -> Millis;
}

/// A clock that moves only when told to; clones share the same time.
#[derive(Clone, Debug, Default)]
pub struct ManualClock(Rc<Cell<Millis>>);

impl ManualClock {
    pub fn new(start: Millis) -> Self {
        Self(Rc::new(Cell::new(start)))
    }

    pub fn advance(&self, by: Millis) {
        self.0.set(self.0.get().saturating_add(by));
    }

    pub fn set(&self, to: Millis) {
        self.0.set(to);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Millis {
        self.0.get()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_share_time() {
        let a = ManualClock::new(5);
        let b = a.clone();
        a.advance(10);
        assert_eq!(b.now(), 15);
        b.set(3);
        assert_eq!(a.now(), 3);
    }
}
