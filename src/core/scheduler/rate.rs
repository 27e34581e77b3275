//! Sliding-window rate limit. A fixed window lets up to `2 * max` starts
//! through around a window edge (p-queue #126); remembering the start times
//! themselves bounds every window, wherever it is placed.

use std::collections::VecDeque;

use super::options::RateLimit;
use crate::core::time::Millis;

#[derive(Debug)]
pub(super) struct RateWindow {
    max: usize,
    interval: Millis,
    /// Starts inside the current window, oldest first; never more than `max`,
    /// and only as many as actually happened, so a huge `max` costs nothing.
    starts: VecDeque<Millis>,
}

impl RateWindow {
    pub fn new(limit: RateLimit) -> Self {
        Self { max: limit.max as usize, interval: limit.interval, starts: VecDeque::new() }
    }

    /// Ok when a start at `now` keeps every window within `max`; otherwise
    /// the time the oldest start leaves the window, always after `now`.
    pub fn check(&mut self, now: Millis) -> Result<(), Millis> {
        while let Some(&oldest) = self.starts.front() {
            if oldest.saturating_add(self.interval) > now {
                break;
            }
            self.starts.pop_front();
        }
        match self.starts.front() {
            Some(&oldest) if self.starts.len() >= self.max => Err(oldest.saturating_add(self.interval)),
            _ => Ok(()),
        }
    }

    /// Call only after `check(now)` said Ok.
    pub fn record(&mut self, now: Millis) {
        self.starts.push_back(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(max: u32, interval: Millis) -> RateWindow {
        RateWindow::new(RateLimit { max, interval })
    }

    #[test]
    fn allows_max_then_reopens_when_oldest_leaves() {
        let mut w = window(2, 100);
        assert_eq!(w.check(0), Ok(()));
        w.record(0);
        assert_eq!(w.check(40), Ok(()));
        w.record(40);
        assert_eq!(w.check(99), Err(100));
        assert_eq!(w.check(100), Ok(()));
        w.record(100);
        assert_eq!(w.check(139), Err(140));
        assert_eq!(w.check(140), Ok(()));
    }

    #[test]
    fn saturates_near_the_end_of_time() {
        let mut w = window(1, 10);
        w.record(Millis::MAX - 1);
        assert_eq!(w.check(Millis::MAX - 1), Err(Millis::MAX));
    }
}
