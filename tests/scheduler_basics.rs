//! Ordering, concurrency, completion and effects of the scheduler core.

mod scheduler_common;

use ferrymq::core::scheduler::{Concurrency, Effect, Failure, SchedulerOptions, Settle, TaskId, TaskOptions};
use scheduler_common::{limited, prio, started, Harness};

#[test]
fn unlimited_starts_everything_at_once() {
    let mut h = Harness::new(SchedulerOptions::default());
    let ids: Vec<TaskId> = (0..5).map(|n| h.s.add(n, TaskOptions::default())).collect();
    assert_eq!(started(&h.effects()), [0, 1, 2, 3, 4]);
    assert_eq!((h.s.size(), h.s.pending()), (0, 5));
    assert_eq!(ids, (0..5).map(TaskId).collect::<Vec<_>>());
}

#[test]
fn priority_then_fifo_within_priority() {
    let mut h = Harness::new(limited(1));
    h.s.add(0, prio(0));
    for (task, p) in [(1, 0), (2, 5), (3, -1), (4, 5), (5, 0)] {
        h.s.add(task, prio(p));
    }
    let mut order = started(&h.effects());
    for _ in 0..5 {
        let oldest = h.running()[0].0;
        assert_eq!(h.complete(oldest), Settle::Resolve);
        order.extend(started(&h.effects()));
    }
    assert_eq!(order, [0, 2, 4, 1, 5, 3]);
}

#[test]
fn concurrency_limit_holds_and_completion_starts_next() {
    let mut h = Harness::new(limited(2));
    h.s.add_many(0..5, TaskOptions::default());
    assert_eq!(started(&h.effects()), [0, 1]);
    assert_eq!((h.s.size(), h.s.pending()), (3, 2));
    assert_eq!(h.s.complete(TaskId(1), 1), Settle::Resolve);
    assert_eq!(started(&h.effects()), [2]);
    assert_eq!(h.s.pending(), 2);
}

#[test]
fn raising_concurrency_starts_waiting_at_once_and_lowering_lets_running_finish() {
    let mut h = Harness::new(limited(1));
    h.s.add_many(0..6, TaskOptions::default());
    assert_eq!(started(&h.effects()), [0]);
    h.s.set_concurrency(Concurrency::Limited(3)).unwrap();
    assert_eq!(started(&h.effects()), [1, 2]);
    h.s.set_concurrency(Concurrency::Limited(1)).unwrap();
    assert_eq!(h.s.pending(), 3, "lowering does not stop running attempts");
    h.s.complete(TaskId(0), 1);
    h.s.complete(TaskId(1), 1);
    assert!(started(&h.effects()).is_empty());
    h.s.complete(TaskId(2), 1);
    assert_eq!(started(&h.effects()), [3]);
    h.s.set_concurrency(Concurrency::Unlimited).unwrap();
    assert_eq!(started(&h.effects()), [4, 5]);
    assert_eq!(h.s.concurrency(), Concurrency::Unlimited);
}

#[test]
fn add_many_gives_consecutive_ids() {
    let mut h = Harness::new(limited(1));
    h.s.add(9, TaskOptions::default());
    assert_eq!(h.s.add_many([10, 11, 12], TaskOptions::default()), (TaskId(1), 3));
    assert_eq!(h.s.add_many(Vec::<u32>::new(), TaskOptions::default()), (TaskId(4), 0));
    assert_eq!(h.s.add(13, TaskOptions::default()), TaskId(4));
}

#[test]
fn fail_without_retries_is_final() {
    let mut h = Harness::new(SchedulerOptions::default());
    let id = h.s.add(0, TaskOptions::default());
    h.effects();
    assert_eq!(h.s.fail(id, 1), Failure::Final);
    assert_eq!(h.effects(), [Effect::Failed { id, task: 0 }, Effect::Idle]);
    assert_eq!(h.s.fail(id, 1), Failure::Stale);
    assert_eq!(h.s.complete(id, 1), Settle::Stale);
}

#[test]
fn wrong_attempt_or_unknown_id_is_stale() {
    let mut h = Harness::new(SchedulerOptions::default());
    let id = h.s.add(0, TaskOptions::default());
    assert_eq!(h.s.complete(id, 2), Settle::Stale);
    assert_eq!(h.s.fail(id, 0), Failure::Stale);
    assert_eq!(h.s.complete(TaskId(77), 1), Settle::Stale);
    assert_eq!(h.s.complete(id, 1), Settle::Resolve);
}
