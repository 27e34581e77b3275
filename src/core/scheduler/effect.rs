//! What the scheduler asks its host to do, and its answers to settle reports.

use super::TaskId;
use crate::core::time::Millis;

/// Queued by every call that changes state; the host drains them after the
/// call and acts on each in order. Each effect about a task carries the
/// task's value `T`, the host's handle for it (the wasm host's is the index
/// of its record), so the host never looks a task up by id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect<T> {
    /// Call the task's function now; report with `complete`/`fail` quoting
    /// `attempt`, so a report from an attempt that already ended is ignored.
    Start { id: TaskId, attempt: u32, task: T },
    /// The attempt ran out of time: abort its signal. `will_retry` tells
    /// whether a `Retry` follows or the task gives up.
    TimedOut { id: TaskId, attempt: u32, will_retry: bool, task: T },
    /// A failed or timed-out attempt is rescheduled; `attempt` is the next one.
    Retry { id: TaskId, attempt: u32, at: Millis, task: T },
    /// Final failure after `fail`: reject with the error the host holds.
    Failed { id: TaskId, task: T },
    /// Final failure by timeout: reject with TIMEOUT.
    GaveUp { id: TaskId, task: T },
    /// Reject with ABORTED; when it was running, abort its signal too.
    Aborted { id: TaskId, was_running: bool, task: T },
    /// Removed by `clear`: reject with CLEARED.
    Cleared { id: TaskId, task: T },
    /// Nothing is queued any more (see [`super::Scheduler::is_empty`]).
    Empty,
    /// Nothing is queued or running.
    Idle,
    /// A task waits and the rate window is full (see
    /// [`super::Scheduler::is_rate_limited`]).
    RateLimited,
    /// No longer rate-limited.
    RateLimitCleared,
}

/// Answer to `complete`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Settle {
    /// Resolve the task's promise with the value.
    Resolve,
    /// The attempt had already ended (timeout, abort, clear): drop the value.
    Stale,
}

/// Answer to `fail`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    /// Keep the promise pending; a `Retry` effect says when.
    Retrying,
    /// Reject the promise with the error.
    Final,
    /// The attempt had already ended: drop the error.
    Stale,
}
