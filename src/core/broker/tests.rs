//! Behaviour of the broker through its public commands, on a manual clock.

use super::*;
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
    b.get(q).expect("get")
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
fn unknown_ids_are_errors_not_panics() {
    let (mut b, _) = broker();
    let q = QueueId(99);
    assert_eq!(code(b.send(q, msg("x"))), ErrorCode::InvalidArgument);
    assert_eq!(code(b.get(q)), ErrorCode::InvalidArgument);
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
fn once_subscription_takes_one_or_times_out() {
    let (mut b, clock) = broker();
    let q = b.declare_queue("q", None).unwrap();
    let w = b.subscribe(q, Subscription { once: true, deadline: Some(1_500), prefetch: 1 }).unwrap();
    assert_eq!(b.next_deadline(), Some(1_500));
    b.send(q, msg("a")).unwrap();
    b.send(q, msg("b")).unwrap();
    let got = delivered(&mut b);
    assert_eq!(got.iter().map(|d| (d.0, d.1)).collect::<Vec<_>>(), [(w, "a")]);
    // The waiter is gone but its delivery is still valid.
    b.ack(got[0].2).unwrap();
    assert_eq!(b.next_deadline(), None, "the waiter's timer was pruned");

    let w2 = b.subscribe(q, Subscription { once: true, deadline: Some(1_600), prefetch: 1 }).unwrap();
    assert_eq!(delivered(&mut b).len(), 1);
    let w3 = b.subscribe(q, Subscription { once: true, deadline: Some(1_600), prefetch: 1 }).unwrap();
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
    clock.advance(100);
    b.advance();
    let s = b.queue_stats(q).unwrap();
    assert_eq!((s.ready, s.delayed, s.in_flight), (1, 0, 1));
    b.nack(d.tag, true, None).unwrap();
    let s = b.queue_stats(q).unwrap();
    assert_eq!((s.ready, s.nacked, s.redelivered), (2, 1, 1));
}
