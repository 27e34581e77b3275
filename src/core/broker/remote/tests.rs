//! The local half of a shared broker, on a manual clock, with the server's
//! answers given by hand.

use super::*;
use crate::core::backoff::{Backoff, BackoffKind};
use crate::core::rate::RateLimit;
use crate::core::rng::SplitMix64;
use crate::core::time::ManualClock;

type B = RemoteBroker<&'static str, ManualClock, SplitMix64>;

const LEASE: Millis = 30_000;

fn broker() -> (B, ManualClock, QueueId) {
    let clock = ManualClock::new(1_000);
    let mut b = RemoteBroker::new(clock.clone(), SplitMix64::new(7));
    let q = b.declare_queue("jobs", None).unwrap();
    (b, clock, q)
}

fn claimed(seq: u64, payload: &'static str) -> Claimed<&'static str> {
    Claimed { at: ServerRef { seq, tag: 100 + seq }, id: MessageId::Auto(seq), payload, delivery_count: 1, enqueued_at: 500, request: false }
}

fn commands(b: &mut B) -> Vec<Command> {
    b.drain_commands().collect()
}

/// (consumer, payload, tag) of each delivery; other effects as their Debug
/// text. Each delivery is followed by the drop of its payload: the core
/// keeps none.
fn effects(b: &mut B) -> (Vec<(ConsumerId, &'static str, DeliveryTag)>, Vec<String>) {
    let mut deliveries = Vec::new();
    let mut other = Vec::new();
    let mut effects = b.drain_effects().collect::<Vec<_>>().into_iter();
    while let Some(e) = effects.next() {
        match e {
            Effect::Deliver { consumer, delivery } => {
                assert_eq!(effects.next(), Some(Effect::Dropped { payload: delivery.payload }));
                deliveries.push((consumer, delivery.payload, delivery.tag));
            }
            e => other.push(format!("{e:?}")),
        }
    }
    (deliveries, other)
}

fn consumer(prefetch: u32) -> Subscription {
    Subscription { prefetch, ..Default::default() }
}

fn wait_until(at: Millis) -> Subscription {
    Subscription { once: true, deadline: Some(at), ..Default::default() }
}

#[test]
fn a_receive_of_zero_ms_asks_the_server_once_and_its_answer_decides() {
    let (mut b, _, q) = broker();
    let c = b.subscribe(q, wait_until(1_000)).unwrap();
    assert_eq!(commands(&mut b), [Command::Claim { queue: q, max: 1 }]);
    assert_eq!(effects(&mut b).1, Vec::<String>::new(), "the wait waits for the claim");
    b.claimed(q, LEASE, vec![]).unwrap();
    assert_eq!(effects(&mut b).1, [format!("{:?}", Effect::<&str>::WaitExpired { consumer: c })]);
    assert_eq!(commands(&mut b), [], "nobody wants more");

    let c = b.subscribe(q, wait_until(1_000)).unwrap();
    assert_eq!(commands(&mut b), [Command::Claim { queue: q, max: 1 }], "a new receive asks again");
    b.claimed(q, LEASE, vec![claimed(1, "a")]).unwrap();
    let (delivered, other) = effects(&mut b);
    assert_eq!((delivered.len(), delivered[0].0, delivered[0].1), (1, c, "a"));
    assert!(other.is_empty(), "{other:?}");
}

#[test]
fn consumers_claim_what_their_prefetch_has_room_for_and_wait_when_the_server_is_empty() {
    let (mut b, _, q) = broker();
    b.subscribe(q, consumer(3)).unwrap();
    assert_eq!(commands(&mut b), [Command::Claim { queue: q, max: 3 }]);
    b.claimed(q, LEASE, vec![claimed(1, "a"), claimed(2, "b")]).unwrap();
    let (delivered, _) = effects(&mut b);
    assert_eq!(delivered.iter().map(|d| d.1).collect::<Vec<_>>(), ["a", "b"]);
    assert_eq!(commands(&mut b), [], "the server had no more: no claim until it says so");
    assert_eq!(b.starved(), [q]);
    assert_eq!(b.settle(delivered[0].2).unwrap(), Settlement { queue: q, at: ServerRef { seq: 1, tag: 101 } });
    assert_eq!(commands(&mut b), [], "room again, but still nothing due");
    assert!(b.woken(q));
    assert_eq!(commands(&mut b), [Command::Claim { queue: q, max: 2 }]);
    assert_eq!(b.starved(), [], "a claim is in flight");
    b.claimed(q, LEASE, vec![claimed(3, "c"), claimed(4, "d")]).unwrap();
    assert_eq!(commands(&mut b), [], "full: nothing to claim");
    assert_eq!(b.starved(), [], "no demand, nothing to wait for");
    assert!(!b.woken(q), "a wake-up nobody here wants is left for others");
}

#[test]
fn a_full_claim_claims_again_at_once() {
    let (mut b, _, q) = broker();
    b.subscribe(q, consumer(2)).unwrap();
    let c2 = b.subscribe(q, consumer(1)).unwrap();
    assert_eq!(commands(&mut b), [Command::Claim { queue: q, max: 2 }], "one claim at a time");
    b.claimed(q, LEASE, vec![claimed(1, "a"), claimed(2, "b")]).unwrap();
    let (delivered, _) = effects(&mut b);
    assert_eq!(delivered[1].0, c2, "round-robin");
    assert_eq!(commands(&mut b), [Command::Claim { queue: q, max: 1 }], "the claim was answered in full: more may wait");
}

#[test]
fn what_nobody_can_take_when_a_claim_comes_back_goes_back_uncounted() {
    let (mut b, _, q) = broker();
    let c = b.subscribe(q, consumer(2)).unwrap();
    commands(&mut b);
    b.cancel(c);
    b.claimed(q, LEASE, vec![claimed(1, "a"), claimed(2, "b")]).unwrap();
    assert_eq!(
        commands(&mut b),
        [Command::Release { queue: q, at: ServerRef { seq: 1, tag: 101 } }, Command::Release { queue: q, at: ServerRef { seq: 2, tag: 102 } }]
    );
    assert_eq!(effects(&mut b).1, ["Dropped { payload: \"a\" }", "Dropped { payload: \"b\" }"]);
}

#[test]
fn a_cancelled_consumer_fails_what_it_held_and_releases_what_it_never_saw() {
    let (mut b, _, q) = broker();
    let c = b.subscribe(q, consumer(2)).unwrap();
    commands(&mut b);
    b.claimed(q, LEASE, vec![claimed(1, "a")]).unwrap();
    let (delivered, _) = effects(&mut b);
    assert!(b.woken(q));
    commands(&mut b);
    b.claimed(q, LEASE, vec![claimed(2, "b")]).unwrap();
    b.cancel(c);
    assert_eq!(
        commands(&mut b),
        [Command::Release { queue: q, at: ServerRef { seq: 2, tag: 102 } }, Command::Fail { queue: q, at: ServerRef { seq: 1, tag: 101 } }]
    );
    assert_eq!(effects(&mut b).0, [], "the undrained delivery is gone");
    assert_eq!(b.settle(delivered[0].2).map_err(|e| e.code), Err(ErrorCode::StaleDelivery));
}

#[test]
fn a_nack_waits_for_the_queues_backoff_or_the_callers_delay() {
    let clock = ManualClock::new(1_000);
    let mut b: B = RemoteBroker::new(clock, SplitMix64::new(7));
    let backoff = Backoff { kind: BackoffKind::Exponential, base: 100, max: None, jitter: false };
    let q = b.declare_queue("jobs", Some(QueueOptions { backoff, ..Default::default() })).unwrap();
    b.subscribe(q, consumer(3)).unwrap();
    let third = Claimed { delivery_count: 3, ..claimed(1, "a") };
    b.claimed(q, LEASE, vec![third, claimed(2, "b"), claimed(3, "c")]).unwrap();
    let tags: Vec<DeliveryTag> = effects(&mut b).0.into_iter().map(|d| d.2).collect();
    assert_eq!(b.nack(tags[1], false, Some(5)).map_err(|e| e.code), Err(ErrorCode::InvalidArgument));
    let at = |seq| Settlement { queue: q, at: ServerRef { seq, tag: 100 + seq } };
    assert_eq!(b.nack(tags[0], true, None).unwrap(), (at(1), Some(400)), "the third failure waits 4 x base");
    assert_eq!(b.nack(tags[1], true, Some(5)).unwrap(), (at(2), Some(5)));
    assert_eq!(b.nack(tags[2], false, None).unwrap(), (at(3), None), "dead-lettered by the server");
    assert_eq!(b.nack(tags[2], true, None).map_err(|e| e.code), Err(ErrorCode::StaleDelivery));
}

#[test]
fn past_its_lease_a_delivery_is_stale_here_and_its_consumer_takes_the_next() {
    let (mut b, clock, q) = broker();
    b.subscribe(q, consumer(1)).unwrap();
    commands(&mut b);
    b.claimed(q, 1_000, vec![claimed(1, "a")]).unwrap();
    let (delivered, _) = effects(&mut b);
    clock.advance(999);
    b.advance();
    assert_eq!(commands(&mut b), []);
    let kept = b.extend_lease(delivered[0].2, 500).unwrap();
    assert_eq!(kept.at.seq, 1);
    clock.advance(499);
    b.advance();
    assert_eq!(commands(&mut b), [], "extended");
    clock.advance(1);
    b.advance();
    assert_eq!(b.settle(delivered[0].2).map_err(|e| e.code), Err(ErrorCode::StaleDelivery));
    assert_eq!(commands(&mut b), [Command::Claim { queue: q, max: 1 }], "room again");
}

#[test]
fn extending_by_zero_gives_the_delivery_up_here() {
    let (mut b, _, q) = broker();
    b.subscribe(q, consumer(1)).unwrap();
    b.claimed(q, LEASE, vec![claimed(1, "a")]).unwrap();
    let tag = effects(&mut b).0[0].2;
    assert_eq!(b.extend_lease(tag, 0).unwrap().at.seq, 1);
    assert_eq!(b.settle(tag).map_err(|e| e.code), Err(ErrorCode::StaleDelivery));
}

#[test]
fn a_handler_past_its_timeout_fails_its_delivery_as_a_nack() {
    let clock = ManualClock::new(1_000);
    let mut b: B = RemoteBroker::new(clock.clone(), SplitMix64::new(7));
    let backoff = Backoff { kind: BackoffKind::Fixed, base: 250, max: None, jitter: false };
    let q = b.declare_queue("jobs", Some(QueueOptions { backoff, ..Default::default() })).unwrap();
    let c = b.subscribe(q, Subscription { timeout: Some(50), ..consumer(1) }).unwrap();
    b.claimed(q, LEASE, vec![claimed(1, "a")]).unwrap();
    let tag = effects(&mut b).0[0].2;
    commands(&mut b);
    clock.advance(50);
    b.advance();
    assert_eq!(effects(&mut b).1, [format!("{:?}", Effect::<&str>::HandlerTimedOut { consumer: c, tag })]);
    assert_eq!(
        commands(&mut b),
        [Command::Nack { queue: q, at: ServerRef { seq: 1, tag: 101 }, wait: 250 }, Command::Claim { queue: q, max: 1 }],
        "failed first, then room for the next"
    );
    assert_eq!(b.settle(tag).map_err(|e| e.code), Err(ErrorCode::StaleDelivery), "a late ack is stale");
}

#[test]
fn a_wait_that_ends_while_a_claim_is_out_ends_with_its_answer() {
    let (mut b, clock, q) = broker();
    b.subscribe(q, consumer(1)).unwrap();
    b.claimed(q, LEASE, vec![]).unwrap();
    commands(&mut b);
    let w = b.subscribe(q, wait_until(1_100)).unwrap();
    assert_eq!(commands(&mut b), [Command::Claim { queue: q, max: 2 }]);
    clock.advance(200);
    b.advance();
    assert_eq!(effects(&mut b).1, Vec::<String>::new());
    b.claimed(q, LEASE, vec![claimed(1, "a"), claimed(2, "b")]).unwrap();
    let (delivered, other) = effects(&mut b);
    assert!(delivered.iter().any(|d| d.0 == w), "it got one");
    assert!(other.is_empty(), "{other:?}");

    let w = b.subscribe(q, wait_until(1_300)).unwrap();
    clock.advance(200);
    b.advance();
    b.claimed(q, LEASE, vec![]).unwrap();
    assert_eq!(effects(&mut b).1, [format!("{:?}", Effect::<&str>::WaitExpired { consumer: w })]);
}

#[test]
fn waits_of_no_time_made_together_claim_again_while_the_claims_come_back_full() {
    // receiveBatch on a broker kept elsewhere: one wait, then more of no time at once.
    let (mut b, _, q) = broker();
    let first = b.subscribe(q, wait_until(1_000)).unwrap();
    let rest: Vec<_> = (0..3).map(|_| b.subscribe(q, wait_until(1_000)).unwrap()).collect();
    assert_eq!(commands(&mut b), [Command::Claim { queue: q, max: 1 }], "one claim out at a time");
    b.claimed(q, LEASE, vec![claimed(1, "a")]).unwrap();
    let (delivered, other) = effects(&mut b);
    assert_eq!((delivered.len(), delivered[0].0), (1, first));
    assert!(other.is_empty(), "the claim came back full: the others wait for the next, {other:?}");
    assert_eq!(commands(&mut b), [Command::Claim { queue: q, max: 3 }]);
    b.claimed(q, LEASE, vec![claimed(2, "b"), claimed(3, "c")]).unwrap();
    let (delivered, other) = effects(&mut b);
    assert_eq!(delivered.iter().map(|d| (d.0, d.1)).collect::<Vec<_>>(), [(rest[0], "b"), (rest[1], "c")]);
    assert_eq!(other, [format!("{:?}", Effect::<&str>::WaitExpired { consumer: rest[2] })], "short: the server had no more");
    assert_eq!(commands(&mut b), []);
}

#[test]
fn a_rate_limited_consumer_claims_nothing_until_its_window_reopens() {
    let (mut b, clock, q) = broker();
    let rate = RateLimit::sliding(1, 1_000);
    b.subscribe(q, Subscription { rate_limit: Some(rate), ..consumer(5) }).unwrap();
    assert_eq!(commands(&mut b), [Command::Claim { queue: q, max: 5 }]);
    b.claimed(q, LEASE, vec![claimed(1, "a"), claimed(2, "b")]).unwrap();
    assert_eq!(effects(&mut b).0.len(), 1);
    assert_eq!(commands(&mut b), [Command::Release { queue: q, at: ServerRef { seq: 2, tag: 102 } }]);
    assert!(!b.woken(q), "its window is full");
    clock.advance(1_000);
    b.advance();
    assert_eq!(commands(&mut b), [Command::Claim { queue: q, max: 4 }]);
}

#[test]
fn declarations_are_checked_here_as_in_memory() {
    let (mut b, _, q) = broker();
    let lease = |lease| Some(QueueOptions { lease, ..Default::default() });
    assert_eq!(b.declare_queue("jobs", lease(5_000)).unwrap(), q, "an implicit queue adopts its first explicit options");
    assert_eq!(b.queue_options(q).map(|(o, explicit)| (o.lease, explicit)), Some((5_000, true)));
    assert_eq!(b.declare_queue("jobs", lease(6_000)).map_err(|e| e.code), Err(ErrorCode::InvalidArgument));
    assert_eq!(b.declare_queue("jobs", None).unwrap(), q);
    assert_eq!(b.declare_queue("other", lease(0)).map_err(|e| e.field), Err(Some(Field::Lease)));
    assert_eq!(b.declare_queue("", None).map_err(|e| e.field), Err(Some(Field::QueueName)));
    assert_eq!(b.queue_id("other"), None, "nothing is left of a refused declaration");
}

#[test]
fn sends_are_checked_before_they_leave() {
    let (b, _, q) = broker();
    let msg = |f: fn(&mut Outgoing<&'static str>)| {
        let mut m = Outgoing::new("p");
        f(&mut m);
        m
    };
    assert!(b.check_send(q, &msg(|_| {})).is_ok());
    assert_eq!(b.check_send(q, &msg(|m| m.priority = 10)).map_err(|e| e.code), Err(ErrorCode::InvalidArgument));
    assert_eq!(b.check_send(q, &msg(|m| m.ttl = Some(0))).map_err(|e| e.field), Err(Some(Field::Ttl)));
    assert_eq!(b.check_send(q, &msg(|m| m.id = Some("".into()))).map_err(|e| e.field), Err(Some(Field::MessageId)));
    assert!(b.check_send(QueueId(9), &msg(|_| {})).is_err());
}

#[test]
fn requests_time_out_here_and_late_replies_find_nobody() {
    let (mut b, clock, q) = broker();
    let r = b.request(q, Some(100)).unwrap();
    let kept = b.request(q, None).unwrap();
    assert_eq!(b.request(q, Some(0)).map_err(|e| e.field), Err(Some(Field::Timeout)));
    clock.advance(100);
    b.advance();
    assert_eq!(effects(&mut b).1, [format!("{:?}", Effect::<&str>::RequestTimedOut { request: r })]);
    assert!(!b.replied(r));
    assert!(b.replied(kept));
    assert!(!b.replied(kept), "one reply per request");
}

#[test]
fn publishes_route_by_the_bindings_loaded() {
    let (mut b, _, q) = broker();
    let other = b.declare_queue("other", None).unwrap();
    assert_eq!(b.bindings_version(), None);
    b.load_bindings(3, [("a.*", q), ("#", other), ("a.b", q)]).unwrap();
    assert_eq!(b.bindings_version(), Some(3));
    assert_eq!(b.route("a.b").unwrap(), [q, other]);
    assert_eq!(b.route("c").unwrap(), [other]);
    assert_eq!(b.bind("a*", q).map_err(|e| e.code), Err(ErrorCode::InvalidArgument));
    assert_eq!(b.bindings_version(), Some(3), "a refused bind changes nothing");
    b.bind("x", q).unwrap();
    assert_eq!(b.bindings_version(), None, "stale until loaded again");
    assert!(b.load_bindings(4, [("x", QueueId(9))]).is_err());
}

#[test]
fn after_a_failed_claim_queues_claim_again_once_reconnected() {
    let (mut b, _, q) = broker();
    b.subscribe(q, consumer(2)).unwrap();
    commands(&mut b);
    b.claim_failed(q);
    assert_eq!(commands(&mut b), []);
    b.reconnected();
    assert_eq!(commands(&mut b), [Command::Claim { queue: q, max: 2 }]);
}

#[test]
fn only_a_delivery_that_carries_a_request_is_replied_to_and_a_refused_reply_keeps_it() {
    let (mut b, _, q) = broker();
    b.subscribe(q, consumer(2)).unwrap();
    b.claimed(q, LEASE, vec![claimed(1, "plain"), Claimed { request: true, ..claimed(2, "asked") }]).unwrap();
    let tags: Vec<DeliveryTag> = effects(&mut b).0.into_iter().map(|d| d.2).collect();
    assert_eq!(b.reply(tags[0]).map_err(|e| e.code), Err(ErrorCode::InvalidArgument));
    assert_eq!(b.reply(tags[1]).unwrap().at.seq, 2);
    assert_eq!(b.settle(tags[0]).unwrap().at.seq, 1, "still held after the refused reply");
}
