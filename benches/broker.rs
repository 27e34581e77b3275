//! Broker core throughput and memory at 1M messages.
//!
//! Run with `cargo bench --bench broker`. Each row is one message life
//! (send + get + ack) repeated 1M times, best of a few runs:
//! - backlog: send all 1M first, then drain (the queue holds 1M messages);
//! - interleaved: send, get, ack one at a time (the queue stays empty);
//! - priorities: like backlog, priorities 0..=9 round-robin;
//! - consumer: like backlog, drained through a subscription (prefetch 100).
//!
//! Memory is the heap held per queued message with a u64 payload, measured
//! by a counting global allocator after sending 1M messages.

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use ferrymq::core::broker::{Broker, Effect, Outgoing, QueueId, QueueOptions, Subscription};
use ferrymq::core::rng::SplitMix64;
use ferrymq::core::time::ManualClock;

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        System.alloc(layout)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        System.dealloc(ptr, layout)
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(new_size, Ordering::Relaxed);
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

const MESSAGES: u64 = 1_000_000;
const RUNS: usize = 3;

type B = Broker<u64, ManualClock, SplitMix64>;

fn broker(opts: QueueOptions) -> (B, QueueId) {
    let mut b = Broker::new(ManualClock::new(0), SplitMix64::new(1));
    let q = b.declare_queue("bench", Some(opts)).expect("declare");
    (b, q)
}

fn send(b: &mut B, q: QueueId, i: u64, priority: u8) {
    let msg = Outgoing { priority, ..Outgoing::new(i) };
    black_box(b.send(q, msg).expect("send"));
}

fn get_ack(b: &mut B, q: QueueId) {
    let d = b.take(q).expect("get").expect("a message");
    black_box(&d.payload);
    b.ack(d.tag).expect("ack");
}

fn backlog(priorities: bool) -> Duration {
    let (mut b, q) = broker(QueueOptions::default());
    let began = Instant::now();
    for i in 0..MESSAGES {
        send(&mut b, q, i, if priorities { (i % 10) as u8 } else { 0 });
    }
    for _ in 0..MESSAGES {
        get_ack(&mut b, q);
    }
    began.elapsed()
}

fn interleaved() -> Duration {
    let (mut b, q) = broker(QueueOptions::default());
    let began = Instant::now();
    for i in 0..MESSAGES {
        send(&mut b, q, i, 0);
        get_ack(&mut b, q);
    }
    began.elapsed()
}

fn consumer() -> Duration {
    let (mut b, q) = broker(QueueOptions::default());
    let began = Instant::now();
    for i in 0..MESSAGES {
        send(&mut b, q, i, 0);
    }
    b.subscribe(q, Subscription { prefetch: 100, ..Subscription::default() }).expect("subscribe");
    let mut tags = Vec::with_capacity(100);
    let mut acked = 0;
    loop {
        tags.extend(b.drain_effects().filter_map(|e| match e {
            Effect::Deliver { delivery, .. } => Some(delivery.tag),
            _ => None,
        }));
        if tags.is_empty() {
            break;
        }
        for tag in tags.drain(..) {
            b.ack(tag).expect("ack");
            acked += 1;
        }
    }
    assert_eq!(acked, MESSAGES);
    began.elapsed()
}

fn best(f: impl Fn() -> Duration) -> Duration {
    (0..RUNS).map(|_| f()).min().unwrap_or_default()
}

/// Heap bytes held per queued message after sending 1M of them.
fn bytes_per_message(opts: QueueOptions, outgoing: impl Fn(u64) -> Outgoing<u64>) -> f64 {
    let before = LIVE.load(Ordering::Relaxed);
    let (mut b, q) = broker(opts);
    for i in 0..MESSAGES {
        b.send(q, outgoing(i)).expect("send");
    }
    let held = LIVE.load(Ordering::Relaxed).saturating_sub(before);
    assert_eq!(b.queue_stats(q).expect("stats").ready + b.queue_stats(q).expect("stats").delayed, MESSAGES);
    drop(b);
    held as f64 / MESSAGES as f64
}

fn main() {
    println!("{:>12} | {:>9} | {:>14}", "scenario", "ms", "messages/s");
    println!("{:->12}-+-{:->9}-+-{:->14}", "", "", "");
    let rows: [(&str, &dyn Fn() -> Duration); 4] = [
        ("backlog", &|| backlog(false)),
        ("interleaved", &interleaved),
        ("priorities", &|| backlog(true)),
        ("consumer", &consumer),
    ];
    for (name, f) in rows {
        let took = best(f);
        let rate = MESSAGES as f64 / took.as_secs_f64();
        println!("{name:>12} | {:>9.0} | {rate:>14.0}", took.as_secs_f64() * 1e3);
    }
    println!("(one message = send + get + ack; {MESSAGES} messages)");
    println!();
    println!("{:>24} | {:>13}", "queued message", "bytes/message");
    println!("{:->24}-+-{:->13}", "", "");
    let plain = bytes_per_message(QueueOptions::default(), Outgoing::new);
    println!("{:>24} | {plain:>13.1}", "u64 payload");
    let with_ttl = bytes_per_message(QueueOptions { ttl: Some(60_000), ..QueueOptions::default() }, Outgoing::new);
    println!("{:>24} | {with_ttl:>13.1}", "u64 payload, queue TTL");
    let given = |i: u64| Outgoing { id: Some(format!("order-{i:08}").into()), ..Outgoing::new(i) };
    let dedup = QueueOptions { dedup_window: Some(60_000), ..QueueOptions::default() };
    let with_id = bytes_per_message(dedup, given);
    println!("{:>24} | {with_id:>13.1}", "given id + dedup window");
}
