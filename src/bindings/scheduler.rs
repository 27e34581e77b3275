use wasm_bindgen::prelude::*;

use super::clock::HostClock;
use super::decode;
use super::errors::{range_error, to_js, to_js_naming};
use super::options::{self, Options};
use super::outbox::Outbox;
use super::wire::{self, flag, millis, Code, SchedulerEffect, SCHEDULER_STRIDE};
use crate::core::error::Field;
use crate::core::rng::SplitMix64;
use crate::core::scheduler::{
    Concurrency, Effect, Failure, Priority, Scheduler, SchedulerOptions, Settle, TaskId, TaskOptions,
};

/// A task is the index of the JS record that holds its function and promise
/// callbacks (js/scheduler/runner.ts); every effect about it carries that.
type Core = Scheduler<u32, HostClock, SplitMix64>;

#[wasm_bindgen]
pub struct SchedulerCore {
    core: Core,
    out: Outbox,
}

fn concurrency_value(c: Concurrency) -> f64 {
    match c {
        Concurrency::Limited(n) => f64::from(n),
        Concurrency::Unlimited => f64::INFINITY,
    }
}

/// The wrapper passes finite priorities only; anything else is refused, not guessed.
fn task_options(priority: f64, timeout: f64, retries: f64) -> Result<TaskOptions, JsValue> {
    let priority = Priority::new(priority).map_err(to_js)?;
    Ok(TaskOptions { priority, timeout: millis(timeout), retries: wire::count_or_none(retries) })
}

#[wasm_bindgen]
impl SchedulerCore {
    /// `options` as the wrapper shape-checked them (see options.rs); `seed`
    /// seeds the backoff jitter.
    #[wasm_bindgen(constructor)]
    pub fn new(options: JsValue, seed: f64) -> Result<SchedulerCore, JsValue> {
        let o = Options::new(options, "options".into())?;
        let defaults = SchedulerOptions::default();
        let options = SchedulerOptions {
            concurrency: o.number("concurrency", decode::concurrency)?.unwrap_or(defaults.concurrency),
            rate_limit: options::rate_limit(&o)?,
            timeout: o.duration("timeoutMs")?,
            retries: o.number("retries", decode::count)?.unwrap_or(defaults.retries),
            backoff: options::backoff(&o)?,
            auto_start: o.boolean("autoStart")?.unwrap_or(defaults.auto_start),
        };
        let core = Scheduler::new(HostClock, SplitMix64::new(seed as u64), options);
        core.map(|core| SchedulerCore { core, out: Outbox::default() }).map_err(to_js)
    }

    /// Adds the task whose JS record is at `slot`; returns its id. What it
    /// starts is published at once (see `header`). `timeout` and `retries`
    /// NONE take the scheduler's defaults.
    pub fn add(&mut self, slot: u32, priority: f64, timeout: f64, retries: f64) -> Result<f64, JsValue> {
        let id = self.core.add(slot, task_options(priority, timeout, retries)?);
        self.publish();
        Ok(id.0 as f64)
    }

    /// Adds the tasks of `slots` with consecutive ids; returns the first.
    #[wasm_bindgen(js_name = addMany)]
    pub fn add_many(&mut self, slots: &[u32], priority: f64, timeout: f64, retries: f64) -> Result<f64, JsValue> {
        let (first, _) = self.core.add_many(slots.iter().copied(), task_options(priority, timeout, retries)?);
        self.publish();
        Ok(first.0 as f64)
    }

    /// True when the task's promise should resolve (false: the attempt is stale).
    pub fn complete(&mut self, id: f64, attempt: u32) -> bool {
        let settle = self.core.complete(TaskId(id as u64), attempt);
        self.publish();
        matches!(settle, Settle::Resolve)
    }

    /// Reports a failed attempt; false when the attempt had already ended
    /// (the report changes nothing). The outcome arrives as effects (RETRY or FAILED).
    pub fn fail(&mut self, id: f64, attempt: u32) -> bool {
        let failure = self.core.fail(TaskId(id as u64), attempt);
        self.publish();
        !matches!(failure, Failure::Stale)
    }

    pub fn abort(&mut self, id: f64) -> bool {
        let aborted = self.core.abort(TaskId(id as u64));
        self.publish();
        aborted
    }

    pub fn clear(&mut self) -> u32 {
        let cleared = self.core.clear() as u32;
        self.publish();
        cleared
    }

    pub fn pause(&mut self) {
        self.core.pause();
    }

    pub fn resume(&mut self) {
        self.core.resume();
        self.publish();
    }

    #[wasm_bindgen(js_name = isPaused)]
    pub fn is_paused(&self) -> bool {
        self.core.is_paused()
    }

    #[wasm_bindgen(js_name = isRateLimited)]
    pub fn is_rate_limited(&self) -> bool {
        self.core.is_rate_limited()
    }

    /// False when no task with that id is waiting (the wrapper throws).
    #[wasm_bindgen(js_name = setPriority)]
    pub fn set_priority(&mut self, id: f64, priority: f64) -> Result<bool, JsValue> {
        let priority = Priority::new(priority).map_err(to_js)?;
        let moved = self.core.set_priority(TaskId(id as u64), priority).is_ok();
        self.publish();
        Ok(moved)
    }

    /// The `concurrency` setter's value: a count, or Infinity for no limit.
    #[wasm_bindgen(js_name = setConcurrency)]
    pub fn set_concurrency(&mut self, limit: f64) -> Result<(), JsValue> {
        let limit = decode::concurrency(limit).map_err(|problem| range_error("concurrency", &problem))?;
        let set = self.core.set_concurrency(limit).map_err(|e| to_js_naming(e, Field::Concurrency, "concurrency"));
        self.publish();
        set
    }

    pub fn concurrency(&self) -> f64 {
        concurrency_value(self.core.concurrency())
    }

    pub fn size(&self) -> u32 {
        self.core.size() as u32
    }

    pub fn pending(&self) -> u32 {
        self.core.pending() as u32
    }

    #[wasm_bindgen(js_name = isIdle)]
    pub fn is_idle(&self) -> bool {
        self.core.is_idle()
    }

    #[wasm_bindgen(js_name = isEmpty)]
    pub fn is_empty(&self) -> bool {
        self.core.is_empty()
    }

    pub fn advance(&mut self) {
        self.core.advance();
        self.publish();
    }

    /// Byte address of the outbox header: [index in f64s of the first
    /// record, numbers in the batch, next deadline (epoch ms or NONE)].
    /// Records are [kind, slot, attempt, extra]; JS zeroes the count once it
    /// has acted on them all.
    pub fn header(&self) -> u32 {
        self.out.header_ptr()
    }
}

impl SchedulerCore {
    /// Appends the effects of the call just made to the outbox and updates
    /// its header: every call that may change the core ends here.
    fn publish(&mut self) {
        self.out.reopen();
        for effect in self.core.drain_effects() {
            let kind = SchedulerEffect::from(&effect).code();
            let record: [f64; SCHEDULER_STRIDE] = match effect {
                Effect::Start { attempt, task, .. } => [kind, f64::from(task), f64::from(attempt), 0.0],
                Effect::TimedOut { attempt, will_retry, task, .. } => {
                    [kind, f64::from(task), f64::from(attempt), flag(will_retry)]
                }
                Effect::Retry { attempt, at, task, .. } => [kind, f64::from(task), f64::from(attempt), at as f64],
                Effect::Failed { task, .. } | Effect::GaveUp { task, .. } | Effect::Cleared { task, .. } => {
                    [kind, f64::from(task), 0.0, 0.0]
                }
                Effect::Aborted { was_running, task, .. } => [kind, f64::from(task), 0.0, flag(was_running)],
                Effect::Empty | Effect::Idle | Effect::RateLimited | Effect::RateLimitCleared => [kind, 0.0, 0.0, 0.0],
            };
            self.out.push(&record);
        }
        let deadline = wire::from_millis(self.core.next_deadline());
        self.out.publish(deadline);
    }
}
