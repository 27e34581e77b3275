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

/// The JS side keeps each task's function and promise callbacks by id; the
/// core only needs to know that a task exists.
type Core = Scheduler<(), HostClock, SplitMix64>;

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

    /// `timeout` and `retries` NONE take the scheduler's defaults.
    pub fn add(&mut self, priority: f64, timeout: f64, retries: f64) -> Result<f64, JsValue> {
        Ok(self.core.add((), task_options(priority, timeout, retries)?).0 as f64)
    }

    /// Adds `count` tasks with consecutive ids; returns the first.
    #[wasm_bindgen(js_name = addMany)]
    pub fn add_many(&mut self, count: u32, priority: f64, timeout: f64, retries: f64) -> Result<f64, JsValue> {
        let tasks = std::iter::repeat_n((), count as usize);
        Ok(self.core.add_many(tasks, task_options(priority, timeout, retries)?).0 .0 as f64)
    }

    /// True when the task's promise should resolve (false: the attempt is stale).
    pub fn complete(&mut self, id: f64, attempt: u32) -> bool {
        matches!(self.core.complete(TaskId(id as u64), attempt), Settle::Resolve)
    }

    /// Reports a failed attempt; false when the attempt had already ended
    /// (the report changes nothing). The outcome arrives as effects (RETRY or FAILED).
    pub fn fail(&mut self, id: f64, attempt: u32) -> bool {
        !matches!(self.core.fail(TaskId(id as u64), attempt), Failure::Stale)
    }

    pub fn abort(&mut self, id: f64) -> bool {
        self.core.abort(TaskId(id as u64))
    }

    pub fn clear(&mut self) -> u32 {
        self.core.clear() as u32
    }

    pub fn pause(&mut self) {
        self.core.pause();
    }

    pub fn resume(&mut self) {
        self.core.resume();
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
        Ok(self.core.set_priority(TaskId(id as u64), priority).is_ok())
    }

    /// The `concurrency` setter's value: a count, or Infinity for no limit.
    #[wasm_bindgen(js_name = setConcurrency)]
    pub fn set_concurrency(&mut self, limit: f64) -> Result<(), JsValue> {
        let limit = decode::concurrency(limit).map_err(|problem| range_error("concurrency", &problem))?;
        self.core.set_concurrency(limit).map_err(|e| to_js_naming(e, Field::Concurrency, "concurrency"))
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
    }

    #[wasm_bindgen(js_name = nextDeadline)]
    pub fn next_deadline(&mut self) -> f64 {
        wire::from_millis(self.core.next_deadline())
    }

    /// Moves every pending effect into the outbox as [kind, id, attempt,
    /// extra] records; returns how many numbers it holds (read at `outPtr`).
    pub fn drain(&mut self) -> u32 {
        self.out.begin();
        for effect in self.core.drain_effects() {
            let kind = SchedulerEffect::from(&effect).code();
            let record: [f64; SCHEDULER_STRIDE] = match effect {
                Effect::Start { id, attempt, .. } => [kind, id.0 as f64, f64::from(attempt), 0.0],
                Effect::TimedOut { id, attempt, will_retry } => {
                    [kind, id.0 as f64, f64::from(attempt), flag(will_retry)]
                }
                Effect::Retry { id, attempt, at } => [kind, id.0 as f64, f64::from(attempt), at as f64],
                Effect::Failed { id } | Effect::GaveUp { id } | Effect::Cleared { id } => [kind, id.0 as f64, 0.0, 0.0],
                Effect::Aborted { id, was_running } => [kind, id.0 as f64, 0.0, flag(was_running)],
                Effect::Empty | Effect::Idle | Effect::RateLimited | Effect::RateLimitCleared => [kind, 0.0, 0.0, 0.0],
            };
            self.out.push(&record);
        }
        self.out.len()
    }

    #[wasm_bindgen(js_name = outPtr)]
    pub fn out_ptr(&self) -> u32 {
        self.out.ptr()
    }
}
