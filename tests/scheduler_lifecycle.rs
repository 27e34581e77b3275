//! Timeouts, retries, abort, clear, pause and the Empty/Idle transitions.

mod scheduler_common;

use ferrymq::core::backoff::{Backoff, BackoffKind};
use ferrymq::core::error::ErrorCode;
use ferrymq::core::scheduler::{
    Concurrency, Effect, Failure, RateLimit, SchedulerOptions, Settle, TaskId, TaskOptions,
};
use scheduler_common::{limited, started, Harness};

fn retrying(retries: u32, backoff: Backoff) -> SchedulerOptions {
    SchedulerOptions { retries, backoff, ..SchedulerOptions::default() }
}

fn backoff(kind: BackoffKind, base: u64) -> Backoff {
    Backoff { kind, base, max: None, jitter: false }
}

#[test]
fn fixed_backoff_retries_after_the_delay_and_keeps_the_attempt_count() {
    let mut h = Harness::new(retrying(2, backoff(BackoffKind::Fixed, 100)));
    let id = h.s.add(7, TaskOptions::default());
    h.effects();
    assert_eq!(h.fail(id), Failure::Retrying);
    assert_eq!(h.effects(), [Effect::Retry { id, attempt: 2, at: 1_100, task: 7 }]);
    assert_eq!((h.s.size(), h.s.pending(), h.s.is_empty()), (1, 0, false));
    assert_eq!(h.s.next_deadline(), Some(1_100));
    h.advance_to(1_099);
    assert!(h.effects().is_empty());
    h.advance_to(1_100);
    assert_eq!(h.effects(), [Effect::Start { id, attempt: 2, task: 7 }, Effect::Empty]);
    assert_eq!(h.fail(id), Failure::Retrying);
    h.effects();
    h.advance_to(1_200);
    assert_eq!(started(&h.effects()), [7]);
    assert_eq!(h.fail(id), Failure::Final);
    assert_eq!(h.effects(), [Effect::Failed { id, task: 7 }, Effect::Idle]);
    assert_eq!(h.s.next_deadline(), None);
}

#[test]
fn exponential_backoff_doubles() {
    let mut h = Harness::new(retrying(3, backoff(BackoffKind::Exponential, 50)));
    let id = h.s.add(0, TaskOptions::default());
    h.effects();
    let mut retry_times = Vec::new();
    for _ in 0..3 {
        assert_eq!(h.fail(id), Failure::Retrying);
        let Some(Effect::Retry { at, .. }) = h.effects().first().cloned() else { panic!("no retry") };
        retry_times.push(at - h.now());
        h.advance_to(at);
        h.effects();
    }
    assert_eq!(retry_times, [50, 100, 200]);
}

#[test]
fn per_task_retries_override_the_default() {
    let mut h = Harness::new(retrying(5, Backoff::NONE));
    let none = h.s.add(0, TaskOptions { retries: Some(0), ..TaskOptions::default() });
    let one = h.s.add(1, TaskOptions { retries: Some(1), ..TaskOptions::default() });
    h.effects();
    assert_eq!(h.fail(none), Failure::Final);
    assert_eq!(h.fail(one), Failure::Retrying);
    // No delay: the retry starts at once, without a timer.
    assert_eq!(started(&h.effects()), [1]);
    assert_eq!(h.s.next_deadline(), None);
    assert_eq!(h.fail(one), Failure::Final);
}

#[test]
fn retry_keeps_priority_and_original_place() {
    let mut h = Harness::new(SchedulerOptions { retries: 1, ..limited(1) });
    let first = h.s.add(0, TaskOptions::default());
    h.s.add_many([1, 2], TaskOptions::default());
    h.s.add(3, TaskOptions { priority: 1.into(), ..TaskOptions::default() });
    h.effects();
    assert_eq!(h.fail(first), Failure::Retrying);
    // Priority 1 still goes first, then the retried task before the later ones.
    let mut order = started(&h.effects());
    while let Some(&(id, _)) = h.running().first() {
        h.complete(id);
        order.extend(started(&h.effects()));
    }
    assert_eq!(order, [3, 0, 1, 2]);
}

#[test]
fn timeout_then_retry_then_gave_up() {
    let opts = SchedulerOptions { timeout: Some(100), retries: 1, backoff: backoff(BackoffKind::Fixed, 10), ..SchedulerOptions::default() };
    let mut h = Harness::new(opts);
    let id = h.s.add(4, TaskOptions::default());
    h.effects();
    assert_eq!(h.s.next_deadline(), Some(1_100));
    h.advance_to(1_100);
    assert_eq!(
        h.effects(),
        [Effect::TimedOut { id, attempt: 1, will_retry: true, task: 4 }, Effect::Retry { id, attempt: 2, at: 1_110, task: 4 }]
    );
    assert_eq!(h.s.complete(id, 1), Settle::Stale, "the timed-out attempt's result is ignored");
    h.advance_to(1_110);
    assert_eq!(h.effects(), [Effect::Start { id, attempt: 2, task: 4 }, Effect::Empty]);
    assert_eq!(h.s.next_deadline(), Some(1_210));
    h.advance_to(1_300);
    assert_eq!(
        h.effects(),
        [Effect::TimedOut { id, attempt: 2, will_retry: false, task: 4 }, Effect::GaveUp { id, task: 4 }, Effect::Idle]
    );
    assert_eq!(h.s.fail(id, 2), Failure::Stale);
    assert_eq!(h.s.next_deadline(), None);
}

#[test]
fn per_task_timeout_overrides_default_and_completion_cancels_it() {
    let mut h = Harness::new(SchedulerOptions { timeout: Some(1_000), ..SchedulerOptions::default() });
    let quick = h.s.add(0, TaskOptions { timeout: Some(10), ..TaskOptions::default() });
    let slow = h.s.add(1, TaskOptions::default());
    h.effects();
    assert_eq!(h.s.next_deadline(), Some(1_010));
    assert_eq!(h.complete(quick), Settle::Resolve);
    assert_eq!(h.s.next_deadline(), Some(2_000), "a finished attempt's deadline is dropped");
    h.advance_to(2_000);
    assert_eq!(h.effects()[0], Effect::TimedOut { id: slow, attempt: 1, will_retry: false, task: 1 });
}

#[test]
fn timed_out_attempt_frees_its_slot() {
    let mut h = Harness::new(SchedulerOptions { timeout: Some(5), ..limited(1) });
    h.s.add_many([0, 1], TaskOptions::default());
    assert_eq!(started(&h.effects()), [0]);
    h.advance_to(1_005);
    assert_eq!(started(&h.effects()), [1]);
}

#[test]
fn abort_waiting_running_and_retry_pending() {
    let mut h = Harness::new(SchedulerOptions { retries: 1, backoff: backoff(BackoffKind::Fixed, 50), ..limited(1) });
    let running = h.s.add(0, TaskOptions::default());
    let waiting = h.s.add(1, TaskOptions::default());
    let retrying = h.s.add(2, TaskOptions::default());
    h.effects();
    assert!(h.s.abort(waiting));
    assert_eq!(h.effects(), [Effect::Aborted { id: waiting, was_running: false, task: 1 }]);
    assert!(h.s.abort(running));
    assert_eq!(
        h.effects(),
        [Effect::Aborted { id: running, was_running: true, task: 0 }, Effect::Start { id: retrying, attempt: 1, task: 2 }, Effect::Empty]
    );
    assert_eq!(h.s.complete(running, 1), Settle::Stale, "an aborted attempt's result is ignored");
    assert_eq!(h.fail(retrying), Failure::Retrying);
    h.effects();
    assert!(h.s.abort(retrying));
    assert_eq!(h.effects(), [Effect::Aborted { id: retrying, was_running: false, task: 2 }, Effect::Empty, Effect::Idle]);
    assert_eq!(h.s.next_deadline(), None);
    h.advance_to(2_000);
    assert!(h.effects().is_empty());
    assert!(!h.s.abort(retrying), "finished id");
    assert!(!h.s.abort(TaskId(99)), "unknown id");
    assert!(h.effects().is_empty());
}

#[test]
fn clear_rejects_each_queued_task_once_and_spares_running_ones() {
    let mut h = Harness::new(SchedulerOptions { retries: 1, backoff: backoff(BackoffKind::Fixed, 50), ..limited(2) });
    h.s.add_many(0..6, TaskOptions::default());
    h.effects();
    assert_eq!(h.fail(TaskId(0)), Failure::Retrying);
    h.effects(); // task 2 started in the freed slot; 0 waits out its backoff
    assert_eq!(h.s.size(), 4);
    assert_eq!(h.s.clear(), 4);
    let cleared: Vec<_> = h.effects();
    assert_eq!(
        cleared,
        [0, 3, 4, 5].map(|n| Effect::Cleared { id: TaskId(n), task: n as u32 }).into_iter().chain([Effect::Empty]).collect::<Vec<_>>()
    );
    assert_eq!((h.s.size(), h.s.pending()), (0, 2));
    assert_eq!(h.s.clear(), 0);
    assert!(h.effects().is_empty());
    h.advance_to(1_050);
    assert!(h.effects().is_empty(), "the cleared retry does not come back");
    assert_eq!(h.complete(TaskId(1)), Settle::Resolve);
    assert_eq!(h.complete(TaskId(2)), Settle::Resolve);
    assert_eq!(h.effects(), [Effect::Idle]);
}

#[test]
fn pause_starts_nothing_until_resume_and_auto_start_false_starts_paused() {
    let mut h = Harness::new(SchedulerOptions { auto_start: false, ..limited(2) });
    assert!(h.s.is_paused());
    h.s.add_many(0..3, TaskOptions::default());
    assert!(started(&h.effects()).is_empty());
    h.s.resume();
    assert_eq!(started(&h.effects()), [0, 1]);
    h.s.pause();
    assert_eq!(h.complete(TaskId(0)), Settle::Resolve, "running tasks go on while paused");
    assert!(started(&h.effects()).is_empty());
    h.s.resume();
    assert_eq!(started(&h.effects()), [2]);
}

#[test]
fn empty_and_idle_fire_once_per_transition() {
    let mut h = Harness::new(limited(1));
    assert!(h.s.is_idle() && h.s.is_empty());
    h.s.add_many([0, 1], TaskOptions::default());
    assert_eq!(started(&h.effects()), [0]);
    h.complete(TaskId(0));
    assert_eq!(h.effects(), [Effect::Start { id: TaskId(1), attempt: 1, task: 1 }, Effect::Empty]);
    assert!(h.s.is_empty() && !h.s.is_idle());
    h.s.pause();
    h.s.resume();
    assert!(h.effects().is_empty());
    h.complete(TaskId(1));
    assert_eq!(h.effects(), [Effect::Idle]);
    // Starting at once never made the queue non-empty, so only Idle repeats.
    let id = h.s.add(2, TaskOptions::default());
    h.effects();
    h.complete(id);
    assert_eq!(h.effects(), [Effect::Idle]);
}

#[test]
fn invalid_options_are_rejected_without_change() {
    use ferrymq::core::rng::SplitMix64;
    use ferrymq::core::scheduler::Scheduler;
    use ferrymq::core::time::ManualClock;
    let build = |opts| Scheduler::<u32, _, _>::new(ManualClock::new(0), SplitMix64::new(1), opts).map(|_| ());
    for opts in [
        limited(0),
        SchedulerOptions { rate_limit: Some(RateLimit::sliding(0, 10)), ..SchedulerOptions::default() },
        SchedulerOptions { rate_limit: Some(RateLimit::sliding(1, 0)), ..SchedulerOptions::default() },
    ] {
        assert_eq!(build(opts).unwrap_err().code, ErrorCode::InvalidArgument);
    }
    let mut h = Harness::new(limited(1));
    h.s.add_many([0, 1], TaskOptions::default());
    h.effects();
    let err = h.s.set_concurrency(Concurrency::Limited(0)).unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidArgument);
    assert_eq!(h.s.concurrency(), Concurrency::Limited(1));
    assert!(h.effects().is_empty());
}

#[test]
fn extreme_values_do_not_panic() {
    let opts = SchedulerOptions {
        timeout: Some(u64::MAX),
        retries: u32::MAX,
        backoff: Backoff { kind: BackoffKind::Exponential, base: u64::MAX, max: None, jitter: true },
        rate_limit: Some(RateLimit::sliding(u32::MAX, u64::MAX)),
        ..SchedulerOptions::default()
    };
    let mut h = Harness::new(opts);
    let id = h.s.add(0, TaskOptions { priority: i32::MIN.into(), ..TaskOptions::default() });
    h.s.add(1, TaskOptions { priority: i32::MAX.into(), timeout: Some(0), retries: Some(0) });
    h.effects();
    assert_eq!(h.fail(id), Failure::Retrying);
    h.advance_to(u64::MAX);
    h.effects();
    assert!(h.s.next_deadline().map_or(true, |d| d == u64::MAX));
}
