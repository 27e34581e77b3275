//! Model test: under any sequence of calls, every task ends exactly once
//! (Resolve, Failed, GaveUp, Aborted or Cleared), no start exceeds the
//! concurrency limit in force, and Empty/Idle fire exactly on transitions.

use std::collections::{BTreeMap, BTreeSet};

use ferrymq::core::backoff::{Backoff, BackoffKind};
use ferrymq::core::rng::SplitMix64;
use ferrymq::core::scheduler::{
    Concurrency, Effect, Failure, RateLimit, Scheduler, SchedulerOptions, Settle, TaskId, TaskOptions,
};
use ferrymq::core::time::{Clock, ManualClock};
use proptest::prelude::*;

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
        4 => (0u64..50).prop_map(Op::Advance),
    ]
}

fn options() -> impl Strategy<Value = SchedulerOptions> {
    (
        prop::option::of(1u32..4),
        prop::option::of((1u32..4, 1u64..30)),
        prop::option::of(1u64..40),
        0u32..3,
        (any::<bool>(), 0u64..20, any::<bool>()),
        any::<bool>(),
    )
        .prop_map(|(conc, rate, timeout, retries, (exp, base, jitter), auto_start)| SchedulerOptions {
            concurrency: conc.map_or(Concurrency::Unlimited, Concurrency::Limited),
            rate_limit: rate.map(|(max, interval)| RateLimit { max, interval }),
            timeout,
            retries,
            backoff: Backoff {
                kind: if exp { BackoffKind::Exponential } else { BackoffKind::Fixed },
                base,
                max: Some(100),
                jitter,
            },
            auto_start,
        })
}

struct Model {
    clock: ManualClock,
    s: Scheduler<u64, ManualClock, SplitMix64>,
    concurrency: Concurrency,
    added: u64,
    /// Terminal outcomes per task; each must end at exactly 1.
    ends: BTreeMap<u64, u32>,
    running: BTreeMap<TaskId, u32>,
    was_empty: bool,
    was_idle: bool,
}

impl Model {
    fn end(&mut self, id: TaskId) -> Result<(), TestCaseError> {
        let n = self.ends.entry(id.0).or_default();
        *n += 1;
        prop_assert_eq!(*n, 1, "task {} ended twice", id.0);
        Ok(())
    }

    /// Applies the effects of the last call in order, checking each start
    /// against the limit and the Empty/Idle edges against the queries.
    fn absorb(&mut self) -> Result<(), TestCaseError> {
        let effects: Vec<_> = self.s.drain_effects().collect();
        let (mut empties, mut idles) = (0, 0);
        for e in effects {
            match e {
                Effect::Start { id, attempt, task } => {
                    prop_assert_eq!(task, id.0, "the stored task is handed back");
                    if let Concurrency::Limited(n) = self.concurrency {
                        prop_assert!(self.running.len() < n as usize, "start beyond concurrency {}", n);
                    }
                    prop_assert!(self.running.insert(id, attempt).is_none(), "started twice");
                }
                Effect::TimedOut { id, attempt, .. } => {
                    prop_assert_eq!(self.running.remove(&id), Some(attempt));
                }
                Effect::Aborted { id, was_running } => {
                    prop_assert_eq!(self.running.remove(&id).is_some(), was_running);
                    self.end(id)?;
                }
                Effect::Failed { id } | Effect::GaveUp { id } | Effect::Cleared { id } => self.end(id)?,
                Effect::Retry { id, attempt, at } => {
                    prop_assert!(!self.running.contains_key(&id) && attempt >= 2 && at >= self.clock.now());
                }
                Effect::Empty => empties += 1,
                Effect::Idle => idles += 1,
            }
        }
        let (empty, idle) = (self.s.is_empty(), self.s.is_idle());
        prop_assert_eq!(empties, u32::from(empty && !self.was_empty));
        prop_assert_eq!(idles, u32::from(idle && !self.was_idle));
        prop_assert_eq!(self.s.pending(), self.running.len());
        prop_assert_eq!(idle, empty && self.running.is_empty());
        (self.was_empty, self.was_idle) = (empty, idle);
        Ok(())
    }

    fn pick(&self, n: usize) -> Option<(TaskId, u32)> {
        (!self.running.is_empty()).then(|| self.running.iter().nth(n % self.running.len()).map(|(&i, &a)| (i, a)))?
    }

    fn report(&mut self, id: TaskId, attempt: u32, ok: bool) -> Result<(), TestCaseError> {
        let was_current = self.running.get(&id) == Some(&attempt);
        if ok {
            let answer = self.s.complete(id, attempt);
            prop_assert_eq!(answer == Settle::Resolve, was_current);
            if was_current {
                self.running.remove(&id);
                self.end(id)?;
            }
        } else {
            let answer = self.s.fail(id, attempt);
            prop_assert_eq!(answer != Failure::Stale, was_current);
            if was_current {
                self.running.remove(&id);
            }
        }
        Ok(())
    }

    /// Fires due deadlines on time, as the host timer would.
    fn advance(&mut self, by: u64) -> Result<(), TestCaseError> {
        let target = self.clock.now() + by;
        while let Some(at) = self.s.next_deadline().filter(|&at| at <= target) {
            self.clock.set(at.max(self.clock.now()));
            self.s.advance();
            self.absorb()?;
        }
        self.clock.set(target);
        self.s.advance();
        self.absorb()
    }

    fn apply(&mut self, op: Op) -> Result<(), TestCaseError> {
        match op {
            Op::Add { priority, timeout, retries } => {
                let id = self.s.add(self.added, TaskOptions { priority: priority.into(), timeout, retries });
                prop_assert_eq!(id, TaskId(self.added));
                self.added += 1;
            }
            Op::AddMany(n) => {
                let (first, count) = self.s.add_many(self.added..self.added + u64::from(n), TaskOptions::default());
                prop_assert_eq!((first, count), (TaskId(self.added), usize::from(n)));
                self.added += u64::from(n);
            }
            Op::Complete(n) | Op::Fail(n) => {
                if let Some((id, attempt)) = self.pick(n) {
                    self.report(id, attempt, matches!(op, Op::Complete(_)))?;
                }
            }
            Op::LateReport { id, attempt, ok } => self.report(TaskId(id), attempt, ok)?,
            Op::Abort(id) => {
                let known = id < self.added && !self.ends.contains_key(&id);
                prop_assert_eq!(self.s.abort(TaskId(id)), known);
            }
            Op::Clear => {
                let (size, pending) = (self.s.size(), self.s.pending());
                prop_assert_eq!(self.s.clear(), size);
                prop_assert_eq!((self.s.size(), self.s.pending()), (0, pending));
            }
            Op::Pause => self.s.pause(),
            Op::Resume => self.s.resume(),
            Op::SetConcurrency(c) => {
                let c = c.map_or(Concurrency::Unlimited, Concurrency::Limited);
                let ok = self.s.set_concurrency(c).is_ok();
                prop_assert_eq!(ok, c != Concurrency::Limited(0));
                if ok {
                    self.concurrency = c;
                }
            }
            Op::Advance(by) => return self.advance(by),
        }
        self.absorb()
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1_000))]

    #[test]
    fn every_task_ends_exactly_once(opts in options(), ops in prop::collection::vec(op(), 1..150)) {
        let clock = ManualClock::new(0);
        let concurrency = opts.concurrency;
        let s = Scheduler::new(clock.clone(), SplitMix64::new(9), opts).expect("valid options");
        let mut m = Model { clock, s, concurrency, added: 0, ends: BTreeMap::new(), running: BTreeMap::new(), was_empty: true, was_idle: true };
        for op in ops {
            m.apply(op)?;
        }
        // Drain: let everything run and succeed, so every task reaches an end.
        m.s.resume();
        m.absorb()?;
        for _ in 0..10_000 {
            if m.s.is_idle() {
                break;
            }
            let running: Vec<_> = m.running.iter().map(|(&i, &a)| (i, a)).collect();
            for (id, attempt) in running {
                m.report(id, attempt, true)?;
                m.absorb()?;
            }
            m.advance(10)?;
        }
        prop_assert!(m.s.is_idle());
        let ended: BTreeSet<u64> = m.ends.keys().copied().collect();
        prop_assert_eq!(ended, (0..m.added).collect::<BTreeSet<_>>());
        prop_assert_eq!(m.s.next_deadline(), None, "an idle scheduler needs no timer");
    }
}
