use wasm_bindgen::prelude::*;

use super::clock::HostClock;
use super::errors::to_js;
use crate::core::rng::SplitMix64;
use crate::core::scheduler::{Concurrency, Effect, Failure, Scheduler, SchedulerOptions, Settle, TaskId, TaskOptions};

// Must match js/scheduler.js: records of [kind, id, attempt].
const START: f64 = 1.0;
const IDLE: f64 = 2.0;

/// The JS side keeps each task's function and promise callbacks by id; the
/// core only needs to know that a task exists.
type Core = Scheduler<(), HostClock, SplitMix64>;

#[wasm_bindgen]
pub struct SchedulerCore {
    core: Core,
}

fn concurrency(value: f64) -> Concurrency {
    if value.is_finite() {
        // Validated by the wrapper; `as` saturates anything else into range,
        // and the core rejects 0.
        Concurrency::Limited(value as u32)
    } else {
        Concurrency::Unlimited
    }
}

#[wasm_bindgen]
impl SchedulerCore {
    #[wasm_bindgen(constructor)]
    pub fn new(limit: f64) -> Result<SchedulerCore, JsValue> {
        let options = SchedulerOptions { concurrency: concurrency(limit), ..SchedulerOptions::default() };
        let core = Scheduler::new(HostClock, SplitMix64::new(js_sys::Math::random().to_bits()), options);
        core.map(|core| SchedulerCore { core }).map_err(to_js)
    }

    pub fn add(&mut self) -> f64 {
        self.core.add((), TaskOptions::default()).0 as f64
    }

    /// True when the task's promise should resolve (false: the attempt is stale).
    pub fn complete(&mut self, id: f64, attempt: u32) -> bool {
        matches!(self.core.complete(TaskId(id as u64), attempt), Settle::Resolve)
    }

    /// True when the task's promise should reject now (no retry follows).
    pub fn fail(&mut self, id: f64, attempt: u32) -> bool {
        matches!(self.core.fail(TaskId(id as u64), attempt), Failure::Final)
    }

    #[wasm_bindgen(js_name = isIdle)]
    pub fn is_idle(&self) -> bool {
        self.core.is_idle()
    }

    pub fn size(&self) -> u32 {
        self.core.size() as u32
    }

    pub fn pending(&self) -> u32 {
        self.core.pending() as u32
    }

    pub fn drain(&mut self) -> Vec<f64> {
        let mut nums = Vec::new();
        for effect in self.core.drain_effects() {
            match effect {
                Effect::Start { id, attempt, .. } => nums.extend_from_slice(&[START, id.0 as f64, f64::from(attempt)]),
                Effect::Idle => nums.extend_from_slice(&[IDLE, 0.0, 0.0]),
                // The rest of the scheduler's surface comes with the scheduler issue.
                _ => {}
            }
        }
        nums
    }
}
