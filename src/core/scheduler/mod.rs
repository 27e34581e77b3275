//! Async task scheduler core: decides what starts when, and how every task
//! ends. The host (the JS wrapper) only calls the functions it is told to
//! start and reports how they settled.
//!
//! Every call may queue [`Effect`]s; the host drains them after each call.
//! Each added task ends in exactly one of: `Settle::Resolve`, `Effect::Failed`
//! (also answered `Failure::Final`), `Effect::GaveUp`, `Effect::Aborted` or
//! `Effect::Cleared`, so no promise is ever left pending.
//!
//! Time comes only from the injected clock, and every deadline (attempt
//! timeouts, retry delays, the rate window reopening) sits in one
//! [`TimerHeap`]: the host arms one timer at [`Scheduler::next_deadline`] and
//! calls [`Scheduler::advance`] when it fires. The clock is read only when a
//! timeout, rate limit or retry needs it, so the plain path never crosses
//! into the host for the time.

mod effect;
mod options;
mod priority;
mod tasks;
mod waiting;

pub use effect::{Effect, Failure, Settle};
pub use crate::core::rate::{RateLimit, Window};
pub use options::{Concurrency, SchedulerOptions, TaskOptions};
pub use priority::Priority;

use crate::core::backoff::Backoff;
use crate::core::error::CoreError;
use crate::core::rng::Rng;
use crate::core::time::{Clock, Millis};
use crate::core::timers::TimerHeap;
use crate::core::rate::RateWindow;
use tasks::{Entry, Phase, TaskTable};
use waiting::WaitQueue;

/// Ids are handed out consecutively from 0, in the order tasks are added.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TaskId(pub u64);

/// Timer entries; cancelled ones stay in the heap and are recognised as
/// stale by comparing with the task's current phase and attempt.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Deadline {
    AttemptEnds { id: TaskId, attempt: u32 },
    RetryDue { id: TaskId, attempt: u32 },
    RateReopens,
}

pub struct Scheduler<T, C, R> {
    clock: C,
    rng: R,
    concurrency: Concurrency,
    rate: Option<RateWindow>,
    backoff: Backoff,
    default_timeout: Option<Millis>,
    default_retries: u32,
    paused: bool,
    tasks: TaskTable<T>,
    waiting: WaitQueue,
    running: usize,
    retry_pending: usize,
    timers: TimerHeap<Deadline>,
    /// The rate-window wake-up currently armed, so repeated blocked starts
    /// do not pile entries into the heap.
    rate_wake: Option<Millis>,
    effects: Vec<Effect<T>>,
    /// States at the end of the previous call: Empty and Idle are reported
    /// on the change, not on every call that finds them true.
    was_empty: bool,
    was_idle: bool,
    /// A task waits and the rate window is full; flips with an effect.
    rate_limited: bool,
}

impl<T: Clone, C: Clock, R: Rng> Scheduler<T, C, R> {
    /// # Errors
    /// `InvalidArgument` for concurrency 0, or a rate limit with max or
    /// interval 0.
    pub fn new(clock: C, rng: R, opts: SchedulerOptions) -> Result<Self, CoreError> {
        let concurrency = opts.concurrency.validated()?;
        let rate = opts.rate_limit.map(RateLimit::validated).transpose()?.map(RateWindow::new);
        Ok(Self {
            clock,
            rng,
            concurrency,
            rate,
            backoff: opts.backoff,
            default_timeout: opts.timeout,
            default_retries: opts.retries,
            paused: !opts.auto_start,
            tasks: TaskTable::default(),
            waiting: WaitQueue::default(),
            running: 0,
            retry_pending: 0,
            timers: TimerHeap::default(),
            rate_wake: None,
            effects: Vec::new(),
            was_empty: true,
            was_idle: true,
            rate_limited: false,
        })
    }

    /// Queues a task; it may start (an `Effect::Start`) before this returns.
    pub fn add(&mut self, task: T, opts: TaskOptions) -> TaskId {
        let id = self.enqueue(task, opts);
        self.after_change(None);
        id
    }

    /// Queues tasks with consecutive ids, starting what may start once at the
    /// end. Returns the first id and how many were added.
    pub fn add_many(&mut self, tasks: impl IntoIterator<Item = T>, opts: TaskOptions) -> (TaskId, usize) {
        let first = self.tasks.next_id();
        let mut count = 0;
        for task in tasks {
            self.enqueue(task, opts);
            count += 1;
        }
        self.after_change(None);
        (first, count)
    }

    /// The host's promise for this attempt fulfilled.
    pub fn complete(&mut self, id: TaskId, attempt: u32) -> Settle {
        if !self.is_attempt(id, Phase::Running, attempt) {
            return Settle::Stale;
        }
        self.tasks.remove(id);
        self.running -= 1;
        self.after_change(None);
        Settle::Resolve
    }

    /// The host's promise for this attempt rejected (or the function threw).
    pub fn fail(&mut self, id: TaskId, attempt: u32) -> Failure {
        if !self.is_attempt(id, Phase::Running, attempt) {
            return Failure::Stale;
        }
        let mut now = None;
        let answer = if let Some(task) = self.retry_or_finish(id, &mut now) {
            self.effects.push(Effect::Failed { id, task });
            Failure::Final
        } else {
            Failure::Retrying
        };
        self.after_change(now);
        answer
    }

    /// Removes a waiting or retry-pending task, or ends a running attempt.
    /// False (and no effect) for an unknown or finished id.
    pub fn abort(&mut self, id: TaskId) -> bool {
        let Some(entry) = self.tasks.remove(id) else {
            return false;
        };
        match entry.phase {
            Phase::Waiting => {
                self.waiting.forget();
                self.drop_stale_entries();
            }
            Phase::Running => self.running -= 1,
            Phase::RetryPending => self.retry_pending -= 1,
        }
        self.effects.push(Effect::Aborted { id, was_running: entry.phase == Phase::Running, task: entry.task });
        self.after_change(None);
        true
    }

    /// Removes every waiting and retry-pending task, each with a `Cleared`
    /// effect in id order; running attempts go on. Returns how many.
    pub fn clear(&mut self) -> usize {
        let mut cleared: Vec<TaskId> =
            self.tasks.iter().filter(|(_, e)| e.phase != Phase::Running).map(|(id, _)| id).collect();
        cleared.sort_unstable();
        for &id in &cleared {
            if let Some(entry) = self.tasks.remove(id) {
                self.effects.push(Effect::Cleared { id, task: entry.task });
            }
        }
        self.waiting.clear();
        self.retry_pending = 0;
        self.after_change(None);
        cleared.len()
    }

    /// Starts nothing until `resume`; running attempts go on.
    pub fn pause(&mut self) {
        self.paused = true;
    }

    pub fn resume(&mut self) {
        self.paused = false;
        self.after_change(None);
    }

    pub fn is_paused(&self) -> bool {
        self.paused
    }

    /// Raising the limit starts waiting tasks at once; lowering it lets
    /// running attempts finish.
    ///
    /// # Errors
    /// `InvalidArgument` for `Limited(0)`; the limit stays as it was.
    pub fn set_concurrency(&mut self, concurrency: Concurrency) -> Result<(), CoreError> {
        self.concurrency = concurrency.validated()?;
        self.after_change(None);
        Ok(())
    }

    pub fn concurrency(&self) -> Concurrency {
        self.concurrency
    }

    /// Tasks queued and not running: waiting ones plus those waiting out a
    /// retry backoff, since both will still start.
    pub fn size(&self) -> usize {
        self.waiting.len() + self.retry_pending
    }

    /// Attempts running.
    pub fn pending(&self) -> usize {
        self.running
    }

    /// Nothing queued (`size() == 0`); a task in retry backoff counts as
    /// queued, so onEmpty does not resolve while it will come back.
    pub fn is_empty(&self) -> bool {
        self.size() == 0
    }

    /// A task waits and the rate window is full (p-queue's isRateLimited).
    pub fn is_rate_limited(&self) -> bool {
        self.rate_limited
    }

    /// Moves a waiting task (or one waiting out a retry delay) to `priority`;
    /// among tasks of that priority it keeps its place (the order of adding).
    /// A running, finished or unknown task is an error.
    pub fn set_priority(&mut self, id: TaskId, priority: Priority) -> Result<(), CoreError> {
        let entry = self.tasks.get_mut(id).filter(|e| e.phase != Phase::Running);
        let entry = entry.ok_or_else(|| options::invalid("no task with that id is waiting"))?;
        let moved = entry.phase == Phase::Waiting && entry.priority != priority;
        entry.priority = priority;
        if moved {
            self.waiting.moved(priority, id);
            self.drop_stale_entries();
        }
        self.after_change(None);
        Ok(())
    }

    /// Nothing queued and nothing running.
    pub fn is_idle(&self) -> bool {
        self.is_empty() && self.running == 0
    }

    /// Handles every deadline due at `clock.now()`, then starts what may.
    pub fn advance(&mut self) {
        let now = self.clock.now();
        while let Some((at, deadline)) = self.timers.pop_due(now) {
            match deadline {
                Deadline::AttemptEnds { id, attempt } => self.time_out(id, attempt, now),
                Deadline::RetryDue { id, attempt } => self.requeue(id, attempt),
                Deadline::RateReopens => {
                    if self.rate_wake == Some(at) {
                        self.rate_wake = None;
                    }
                }
            }
        }
        self.after_change(Some(now));
    }

    /// When the host should next call `advance`; None when nothing is timed.
    pub fn next_deadline(&mut self) -> Option<Millis> {
        let (tasks, rate_wake, anything_waits) = (&self.tasks, &mut self.rate_wake, self.waiting.len() > 0);
        self.timers.prune(|at, deadline| match *deadline {
            Deadline::AttemptEnds { id, attempt } => tasks.get(id).is_some_and(|e| e.is(Phase::Running, attempt)),
            Deadline::RetryDue { id, attempt } => tasks.get(id).is_some_and(|e| e.is(Phase::RetryPending, attempt)),
            Deadline::RateReopens if *rate_wake == Some(at) && !anything_waits => {
                // Disarm too, so the next blocked start arms a fresh wake-up.
                *rate_wake = None;
                false
            }
            Deadline::RateReopens => *rate_wake == Some(at),
        });
        self.timers.next_deadline()
    }

    pub fn drain_effects(&mut self) -> std::vec::Drain<'_, Effect<T>> {
        self.effects.drain(..)
    }

    fn enqueue(&mut self, task: T, opts: TaskOptions) -> TaskId {
        let id = self.tasks.push(Entry {
            task,
            priority: opts.priority,
            timeout: opts.timeout.or(self.default_timeout),
            retries: opts.retries.unwrap_or(self.default_retries),
            attempt: 0,
            phase: Phase::Waiting,
        });
        self.waiting.push_new(opts.priority, id);
        id
    }

    fn drop_stale_entries(&mut self) {
        if self.waiting.needs_compaction() {
            let tasks = &self.tasks;
            self.waiting.compact(|id, lane| waits_in(tasks, id, lane));
        }
    }

    fn is_attempt(&self, id: TaskId, phase: Phase, attempt: u32) -> bool {
        self.tasks.get(id).is_some_and(|e| e.is(phase, attempt))
    }

    /// Every public call that changes state ends here. `now` is the time if
    /// the call already read it.
    fn after_change(&mut self, mut now: Option<Millis>) {
        // One clock read (a call into the host) at most, shared by both.
        self.start_what_may(&mut now);
        self.note_rate_limit(&mut now);
        self.note_transitions();
    }

    /// Whether a task waits while the rate window is full; when it is, the
    /// window's reopening is a deadline, so the change back is noticed on
    /// time even if nothing else calls in.
    fn note_rate_limit(&mut self, now: &mut Option<Millis>) {
        let Some(rate) = &mut self.rate else {
            return;
        };
        // Nothing waits: not limited, and no need to read the clock.
        let reopens = if self.waiting.len() > 0 {
            let t = *now.get_or_insert_with(|| self.clock.now());
            rate.check(t, self.running).err()
        } else {
            None
        };
        if let Some(at) = reopens {
            self.arm_rate_wake(at);
        }
        let limited = reopens.is_some();
        if limited != self.rate_limited {
            self.rate_limited = limited;
            self.effects.push(if limited { Effect::RateLimited } else { Effect::RateLimitCleared });
        }
    }

    /// Arms the wake-up for the rate window's reopening at `at`, once: repeated
    /// blocked starts do not pile entries into the heap.
    fn arm_rate_wake(&mut self, at: Millis) {
        if self.rate_wake != Some(at) {
            self.rate_wake = Some(at);
            self.timers.schedule(at, Deadline::RateReopens);
        }
    }

    fn start_what_may(&mut self, now: &mut Option<Millis>) {
        if self.paused {
            return;
        }
        while self.waiting.len() > 0 && self.concurrency.admits(self.running) {
            if let Some(rate) = &mut self.rate {
                let t = *now.get_or_insert_with(|| self.clock.now());
                if let Err(reopens) = rate.check(t, self.running) {
                    self.arm_rate_wake(reopens);
                    return;
                }
                rate.record(t);
            }
            let tasks = &self.tasks;
            let Some(id) = self.waiting.pop(|id, lane| waits_in(tasks, id, lane)) else {
                return;
            };
            self.start(id, now);
        }
    }

    fn start(&mut self, id: TaskId, now: &mut Option<Millis>) {
        let Some(entry) = self.tasks.get_mut(id) else {
            return;
        };
        entry.phase = Phase::Running;
        entry.attempt = entry.attempt.saturating_add(1);
        self.running += 1;
        if let Some(timeout) = entry.timeout {
            let t = *now.get_or_insert_with(|| self.clock.now());
            self.timers.schedule(t.saturating_add(timeout), Deadline::AttemptEnds { id, attempt: entry.attempt });
        }
        self.effects.push(Effect::Start { id, attempt: entry.attempt, task: entry.task.clone() });
    }

    fn time_out(&mut self, id: TaskId, attempt: u32, now: Millis) {
        let Some(entry) = self.tasks.get(id).filter(|e| e.is(Phase::Running, attempt)) else {
            return;
        };
        let (will_retry, task) = (entry.has_retries_left(), entry.task.clone());
        self.effects.push(Effect::TimedOut { id, attempt, will_retry, task });
        if let Some(task) = self.retry_or_finish(id, &mut Some(now)) {
            self.effects.push(Effect::GaveUp { id, task });
        }
    }

    /// Ends the running attempt of `id` (the caller checked it runs) as a
    /// failure: reschedules it (None, with a `Retry` effect) or, with no
    /// retries left, forgets it and returns its task.
    fn retry_or_finish(&mut self, id: TaskId, now: &mut Option<Millis>) -> Option<T> {
        self.running -= 1;
        let entry = self.tasks.get_mut(id)?;
        if !entry.has_retries_left() {
            return self.tasks.remove(id).map(|e| e.task);
        }
        let delay = self.backoff.delay(entry.attempt, &mut self.rng);
        let at = now.get_or_insert_with(|| self.clock.now()).saturating_add(delay);
        let task = entry.task.clone();
        self.effects.push(Effect::Retry { id, attempt: entry.attempt.saturating_add(1), at, task });
        if delay == 0 {
            entry.phase = Phase::Waiting;
            self.waiting.push_returning(entry.priority, id);
        } else {
            entry.phase = Phase::RetryPending;
            self.retry_pending += 1;
            self.timers.schedule(at, Deadline::RetryDue { id, attempt: entry.attempt });
        }
        None
    }

    fn requeue(&mut self, id: TaskId, attempt: u32) {
        let Some(entry) = self.tasks.get_mut(id).filter(|e| e.is(Phase::RetryPending, attempt)) else {
            return;
        };
        entry.phase = Phase::Waiting;
        self.retry_pending -= 1;
        self.waiting.push_returning(entry.priority, id);
    }

    fn note_transitions(&mut self) {
        let empty = self.is_empty();
        let idle = empty && self.running == 0;
        if empty && !self.was_empty {
            self.effects.push(Effect::Empty);
        }
        if idle && !self.was_idle {
            self.effects.push(Effect::Idle);
        }
        self.was_empty = empty;
        self.was_idle = idle;
    }
}

/// Whether task `id` waits in lane `lane`: a lane entry of a task that was
/// aborted, started, or moved to another lane is stale.
fn waits_in<T>(tasks: &TaskTable<T>, id: TaskId, lane: Priority) -> bool {
    tasks.get(id).is_some_and(|e| e.phase == Phase::Waiting && e.priority == lane)
}
