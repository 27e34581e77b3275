//! Scheduler core throughput: add + start + complete of 1M no-op tasks.
//!
//! Run with `cargo bench --bench scheduler`. Each row adds every task up
//! front (one by one, with `add_many`, or one by one over 16 priorities),
//! then completes running attempts oldest first until idle, as the JS
//! wrapper would; the time covers the whole cycle and is the best of a few
//! runs.

use std::collections::VecDeque;
use std::hint::black_box;
use std::time::{Duration, Instant};

use ferrymq::core::rng::SplitMix64;
use ferrymq::core::scheduler::{Concurrency, Effect, Scheduler, SchedulerOptions, TaskId, TaskOptions};
use ferrymq::core::time::ManualClock;

const TASKS: u32 = 1_000_000;
const RUNS: usize = 5;

#[derive(Clone, Copy)]
enum Adding {
    OneByOne,
    Batch,
    Priorities,
}

fn cycle(concurrency: Concurrency, adding: Adding) -> Duration {
    let opts = SchedulerOptions { concurrency, ..SchedulerOptions::default() };
    let mut s = Scheduler::new(ManualClock::new(0), SplitMix64::new(1), opts).expect("valid options");
    let mut running: VecDeque<(TaskId, u32)> = VecDeque::new();
    let collect = |s: &mut Scheduler<u32, _, _>, running: &mut VecDeque<_>| {
        for e in s.drain_effects() {
            if let Effect::Start { id, attempt, task } = e {
                black_box(task);
                running.push_back((id, attempt));
            }
        }
    };
    let began = Instant::now();
    if let Adding::Batch = adding {
        s.add_many(0..TASKS, TaskOptions::default());
        collect(&mut s, &mut running);
    } else {
        for task in 0..TASKS {
            let priority = if let Adding::Priorities = adding { (task % 16) as i32 } else { 0 };
            s.add(task, TaskOptions { priority: priority.into(), ..TaskOptions::default() });
            collect(&mut s, &mut running);
        }
    }
    while let Some((id, attempt)) = running.pop_front() {
        black_box(s.complete(id, attempt));
        collect(&mut s, &mut running);
    }
    let took = began.elapsed();
    assert!(s.is_idle());
    took
}

fn main() {
    println!("{:>11} | {:>10} | {:>8} | {:>12}", "concurrency", "add", "ms", "tasks/s");
    println!("{}", "-".repeat(50));
    let levels = [
        ("1", Concurrency::Limited(1)),
        ("16", Concurrency::Limited(16)),
        ("256", Concurrency::Limited(256)),
        ("unlimited", Concurrency::Unlimited),
    ];
    for (name, concurrency) in levels {
        for (how, adding) in
            [("one by one", Adding::OneByOne), ("add_many", Adding::Batch), ("16 prios", Adding::Priorities)]
        {
            let best = (0..RUNS).map(|_| cycle(concurrency, adding)).min().expect("at least one run");
            let rate = f64::from(TASKS) / best.as_secs_f64();
            println!("{name:>11} | {how:>10} | {:>8.1} | {:>12.0}", best.as_secs_f64() * 1e3, rate);
        }
    }
}
