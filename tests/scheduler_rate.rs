//! Rate limits. Sliding (the default): never more than `max` starts in any
//! window of `interval` ms, and never a start later than the window allows.
//! Fixed (p-queue's default, for its drop-in): `max` per window of a grid,
//! so at most `2 * max` in any `interval`, and never stalled.

mod scheduler_common;

use ferrymq::core::scheduler::{Concurrency, Effect, RateLimit, SchedulerOptions, TaskId, TaskOptions, Window};
use proptest::prelude::*;
use scheduler_common::{rate, started, Harness};

#[test]
fn blocks_at_max_and_reopens_when_the_oldest_start_leaves() {
    let mut h = Harness::new(rate(2, 100));
    h.s.add_many(0..5, TaskOptions::default());
    assert_eq!(started(&h.effects()), [0, 1]);
    assert_eq!(h.s.next_deadline(), Some(1_100));
    h.advance_to(1_099);
    assert!(started(&h.effects()).is_empty());
    h.advance_to(1_100);
    assert_eq!(started(&h.effects()), [2, 3]);
    assert_eq!(h.s.next_deadline(), Some(1_200));
    h.advance_to(1_200);
    assert_eq!(started(&h.effects()), [4]);
    assert_eq!(h.s.next_deadline(), None, "nothing waits, so nothing to wake for");
}

#[test]
fn no_burst_across_a_window_edge() {
    // A fixed window would allow 3 starts at 1_099 and 3 more at 1_100.
    let mut h = Harness::new(rate(3, 100));
    h.clock.set(1_099);
    h.s.add_many(0..6, TaskOptions::default());
    assert_eq!(started(&h.effects()).len(), 3);
    h.advance_to(1_100);
    assert!(started(&h.effects()).is_empty());
    h.advance_to(1_199);
    assert_eq!(started(&h.effects()).len(), 3);
}

#[derive(Clone, Debug)]
enum Op {
    Add(u8),
    Complete(usize),
    Advance(u64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (1u8..4).prop_map(Op::Add),
        3 => any::<usize>().prop_map(Op::Complete),
        2 => (0u64..60).prop_map(Op::Advance),
    ]
}

struct Checker {
    h: Harness,
    limit: RateLimit,
    concurrency: Option<usize>,
    starts: Vec<u64>,
}

impl Checker {
    fn record(&mut self) {
        let now = self.h.now();
        let effects = self.h.effects();
        self.starts.extend(effects.iter().filter(|e| matches!(e, Effect::Start { .. })).map(|_| now));
    }

    /// The window holds; and with tasks waiting and a free slot, the only
    /// reason not to start is a full window, whose reopening is the next
    /// deadline, exactly.
    fn check(&mut self) -> Result<(), TestCaseError> {
        if let Window::Fixed { .. } = self.limit.window {
            return self.check_fixed();
        }
        let max = self.limit.max as usize;
        for pair in self.starts.windows(max + 1) {
            prop_assert!(pair[max] - pair[0] >= self.limit.interval, "window exceeded: {:?}", pair);
        }
        let now = self.h.now();
        let slot_free = self.concurrency.map_or(true, |c| self.h.s.pending() < c);
        if self.h.s.size() > 0 && slot_free {
            let in_window: Vec<u64> =
                self.starts.iter().copied().filter(|&t| t + self.limit.interval > now).collect();
            prop_assert_eq!(in_window.len(), max, "idle with capacity at {}", now);
            prop_assert_eq!(self.h.s.next_deadline(), Some(in_window[0] + self.limit.interval));
        }
        Ok(())
    }

    /// A window edge can let `max` more through, never more; and a task that
    /// could start waits for an edge no further than one interval away.
    fn check_fixed(&mut self) -> Result<(), TestCaseError> {
        let bound = 2 * self.limit.max as usize;
        for pair in self.starts.windows(bound + 1) {
            prop_assert!(pair[bound] - pair[0] >= self.limit.interval, "more than 2 * max: {:?}", pair);
        }
        let slot_free = self.concurrency.map_or(true, |c| self.h.s.pending() < c);
        if self.h.s.size() > 0 && slot_free {
            let next = self.h.s.next_deadline();
            prop_assert!(next.is_some_and(|at| at > self.h.now() && at <= self.h.now() + self.limit.interval));
        }
        Ok(())
    }
}

#[test]
fn fixed_window_lets_a_burst_through_at_its_edge_as_p_queue_does() {
    let limit = RateLimit { max: 2, interval: 100, window: Window::Fixed { carryover: false } };
    let mut h = Harness::new(SchedulerOptions { rate_limit: Some(limit), ..SchedulerOptions::default() });
    h.s.add(0, TaskOptions::default());
    assert_eq!(started(&h.effects()), [0]);
    h.advance_to(1_090);
    h.s.add_many(1..5, TaskOptions::default());
    assert_eq!(started(&h.effects()), [1]);
    assert_eq!(h.s.next_deadline(), Some(1_100), "the window opened by the first start");
    h.advance_to(1_100);
    assert_eq!(started(&h.effects()), [2, 3]);
}

#[test]
fn fixed_window_with_carryover_counts_what_still_runs() {
    let limit = RateLimit { max: 1, interval: 100, window: Window::Fixed { carryover: true } };
    let mut h = Harness::new(SchedulerOptions { rate_limit: Some(limit), ..SchedulerOptions::default() });
    h.s.add_many(0..2, TaskOptions::default());
    assert_eq!(started(&h.effects()), [0]);
    h.advance_to(1_100);
    assert!(started(&h.effects()).is_empty(), "task 0 runs on into the second window and fills it");
    h.complete(TaskId(0));
    assert!(started(&h.effects()).is_empty());
    h.advance_to(1_200);
    assert_eq!(started(&h.effects()), [1]);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn window_bound_holds_and_nothing_starves(
        max in 1u32..5,
        interval in 1u64..50,
        concurrency in prop::option::of(1usize..4),
        window in prop_oneof![
            Just(Window::Sliding),
            Just(Window::Fixed { carryover: false }),
            Just(Window::Fixed { carryover: true }),
        ],
        ops in prop::collection::vec(op(), 1..120),
    ) {
        let limit = RateLimit { max, interval, window };
        let conc = concurrency.map_or(Concurrency::Unlimited, |c| Concurrency::Limited(c as u32));
        let opts = SchedulerOptions { concurrency: conc, rate_limit: Some(limit), ..SchedulerOptions::default() };
        let mut c = Checker { h: Harness::new(opts), limit, concurrency, starts: Vec::new() };
        for op in ops {
            match op {
                Op::Add(n) => {
                    c.h.s.add_many(0..u32::from(n), TaskOptions::default());
                }
                Op::Complete(pick) => {
                    let running = c.h.running();
                    if !running.is_empty() {
                        let id: TaskId = running[pick % running.len()].0;
                        c.h.complete(id);
                    }
                }
                Op::Advance(by) => {
                    // Fire every deadline on time, as the host's timer would.
                    let target = c.h.now() + by;
                    while let Some(at) = c.h.s.next_deadline().filter(|&at| at <= target) {
                        c.h.advance_to(at.max(c.h.now()));
                        c.record();
                        c.check()?;
                    }
                    c.h.advance_to(target);
                }
            }
            c.record();
            c.check()?;
        }
    }
}
