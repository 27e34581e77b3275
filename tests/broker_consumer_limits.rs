//! Consumers with the scheduler's limits: a rate limit on the deliveries a
//! consumer is handed, and a timeout on each of its deliveries.
//!
//! Rate limit: at most `max` deliveries (first or redelivery) to the
//! consumer in any window of `interval` ms; while its window is full the
//! round-robin skips it, and its window's reopening is a deadline, so
//! deliveries resume exactly then with nothing else calling in.
//! Timeout: a delivery still unsettled `timeout` ms after it was handed out
//! fails as a nack does (the queue's backoff, counted towards
//! `max_deliveries`), with one `HandlerTimedOut` effect.

use ferrymq::core::backoff::{Backoff, BackoffKind};
use ferrymq::core::broker::{
    Broker, ConsumerId, DeadLetterReason, DeliveryTag, Effect, Outgoing, QueueId, QueueOptions, RateLimit, Subscription,
    Window,
};
use ferrymq::core::error::ErrorCode;
use ferrymq::core::rng::SplitMix64;
use ferrymq::core::time::{Clock, ManualClock, Millis};
use proptest::prelude::*;

type B = Broker<u32, ManualClock, SplitMix64>;

fn broker() -> (B, ManualClock) {
    let clock = ManualClock::new(1_000);
    (Broker::new(clock.clone(), SplitMix64::new(7)), clock)
}

fn limited(max: u32, interval: Millis, prefetch: u32) -> Subscription {
    Subscription { prefetch, rate_limit: Some(RateLimit::sliding(max, interval)), ..Subscription::default() }
}

fn timed(timeout: Millis) -> Subscription {
    Subscription { timeout: Some(timeout), ..Subscription::default() }
}

fn send(b: &mut B, q: QueueId, n: u32) {
    b.send_batch(q, (0..n).map(Outgoing::new).collect()).expect("send");
}

/// (consumer, payload, tag, delivery count) of each delivery drained.
fn deliveries(b: &mut B) -> Vec<(ConsumerId, u32, DeliveryTag, u32)> {
    b.drain_effects()
        .filter_map(|e| match e {
            Effect::Deliver { consumer, delivery } => {
                Some((consumer, delivery.payload, delivery.tag, delivery.delivery_count))
            }
            _ => None,
        })
        .collect()
}

/// Moves the clock to `t` and lets the broker act on it.
fn advance_to(b: &mut B, clock: &ManualClock, t: Millis) {
    clock.set(t);
    b.advance();
}

// ---- rate limit ----------------------------------------------------------------------

#[test]
fn a_rate_limited_consumer_gets_max_per_window_and_resumes_when_it_reopens() {
    let (mut b, clock) = broker();
    let q = b.declare_queue("q", None).unwrap();
    let c = b.subscribe(q, limited(2, 100, 10)).unwrap();
    send(&mut b, q, 5);
    assert_eq!(deliveries(&mut b).len(), 2);
    assert_eq!(b.next_deadline(), Some(1_100), "the window's reopening is a deadline");
    advance_to(&mut b, &clock, 1_099);
    assert!(deliveries(&mut b).is_empty());
    advance_to(&mut b, &clock, 1_100);
    let got = deliveries(&mut b);
    assert_eq!(got.iter().map(|d| (d.0, d.1)).collect::<Vec<_>>(), [(c, 2), (c, 3)]);
    advance_to(&mut b, &clock, 1_200);
    assert_eq!(deliveries(&mut b).len(), 1);
    assert_eq!(b.queue_stats(q).unwrap().ready, 0);
}

#[test]
fn the_round_robin_skips_a_rate_limited_consumer() {
    let (mut b, clock) = broker();
    let q = b.declare_queue("q", None).unwrap();
    let slow = b.subscribe(q, limited(1, 1_000, 10)).unwrap();
    let free = b.subscribe(q, Subscription { prefetch: 10, ..Subscription::default() }).unwrap();
    send(&mut b, q, 6);
    let got = deliveries(&mut b);
    assert_eq!(got.iter().filter(|d| d.0 == slow).count(), 1);
    assert_eq!(got.iter().filter(|d| d.0 == free).count(), 5, "the other consumer takes the rest at once");
    advance_to(&mut b, &clock, 2_000);
    assert!(deliveries(&mut b).is_empty(), "nothing left for the slow one");
}

#[test]
fn redeliveries_count_against_the_window() {
    let (mut b, clock) = broker();
    let q = b.declare_queue("q", None).unwrap();
    b.subscribe(q, limited(2, 100, 10)).unwrap();
    send(&mut b, q, 1);
    let (_, _, tag, _) = deliveries(&mut b)[0];
    b.nack(tag, true, None).unwrap();
    let (_, _, tag, count) = deliveries(&mut b)[0];
    assert_eq!(count, 2);
    b.nack(tag, true, None).unwrap();
    assert!(deliveries(&mut b).is_empty(), "a third hand-out would be the third in the window");
    advance_to(&mut b, &clock, 1_100);
    assert_eq!(deliveries(&mut b).iter().map(|d| d.3).collect::<Vec<_>>(), [3]);
}

#[test]
fn bad_limits_are_refused_and_nothing_is_subscribed() {
    let (mut b, _) = broker();
    let q = b.declare_queue("q", None).unwrap();
    for sub in [limited(0, 100, 1), limited(1, 0, 1), timed(0)] {
        assert_eq!(b.subscribe(q, sub).map_err(|e| e.code), Err(ErrorCode::InvalidArgument), "{sub:?}");
    }
    send(&mut b, q, 1);
    assert!(deliveries(&mut b).is_empty());
    assert_eq!(b.queue_stats(q).unwrap().ready, 1);
}

/// What the property test does.
#[derive(Clone, Debug)]
enum Op {
    Send(u8),
    /// Settles one of a consumer's unsettled deliveries (index modulo).
    Ack { limited: bool, pick: usize },
    Nack { limited: bool, pick: usize },
    Advance(Millis),
    /// The limited consumer is cancelled and subscribes again (a new window).
    Resubscribe,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (1u8..5).prop_map(Op::Send),
        3 => (any::<bool>(), any::<usize>()).prop_map(|(limited, pick)| Op::Ack { limited, pick }),
        1 => (any::<bool>(), any::<usize>()).prop_map(|(limited, pick)| Op::Nack { limited, pick }),
        3 => (0u64..80).prop_map(Op::Advance),
        1 => Just(Op::Resubscribe),
    ]
}

struct Checker {
    b: B,
    clock: ManualClock,
    q: QueueId,
    limit: RateLimit,
    sub: Subscription,
    /// The rate-limited consumer, the unlimited one, and their unsettled tags.
    limited: ConsumerId,
    free: ConsumerId,
    held: [Vec<DeliveryTag>; 2],
    free_prefetch: usize,
    /// When each delivery to the current limited consumer was handed out.
    starts: Vec<Millis>,
}

impl Checker {
    fn record(&mut self) {
        let now = self.clock.now();
        for (c, _, tag, _) in deliveries(&mut self.b) {
            if c == self.limited {
                self.starts.push(now);
                self.held[0].push(tag);
            } else {
                assert_eq!(c, self.free);
                self.held[1].push(tag);
            }
        }
    }

    /// The window holds; the unlimited consumer never waits while messages
    /// do; and the limited one, with room and messages waiting, waits only
    /// for its full window, whose reopening is the next deadline, exactly.
    fn check(&mut self) -> Result<(), TestCaseError> {
        let (max, interval) = (self.limit.max as usize, self.limit.interval);
        match self.limit.window {
            Window::Sliding => {
                for w in self.starts.windows(max + 1) {
                    prop_assert!(w[max] - w[0] >= interval, "window exceeded: {:?}", w);
                }
            }
            // A fixed window lets `max` more through at an edge, never more.
            Window::Fixed { .. } => {
                for w in self.starts.windows(2 * max + 1) {
                    prop_assert!(w[2 * max] - w[0] >= interval, "more than 2 * max: {:?}", w);
                }
            }
        }
        let now = self.clock.now();
        let ready = self.b.queue_stats(self.q).unwrap().ready;
        if ready == 0 {
            return Ok(());
        }
        prop_assert!(self.held[1].len() >= self.free_prefetch, "the unlimited consumer waits with room at {}", now);
        if self.held[0].len() < self.sub.prefetch as usize {
            let next = self.b.next_deadline();
            match self.limit.window {
                Window::Sliding => {
                    let in_window: Vec<Millis> = self.starts.iter().copied().filter(|&t| t + interval > now).collect();
                    prop_assert_eq!(in_window.len(), max, "idle with room and a free window at {}", now);
                    prop_assert_eq!(next, Some(in_window[0] + interval));
                }
                Window::Fixed { .. } => {
                    prop_assert!(next.is_some_and(|at| at > now && at <= now + interval), "{:?} at {}", next, now);
                }
            }
        }
        Ok(())
    }

    fn settle(&mut self, limited: bool, pick: usize, ack: bool) {
        let held = &mut self.held[usize::from(!limited)];
        if held.is_empty() {
            return;
        }
        let tag = held.remove(pick % held.len());
        if ack {
            self.b.ack(tag).unwrap();
        } else {
            self.b.nack(tag, true, None).unwrap();
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn no_window_ever_holds_more_than_max_and_nothing_starves(
        max in 1u32..5,
        interval in 1u64..60,
        prefetch in 1u32..6,
        free_prefetch in 1u32..3,
        window in prop_oneof![
            3 => Just(Window::Sliding),
            1 => Just(Window::Fixed { carryover: false }),
            1 => Just(Window::Fixed { carryover: true }),
        ],
        ops in prop::collection::vec(op(), 1..150),
    ) {
        let (mut b, clock) = broker();
        // Leases never run out and nacks wait no backoff: the only timers
        // are the rate window's, so the next deadline can be checked exactly.
        let q = b.declare_queue("q", Some(QueueOptions { lease: 1 << 40, max_deliveries: u32::MAX, ..QueueOptions::default() })).unwrap();
        let limit = RateLimit { max, interval, window };
        let sub = Subscription { prefetch, rate_limit: Some(limit), ..Subscription::default() };
        let limited = b.subscribe(q, sub).unwrap();
        let free = b.subscribe(q, Subscription { prefetch: free_prefetch, ..Subscription::default() }).unwrap();
        let mut c = Checker {
            b, clock, q, limit, sub, limited, free,
            held: [Vec::new(), Vec::new()],
            free_prefetch: free_prefetch as usize,
            starts: Vec::new(),
        };
        for op in ops {
            match op {
                Op::Send(n) => send(&mut c.b, q, u32::from(n)),
                Op::Ack { limited, pick } => c.settle(limited, pick, true),
                Op::Nack { limited, pick } => c.settle(limited, pick, false),
                Op::Advance(by) => {
                    // Fire every deadline on time, as the host's timer would.
                    let target = c.clock.now() + by;
                    while let Some(at) = c.b.next_deadline().filter(|&at| at <= target) {
                        advance_to(&mut c.b, &c.clock, at.max(c.clock.now()));
                        c.record();
                        c.check()?;
                    }
                    advance_to(&mut c.b, &c.clock, target);
                }
                Op::Resubscribe => {
                    c.b.cancel(c.limited);
                    c.held[0].clear();
                    c.starts.clear();
                    c.limited = c.b.subscribe(q, sub).unwrap();
                }
            }
            c.record();
            c.check()?;
        }
    }
}

// ---- handler timeout -------------------------------------------------------------------

/// The consumers whose delivery `tag` timed out, in order.
fn timeouts(effects: &[Effect<u32>]) -> Vec<(ConsumerId, DeliveryTag)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::HandlerTimedOut { consumer, tag } => Some((*consumer, *tag)),
            _ => None,
        })
        .collect()
}

#[test]
fn an_unsettled_delivery_times_out_once_and_is_redelivered_after_the_backoff() {
    let (mut b, clock) = broker();
    let backoff = Backoff { kind: BackoffKind::Fixed, base: 50, max: None, jitter: false };
    let q = b.declare_queue("q", Some(QueueOptions { backoff, ..QueueOptions::default() })).unwrap();
    let c = b.subscribe(q, timed(200)).unwrap();
    send(&mut b, q, 1);
    let (_, _, tag, count) = deliveries(&mut b)[0];
    assert_eq!(count, 1);
    assert_eq!(b.next_deadline(), Some(1_200));
    advance_to(&mut b, &clock, 1_199);
    assert!(b.drain_effects().next().is_none());
    advance_to(&mut b, &clock, 1_200);
    let effects: Vec<_> = b.drain_effects().collect();
    assert_eq!(timeouts(&effects), [(c, tag)]);
    assert!(effects.iter().any(|e| matches!(e, Effect::Redelivered { delivery_count: 1, .. })));
    assert_eq!(b.queue_stats(q).unwrap().nacked, 1, "a timeout is a failed handler: a nack");
    assert_eq!(b.ack(tag).map_err(|e| e.code), Err(ErrorCode::StaleDelivery), "the late handler's ack");
    advance_to(&mut b, &clock, 1_249);
    assert!(deliveries(&mut b).is_empty(), "waits out the backoff");
    advance_to(&mut b, &clock, 1_250);
    let (_, _, again, count) = deliveries(&mut b)[0];
    assert_eq!(count, 2);
    b.ack(again).unwrap();
    advance_to(&mut b, &clock, 2_000);
    assert!(timeouts(&b.drain_effects().collect::<Vec<_>>()).is_empty(), "an ack in time cancels the timeout");
    assert_eq!(b.next_deadline(), None);
}

#[test]
fn timeouts_dead_letter_after_max_deliveries() {
    let (mut b, clock) = broker();
    let q = b.declare_queue("q", Some(QueueOptions { max_deliveries: 2, ..QueueOptions::default() })).unwrap();
    b.subscribe(q, timed(10)).unwrap();
    send(&mut b, q, 1);
    let mut effects: Vec<_> = b.drain_effects().collect();
    for t in [1_010, 1_020] {
        advance_to(&mut b, &clock, t);
        effects.extend(b.drain_effects());
    }
    assert_eq!(timeouts(&effects).len(), 2);
    let dead: Vec<_> = effects
        .iter()
        .filter_map(|e| match e {
            Effect::DeadLettered { reason, .. } => Some(*reason),
            _ => None,
        })
        .collect();
    assert_eq!(dead, [DeadLetterReason::DeliveryLimit]);
    assert_eq!(b.queue_stats(q).unwrap().dead_lettered, 1);
}

#[test]
fn a_nack_or_a_cancel_before_the_deadline_ends_the_timeout() {
    let (mut b, clock) = broker();
    let q = b.declare_queue("q", None).unwrap();
    let c = b.subscribe(q, Subscription { prefetch: 2, timeout: Some(100), ..Subscription::default() }).unwrap();
    send(&mut b, q, 2);
    let got = deliveries(&mut b);
    b.nack(got[0].2, false, None).unwrap();
    b.cancel(c);
    advance_to(&mut b, &clock, 5_000);
    assert!(timeouts(&b.drain_effects().collect::<Vec<_>>()).is_empty());
}

#[test]
fn on_a_durable_broker_the_timeout_runs_from_the_hand_out() {
    let (mut b, clock) = broker();
    b.set_recording(true);
    let q = b.declare_queue("q", None).unwrap();
    let c = b.subscribe(q, timed(100)).unwrap();
    send(&mut b, q, 1);
    let sealed = b.seal();
    // Writing the lease takes longer than the timeout: the handler has not
    // even started, so its time has not either.
    clock.advance(150);
    b.committed(sealed.epoch);
    let (_, _, tag, _) = deliveries(&mut b)[0];
    assert_eq!(b.next_deadline(), Some(1_250));
    advance_to(&mut b, &clock, 1_249);
    let sealed = b.seal();
    b.committed(sealed.epoch);
    assert!(b.drain_effects().next().is_none());
    advance_to(&mut b, &clock, 1_250);
    let sealed = b.seal();
    assert!(b.drain_effects().next().is_none(), "the timeout's effects wait for the commit of its return");
    b.committed(sealed.epoch);
    let effects: Vec<_> = b.drain_effects().collect();
    assert_eq!(timeouts(&effects), [(c, tag)]);
}

#[test]
fn a_timeout_and_a_rate_limit_together() {
    let (mut b, clock) = broker();
    let q = b.declare_queue("q", None).unwrap();
    let sub = Subscription { prefetch: 5, timeout: Some(30), ..limited(1, 100, 5) };
    b.subscribe(q, sub).unwrap();
    send(&mut b, q, 1);
    assert_eq!(deliveries(&mut b).len(), 1);
    advance_to(&mut b, &clock, 1_030);
    assert!(deliveries(&mut b).is_empty(), "timed out and back in the queue, but the window is full");
    advance_to(&mut b, &clock, 1_100);
    assert_eq!(deliveries(&mut b).iter().map(|d| d.3).collect::<Vec<_>>(), [2]);
}
