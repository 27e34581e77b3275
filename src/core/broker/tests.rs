//! Behaviour of the broker through its public commands, on a manual clock.

use super::*;
use crate::core::backoff::{Backoff, BackoffKind};
use crate::core::rng::SplitMix64;
use crate::core::time::ManualClock;

type B = Broker<&'static str, ManualClock, SplitMix64>;

fn broker() -> (B, ManualClock) {
    let clock = ManualClock::new(1_000);
    (Broker::new(clock.clone(), SplitMix64::new(7)), clock)
}

fn msg(p: &'static str) -> Outgoing<&'static str> {
    Outgoing::new(p)
}

fn with<F: FnOnce(&mut Outgoing<&'static str>)>(p: &'static str, f: F) -> Outgoing<&'static str> {
    let mut m = msg(p);
    f(&mut m);
    m
}

fn opts<F: FnOnce(&mut QueueOptions)>(f: F) -> Option<QueueOptions> {
    let mut o = QueueOptions::default();
    f(&mut o);
    Some(o)
}

fn get(b: &mut B, q: QueueId) -> Option<Delivery<&'static str>> {
    b.take(q).expect("get")
}

fn payloads(b: &mut B, q: QueueId) -> Vec<&'static str> {
    std::iter::from_fn(|| {
        let d = get(b, q)?;
        b.ack(d.tag).expect("ack");
        Some(d.payload)
    })
    .collect()
}

fn delivered(b: &mut B) -> Vec<(ConsumerId, &'static str, DeliveryTag)> {
    b.drain_effects()
        .filter_map(|e| match e {
            Effect::Deliver { consumer, delivery } => Some((consumer, delivery.payload, delivery.tag)),
            _ => None,
        })
        .collect()
}

fn dead_letters(b: &mut B) -> Vec<(QueueId, Option<QueueId>, DeadLetterReason)> {
    b.drain_effects()
        .filter_map(|e| match e {
            Effect::DeadLettered { queue, target, reason, .. } => Some((queue, target, reason)),
            _ => None,
        })
        .collect()
}

fn code<T: std::fmt::Debug>(r: Result<T, CoreError>) -> ErrorCode {
    r.expect_err("expected an error").code
}

// ---- basic slice ----------------------------------------------------------

#[test]
fn send_get_ack_in_fifo_order() {
    let (mut b, _) = broker();
    let q = b.declare_queue("jobs", None).unwrap();
    let ids: Vec<_> = ["a", "b", "c"].into_iter().map(|p| b.send(q, msg(p)).unwrap()).collect();
    assert_eq!(ids.iter().map(ToString::to_string).collect::<Vec<_>>(), ["1", "2", "3"]);
    let d = get(&mut b, q).unwrap();
    assert_eq!((d.payload, d.delivery_count, d.redelivered, d.enqueued_at), ("a", 1, false, 1_000));
    let s = b.queue_stats(q).unwrap();
    assert_eq!((s.ready, s.in_flight, s.sent), (2, 1, 3));
    b.ack(d.tag).unwrap();
    assert_eq!(payloads(&mut b, q), ["b", "c"]);
    let s = b.queue_stats(q).unwrap();
    assert_eq!((s.ready, s.in_flight, s.acked), (0, 0, 3));
    assert!(get(&mut b, q).is_none());
}

#[test]
fn declare_is_get_or_create_and_checks_options() {
    let (mut b, _) = broker();
    let q = b.declare_queue("a", opts(|o| o.lease = 5)).unwrap();
    assert_eq!(b.declare_queue("a", None), Ok(q));
    assert_eq!(b.declare_queue("a", opts(|o| o.lease = 5)), Ok(q));
    assert_eq!(code(b.declare_queue("a", opts(|o| o.lease = 6))), ErrorCode::InvalidArgument);
    assert_eq!(code(b.declare_queue("", None)), ErrorCode::InvalidArgument);
    assert_eq!(code(b.declare_queue(&"x".repeat(256), None)), ErrorCode::InvalidArgument);
    let implicit = b.declare_queue("b", None).unwrap();
    assert_eq!(b.declare_queue("b", opts(|o| o.lease = 9)), Ok(implicit), "never declared with options: adopts");
    assert_eq!(code(b.declare_queue("b", opts(|o| o.lease = 10))), ErrorCode::InvalidArgument);
    assert_eq!(b.queue_id("b"), Some(implicit));
    assert_eq!(b.queue_name(q), Some("a"));
    assert_eq!(b.queues().map(|(_, n)| n).collect::<Vec<_>>(), ["a", "b"]);
}

#[test]
fn options_spelled_as_their_defaults_are_the_defaults() {
    let (mut b, _) = broker();
    let named = |n: &str| opts(|o| o.dead_letter = DeadLetterTarget::Named(n.into()));
    let p = b.declare_queue("p", named("p.dlq")).unwrap();
    assert_eq!(b.declare_queue("p", opts(|_| {})), Ok(p));
    assert_eq!(b.declare_queue("p", named("p.dlq")), Ok(p));
    let r = b.declare_queue("r", opts(|_| {})).unwrap();
    assert_eq!(b.declare_queue("r", named("r.dlq")), Ok(r));
    assert_eq!(code(b.declare_queue("r", named("p.dlq"))), ErrorCode::InvalidArgument);

    let never_waits = Backoff { kind: BackoffKind::Exponential, base: 0, max: Some(9), jitter: true };
    let s = b.declare_queue("s", opts(|o| o.backoff = never_waits)).unwrap();
    assert_eq!(b.declare_queue("s", opts(|_| {})), Ok(s), "a backoff that never waits is no backoff");
    let t = b.declare_queue("t", opts(|o| o.overflow = Overflow::DropOldest)).unwrap();
    assert_eq!(b.declare_queue("t", opts(|_| {})), Ok(t), "without a max_length nothing overflows");
}

#[test]
fn a_logged_default_spelled_out_is_the_default() {
    let (_, clock) = broker();
    let options = QueueOptions { dead_letter: DeadLetterTarget::Named("p.dlq".into()), ..QueueOptions::default() };
    let old_log = vec![Record::QueueDeclared { queue: QueueId(0), name: "p".into(), options, explicit: true }];
    let mut b = B::replay(clock, SplitMix64::new(0), old_log).unwrap();
    assert_eq!(b.declare_queue("p", opts(|_| {})), Ok(QueueId(0)));
}

#[test]
fn unknown_ids_are_errors_not_panics() {
    let (mut b, _) = broker();
    let q = QueueId(99);
    assert_eq!(code(b.send(q, msg("x"))), ErrorCode::InvalidArgument);
    assert_eq!(code(b.take(q)), ErrorCode::InvalidArgument);
    assert_eq!(code(b.subscribe(q, Subscription::default())), ErrorCode::InvalidArgument);
    assert_eq!(code(b.purge(q)), ErrorCode::InvalidArgument);
    assert_eq!(code(b.queue_stats(q)), ErrorCode::InvalidArgument);
    assert_eq!(code(b.bind("a", q)), ErrorCode::InvalidArgument);
    assert_eq!(code(b.ack(DeliveryTag(5))), ErrorCode::StaleDelivery);
    assert_eq!(code(b.nack(DeliveryTag(5), true, None)), ErrorCode::StaleDelivery);
    assert_eq!(code(b.reply(DeliveryTag(5), "r")), ErrorCode::StaleDelivery);
    assert_eq!(code(b.extend_lease(DeliveryTag(5), 1)), ErrorCode::StaleDelivery);
    b.cancel(ConsumerId(3));
    b.cancel_request(RequestId(3));
    assert_eq!(b.drain_effects().count(), 0);
}

#[test]
fn bad_message_values_leave_state_untouched() {
    let (mut b, _) = broker();
    let q = b.declare_queue("q", None).unwrap();
    assert_eq!(code(b.send(q, with("x", |m| m.priority = 10))), ErrorCode::InvalidArgument);
    assert_eq!(code(b.send(q, with("x", |m| m.ttl = Some(0)))), ErrorCode::InvalidArgument);
    assert_eq!(code(b.send(q, with("x", |m| m.id = Some("".into())))), ErrorCode::InvalidArgument);
    let batch = vec![msg("ok"), with("bad", |m| m.priority = 200)];
    assert_eq!(code(b.send_batch(q, batch)), ErrorCode::InvalidArgument);
    assert_eq!(b.queue_stats(q).unwrap().sent, 0);
    // Huge values saturate instead of overflowing.
    b.send(q, with("far", |m| {
        m.delay = Millis::MAX;
        m.ttl = Some(Millis::MAX);
    }))
    .unwrap();
    assert_eq!(b.queue_stats(q).unwrap().delayed, 1);
    assert!(get(&mut b, q).is_none());
}

#[test]
fn double_ack_and_ack_after_lease_expiry_are_stale() {
    let (mut b, clock) = broker();
    let q = b.declare_queue("q", opts(|o| o.lease = 100)).unwrap();
    b.send(q, msg("a")).unwrap();
    let d = get(&mut b, q).unwrap();
    b.ack(d.tag).unwrap();
    assert_eq!(code(b.ack(d.tag)), ErrorCode::StaleDelivery);
    assert_eq!(code(b.nack(d.tag, true, None)), ErrorCode::StaleDelivery);

    b.send(q, msg("b")).unwrap();
    let d = get(&mut b, q).unwrap();
    assert_eq!(b.next_deadline(), Some(1_100));
    clock.advance(100);
    // No advance() in between: the command itself notices the lease ran out.
    assert_eq!(code(b.ack(d.tag)), ErrorCode::StaleDelivery);
    let again = get(&mut b, q).unwrap();
    assert_eq!((again.payload, again.delivery_count, again.redelivered), ("b", 2, true));
    assert_eq!(b.queue_stats(q).unwrap().redelivered, 1);
}

#[test]
fn lease_expiry_returns_message_via_advance() {
    let (mut b, clock) = broker();
    let q = b.declare_queue("q", opts(|o| o.lease = 50)).unwrap();
    b.send(q, msg("a")).unwrap();
    b.send(q, msg("b")).unwrap();
    let first = get(&mut b, q).unwrap();
    assert_eq!(first.payload, "a");
    clock.advance(49);
    b.advance();
    assert_eq!(b.queue_stats(q).unwrap().in_flight, 1);
    clock.advance(1);
    b.advance();
    let effects: Vec<_> = b.drain_effects().collect();
    assert_eq!(effects, [Effect::Redelivered { queue: q, id: MessageId::Auto(1), delivery_count: 1 }]);
    // Back at its original place, ahead of "b".
    assert_eq!(payloads(&mut b, q), ["a", "b"]);
    assert_eq!(b.next_deadline(), None);
}

#[test]
fn extend_lease_moves_the_deadline_from_now() {
    let (mut b, clock) = broker();
    let q = b.declare_queue("q", opts(|o| o.lease = 100)).unwrap();
    b.send(q, msg("a")).unwrap();
    let d = get(&mut b, q).unwrap();
    clock.advance(90);
    b.extend_lease(d.tag, 100).unwrap();
    assert_eq!(b.next_deadline(), Some(1_190));
    clock.advance(50);
    b.advance();
    b.ack(d.tag).unwrap();
    b.send(q, msg("b")).unwrap();
    let d = get(&mut b, q).unwrap();
    b.extend_lease(d.tag, 0).unwrap();
    assert_eq!(code(b.ack(d.tag)), ErrorCode::StaleDelivery, "a zero extension returns it at once");
    assert_eq!(b.queue_stats(q).unwrap().ready, 1);
}

#[test]
fn subscribe_delivers_and_respects_prefetch() {
    let (mut b, _) = broker();
    let q = b.declare_queue("q", None).unwrap();
    for p in ["a", "b", "c"] {
        b.send(q, msg(p)).unwrap();
    }
    let c = b.subscribe(q, Subscription { prefetch: 2, ..Default::default() }).unwrap();
    let got = delivered(&mut b);
    assert_eq!(got.iter().map(|(k, p, _)| (*k, *p)).collect::<Vec<_>>(), [(c, "a"), (c, "b")]);
    b.ack(got[0].2).unwrap();
    assert_eq!(delivered(&mut b).iter().map(|d| d.1).collect::<Vec<_>>(), ["c"]);
    b.send(q, msg("d")).unwrap();
    assert!(delivered(&mut b).is_empty(), "prefetch full");
    assert_eq!(b.queue_stats(q).unwrap().ready, 1);
}

#[test]
fn round_robin_across_consumers() {
    let (mut b, _) = broker();
    let q = b.declare_queue("q", None).unwrap();
    let sub = Subscription { prefetch: 10, ..Default::default() };
    let c1 = b.subscribe(q, sub).unwrap();
    let c2 = b.subscribe(q, sub).unwrap();
    let c3 = b.subscribe(q, sub).unwrap();
    b.send_batch(q, ["1", "2", "3", "4", "5", "6", "7"].map(msg).to_vec()).unwrap();
    let order: Vec<_> = delivered(&mut b).iter().map(|d| d.0).collect();
    assert_eq!(order, [c1, c2, c3, c1, c2, c3, c1]);
}

#[test]
fn cancel_returns_in_flight_as_failed_deliveries() {
    let (mut b, _) = broker();
    let q = b.declare_queue("q", opts(|o| o.max_deliveries = 2)).unwrap();
    b.send(q, msg("a")).unwrap();
    let c1 = b.subscribe(q, Subscription::default()).unwrap();
    assert_eq!(delivered(&mut b).len(), 1);
    b.cancel(c1);
    b.cancel(c1);
    let effects: Vec<_> = b.drain_effects().collect();
    assert_eq!(effects, [Effect::Redelivered { queue: q, id: MessageId::Auto(1), delivery_count: 1 }]);
    let c2 = b.subscribe(q, Subscription::default()).unwrap();
    let d = b.drain_effects().next();
    assert!(matches!(d, Some(Effect::Deliver { consumer, delivery }) if consumer == c2 && delivery.redelivered));
    b.cancel(c2);
    assert_eq!(dead_letters(&mut b), [(q, b.queue_id("q.dlq"), DeadLetterReason::DeliveryLimit)]);
}

#[test]
fn cancel_gives_back_undrained_deliveries_uncounted() {
    let (mut b, _) = broker();
    let q = b.declare_queue("q", opts(|o| o.max_deliveries = 1)).unwrap();
    let c = b.subscribe(q, Subscription { prefetch: 2, ..Subscription::default() }).unwrap();
    b.send(q, msg("a")).unwrap();
    b.send(q, msg("b")).unwrap();
    // The host never drained these deliveries, so nobody saw them.
    b.cancel(c);
    assert_eq!(b.drain_effects().count(), 0, "no delivery, redelivery or dead letter");
    let first = get(&mut b, q).expect("a is back in its place");
    assert_eq!((first.payload, first.delivery_count, first.redelivered), ("a", 1, false));
    assert_eq!(payloads(&mut b, q), ["b"]);
}

#[test]
fn cancel_of_a_once_subscription_gives_back_its_undrained_delivery() {
    let (mut b, _) = broker();
    let q = b.declare_queue("q", opts(|o| o.max_deliveries = 1)).unwrap();
    let waiter = b.subscribe(q, Subscription { once: true, ..Subscription::default() }).unwrap();
    b.send(q, msg("a")).unwrap();
    b.cancel(waiter);
    assert_eq!(b.drain_effects().count(), 0);
    assert_eq!(payloads(&mut b, q), ["a"]);
}

#[test]
fn release_returns_a_delivery_to_its_place_without_counting_it() {
    let (mut b, _) = broker();
    let q = b.declare_queue("q", opts(|o| o.max_deliveries = 1)).unwrap();
    b.send(q, msg("a")).unwrap();
    b.send(q, msg("b")).unwrap();
    let a = get(&mut b, q).unwrap();
    b.release(a.tag).unwrap();
    assert_eq!(code(b.release(a.tag)), ErrorCode::StaleDelivery);
    assert_eq!(code(b.ack(a.tag)), ErrorCode::StaleDelivery);
    let again = get(&mut b, q).unwrap();
    assert_eq!((again.payload, again.delivery_count, again.redelivered), ("a", 1, false));
    assert_eq!(b.queue_stats(q).unwrap().redelivered, 0);
    assert_eq!(b.drain_effects().count(), 0);
}

#[test]
fn once_subscription_takes_one_or_times_out() {
    let (mut b, clock) = broker();
    let q = b.declare_queue("q", None).unwrap();
    let w = b.subscribe(q, Subscription { once: true, deadline: Some(1_500), ..Default::default() }).unwrap();
    assert_eq!(b.next_deadline(), Some(1_500));
    b.send(q, msg("a")).unwrap();
    b.send(q, msg("b")).unwrap();
    let got = delivered(&mut b);
    assert_eq!(got.iter().map(|d| (d.0, d.1)).collect::<Vec<_>>(), [(w, "a")]);
    // The waiter is gone but its delivery is still valid.
    b.ack(got[0].2).unwrap();
    assert_eq!(b.next_deadline(), None, "the waiter's timer was pruned");

    let w2 = b.subscribe(q, Subscription { once: true, deadline: Some(1_600), ..Default::default() }).unwrap();
    assert_eq!(delivered(&mut b).len(), 1);
    let w3 = b.subscribe(q, Subscription { once: true, deadline: Some(1_600), ..Default::default() }).unwrap();
    assert_ne!(w2, w3);
    clock.set(1_600);
    b.advance();
    assert_eq!(b.drain_effects().collect::<Vec<_>>(), [Effect::WaitExpired { consumer: w3 }]);
}

#[test]
fn stats_count_ready_delayed_in_flight() {
    let (mut b, clock) = broker();
    let q = b.declare_queue("q", None).unwrap();
    b.send(q, msg("now")).unwrap();
    b.send(q, with("later", |m| m.delay = 100)).unwrap();
    let d = get(&mut b, q).unwrap();
    let s = b.queue_stats(q).unwrap();
    assert_eq!((s.ready, s.delayed, s.in_flight), (0, 1, 1));
    assert!(!b.has_ready(q), "has_ready is stats' ready > 0");
    clock.advance(100);
    b.advance();
    let s = b.queue_stats(q).unwrap();
    assert_eq!((s.ready, s.delayed, s.in_flight), (1, 0, 1));
    assert!(b.has_ready(q));
    b.nack(d.tag, true, None).unwrap();
    let s = b.queue_stats(q).unwrap();
    assert_eq!((s.ready, s.nacked, s.redelivered), (2, 1, 1));
}

// ---- ordering, delays, TTL --------------------------------------------------

#[test]
fn higher_priority_first_fifo_within_priority() {
    let (mut b, _) = broker();
    let q = b.declare_queue("q", None).unwrap();
    for (p, prio) in [("l1", 0), ("h1", 9), ("m1", 4), ("h2", 9), ("l2", 0), ("m2", 4)] {
        b.send(q, with(p, |m| m.priority = prio)).unwrap();
    }
    assert_eq!(payloads(&mut b, q), ["h1", "h2", "m1", "m2", "l1", "l2"]);
}

#[test]
fn delayed_message_waits_then_takes_its_place() {
    let (mut b, clock) = broker();
    let q = b.declare_queue("q", None).unwrap();
    b.send(q, with("delayed", |m| m.delay = 100)).unwrap();
    b.send(q, msg("now")).unwrap();
    assert_eq!(b.next_deadline(), Some(1_100));
    clock.advance(99);
    assert_eq!(payloads(&mut b, q), ["now"]);
    clock.advance(1);
    b.send(q, msg("after")).unwrap();
    assert_eq!(payloads(&mut b, q), ["delayed", "after"]);
}

#[test]
fn delayed_message_is_pushed_to_a_waiting_consumer_when_due() {
    let (mut b, clock) = broker();
    let q = b.declare_queue("q", None).unwrap();
    let c = b.subscribe(q, Subscription::default()).unwrap();
    b.send(q, with("d", |m| m.delay = 30)).unwrap();
    assert!(delivered(&mut b).is_empty());
    clock.advance(30);
    b.advance();
    assert_eq!(delivered(&mut b).iter().map(|d| (d.0, d.1)).collect::<Vec<_>>(), [(c, "d")]);
}

#[test]
fn expired_messages_are_never_delivered_and_are_dead_lettered() {
    let (mut b, clock) = broker();
    let q = b.declare_queue("q", opts(|o| o.ttl = Some(100))).unwrap();
    b.send(q, msg("queue-ttl")).unwrap();
    b.send(q, with("msg-ttl", |m| m.ttl = Some(50))).unwrap();
    b.send(q, with("longer-msg-ttl", |m| m.ttl = Some(500))).unwrap();
    clock.advance(50);
    // Without advance(): the poll itself must skip the expired one.
    let first = get(&mut b, q).unwrap();
    assert_eq!(first.payload, "queue-ttl");
    clock.advance(50);
    b.advance();
    let dlq = b.queue_id("q.dlq").unwrap();
    let effects: Vec<_> = b.drain_effects().collect();
    assert_eq!(
        effects,
        [
            Effect::Expired { queue: q, id: MessageId::Auto(2) },
            Effect::DeadLettered { queue: q, target: Some(dlq), id: MessageId::Auto(2), reason: DeadLetterReason::Expired },
            Effect::Expired { queue: q, id: MessageId::Auto(3) },
            Effect::DeadLettered { queue: q, target: Some(dlq), id: MessageId::Auto(3), reason: DeadLetterReason::Expired },
        ],
        "the queue TTL caps the message TTL"
    );
    let s = b.queue_stats(q).unwrap();
    assert_eq!((s.expired, s.dead_lettered, s.ready, s.in_flight), (2, 2, 0, 1));
    assert_eq!(payloads(&mut b, dlq), ["msg-ttl", "longer-msg-ttl"]);
}

#[test]
fn in_flight_message_past_its_ttl_expires_when_it_comes_back() {
    let (mut b, clock) = broker();
    let q = b.declare_queue("q", opts(|o| o.dead_letter = DeadLetterTarget::Discard)).unwrap();
    b.send(q, with("a", |m| m.ttl = Some(10))).unwrap();
    let d = get(&mut b, q).unwrap();
    clock.advance(20);
    b.advance();
    b.nack(d.tag, true, None).unwrap();
    assert_eq!(dead_letters(&mut b), [(q, None, DeadLetterReason::Expired)]);
    assert!(get(&mut b, q).is_none());
}

#[test]
fn delayed_message_can_expire_before_it_is_due() {
    let (mut b, clock) = broker();
    let q = b.declare_queue("q", None).unwrap();
    b.send(q, with("a", |m| {
        m.delay = 100;
        m.ttl = Some(50);
    }))
    .unwrap();
    clock.advance(200);
    assert!(get(&mut b, q).is_none());
    assert_eq!(b.queue_stats(q).unwrap().expired, 1);
}

// ---- length limit -------------------------------------------------------------

#[test]
fn overflow_reject_refuses_with_queue_full() {
    let (mut b, _) = broker();
    let q = b.declare_queue("q", opts(|o| o.max_length = Some(2))).unwrap();
    b.send(q, msg("a")).unwrap();
    b.send(q, with("b", |m| m.delay = 10)).unwrap();
    assert_eq!(code(b.send(q, msg("c"))), ErrorCode::QueueFull);
    let d = get(&mut b, q).unwrap();
    b.send(q, msg("c")).unwrap();
    assert_eq!(code(b.send(q, msg("x"))), ErrorCode::QueueFull, "in-flight messages do not count");
    b.ack(d.tag).unwrap();
    assert_eq!(code(b.send(q, msg("x"))), ErrorCode::QueueFull);
}

#[test]
fn a_max_length_beyond_32_bits_is_huge_not_truncated() {
    let (mut b, _) = broker();
    let huge = (1u64 << 32) + 1;
    for overflow in [Overflow::Reject, Overflow::DropOldest] {
        let name = if overflow == Overflow::Reject { "reject" } else { "drop" };
        let q = b.declare_queue(name, opts(|o| {
            o.max_length = Some(huge);
            o.overflow = overflow;
        }))
        .unwrap();
        b.send_batch(q, vec![msg("a"), msg("b")]).unwrap();
        b.send(q, msg("c")).unwrap();
        let s = b.queue_stats(q).unwrap();
        assert_eq!((s.ready, s.dead_lettered), (3, 0), "{overflow:?}");
    }
}

#[test]
fn batch_is_all_or_nothing_under_reject() {
    let (mut b, _) = broker();
    let q = b.declare_queue("q", opts(|o| o.max_length = Some(3))).unwrap();
    b.send(q, msg("a")).unwrap();
    assert_eq!(code(b.send_batch(q, vec![msg("b"), msg("c"), msg("d")])), ErrorCode::QueueFull);
    assert_eq!(b.queue_stats(q).unwrap().ready, 1);
    b.send_batch(q, vec![msg("b"), msg("c")]).unwrap();
    assert_eq!(payloads(&mut b, q), ["a", "b", "c"]);
}

#[test]
fn overflow_drop_oldest_dead_letters_in_send_order() {
    let (mut b, _) = broker();
    let q = b.declare_queue("q", opts(|o| {
        o.max_length = Some(2);
        o.overflow = Overflow::DropOldest;
    }))
    .unwrap();
    for p in ["a", "b", "c", "d"] {
        b.send(q, msg(p)).unwrap();
    }
    let dlq = b.queue_id("q.dlq");
    assert_eq!(dead_letters(&mut b), [(q, dlq, DeadLetterReason::MaxLen), (q, dlq, DeadLetterReason::MaxLen)]);
    assert_eq!(payloads(&mut b, q), ["c", "d"]);
    assert_eq!(payloads(&mut b, dlq.unwrap()), ["a", "b"]);
}

#[test]
fn overflow_drop_oldest_drops_the_earliest_enqueued_whatever_its_priority_or_delay() {
    let (mut b, _) = broker();
    let q = b.declare_queue("q", opts(|o| {
        o.max_length = Some(3);
        o.overflow = Overflow::DropOldest;
    }))
    .unwrap();
    b.send(q, with("later", |m| m.delay = 50)).unwrap();
    b.send(q, with("urgent", |m| m.priority = 9)).unwrap();
    b.send(q, msg("plain")).unwrap();
    b.send(q, with("newest", |m| m.priority = 9)).unwrap();
    b.send(q, msg("last")).unwrap();
    let dropped: Vec<_> = b
        .drain_effects()
        .filter_map(|e| match e {
            Effect::DeadLettered { id, reason: DeadLetterReason::MaxLen, .. } => Some(id),
            _ => None,
        })
        .collect();
    assert_eq!(dropped, [MessageId::Auto(1), MessageId::Auto(2)], "\"later\" then \"urgent\": in enqueue order");
    assert_eq!(payloads(&mut b, q), ["newest", "plain", "last"]);
}

#[test]
fn an_implicit_queue_declared_drop_oldest_drops_what_it_already_held() {
    let (mut b, _) = broker();
    let q = b.declare_queue("q", None).unwrap();
    b.send(q, with("first", |m| m.priority = 0)).unwrap();
    b.send(q, with("second", |m| m.priority = 5)).unwrap();
    for _ in 0..2 {
        let d = get(&mut b, q).unwrap();
        b.nack(d.tag, false, None).unwrap();
    }
    let dlq = b.queue_id("q.dlq").unwrap();
    let adopted = b.declare_queue("q.dlq", opts(|o| {
        o.max_length = Some(2);
        o.overflow = Overflow::DropOldest;
    }));
    assert_eq!(adopted, Ok(dlq));
    b.send(dlq, with("third", |m| m.priority = 9)).unwrap();
    let s = b.queue_stats(dlq).unwrap();
    assert_eq!((s.ready, s.dead_lettered), (2, 1));
    assert_eq!(payloads(&mut b, dlq), ["third", "second"], "\"first\" was enqueued earliest");
}

// ---- nack, backoff, dead-letter targets ------------------------------------------

#[test]
fn nack_requeue_uses_backoff_by_delivery_count() {
    let (mut b, clock) = broker();
    let backoff = Backoff { kind: BackoffKind::Exponential, base: 100, max: None, jitter: false };
    let q = b.declare_queue("q", opts(|o| o.backoff = backoff)).unwrap();
    b.send(q, msg("a")).unwrap();
    for expected_wait in [100, 200, 400] {
        let d = get(&mut b, q).unwrap();
        b.nack(d.tag, true, None).unwrap();
        clock.advance(expected_wait - 1);
        assert!(get(&mut b, q).is_none(), "not before {expected_wait}");
        clock.advance(1);
    }
    let d = get(&mut b, q).unwrap();
    assert_eq!(d.delivery_count, 4);
    b.nack(d.tag, true, Some(0)).unwrap();
    assert_eq!(get(&mut b, q).map(|d| d.delivery_count), Some(5), "explicit delay overrides the backoff");
}

#[test]
fn backoff_jitter_comes_from_the_injected_rng() {
    let run = |seed| {
        let clock = ManualClock::new(0);
        let mut b: B = Broker::new(clock.clone(), SplitMix64::new(seed));
        let backoff = Backoff { kind: BackoffKind::Fixed, base: 1_000_000, max: None, jitter: true };
        let q = b.declare_queue("q", opts(|o| o.backoff = backoff)).unwrap();
        b.send(q, msg("a")).unwrap();
        let d = b.take(q).unwrap().unwrap();
        b.nack(d.tag, true, None).unwrap();
        b.next_deadline()
    };
    assert_eq!(run(1), run(1));
    assert_ne!(run(1), run(2));
    assert!(run(3).is_some_and(|at| at <= 1_000_000));
}

#[test]
fn requeue_returns_to_original_position() {
    let (mut b, _) = broker();
    let q = b.declare_queue("q", None).unwrap();
    b.send_batch(q, vec![msg("a"), msg("b"), msg("c")]).unwrap();
    let a = get(&mut b, q).unwrap();
    let bb = get(&mut b, q).unwrap();
    b.nack(bb.tag, true, None).unwrap();
    b.nack(a.tag, true, None).unwrap();
    assert_eq!(payloads(&mut b, q), ["a", "b", "c"]);
}

#[test]
fn nack_without_requeue_is_rejected_and_delivery_limit_applies() {
    let (mut b, clock) = broker();
    let q = b.declare_queue("q", opts(|o| {
        o.max_deliveries = 2;
        o.lease = 10;
        o.dead_letter = DeadLetterTarget::Named("graveyard".into());
    }))
    .unwrap();
    b.send(q, msg("rej")).unwrap();
    let d = get(&mut b, q).unwrap();
    assert_eq!(code(b.nack(d.tag, false, Some(5))), ErrorCode::InvalidArgument);
    b.nack(d.tag, false, None).unwrap();
    let grave = b.queue_id("graveyard");
    assert!(grave.is_some());
    assert_eq!(dead_letters(&mut b), [(q, grave, DeadLetterReason::Rejected)]);

    b.send(q, msg("slow")).unwrap();
    get(&mut b, q).unwrap();
    clock.advance(10);
    let second = get(&mut b, q).unwrap();
    assert_eq!(second.delivery_count, 2);
    clock.advance(10);
    b.advance();
    assert_eq!(dead_letters(&mut b), [(q, grave, DeadLetterReason::DeliveryLimit)]);
    let s = b.queue_stats(q).unwrap();
    assert_eq!((s.dead_lettered, s.nacked, s.redelivered), (2, 1, 1));
    assert_eq!(payloads(&mut b, grave.unwrap()), ["rej", "slow"]);
}

#[test]
fn implicit_dead_letter_queue_discards_and_can_adopt_options() {
    let (mut b, _) = broker();
    let q = b.declare_queue("q", None).unwrap();
    b.send(q, msg("a")).unwrap();
    let d = get(&mut b, q).unwrap();
    b.nack(d.tag, false, None).unwrap();
    let dlq = b.queue_id("q.dlq").unwrap();
    let d = get(&mut b, dlq).unwrap();
    assert_eq!((d.payload, d.delivery_count), ("a", 1));
    b.nack(d.tag, false, None).unwrap();
    assert_eq!(dead_letters(&mut b), [(q, Some(dlq), DeadLetterReason::Rejected), (dlq, None, DeadLetterReason::Rejected)]);
    assert_eq!(b.queue_id("q.dlq.dlq"), None);
    assert_eq!(b.declare_queue("q.dlq", opts(|o| o.lease = 7)), Ok(dlq));
    assert_eq!(code(b.declare_queue("q.dlq", None).and_then(|_| b.declare_queue("q.dlq", opts(|o| o.lease = 8)))), ErrorCode::InvalidArgument);
}

#[test]
fn dead_letter_naming_the_queue_itself_is_refused_at_declare() {
    let (mut b, _) = broker();
    let to_itself = || opts(|o| o.dead_letter = DeadLetterTarget::Named("me".into()));
    let err = b.declare_queue("me", to_itself()).unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidArgument);
    assert_eq!(err.field, Some(Field::DeadLetter), "names the option: {err}");
    assert_eq!(b.queue_id("me"), None);
    let me = b.declare_queue("me", None).unwrap();
    assert_eq!(code(b.declare_queue("me", to_itself())), ErrorCode::InvalidArgument, "nor may an implicit queue adopt it");
    assert_eq!(b.declare_queue("me", opts(|o| o.lease = 5)), Ok(me));
}

#[test]
fn a_logged_queue_dead_lettering_to_itself_discards() {
    let (_, clock) = broker();
    let options = QueueOptions { dead_letter: DeadLetterTarget::Named("me".into()), ..QueueOptions::default() };
    let old_log = vec![Record::QueueDeclared { queue: QueueId(0), name: "me".into(), options, explicit: true }];
    let mut b = B::replay(clock, SplitMix64::new(0), old_log).unwrap();
    let me = b.queue_id("me").unwrap();
    b.send(me, msg("a")).unwrap();
    let d = get(&mut b, me).unwrap();
    b.nack(d.tag, false, None).unwrap();
    assert_eq!(dead_letters(&mut b), [(me, None, DeadLetterReason::Rejected)]);
    assert!(get(&mut b, me).is_none());
}

#[test]
fn a_full_target_discards_or_drops_its_oldest() {
    let (mut b, _) = broker();
    let full = b.declare_queue("full", opts(|o| o.max_length = Some(1))).unwrap();
    let dropper = b.declare_queue("dropper", opts(|o| {
        o.max_length = Some(1);
        o.overflow = Overflow::DropOldest;
    }))
    .unwrap();
    let src = b.declare_queue("src", opts(|o| o.dead_letter = DeadLetterTarget::Named("full".into()))).unwrap();
    let src2 = b.declare_queue("src2", opts(|o| o.dead_letter = DeadLetterTarget::Named("dropper".into()))).unwrap();
    b.send(full, msg("x")).unwrap();
    b.send(dropper, msg("y")).unwrap();
    b.send(src, msg("a")).unwrap();
    b.send(src2, msg("b")).unwrap();
    for q in [src, src2] {
        let d = get(&mut b, q).unwrap();
        b.nack(d.tag, false, None).unwrap();
    }
    assert_eq!(
        dead_letters(&mut b),
        [
            (src, None, DeadLetterReason::Rejected),
            (dropper, None, DeadLetterReason::MaxLen),
            (src2, Some(dropper), DeadLetterReason::Rejected)
        ]
    );
    assert_eq!(payloads(&mut b, full), ["x"]);
    assert_eq!(payloads(&mut b, dropper), ["b"]);
}

#[test]
fn dead_letter_queue_ttl_applies_to_arrivals() {
    let (mut b, clock) = broker();
    let q = b.declare_queue("q", None).unwrap();
    b.declare_queue("q.dlq", opts(|o| o.ttl = Some(100))).unwrap();
    b.send(q, msg("a")).unwrap();
    let d = get(&mut b, q).unwrap();
    b.nack(d.tag, false, None).unwrap();
    clock.advance(100);
    b.advance();
    let dlq = b.queue_id("q.dlq").unwrap();
    assert_eq!(b.queue_stats(dlq).unwrap().expired, 1);
}

// ---- dedup -------------------------------------------------------------------------

#[test]
fn dedup_window_accepts_but_does_not_enqueue_twice() {
    let (mut b, clock) = broker();
    let q = b.declare_queue("q", opts(|o| o.dedup_window = Some(1_000))).unwrap();
    let id = |s: &str| with("p", |m| m.id = Some(s.into()));
    assert_eq!(b.send(q, id("k")).unwrap(), MessageId::Given("k".into()));
    assert_eq!(b.send(q, id("k")).unwrap(), MessageId::Given("k".into()));
    assert_eq!(b.queue_stats(q).unwrap().ready, 1);
    let d = get(&mut b, q).unwrap();
    b.ack(d.tag).unwrap();
    b.send(q, id("k")).unwrap();
    assert!(get(&mut b, q).is_none(), "still a duplicate after the ack");
    let ids = b.send_batch(q, vec![id("x"), id("x"), msg("auto"), msg("auto")]).unwrap();
    assert_eq!(ids.len(), 4);
    assert_eq!(ids[0], ids[1]);
    assert_ne!(ids[2], ids[3], "generated ids are never dedup keys");
    assert_eq!(b.queue_stats(q).unwrap().ready, 3);
    clock.advance(1_000);
    b.send(q, id("k")).unwrap();
    assert_eq!(b.queue_stats(q).unwrap().ready, 4, "window over");
}

#[test]
fn without_a_window_ids_are_not_deduplicated() {
    let (mut b, _) = broker();
    let q = b.declare_queue("q", None).unwrap();
    for _ in 0..2 {
        b.send(q, with("p", |m| m.id = Some("same".into()))).unwrap();
    }
    assert_eq!(b.queue_stats(q).unwrap().ready, 2);
}

#[test]
fn duplicate_within_a_batch_needs_no_capacity() {
    let (mut b, _) = broker();
    let q = b.declare_queue("q", opts(|o| {
        o.dedup_window = Some(10);
        o.max_length = Some(1);
    }))
    .unwrap();
    let id = || with("p", |m| m.id = Some("k".into()));
    b.send_batch(q, vec![id(), id(), id()]).unwrap();
    assert_eq!(b.queue_stats(q).unwrap().ready, 1);
}

// ---- routing -----------------------------------------------------------------------

#[test]
fn publish_routes_once_per_queue_and_fans_out() {
    let (mut b, _) = broker();
    let orange = b.declare_queue("orange", None).unwrap();
    let all = b.declare_queue("all", None).unwrap();
    b.bind("*.orange.*", orange).unwrap();
    b.bind("quick.#", orange).unwrap();
    b.bind("#", all).unwrap();
    let ids = b.publish("quick.orange.rabbit", with("r", |m| m.id = Some("m1".into()))).unwrap();
    assert_eq!(ids, [MessageId::Given("m1".into()), MessageId::Given("m1".into())]);
    assert_eq!(payloads(&mut b, orange), ["r"]);
    assert_eq!(payloads(&mut b, all), ["r"]);
    assert_eq!(b.publish("", msg("empty")).unwrap().len(), 1, "# matches the empty key");
    b.unbind("#", all).unwrap();
    b.unbind("#", all).unwrap();
    assert_eq!(b.publish("lazy", msg("none")).unwrap(), []);
    assert_eq!(code(b.bind("a*", orange)), ErrorCode::InvalidArgument);
    assert_eq!(code(b.publish(&"k".repeat(256), msg("x"))), ErrorCode::InvalidArgument);
}

#[test]
fn publish_is_all_or_nothing_across_queues() {
    let (mut b, _) = broker();
    let open = b.declare_queue("open", None).unwrap();
    let full = b.declare_queue("full", opts(|o| o.max_length = Some(1))).unwrap();
    b.send(full, msg("x")).unwrap();
    b.bind("k", open).unwrap();
    b.bind("k", full).unwrap();
    assert_eq!(code(b.publish("k", msg("y"))), ErrorCode::QueueFull);
    assert_eq!(b.queue_stats(open).unwrap().ready, 0);
}

// ---- request/reply -----------------------------------------------------------------

#[test]
fn request_reply_resolves_and_acks() {
    let (mut b, _) = broker();
    let q = b.declare_queue("rpc", None).unwrap();
    let r = b.request(q, msg("ping"), Some(1_000)).unwrap();
    let d = get(&mut b, q).unwrap();
    assert_eq!(d.request, Some(r));
    b.reply(d.tag, "pong").unwrap();
    assert_eq!(b.drain_effects().collect::<Vec<_>>(), [Effect::Reply { request: r, payload: "pong" }]);
    assert_eq!(code(b.ack(d.tag)), ErrorCode::StaleDelivery);
    assert_eq!(b.queue_stats(q).unwrap().acked, 1);
    assert_eq!(b.next_deadline(), None, "the timeout timer is pruned once answered");

    b.send(q, msg("plain")).unwrap();
    let d = get(&mut b, q).unwrap();
    assert_eq!(code(b.reply(d.tag, "x")), ErrorCode::InvalidArgument);
    b.ack(d.tag).unwrap();
    assert_eq!(code(b.request(q, msg("x"), Some(0))), ErrorCode::InvalidArgument);
}

#[test]
fn request_times_out_or_is_cancelled() {
    let (mut b, clock) = broker();
    let q = b.declare_queue("rpc", None).unwrap();
    let slow = b.request(q, msg("a"), Some(100)).unwrap();
    let cancelled = b.request(q, msg("b"), None).unwrap();
    assert_ne!(slow, cancelled);
    clock.advance(100);
    b.advance();
    assert_eq!(b.drain_effects().collect::<Vec<_>>(), [Effect::RequestTimedOut { request: slow }]);
    b.cancel_request(cancelled);
    for _ in 0..2 {
        let d = get(&mut b, q).unwrap();
        b.reply(d.tag, "late").unwrap();
    }
    assert_eq!(b.drain_effects().count(), 0, "nobody is waiting any more");
}

// ---- stats -----------------------------------------------------------------------------

#[test]
fn latency_percentiles_and_throughput() {
    let (mut b, clock) = broker();
    let q = b.declare_queue("q", None).unwrap();
    for wait in 1..=100 {
        b.send(q, msg("m")).unwrap();
        let d = get(&mut b, q).unwrap();
        clock.advance(wait);
        b.ack(d.tag).unwrap();
    }
    let s = b.queue_stats(q).unwrap();
    assert_eq!(s.latency_p50, 50.0);
    assert!((s.latency_p95 - 95.0).abs() <= 95.0 * 0.02, "{}", s.latency_p95);
    assert!((s.latency_p99 - 99.0).abs() <= 99.0 * 0.02, "{}", s.latency_p99);
    // The last 10 s held the acks after t = 1000 + 5050 - 10000 ... all of them here
    // fall in the window only partly: count them from the clock.
    let now = 1_000 + 5_050;
    let in_window = (1..=100u64).scan(1_000, |t, w| {
        *t += w;
        Some(*t)
    });
    let recent = in_window.filter(|t| t / 1_000 + 10 > now / 1_000).count();
    assert_eq!(s.throughput_per_sec, recent as f64 / 10.0);
    clock.advance(20_000);
    assert_eq!(b.queue_stats(q).unwrap().throughput_per_sec, 0.0);
}

// ---- memory ------------------------------------------------------------------------

#[test]
fn timers_of_settled_messages_do_not_pile_up() {
    let (mut b, clock) = broker();
    let hour = 3_600_000;
    let q = b.declare_queue("q", opts(|o| o.ttl = Some(hour))).unwrap();
    b.send_batch(q, vec![msg("live"); 10]).unwrap();
    let mut most = 0;
    for _ in 0..100_000 {
        b.send(q, msg("m")).unwrap();
        let d = b.take(q).unwrap().unwrap();
        b.ack(d.tag).unwrap();
        most = most.max(b.timers.len());
    }
    assert!(most < 200, "{most} timer entries for about 10 live messages");

    // A burst that is drained leaves nothing behind either.
    b.send_batch(q, vec![msg("burst"); 10_000]).unwrap();
    let all: Vec<_> = std::iter::from_fn(|| get(&mut b, q)).collect();
    assert_eq!(all.len(), 10_010);
    for d in all {
        b.ack(d.tag).unwrap();
    }
    assert!(b.timers.len() < 200, "{} entries once drained", b.timers.len());

    // The live ones still expire on time.
    b.send_batch(q, vec![msg("late"); 10]).unwrap();
    clock.advance(hour);
    b.advance();
    let s = b.queue_stats(q).unwrap();
    assert_eq!((s.expired, s.ready), (10, 0));
}

// ---- records, replay, recovery -------------------------------------------------------

fn busy_broker() -> (B, ManualClock, QueueId) {
    let (mut b, clock) = broker();
    b.set_recording(true);
    let backoff = Backoff { kind: BackoffKind::Fixed, base: 40, max: None, jitter: true };
    let q = b
        .declare_queue("work", opts(|o| {
            o.lease = 100;
            o.max_deliveries = 3;
            o.backoff = backoff;
            o.dedup_window = Some(500);
            o.max_length = Some(6);
            o.overflow = Overflow::DropOldest;
        }))
        .unwrap();
    let logs = b.declare_queue("logs", None).unwrap();
    b.bind("work.#", q).unwrap();
    b.bind("#", logs).unwrap();
    b.bind("tmp", logs).unwrap();
    b.unbind("tmp", logs).unwrap();
    for i in 0..8u8 {
        b.send(q, with("w", |m| {
            m.priority = i % 3;
            m.delay = u64::from(i) * 7;
            m.ttl = (i % 4 == 0).then_some(60);
            m.id = (i % 2 == 0).then(|| format!("id{}", i % 3).into());
        }))
        .unwrap();
        clock.advance(5);
    }
    b.publish("work.x", msg("routed")).unwrap();
    b.request(q, msg("req"), Some(30)).unwrap();
    let c = b.subscribe(q, Subscription { prefetch: 2, ..Default::default() }).unwrap();
    clock.advance(20);
    let first = get(&mut b, q).unwrap();
    b.nack(first.tag, true, None).unwrap();
    let extended = get(&mut b, q).expect("a message to hold past its lease");
    b.extend_lease(extended.tag, 250).unwrap();
    clock.advance(120);
    b.advance();
    let acked = get(&mut b, q).expect("a message to ack");
    b.ack(acked.tag).unwrap();
    b.cancel(c);
    b.purge(logs).unwrap();
    b.send(logs, msg("kept")).unwrap();
    b.drain_effects().for_each(drop);
    (b, clock, q)
}

#[test]
fn replay_reproduces_the_durable_state() {
    let (mut live, clock, _) = busy_broker();
    let records = live.seal().records;
    assert!(records.len() > 20);
    let mut replayed = B::replay(clock.clone(), SplitMix64::new(0), records.clone()).unwrap();
    assert!(replayed.same_durable_state(&live));
    assert!(replayed.seal().records.is_empty(), "recording is off after replay");

    // Later records extend the same state on both sides.
    clock.advance(1_000);
    live.advance();
    replayed.advance();
    assert!(replayed.same_durable_state(&live));

    // A truncated log is a different state, and a nonsense one is refused.
    let shorter = B::replay(clock.clone(), SplitMix64::new(0), records[..records.len() - 1].to_vec()).unwrap();
    assert!(!shorter.same_durable_state(&live));
    let bogus = vec![Record::Acked { tag: DeliveryTag(77), at: 0 }];
    assert_eq!(B::replay(clock, SplitMix64::new(0), bogus).err().map(|e| e.code), Some(ErrorCode::Storage));
}

#[test]
fn replayed_leases_expire_and_recover_in_flight_returns_them() {
    let (mut b, clock) = broker();
    b.set_recording(true);
    let q = b.declare_queue("q", opts(|o| o.lease = 100)).unwrap();
    b.send_batch(q, vec![msg("a"), msg("b"), msg("c")]).unwrap();
    let _c = b.subscribe(q, Subscription { prefetch: 2, ..Default::default() }).unwrap();
    let records = b.seal().records;

    let mut expiring = B::replay(clock.clone(), SplitMix64::new(0), records.clone()).unwrap();
    assert_eq!(expiring.queue_stats(q).unwrap().in_flight, 2);
    assert_eq!(expiring.next_deadline(), Some(1_100));
    clock.advance(100);
    expiring.advance();
    assert_eq!(expiring.queue_stats(q).unwrap().ready, 3);

    let mut recovering = B::replay(clock.clone(), SplitMix64::new(0), records).unwrap();
    recovering.recover_in_flight();
    let redelivered = recovering.drain_effects().filter(|e| matches!(e, Effect::Redelivered { .. })).count();
    assert_eq!(redelivered, 2);
    let d = recovering.take(q).unwrap().unwrap();
    assert_eq!((d.payload, d.redelivered, d.delivery_count), ("a", true, 2));
}

#[test]
fn snapshot_replays_into_the_same_state_and_carries_on_alike() {
    let (mut live, clock, q) = busy_broker();
    live.seal();
    let snapshot = live.snapshot_records();
    let kinds = |r: &Record<&str>| !matches!(r, Record::Enqueued { .. } | Record::Acked { .. } | Record::Leased { .. });
    assert!(snapshot.iter().all(kinds), "a snapshot holds state, not history");
    let mut restored = B::replay(clock.clone(), SplitMix64::new(0), snapshot).unwrap();
    assert!(restored.same_durable_state(&live));

    // Deadlines came back with the messages: time moves both alike.
    restored.set_recording(true);
    for _ in 0..4 {
        clock.advance(60);
        live.advance();
        restored.advance();
        assert!(restored.same_durable_state(&live));
    }
    // Ids are not reused, and a recent caller id is still a duplicate.
    let again = with("w", |m| m.id = Some("id0".into()));
    assert_eq!(live.send(q, again.clone()).unwrap(), restored.send(q, again).unwrap());
    assert_eq!(live.send(q, msg("new")).unwrap(), restored.send(q, msg("new")).unwrap());
    assert!(restored.same_durable_state(&live));
    assert_eq!(restored.queue_stats(q).unwrap(), live.queue_stats(q).unwrap());
}

// ---- durable commit: effects wait for their records ---------------------------------

fn recording() -> (B, ManualClock) {
    let (mut b, clock) = broker();
    b.set_recording(true);
    (b, clock)
}

#[test]
fn declarations_and_bindings_are_work_to_commit() {
    let (mut b, _) = recording();
    assert!(!b.has_work());
    let q = b.declare_queue("q", None).unwrap();
    assert!(b.has_work(), "a declaration alone must reach the log");
    assert!(matches!(b.seal().records[..], [Record::QueueDeclared { .. }]));
    assert!(!b.has_work());
    b.bind("a.#", q).unwrap();
    assert!(matches!(b.seal().records[..], [Record::Bound { .. }]));
    b.unbind("a.#", q).unwrap();
    assert!(matches!(b.seal().records[..], [Record::Unbound { .. }]));
}

#[test]
fn deliveries_wait_for_the_commit_of_their_lease() {
    let (mut b, _) = recording();
    let q = b.declare_queue("q", None).unwrap();
    let c = b.subscribe(q, Subscription::default()).unwrap();
    b.send(q, msg("a")).unwrap();
    assert_eq!(delivered(&mut b), [], "nothing is handed out before it is sealed");
    let sealed = b.seal();
    assert!(sealed.records.iter().any(|r| matches!(r, Record::Leased { .. })));
    assert_eq!(delivered(&mut b), [], "nor before its epoch is committed");
    // A later epoch's commit releases the earlier ones too, in order.
    b.send(q, msg("b")).unwrap();
    let later = b.seal();
    assert!(later.epoch > sealed.epoch);
    b.committed(sealed.epoch);
    assert_eq!(delivered(&mut b).iter().map(|d| (d.0, d.1)).collect::<Vec<_>>(), [(c, "a")]);
    b.committed(later.epoch);
    assert_eq!(delivered(&mut b), [], "b waits: the consumer's prefetch of 1 is taken");
}

#[test]
fn a_consumer_cancelled_while_its_deliveries_are_written_gets_them_back_uncounted() {
    let (mut b, _) = recording();
    let q = b.declare_queue("q", opts(|o| o.max_deliveries = 1)).unwrap();
    let c = b.subscribe(q, Subscription { prefetch: 2, ..Default::default() }).unwrap();
    b.send_batch(q, vec![msg("a"), msg("b")]).unwrap();
    let sealed = b.seal();
    b.cancel(c);
    b.committed(sealed.epoch);
    assert_eq!(delivered(&mut b), []);
    let second = b.seal();
    assert!(second.records.iter().all(|r| matches!(r, Record::Released { .. })), "{:?}", second.records);
    b.committed(second.epoch);
    assert_eq!(b.queue_stats(q).unwrap().ready, 2, "with maxDeliveries 1, nothing was dead-lettered");
    let d = get(&mut b, q).unwrap();
    assert_eq!((d.payload, d.delivery_count, d.redelivered), ("a", 1, false));
}

#[test]
fn a_message_that_expires_while_its_lease_is_written_is_never_handed_out() {
    let (mut b, clock) = recording();
    let q = b.declare_queue("q", None).unwrap();
    b.subscribe(q, Subscription::default()).unwrap();
    b.send(q, with("short", |m| m.ttl = Some(5))).unwrap();
    let sealed = b.seal();
    clock.advance(10);
    b.committed(sealed.epoch);
    assert_eq!(delivered(&mut b), []);
    let next = b.seal();
    assert!(next.records.iter().any(|r| matches!(r, Record::DeadLettered { reason: DeadLetterReason::Expired, .. })));
    b.committed(next.epoch);
    assert!(b.drain_effects().any(|e| matches!(e, Effect::Expired { .. })));

    // The same for a delivery taken by get(), on a queue nobody consumes.
    let polled = b.declare_queue("polled", None).unwrap();
    b.send_batch(polled, vec![with("in time", |m| m.ttl = Some(5)), with("late", |m| m.ttl = Some(5))]).unwrap();
    let first = b.take(polled).unwrap().unwrap();
    assert!(b.hand_out(first.tag), "in time");
    let second = b.take(polled).unwrap().unwrap();
    clock.advance(10);
    assert!(!b.hand_out(second.tag), "expired while its lease was written");
    assert_eq!(b.queue_stats(polled).unwrap().expired, 1);
}

// ---- memory-only queues on a durable broker -----------------------------------------

/// Every record `b` made so far, as a host would have logged them.
fn logged(b: &mut B) -> Vec<Record<&'static str>> {
    let sealed = b.seal();
    b.committed(sealed.epoch);
    sealed.records
}

#[test]
fn a_memory_only_queue_logs_its_declaration_and_bindings_but_not_its_messages() {
    let (mut b, clock) = recording();
    let keep = b.declare_queue("keep", None).unwrap();
    let scratch = b.declare_queue("scratch", opts(|o| o.durable = false)).unwrap();
    b.bind("s.#", scratch).unwrap();
    b.send_batch(scratch, vec![msg("s1"), msg("s2")]).unwrap();
    let d = get(&mut b, scratch).unwrap();
    b.ack(d.tag).unwrap();
    b.send(keep, msg("k")).unwrap();
    let mut log = logged(&mut b);
    let scratch_records = log.iter().filter(|r| match r {
        Record::Enqueued { queue, .. } => *queue == scratch,
        Record::Leased { .. } | Record::Acked { .. } => true,
        _ => false,
    });
    assert_eq!(scratch_records.count(), 0, "{log:?}");

    let replayed = B::replay(clock.clone(), SplitMix64::new(0), log.clone()).unwrap();
    assert_eq!(replayed.queue_id("scratch"), Some(scratch), "the queue is there after a restart");
    assert_eq!(replayed.queue_stats(scratch).unwrap().ready, 0, "its messages are not");
    assert_eq!(replayed.queue_stats(keep).unwrap().ready, 1);
    // Ids are never reused after a restart, though the log never saw s1, s2.
    let mut reopened = B::replay(clock.clone(), SplitMix64::new(0), log.drain(..)).unwrap();
    let next = reopened.send(keep, msg("k2")).unwrap();
    let live = b.send(keep, msg("k2")).unwrap();
    assert_eq!(next, live);
    assert!(matches!(next, MessageId::Auto(n) if n > 3));
}

#[test]
fn dead_letters_crossing_between_durable_and_memory_only_queues_are_logged_as_discards_or_arrivals() {
    let (mut b, clock) = recording();
    let keep = b.declare_queue("keep", opts(|o| o.dead_letter = DeadLetterTarget::Named("scratch".into()))).unwrap();
    let scratch = b
        .declare_queue("scratch", opts(|o| {
            o.durable = false;
            o.dead_letter = DeadLetterTarget::Named("archive".into());
        }))
        .unwrap();
    let archive = b.declare_queue("archive", None).unwrap();
    let temp = b.declare_queue("temp", opts(|o| o.durable = false)).unwrap();
    b.send(keep, msg("durable, then memory-only")).unwrap();
    b.send(scratch, msg("memory-only, then durable")).unwrap();
    b.send(temp, msg("memory-only dead letter")).unwrap();
    for q in [scratch, temp, keep] {
        let d = get(&mut b, q).unwrap();
        b.nack(d.tag, false, None).unwrap();
    }
    assert_eq!(b.queue_stats(scratch).unwrap().ready, 1, "keep's message is in scratch, in memory");
    let temp_dlq = b.queue_id("temp.dlq").unwrap();
    assert_eq!(b.queue_stats(temp_dlq).unwrap().ready, 1);
    let log = logged(&mut b);

    let mut replayed = B::replay(clock.clone(), SplitMix64::new(0), log.clone()).unwrap();
    assert_eq!(replayed.queue_stats(keep).unwrap().ready, 0, "to the log, keep's message was discarded");
    assert_eq!(replayed.queue_stats(keep).unwrap().dead_lettered, 1);
    assert_eq!(replayed.queue_stats(scratch).unwrap().ready, 0);
    assert_eq!(payloads(&mut replayed, archive), ["memory-only, then durable"], "it arrived whole");
    assert_eq!(replayed.queue_stats(temp_dlq).unwrap().ready, 0, "an implicit DLQ of a memory-only queue is memory-only");
    // What a compaction writes is what the log says.
    let from_snapshot = B::replay(clock.clone(), SplitMix64::new(0), b.snapshot_records()).unwrap();
    let from_log = B::replay(clock, SplitMix64::new(0), log).unwrap();
    assert!(from_snapshot.same_durable_state(&from_log));
}

// ---- review: suspected bugs -------------------------------------------------------

/// Seals and commits until nothing is left, collecting every effect drained.
fn settle_all(b: &mut B) -> Vec<Effect<&'static str>> {
    let mut all = Vec::new();
    for _ in 0..4 {
        let sealed = b.seal();
        b.committed(sealed.epoch);
        all.extend(b.drain_effects());
    }
    all
}

#[test]
fn a_receive_whose_held_delivery_is_dropped_at_commit_still_ends() {
    let (mut b, clock) = recording();
    let q = b.declare_queue("q", None).unwrap();
    // A receive() with a deadline: one delivery, or WaitExpired at 1_500.
    let c = b.subscribe(q, Subscription { once: true, deadline: Some(1_500), ..Default::default() }).unwrap();
    b.send(q, with("short", |m| m.ttl = Some(5))).unwrap();
    let sealed = b.seal();
    clock.advance(10);
    // The message expired while its lease was written: not handed out.
    b.committed(sealed.epoch);
    let mut seen = b.drain_effects().collect::<Vec<_>>();
    seen.extend(settle_all(&mut b));
    // The receive must still end: with a later message, or at its deadline.
    b.send(q, msg("later")).unwrap();
    seen.extend(settle_all(&mut b));
    clock.advance(1_000);
    b.advance();
    seen.extend(settle_all(&mut b));
    let ended = seen.iter().any(|e| match e {
        Effect::Deliver { consumer, .. } => *consumer == c,
        Effect::WaitExpired { consumer } => *consumer == c,
        _ => false,
    });
    assert!(ended, "the receive never hears of anything again: {seen:?}");
}

#[test]
fn ids_taken_by_a_memory_only_queue_are_work_to_commit() {
    let (mut b, _) = recording();
    let scratch = b.declare_queue("scratch", opts(|o| o.durable = false)).unwrap();
    logged(&mut b);
    assert!(!b.has_work());
    b.send(scratch, msg("s")).unwrap();
    let told = b.has_work();
    let sealed = b.seal();
    assert!(
        told || sealed.records.is_empty(),
        "has_work() said nothing to commit, yet the seal holds {:?}",
        sealed.records
    );
}

/// An implicit queue's counters were logged, or not, by the durability it
/// was created with (its source's); adopting it with the other would make
/// the log and a compaction's snapshot disagree after a restart.
fn adopting_with_other_durability_is_refused(source_durable: bool) {
    let (mut b, clock) = recording();
    let src = b.declare_queue("src", opts(|o| o.durable = source_durable)).unwrap();
    b.send(src, msg("m")).unwrap();
    let d = get(&mut b, src).unwrap();
    b.nack(d.tag, false, None).unwrap();
    let dlq = b.queue_id("src.dlq").unwrap();
    let d = get(&mut b, dlq).unwrap();
    b.ack(d.tag).unwrap();
    let other = opts(|o| o.durable = !source_durable);
    assert_eq!(b.declare_queue("src.dlq", other).map_err(|e| e.code), Err(ErrorCode::InvalidArgument));
    // The same durability is adopted as usual.
    assert_eq!(b.declare_queue("src.dlq", opts(|o| o.durable = source_durable)).unwrap(), dlq);
    let log = logged(&mut b);
    let from_log = B::replay(clock.clone(), SplitMix64::new(0), log).unwrap();
    let from_snapshot = B::replay(clock, SplitMix64::new(0), b.snapshot_records()).unwrap();
    assert_eq!(from_log.queue_stats(dlq).unwrap(), from_snapshot.queue_stats(dlq).unwrap());
    assert!(from_snapshot.same_durable_state(&from_log));
}

#[test]
fn an_implicit_memory_only_dead_letter_queue_cannot_be_adopted_as_durable() {
    adopting_with_other_durability_is_refused(false);
}

#[test]
fn an_implicit_durable_dead_letter_queue_cannot_be_adopted_as_memory_only() {
    adopting_with_other_durability_is_refused(true);
}

#[test]
fn a_lease_that_runs_out_before_its_delivery_is_handed_out_does_not_count() {
    // The commit that writes the lease takes longer than the lease: nobody
    // ever had the message, so the delivery is not a failed one (with
    // maxDeliveries 1 it would otherwise be dead-lettered unseen).
    let (mut b, clock) = recording();
    let q = b.declare_queue("q", opts(|o| {
        o.lease = 10;
        o.max_deliveries = 1;
    }))
    .unwrap();
    let c = b.subscribe(q, Subscription::default()).unwrap();
    b.send(q, msg("slow commit")).unwrap();
    let sealed = b.seal();
    clock.advance(20);
    b.advance();
    b.committed(sealed.epoch);
    assert_eq!(delivered(&mut b), [], "the stale delivery is not handed out");
    assert!(dead_letters(&mut b).is_empty());
    // It is delivered again, as a first delivery, once that lease is written.
    let next = b.seal();
    b.committed(next.epoch);
    let got: Vec<_> = b.drain_effects().collect();
    let first = got.iter().find_map(|e| match e {
        Effect::Deliver { consumer, delivery } if *consumer == c => Some((delivery.payload, delivery.delivery_count, delivery.redelivered)),
        _ => None,
    });
    assert_eq!(first, Some(("slow commit", 1, false)), "{got:?}");
    assert_eq!(b.queue_stats(q).unwrap().dead_lettered, 0);

    // The same for a delivery taken by get() and not handed out yet.
    let polled = b.declare_queue("polled", opts(|o| {
        o.lease = 10;
        o.max_deliveries = 1;
    }))
    .unwrap();
    b.send(polled, msg("polled")).unwrap();
    let d = b.take(polled).unwrap().unwrap();
    clock.advance(20);
    b.advance();
    assert!(!b.hand_out(d.tag), "its lease ran out before it was handed out");
    let again = b.take(polled).unwrap().unwrap();
    assert_eq!((again.payload, again.delivery_count), ("polled", 1));
}

/// With drops reported, every payload the broker lets go of for good comes
/// back once, as it goes: acked, discarded, purged, expired, refused as a
/// duplicate, or a reply to nobody. One moved to a dead-letter queue is not
/// dropped until it leaves that queue.
#[test]
fn reported_drops_name_each_payload_once_when_it_is_gone() {
    let (mut b, clock) = broker();
    b.report_drops(true);
    let drops = |b: &mut B| -> Vec<&'static str> {
        b.drain_effects().filter_map(|e| if let Effect::Dropped { payload } = e { Some(payload) } else { None }).collect()
    };
    let q = b.declare_queue("q", opts(|o| {
        o.dedup_window = Some(1_000);
        o.dead_letter = DeadLetterTarget::Discard;
    }))
    .unwrap();
    b.send(q, msg("acked")).unwrap();
    b.send(q, with("first", |m| m.id = Some("same".into()))).unwrap();
    b.send(q, with("duplicate", |m| m.id = Some("same".into()))).unwrap();
    assert_eq!(drops(&mut b), ["duplicate"], "a duplicate is let go of at once");
    let d = get(&mut b, q).unwrap();
    assert!(drops(&mut b).is_empty(), "a delivery is no drop");
    b.ack(d.tag).unwrap();
    assert_eq!(drops(&mut b), ["acked"]);
    let d = get(&mut b, q).unwrap();
    b.nack(d.tag, false, None).unwrap();
    assert_eq!(drops(&mut b), ["first"], "rejected with nowhere to go: discarded");

    b.send(q, msg("purged")).unwrap();
    assert_eq!(b.purge(q).unwrap(), 1);
    assert_eq!(drops(&mut b), ["purged"]);

    b.send(q, with("expires", |m| m.ttl = Some(10))).unwrap();
    clock.advance(10);
    b.advance();
    assert_eq!(drops(&mut b), ["expires"]);

    let kept = b.declare_queue("kept", opts(|o| o.dead_letter = DeadLetterTarget::Named("kept.dlq".into()))).unwrap();
    b.send(kept, msg("moved")).unwrap();
    let d = get(&mut b, kept).unwrap();
    b.nack(d.tag, false, None).unwrap();
    assert!(drops(&mut b).is_empty(), "moved to its dead-letter queue, not dropped");
    let dlq = b.queue_id("kept.dlq").unwrap();
    assert_eq!(payloads(&mut b, dlq), ["moved"]);
    assert_eq!(drops(&mut b), ["moved"]);

    let r = b.request(q, msg("question"), Some(5)).unwrap();
    let d = get(&mut b, q).unwrap();
    clock.advance(5);
    b.advance();
    assert!(b.drain_effects().any(|e| e == Effect::RequestTimedOut { request: r }));
    b.reply(d.tag, "late answer").unwrap();
    assert_eq!(drops(&mut b), ["question", "late answer"], "the request is acked; its answer has nobody to go to");
}
