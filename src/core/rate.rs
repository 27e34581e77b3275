//! Rate limits: at most `max` starts per `interval` milliseconds, counted one
//! of two ways.
//!
//! - Sliding (the default): remembering the start times themselves bounds
//!   every window, wherever it is placed. A fixed window lets up to
//!   `2 * max` starts through around a window edge (p-queue #126).
//! - Fixed: p-queue's default, kept for its drop-in. Windows follow each
//!   other back to back from the first start after a quiet spell; each edge
//!   resets the count (to the attempts still running, with `carryover`).
//!   The windows stop once one passes with no start and nothing running,
//!   and the next start opens a new one.

use std::collections::VecDeque;

use crate::core::error::{CoreError, Field};
use crate::core::time::Millis;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Window {
    #[default]
    Sliding,
    Fixed {
        /// Attempts still running at an edge count against the new window.
        carryover: bool,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimit {
    pub max: u32,
    pub interval: Millis,
    pub window: Window,
}

impl RateLimit {
    /// At most `max` starts in any window of `interval` ms.
    pub fn sliding(max: u32, interval: Millis) -> Self {
        Self { max, interval, window: Window::Sliding }
    }

    /// No start could ever happen under a zero `max`, and a zero interval
    /// limits nothing: both are mistakes, refused.
    pub(crate) fn validated(self) -> Result<Self, CoreError> {
        if self.max == 0 {
            return Err(CoreError::out_of_range(Field::RateMax, "must be at least 1"));
        }
        if self.interval == 0 {
            return Err(CoreError::out_of_range(Field::RateInterval, "must be at least 1"));
        }
        Ok(self)
    }
}

#[derive(Debug)]
pub(crate) struct RateWindow {
    max: usize,
    interval: Millis,
    counter: Counter,
}

#[derive(Debug)]
enum Counter {
    /// Starts inside the current window, oldest first; never more than
    /// `max`, and only as many as actually happened, so a huge `max` costs
    /// nothing.
    Sliding { starts: VecDeque<Millis> },
    Fixed { carryover: bool, counted: usize, ends: Option<Millis> },
}

impl RateWindow {
    pub fn new(limit: RateLimit) -> Self {
        let counter = match limit.window {
            Window::Sliding => Counter::Sliding { starts: VecDeque::new() },
            Window::Fixed { carryover } => Counter::Fixed { carryover, counted: 0, ends: None },
        };
        Self { max: limit.max as usize, interval: limit.interval, counter }
    }

    /// Ok when a start at `now` keeps within the limit, `running` attempts
    /// being under way; otherwise the time it may next allow one, always
    /// after `now`.
    pub fn check(&mut self, now: Millis, running: usize) -> Result<(), Millis> {
        let interval = self.interval;
        match &mut self.counter {
            Counter::Sliding { starts } => {
                while starts.front().is_some_and(|&oldest| oldest.saturating_add(interval) <= now) {
                    starts.pop_front();
                }
                match starts.front() {
                    Some(&oldest) if starts.len() >= self.max => Err(oldest.saturating_add(interval)),
                    _ => Ok(()),
                }
            }
            Counter::Fixed { carryover, counted, ends } => {
                if let Some(end) = ends.filter(|&end| end <= now) {
                    let carried = if *carryover { running } else { 0 };
                    // The windows go on while an edge finds a start in the
                    // window behind it or an attempt running.
                    let quiet_edge = running == 0 && (*counted == 0 || now >= end.saturating_add(interval));
                    *ends = if quiet_edge {
                        None
                    } else {
                        Some(end.saturating_add(interval.saturating_mul((now - end) / interval + 1)))
                    };
                    *counted = carried;
                }
                match *ends {
                    Some(end) if *counted >= self.max => Err(end),
                    _ => Ok(()),
                }
            }
        }
    }

    /// Call only after `check(now, ..)` said Ok.
    pub fn record(&mut self, now: Millis) {
        let interval = self.interval;
        match &mut self.counter {
            Counter::Sliding { starts } => starts.push_back(now),
            Counter::Fixed { counted, ends, .. } => {
                *counted += 1;
                ends.get_or_insert(now.saturating_add(interval));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sliding(max: u32, interval: Millis) -> RateWindow {
        RateWindow::new(RateLimit::sliding(max, interval))
    }

    fn fixed(max: u32, interval: Millis, carryover: bool) -> RateWindow {
        RateWindow::new(RateLimit { max, interval, window: Window::Fixed { carryover } })
    }

    #[test]
    fn sliding_allows_max_then_reopens_when_oldest_leaves() {
        let mut w = sliding(2, 100);
        assert_eq!(w.check(0, 0), Ok(()));
        w.record(0);
        assert_eq!(w.check(40, 1), Ok(()));
        w.record(40);
        assert_eq!(w.check(99, 2), Err(100));
        assert_eq!(w.check(100, 2), Ok(()));
        w.record(100);
        assert_eq!(w.check(139, 2), Err(140));
        assert_eq!(w.check(140, 2), Ok(()));
    }

    #[test]
    fn sliding_saturates_near_the_end_of_time() {
        let mut w = sliding(1, 10);
        w.record(Millis::MAX - 1);
        assert_eq!(w.check(Millis::MAX - 1, 0), Err(Millis::MAX));
    }

    #[test]
    fn fixed_resets_at_each_edge_so_a_burst_fits_around_one() {
        let mut w = fixed(2, 100, false);
        w.record(0);
        assert_eq!(w.check(90, 1), Ok(()));
        w.record(90);
        assert_eq!(w.check(99, 2), Err(100));
        // Two more right at the edge: what the sliding window prevents.
        assert_eq!(w.check(100, 2), Ok(()));
        w.record(100);
        w.record(100);
        assert_eq!(w.check(150, 4), Err(200), "the windows stay on the grid set by the first start");
    }

    #[test]
    fn fixed_with_carryover_counts_attempts_still_running_at_the_edge() {
        let mut w = fixed(1, 100, true);
        w.record(0);
        assert_eq!(w.check(100, 1), Err(200), "the attempt started at 0 still runs");
        assert_eq!(w.check(250, 0), Ok(()), "it ended; the edge at 200 found it running, the one at 300 will not");
        let mut w = fixed(1, 100, false);
        w.record(0);
        assert_eq!(w.check(100, 1), Ok(()));
    }

    #[test]
    fn fixed_windows_stop_after_a_quiet_one_and_the_next_start_opens_one() {
        let mut w = fixed(1, 100, false);
        w.record(0);
        assert_eq!(w.check(330, 0), Ok(()));
        w.record(330);
        assert_eq!(w.check(340, 0), Err(430), "a new window from 330, not the old grid's 400");
    }
}
