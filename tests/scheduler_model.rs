//! Model test of the scheduler: random calls, each effect checked against a
//! model that decides on its own what must happen, never by asking the
//! scheduler. It knows every task's phase and predicts:
//! - which task starts next (the waiting one of highest priority, then the
//!   earliest added: a retried task takes its original place), and that
//!   none starts while paused, beyond the concurrency in force, or beyond
//!   `max` starts in any `interval` (a sliding window);
//! - that an attempt times out exactly `timeout` after it started, and
//!   that a failure is retried while retries remain, after the backoff's
//!   delay (fixed, or base·2^(n-1), capped; anywhere up to it with jitter);
//! - what `clear()` removes, what `abort()` ends, and when Empty and Idle
//!   fire.
//! After every call nothing the scheduler should have done is left undone:
//! no idle capacity while a task may start, no attempt past its timeout, no
//! retry past its time. At the end every task has ended exactly once.

use std::collections::VecDeque;

use ferrymq::core::backoff::{Backoff, BackoffKind};
use ferrymq::core::rng::SplitMix64;
use ferrymq::core::scheduler::{
    Concurrency, Effect, Failure, RateLimit, Scheduler, SchedulerOptions, Settle, TaskId, TaskOptions,
};
use ferrymq::core::time::{Clock, ManualClock};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

#[derive(Clone, Debug)]
enum Op {
    Add { priority: i32, timeout: Option<u64>, retries: Option<u32> },
    AddMany(u8),
    Complete(usize),
    Fail(usize),
    /// Reports an attempt that may already have ended.
    LateReport { id: u64, attempt: u32, ok: bool },
    Abort(u64),
    Clear,
    Pause,
    Resume,
    SetConcurrency(Option<u32>),
    SetPriority(u64, i32),
    Advance(u64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (-2i32..3, prop::option::of(0u64..40), prop::option::of(0u32..3))
            .prop_map(|(priority, timeout, retries)| Op::Add { priority, timeout, retries }),
        1 => (1u8..5).prop_map(Op::AddMany),
        5 => any::<usize>().prop_map(Op::Complete),
        3 => any::<usize>().prop_map(Op::Fail),
        1 => (0u64..30, 0u32..4, any::<bool>()).prop_map(|(id, attempt, ok)| Op::LateReport { id, attempt, ok }),
        2 => (0u64..30).prop_map(Op::Abort),
        1 => Just(Op::Clear),
        1 => Just(Op::Pause),
        2 => Just(Op::Resume),
        1 => prop::option::of(0u32..4).prop_map(Op::SetConcurrency),
        2 => (0u64..30, -2i32..3).prop_map(|(id, p)| Op::SetPriority(id, p)),
        4 => (0u64..50).prop_map(Op::Advance),
    ]
}

fn options() -> impl Strategy<Value = SchedulerOptions> {
    (
        prop::option::of(1u32..4),
        prop::option::of((1u32..4, 1u64..30)),
        prop::option::of(1u64..40),
        0u32..3,
        (any::<bool>(), 0u64..20, prop::option::of(0u64..60), any::<bool>()),
        any::<bool>(),
    )
        .prop_map(|(conc, rate, timeout, retries, (exp, base, max, jitter), auto_start)| SchedulerOptions {
            concurrency: conc.map_or(Concurrency::Unlimited, Concurrency::Limited),
            rate_limit: rate.map(|(max, interval)| RateLimit::sliding(max, interval)),
            timeout,
            retries,
            backoff: Backoff { kind: if exp { BackoffKind::Exponential } else { BackoffKind::Fixed }, base, max, jitter },
            auto_start,
        })
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Phase {
    Waiting,
    Running { attempt: u32, started: u64 },
    /// Failed; back in its place at `due`.
    RetryPending { due: u64 },
    Done,
}

#[derive(Debug)]
struct Task {
    priority: i32,
    timeout: Option<u64>,
    retries: u32,
    /// Attempts started so far.
    attempts: u32,
    phase: Phase,
    ends: u32,
}

/// What the effects of the current call must include, in this order.
#[derive(Debug, PartialEq)]
enum Outcome {
    /// A failure of attempt `n` with retries left: Retry for attempt n+1.
    Retry { id: u64, failed: u32 },
    Failed(u64),
    GaveUp(u64),
    Aborted { id: u64, was_running: bool },
    Cleared(u64),
}

struct Model {
    clock: ManualClock,
    s: Scheduler<u64, ManualClock, SplitMix64>,
    concurrency: Concurrency,
    rate: Option<RateLimit>,
    backoff: Backoff,
    default_timeout: Option<u64>,
    default_retries: u32,
    paused: bool,
    tasks: Vec<Task>,
    /// Start times, for the sliding rate window.
    starts: Vec<u64>,
    expected: VecDeque<Outcome>,
    was_empty: bool,
    was_idle: bool,
    was_limited: bool,
}

fn fail(message: String) -> TestCaseError {
    TestCaseError::fail(message)
}

impl Model {
    fn new(opts: SchedulerOptions) -> Self {
        let clock = ManualClock::new(0);
        let s = Scheduler::new(clock.clone(), SplitMix64::new(9), opts).expect("valid options");
        Self {
            clock,
            s,
            concurrency: opts.concurrency,
            rate: opts.rate_limit,
            backoff: opts.backoff,
            default_timeout: opts.timeout,
            default_retries: opts.retries,
            paused: !opts.auto_start,
            tasks: Vec::new(),
            starts: Vec::new(),
            expected: VecDeque::new(),
            was_empty: true,
            was_idle: true,
            was_limited: false,
        }
    }

    fn now(&self) -> u64 {
        self.clock.now()
    }

    fn running(&self) -> usize {
        self.tasks.iter().filter(|t| matches!(t.phase, Phase::Running { .. })).count()
    }

    /// Waiting or waiting out a retry delay: what `clear()` removes and `size()` counts.
    fn queued(&self) -> impl Iterator<Item = (usize, &Task)> {
        self.tasks.iter().enumerate().filter(|(_, t)| matches!(t.phase, Phase::Waiting | Phase::RetryPending { .. }))
    }

    fn has_room(&self) -> bool {
        match self.concurrency {
            Concurrency::Limited(n) => self.running() < n as usize,
            Concurrency::Unlimited => true,
        }
    }

    fn rate_allows(&self) -> bool {
        let now = self.now();
        self.rate.map_or(true, |r| self.starts.iter().filter(|&&t| t + r.interval > now).count() < r.max as usize)
    }

    /// The task that must start next: highest priority, then earliest added.
    fn next_to_start(&self) -> Option<usize> {
        let waiting = self.tasks.iter().enumerate().filter(|(_, t)| t.phase == Phase::Waiting);
        waiting.max_by_key(|(i, t)| (t.priority, std::cmp::Reverse(*i))).map(|(i, _)| i)
    }

    fn backoff_of(&self, failures: u32) -> u64 {
        let computed = match self.backoff.kind {
            BackoffKind::Fixed => self.backoff.base,
            BackoffKind::Exponential => self.backoff.base.saturating_mul(1 << (failures - 1).min(63)),
        };
        self.backoff.max.map_or(computed, |m| computed.min(m))
    }

    /// The running attempt of task `i` ended in failure: what must follow.
    fn failed(&mut self, i: usize, timed_out: bool) {
        let t = &mut self.tasks[i];
        let id = i as u64;
        if t.attempts <= t.retries {
            t.phase = Phase::Done; // until the Retry effect says where it goes
            self.expected.push_back(Outcome::Retry { id, failed: t.attempts });
        } else {
            t.phase = Phase::Done;
            t.ends += 1;
            self.expected.push_back(if timed_out { Outcome::GaveUp(id) } else { Outcome::Failed(id) });
        }
    }

    fn take_expected(&mut self, got: Outcome) -> Result<(), TestCaseError> {
        match self.expected.pop_front() {
            Some(want) if want == got => Ok(()),
            want => Err(fail(format!("at {}: got {got:?}, expected {want:?}", self.now()))),
        }
    }

    /// A task's end: its effect hands back the task it was added with (its id here).
    fn take_ended(&mut self, task: u64, got: Outcome) -> Result<(), TestCaseError> {
        let id = match got {
            Outcome::Retry { id, .. } | Outcome::Aborted { id, .. } => id,
            Outcome::Failed(id) | Outcome::GaveUp(id) | Outcome::Cleared(id) => id,
        };
        prop_assert_eq!(task, id, "the stored task is handed back");
        self.take_expected(got)
    }

    /// Checks the effects of the last call, one by one, against the model.
    fn absorb(&mut self) -> Result<(), TestCaseError> {
        let now = self.now();
        let effects: Vec<_> = self.s.drain_effects().collect();
        let (mut empties, mut idles, mut limits, mut clears) = (0, 0, 0, 0);
        for e in effects {
            match e {
                Effect::Start { id, attempt, task } => {
                    prop_assert_eq!(task, id.0, "the stored task is handed back");
                    prop_assert!(!self.paused, "started {:?} while paused", id);
                    prop_assert!(self.has_room(), "started {:?} beyond the concurrency", id);
                    prop_assert!(self.rate_allows(), "started {:?} beyond the rate limit", id);
                    prop_assert_eq!(Some(id.0 as usize), self.next_to_start(), "started out of order");
                    let t = &mut self.tasks[id.0 as usize];
                    t.attempts += 1;
                    prop_assert_eq!(attempt, t.attempts);
                    t.phase = Phase::Running { attempt, started: now };
                    self.starts.push(now);
                }
                Effect::TimedOut { id, attempt, will_retry, task } => {
                    prop_assert_eq!(task, id.0, "the stored task is handed back");
                    let t = &self.tasks[id.0 as usize];
                    let Phase::Running { attempt: a, started } = t.phase else {
                        return Err(fail(format!("{id:?} timed out but is not running")));
                    };
                    prop_assert_eq!(attempt, a);
                    prop_assert_eq!(t.timeout.map(|d| started + d), Some(now), "timed out at the wrong time");
                    prop_assert_eq!(will_retry, attempt <= t.retries);
                    self.failed(id.0 as usize, true);
                }
                Effect::Retry { id, attempt, at, task } => {
                    prop_assert_eq!(task, id.0, "the stored task is handed back");
                    self.take_expected(Outcome::Retry { id: id.0, failed: attempt - 1 })?;
                    let delay = self.backoff_of(attempt - 1);
                    if self.backoff.jitter {
                        prop_assert!(at >= now && at - now <= delay, "jittered delay {} beyond {}", at - now, delay);
                    } else {
                        prop_assert_eq!(at - now, delay, "backoff delay");
                    }
                    self.tasks[id.0 as usize].phase = if at == now { Phase::Waiting } else { Phase::RetryPending { due: at } };
                }
                Effect::Failed { id, task } => self.take_ended(task, Outcome::Failed(id.0))?,
                Effect::GaveUp { id, task } => self.take_ended(task, Outcome::GaveUp(id.0))?,
                Effect::Aborted { id, was_running, task } => {
                    self.take_ended(task, Outcome::Aborted { id: id.0, was_running })?;
                }
                Effect::Cleared { id, task } => self.take_ended(task, Outcome::Cleared(id.0))?,
                Effect::Empty => empties += 1,
                Effect::Idle => idles += 1,
                Effect::RateLimited => limits += 1,
                Effect::RateLimitCleared => clears += 1,
            }
        }
        prop_assert!(self.expected.is_empty(), "missing effects: {:?}", self.expected);
        let empty = self.queued().next().is_none();
        let idle = empty && self.running() == 0;
        prop_assert_eq!(empties, u32::from(empty && !self.was_empty), "Empty fires on becoming empty");
        prop_assert_eq!(idles, u32::from(idle && !self.was_idle), "Idle fires on becoming idle");
        (self.was_empty, self.was_idle) = (empty, idle);
        // Rate-limited: a task waits (not one waiting out a retry delay) and the window is full.
        let limited = self.rate.is_some() && self.tasks.iter().any(|t| t.phase == Phase::Waiting) && !self.rate_allows();
        prop_assert_eq!(limits, u32::from(limited && !self.was_limited), "RateLimited fires on becoming limited");
        prop_assert_eq!(clears, u32::from(!limited && self.was_limited), "RateLimitCleared fires on no longer being limited");
        prop_assert_eq!(self.s.is_rate_limited(), limited);
        self.was_limited = limited;
        self.check_nothing_left_undone()
    }

    fn check_nothing_left_undone(&self) -> Result<(), TestCaseError> {
        let now = self.now();
        for (i, t) in self.tasks.iter().enumerate() {
            prop_assert!(t.ends <= 1, "task {} ended {} times", i, t.ends);
            match t.phase {
                // Due this very millisecond, it waits for the host's timer.
                Phase::Running { started, .. } => {
                    prop_assert!(t.timeout.map_or(true, |d| started + d >= now), "task {} outlived its timeout", i);
                }
                Phase::RetryPending { due } => prop_assert!(due > now, "task {} missed its retry time", i),
                _ => {}
            }
        }
        if !self.paused && self.next_to_start().is_some() && self.has_room() {
            prop_assert!(!self.rate_allows(), "a task could start at {} but did not", now);
        }
        prop_assert_eq!(self.s.size(), self.queued().count());
        prop_assert_eq!(self.s.pending(), self.running());
        Ok(())
    }

    fn pick_running(&self, n: usize) -> Option<(usize, u32)> {
        let running: Vec<(usize, u32)> = self
            .tasks
            .iter()
            .enumerate()
            .filter_map(|(i, t)| if let Phase::Running { attempt, .. } = t.phase { Some((i, attempt)) } else { None })
            .collect();
        running.get(n % running.len().max(1)).copied()
    }

    fn report(&mut self, id: u64, attempt: u32, ok: bool) -> Result<(), TestCaseError> {
        let current = self.tasks.get(id as usize).is_some_and(|t| matches!(t.phase, Phase::Running { attempt: a, .. } if a == attempt));
        if ok {
            let answer = self.s.complete(TaskId(id), attempt);
            prop_assert_eq!(answer == Settle::Resolve, current);
            if current {
                let t = &mut self.tasks[id as usize];
                t.phase = Phase::Done;
                t.ends += 1;
            }
        } else {
            let retries_left = self.tasks.get(id as usize).is_some_and(|t| t.attempts <= t.retries);
            if current {
                self.failed(id as usize, false);
            }
            let answer = self.s.fail(TaskId(id), attempt);
            let want = match (current, retries_left) {
                (false, _) => Failure::Stale,
                (true, true) => Failure::Retrying,
                (true, false) => Failure::Final,
            };
            prop_assert_eq!(answer, want);
        }
        Ok(())
    }

    /// Moves time as the host timer would: to each deadline (again and
    /// again while one is due), then to the target.
    fn advance(&mut self, by: u64) -> Result<(), TestCaseError> {
        let target = self.now() + by;
        for _ in 0..10_000 {
            let next = self.s.next_deadline().filter(|&at| at <= target);
            let step = next.map_or(target, |at| at.max(self.now()));
            if step > self.now() {
                self.check_overdue()?;
            }
            self.clock.set(step);
            self.arrive();
            self.s.advance();
            self.absorb()?;
            if next.is_none() {
                return self.check_overdue();
            }
        }
        Err(fail(format!("deadlines at or before {target} never run out")))
    }

    /// Time is about to move on (or the host timer has nothing due): no
    /// attempt may still run at or past its timeout.
    fn check_overdue(&self) -> Result<(), TestCaseError> {
        for (i, t) in self.tasks.iter().enumerate() {
            if let Phase::Running { started, .. } = t.phase {
                prop_assert!(t.timeout.map_or(true, |d| started + d > self.now()), "task {} missed its timeout", i);
            }
        }
        Ok(())
    }

    /// What time alone does at `now`: retries come back to their place.
    /// (Timeouts due now must come as effects; `absorb` checks them.)
    fn arrive(&mut self) {
        let now = self.now();
        for t in &mut self.tasks {
            if matches!(t.phase, Phase::RetryPending { due } if due <= now) {
                t.phase = Phase::Waiting;
            }
        }
    }

    fn add(&mut self, priority: i32, timeout: Option<u64>, retries: Option<u32>) {
        self.tasks.push(Task {
            priority,
            timeout: timeout.or(self.default_timeout),
            retries: retries.unwrap_or(self.default_retries),
            attempts: 0,
            phase: Phase::Waiting,
            ends: 0,
        });
    }

    fn apply(&mut self, op: Op) -> Result<(), TestCaseError> {
        match op {
            Op::Add { priority, timeout, retries } => {
                let id = self.s.add(self.tasks.len() as u64, TaskOptions { priority: priority.into(), timeout, retries });
                prop_assert_eq!(id, TaskId(self.tasks.len() as u64));
                self.add(priority, timeout, retries);
            }
            Op::AddMany(n) => {
                let first = self.tasks.len() as u64;
                let (id, count) = self.s.add_many(first..first + u64::from(n), TaskOptions::default());
                prop_assert_eq!((id, count), (TaskId(first), usize::from(n)));
                for _ in 0..n {
                    self.add(0, None, None);
                }
            }
            Op::Complete(n) | Op::Fail(n) => {
                if let Some((i, attempt)) = self.pick_running(n) {
                    self.report(i as u64, attempt, matches!(op, Op::Complete(_)))?;
                }
            }
            Op::LateReport { id, attempt, ok } => self.report(id, attempt, ok)?,
            Op::Abort(id) => {
                let phase = self.tasks.get(id as usize).map(|t| t.phase);
                let known = phase.is_some_and(|p| p != Phase::Done);
                if let Some(p) = phase.filter(|_| known) {
                    let t = &mut self.tasks[id as usize];
                    t.phase = Phase::Done;
                    t.ends += 1;
                    self.expected.push_back(Outcome::Aborted { id, was_running: matches!(p, Phase::Running { .. }) });
                }
                prop_assert_eq!(self.s.abort(TaskId(id)), known);
            }
            Op::Clear => {
                let cleared: Vec<usize> = self.queued().map(|(i, _)| i).collect();
                for &i in &cleared {
                    self.tasks[i].phase = Phase::Done;
                    self.tasks[i].ends += 1;
                    self.expected.push_back(Outcome::Cleared(i as u64));
                }
                prop_assert_eq!(self.s.clear(), cleared.len());
            }
            Op::Pause => {
                self.paused = true;
                self.s.pause();
            }
            Op::Resume => {
                self.paused = false;
                self.s.resume();
            }
            Op::SetConcurrency(c) => {
                let c = c.map_or(Concurrency::Unlimited, Concurrency::Limited);
                let ok = self.s.set_concurrency(c).is_ok();
                prop_assert_eq!(ok, c != Concurrency::Limited(0));
                if ok {
                    self.concurrency = c;
                }
            }
            Op::SetPriority(id, priority) => {
                let t = self.tasks.get_mut(id as usize).filter(|t| matches!(t.phase, Phase::Waiting | Phase::RetryPending { .. }));
                let known = t.is_some();
                if let Some(t) = t {
                    t.priority = priority;
                }
                prop_assert_eq!(self.s.set_priority(TaskId(id), priority.into()).is_ok(), known);
            }
            Op::Advance(by) => return self.advance(by),
        }
        self.absorb()
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1_000))]

    #[test]
    fn scheduler_matches_model(opts in options(), ops in prop::collection::vec(op(), 1..150)) {
        let mut m = Model::new(opts);
        for op in ops {
            m.apply(op)?;
        }
        // Drain: resume, and let every attempt succeed, so every task ends.
        m.paused = false;
        m.s.resume();
        m.absorb()?;
        for _ in 0..10_000 {
            if m.tasks.iter().all(|t| t.phase == Phase::Done) {
                break;
            }
            while let Some((i, attempt)) = m.pick_running(0) {
                m.report(i as u64, attempt, true)?;
                m.absorb()?;
            }
            m.advance(10)?;
        }
        for (i, t) in m.tasks.iter().enumerate() {
            prop_assert_eq!(t.ends, 1, "task {} ended {} times", i, t.ends);
        }
        prop_assert_eq!(m.s.next_deadline(), None, "an idle scheduler needs no timer");
    }
}
