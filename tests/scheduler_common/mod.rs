//! Shared test harness for the scheduler integration tests.
#![allow(dead_code)] // each test file uses a different subset

use ferrymq::core::rng::SplitMix64;
use ferrymq::core::scheduler::{
    Concurrency, Effect, Failure, RateLimit, Scheduler, SchedulerOptions, Settle, TaskId, TaskOptions,
};
use ferrymq::core::time::{Clock, ManualClock};

pub type Sched = Scheduler<u32, ManualClock, SplitMix64>;

pub struct Harness {
    pub clock: ManualClock,
    pub s: Sched,
    /// (id, attempt) of attempts started and not yet reported or ended.
    running: Vec<(TaskId, u32)>,
}

impl Harness {
    pub fn new(opts: SchedulerOptions) -> Self {
        let clock = ManualClock::new(1_000);
        let s = Scheduler::new(clock.clone(), SplitMix64::new(7), opts).expect("valid options");
        Self { clock, s, running: Vec::new() }
    }

    pub fn now(&self) -> u64 {
        self.clock.now()
    }

    /// Drains effects, keeping track of which attempts are running.
    pub fn effects(&mut self) -> Vec<Effect<u32>> {
        let effects: Vec<_> = self.s.drain_effects().collect();
        for e in &effects {
            match *e {
                Effect::Start { id, attempt, .. } => self.running.push((id, attempt)),
                Effect::TimedOut { id, .. } | Effect::Aborted { id, .. } => self.running.retain(|r| r.0 != id),
                _ => {}
            }
        }
        effects
    }

    /// Attempts started and not yet ended, oldest first, as of the last
    /// `effects()` call.
    pub fn running(&self) -> &[(TaskId, u32)] {
        &self.running
    }

    /// Reports the running attempt of `id` fulfilled.
    pub fn complete(&mut self, id: TaskId) -> Settle {
        let attempt = self.attempt_of(id);
        self.s.complete(id, attempt)
    }

    /// Reports the running attempt of `id` rejected.
    pub fn fail(&mut self, id: TaskId) -> Failure {
        let attempt = self.attempt_of(id);
        self.s.fail(id, attempt)
    }

    fn attempt_of(&mut self, id: TaskId) -> u32 {
        let at = self.running.iter().position(|r| r.0 == id).expect("attempt is running");
        self.running.remove(at).1
    }

    /// Moves the clock and lets the scheduler act on it.
    pub fn advance_to(&mut self, t: u64) {
        self.clock.set(t);
        self.s.advance();
    }
}

pub fn limited(n: u32) -> SchedulerOptions {
    SchedulerOptions { concurrency: Concurrency::Limited(n), ..SchedulerOptions::default() }
}

pub fn rate(max: u32, interval: u64) -> SchedulerOptions {
    SchedulerOptions { rate_limit: Some(RateLimit::sliding(max, interval)), ..SchedulerOptions::default() }
}

pub fn prio(priority: i32) -> TaskOptions {
    TaskOptions { priority: priority.into(), ..TaskOptions::default() }
}

/// The tasks of the `Start` effects, in order.
pub fn started(effects: &[Effect<u32>]) -> Vec<u32> {
    effects.iter().filter_map(|e| if let Effect::Start { task, .. } = e { Some(*task) } else { None }).collect()
}
