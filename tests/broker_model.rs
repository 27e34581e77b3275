//! State-machine model test of the broker (method T1): random operations,
//! each checked against a reference model kept in plain Vecs.
//!
//! The model follows the broker through its effects, in the order they are
//! emitted, and checks each one: a delivery must be the model's head of the
//! queue (priority, then ready time, then send order) at that moment, not
//! early, not expired, never of an acked message, within the consumer's
//! prefetch; a return or dead-letter must have a cause and the right reason.
//! After every operation the counts must agree, so nothing is lost and
//! nothing unexpected appears. Time moves from one deadline to the next.
//! Messages also arrive by topic routing, through bindings the run makes and
//! removes (matched by the model's own matcher), and every publish also
//! lands in a memory-only queue bound to everything. "Replay" rebuilds the
//! broker from its whole log, encoded and decoded as a log file holds it,
//! and checks it against a compaction's snapshot; "reopen" does what
//! opening a log after a crash does. Both lose the memory-only queue's
//! messages, and only those.

use std::cmp::Reverse;
use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};

use ferrymq::core::backoff::{Backoff, BackoffKind};
use ferrymq::core::broker::{
    Broker, ConsumerId, DeadLetterReason, DeadLetterTarget, Delivery, DeliveryTag, Effect, MessageId, Outgoing, Overflow, QueueId,
    QueueOptions, Record, RequestId, Subscription,
};
use ferrymq::core::error::ErrorCode;
use ferrymq::core::rng::SplitMix64;
use ferrymq::core::storage::codec::Payload;
use ferrymq::core::storage::compaction::CompactionPolicy;
use ferrymq::core::storage::log::{append_frames, header, read_log, Tail};
use ferrymq::core::storage::recovery;
use ferrymq::core::time::{Clock, ManualClock, Millis};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

const LEASE: Millis = 100;
const MAX_DELIVERIES: u32 = 3;
const MAX_LEN: usize = 8;
/// Short enough to close within a run, so expiry of a caller id is tested.
const DEDUP_WINDOW: Millis = 300;
/// Patterns the run binds to the main queue, and keys it publishes with.
const PATTERNS: [&str; 6] = ["main.*", "main.#", "#", "*.x", "a.b", "*"];
const KEYS: [&str; 5] = ["main.x", "main", "a.b", "x.x", "main.y.z"];

/// RabbitMQ's topic rule, written here apart from the core's matcher:
/// '*' is exactly one word, '#' zero or more.
fn matches(pattern: &[&str], key: &[&str]) -> bool {
    match (pattern.split_first(), key.split_first()) {
        (None, None) => true,
        (Some((&"#", rest)), _) => matches(rest, key) || key.split_first().is_some_and(|(_, k)| matches(pattern, k)),
        (Some((&"*", rest)), Some((_, k))) => matches(rest, k),
        (Some((p, rest)), Some((w, k))) => p == w && matches(rest, k),
        _ => false,
    }
}

/// A payload a log can store: the message's number in the model.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Pay([u8; 8]);

impl Pay {
    fn of(n: usize) -> Self {
        Self((n as u64).to_le_bytes())
    }

    fn n(self) -> usize {
        u64::from_le_bytes(self.0) as usize
    }
}

impl Payload for Pay {
    fn bytes(&self) -> &[u8] {
        &self.0
    }

    fn from_bytes(bytes: &[u8]) -> Self {
        <[u8; 8]>::try_from(bytes).map_or(Self([0xff; 8]), Self)
    }
}

/// Records as a log file holds them, and back.
fn through_log(records: &[Record<Pay>]) -> Result<Vec<Record<Pay>>, TestCaseError> {
    let mut bytes = header().to_vec();
    append_frames(records, &mut bytes).map_err(|e| TestCaseError::fail(e.to_string()))?;
    let read = read_log::<Pay>(&bytes).map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
    prop_assert_eq!(read.tail, Tail::Clean);
    Ok(read.records)
}

#[derive(Clone, Debug)]
struct Spec {
    priority: u8,
    delay: Millis,
    ttl: Option<Millis>,
    id: Option<u8>,
}

#[derive(Clone, Debug)]
enum Nack {
    Requeue,
    Delay(Millis),
    DeadLetter,
}

#[derive(Clone, Debug)]
enum Op {
    Send(Spec),
    /// A request, with a timeout or none.
    Request(Spec, Option<Millis>),
    Reply(usize),
    Publish(usize, Spec),
    Bind(usize),
    Unbind(usize),
    Redeclare(bool),
    Reopen,
    Batch(Vec<Spec>),
    BadSend,
    Get,
    Ack(usize),
    StaleAck(usize),
    Nack(usize, Nack),
    Subscribe(u32),
    Cancel(usize),
    Advance(Millis),
    Purge,
    Extend(usize, Millis),
    /// The host gives a delivery back that it could not hand out.
    Release(usize),
    Replay,
    Recover,
}

fn spec() -> impl Strategy<Value = Spec> {
    (
        prop_oneof![3 => 0..3u8, 1 => 0..10u8],
        prop_oneof![Just(0), Just(0), Just(10), Just(50)],
        prop_oneof![Just(None), Just(Some(30)), Just(Some(200))],
        prop::option::weighted(0.3, 0..6u8),
    )
        .prop_map(|(priority, delay, ttl, id)| Spec { priority, delay, ttl, id })
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        5 => spec().prop_map(Op::Send),
        1 => (spec(), prop_oneof![Just(None), (1..120u64).prop_map(Some)]).prop_map(|(s, t)| Op::Request(s, t)),
        2 => any::<usize>().prop_map(Op::Reply),
        2 => (0..KEYS.len(), spec()).prop_map(|(k, s)| Op::Publish(k, s)),
        1 => (0..PATTERNS.len()).prop_map(Op::Bind),
        1 => (0..PATTERNS.len()).prop_map(Op::Unbind),
        1 => any::<bool>().prop_map(Op::Redeclare),
        1 => Just(Op::Reopen),
        2 => prop::collection::vec(spec(), 1..5).prop_map(Op::Batch),
        1 => Just(Op::BadSend),
        4 => Just(Op::Get),
        4 => any::<usize>().prop_map(Op::Ack),
        1 => any::<usize>().prop_map(Op::StaleAck),
        3 => (any::<usize>(), prop_oneof![Just(Nack::Requeue), (1..80u64).prop_map(Nack::Delay), Just(Nack::DeadLetter)])
            .prop_map(|(i, n)| Op::Nack(i, n)),
        1 => (1..4u32).prop_map(Op::Subscribe),
        1 => any::<usize>().prop_map(Op::Cancel),
        4 => prop_oneof![1..20u64, 20..160u64].prop_map(Op::Advance),
        1 => Just(Op::Purge),
        1 => (any::<usize>(), prop_oneof![Just(0u64), 1..200u64]).prop_map(|(i, by)| Op::Extend(i, by)),
        1 => any::<usize>().prop_map(Op::Release),
        1 => Just(Op::Replay),
        1 => Just(Op::Recover),
    ]
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Status {
    Queued,
    InFlight { tag: DeliveryTag, deadline: Millis, owner: Option<ConsumerId> },
    Acked,
    Dead(DeadLetterReason),
    Purged,
}

#[derive(Clone, Debug)]
struct Msg {
    id: MessageId,
    /// The request it carries, if it was sent by `request`.
    request: Option<RequestId>,
    priority: u8,
    ready_at: Millis,
    expires_at: Option<Millis>,
    deliveries: u32,
    status: Status,
}

impl Msg {
    fn expired(&self, now: Millis) -> bool {
        self.expires_at.is_some_and(|e| e <= now)
    }
}

/// Which failures and dead-letters the current operation may cause.
#[derive(Default)]
struct Allowed {
    failing: HashSet<DeliveryTag>,
    rejected: Option<DeliveryTag>,
    /// Messages (by payload) overflow must drop, in order.
    drops: VecDeque<usize>,
}

type B = Broker<Pay, ManualClock, SplitMix64>;

struct Harness {
    broker: B,
    clock: ManualClock,
    q: QueueId,
    v: Variant,
    /// Indexed by payload.
    msgs: Vec<Msg>,
    consumers: Vec<(ConsumerId, u32)>,
    /// Caller ids enqueued, with the end of their dedup window.
    seen_ids: HashMap<u8, Millis>,
    settled_tags: Vec<DeliveryTag>,
    log: Vec<Record<Pay>>,
    allowed: Allowed,
    /// Patterns (indices into PATTERNS) bound to the main queue.
    bound: BTreeSet<usize>,
    /// The memory-only queue every publish also lands in, and how many of
    /// its messages are waiting (it has no consumers; some expire).
    side: QueueId,
    side_waiting: u64,
    /// Requests made, in order; `open` until answered, timed out or forgotten.
    requests: Vec<Pending>,
    /// The request whose reply the current call must deliver.
    replying: Option<RequestId>,
    /// With a limited dead-letter queue: what it holds, in arrival order.
    graveyard: VecDeque<usize>,
}

#[derive(Debug)]
struct Pending {
    request: RequestId,
    deadline: Option<Millis>,
    open: bool,
}

fn side_options() -> QueueOptions {
    QueueOptions { durable: false, ..QueueOptions::default() }
}

/// Where the main queue's dead letters go.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Dlq {
    /// `main.dlq`, created on first use.
    Default,
    /// A queue named by the options, created on first use.
    Named,
    /// Nowhere: dead letters are dropped.
    Discard,
    /// A named queue declared with room for DLQ_ROOM: when full it drops
    /// its oldest (true), or the dead letter is dropped instead (false).
    Limited(bool),
}

const DLQ_ROOM: usize = 3;

/// How the run's main queue is configured.
#[derive(Clone, Copy, Debug)]
struct Variant {
    drop_oldest: bool,
    /// The queue's TTL, on top of each message's own.
    ttl: Option<Millis>,
    /// Fixed backoff before a nacked message returns (0: none, it keeps its place).
    backoff: Millis,
    dlq: Dlq,
}

fn variant() -> impl Strategy<Value = Variant> {
    (
        any::<bool>(),
        prop_oneof![Just(None), Just(Some(150))],
        prop_oneof![Just(0), Just(25)],
        prop_oneof![Just(Dlq::Default), Just(Dlq::Named), Just(Dlq::Discard), Just(Dlq::Limited(false)), Just(Dlq::Limited(true))],
    )
        .prop_map(|(drop_oldest, ttl, backoff, dlq)| Variant { drop_oldest, ttl, backoff, dlq })
}

const GRAVEYARD: &str = "graveyard";

fn options(v: Variant) -> QueueOptions {
    QueueOptions {
        lease: LEASE,
        max_deliveries: MAX_DELIVERIES,
        max_length: Some(MAX_LEN as u64),
        overflow: if v.drop_oldest { Overflow::DropOldest } else { Overflow::Reject },
        dedup_window: Some(DEDUP_WINDOW),
        ttl: v.ttl,
        backoff: Backoff { kind: BackoffKind::Fixed, base: v.backoff, max: None, jitter: false },
        dead_letter: match v.dlq {
            Dlq::Default => DeadLetterTarget::Default,
            Dlq::Named | Dlq::Limited(_) => DeadLetterTarget::Named(GRAVEYARD.into()),
            Dlq::Discard => DeadLetterTarget::Discard,
        },
        ..QueueOptions::default()
    }
}

impl Harness {
    fn new(v: Variant) -> Self {
        let clock = ManualClock::new(10_000);
        let mut broker = Broker::new(clock.clone(), SplitMix64::new(1));
        broker.set_recording(true);
        let q = broker.declare_queue("main", Some(options(v))).expect("declare");
        let side = broker.declare_queue("side", Some(side_options())).expect("declare");
        if let Dlq::Limited(drop_oldest) = v.dlq {
            let limited = QueueOptions {
                max_length: Some(DLQ_ROOM as u64),
                overflow: if drop_oldest { Overflow::DropOldest } else { Overflow::Reject },
                dead_letter: DeadLetterTarget::Discard,
                ..QueueOptions::default()
            };
            broker.declare_queue(GRAVEYARD, Some(limited)).expect("declare");
        }
        broker.bind("#", side).expect("bind");
        Self {
            broker,
            clock,
            q,
            v,
            msgs: Vec::new(),
            consumers: Vec::new(),
            seen_ids: HashMap::new(),
            settled_tags: Vec::new(),
            log: Vec::new(),
            allowed: Allowed::default(),
            bound: BTreeSet::new(),
            side,
            side_waiting: 0,
            requests: Vec::new(),
            replying: None,
            graveyard: VecDeque::new(),
        }
    }

    fn now(&self) -> Millis {
        self.clock.now()
    }

    fn queued(&self) -> impl Iterator<Item = (usize, &Msg)> {
        self.msgs.iter().enumerate().filter(|(_, m)| m.status == Status::Queued)
    }

    fn in_flight(&self) -> Vec<usize> {
        (0..self.msgs.len()).filter(|&i| matches!(self.msgs[i].status, Status::InFlight { .. })).collect()
    }

    /// What the next delivery must be: priority, then ready time, then send order.
    fn head(&self) -> Option<usize> {
        let now = self.now();
        self.queued()
            .filter(|(_, m)| m.ready_at <= now && !m.expired(now))
            .min_by_key(|(i, m)| (Reverse(m.priority), m.ready_at, *i))
            .map(|(i, _)| i)
    }

    /// What overflow must drop: the queued message (due or delayed) that was
    /// enqueued earliest, whatever its priority. Payloads number messages in
    /// the order they were enqueued, so that is the first queued one.
    fn oldest(&self) -> Option<usize> {
        self.queued().next().map(|(i, _)| i)
    }

    /// The queue dead letters of the main queue go to, once it exists.
    fn dead_letter_queue(&self) -> Option<QueueId> {
        match self.v.dlq {
            Dlq::Default => self.broker.queue_id("main.dlq"),
            Dlq::Named | Dlq::Limited(_) => self.broker.queue_id(GRAVEYARD),
            Dlq::Discard => None,
        }
    }

    fn held_by(&self, c: ConsumerId) -> usize {
        self.msgs.iter().filter(|m| matches!(m.status, Status::InFlight { owner: Some(o), .. } if o == c)).count()
    }

    /// The message an effect naming `id` is about. Caller ids repeat once
    /// their dedup window closes, so of the messages with that id it is the
    /// first one `is_it` accepts (or the first, for the check to reject).
    fn find(&self, id: &MessageId, is_it: impl Fn(usize) -> bool) -> Result<usize, TestCaseError> {
        let with_id: Vec<usize> = (0..self.msgs.len()).filter(|&i| self.msgs[i].id == *id).collect();
        let i = with_id.iter().copied().find(|&i| is_it(i)).or(with_id.first().copied());
        i.ok_or_else(|| TestCaseError::fail(format!("effect names unknown message {id}")))
    }

    /// Whether message `i` may be dead-lettered for `reason` now.
    fn justified(&self, i: usize, reason: DeadLetterReason) -> bool {
        let (m, now) = (&self.msgs[i], self.now());
        match reason {
            DeadLetterReason::Expired => {
                m.expired(now) && (m.status == Status::Queued || (self.may_fail(i) && m.deliveries < MAX_DELIVERIES))
            }
            DeadLetterReason::DeliveryLimit => self.may_fail(i) && m.deliveries >= MAX_DELIVERIES,
            DeadLetterReason::Rejected => self.tag_of(i).is_some() && self.tag_of(i) == self.allowed.rejected,
            DeadLetterReason::MaxLen => self.allowed.drops.front() == Some(&i),
        }
    }

    fn tag_of(&self, i: usize) -> Option<DeliveryTag> {
        match self.msgs[i].status {
            Status::InFlight { tag, .. } => Some(tag),
            _ => None,
        }
    }

    fn may_fail(&self, i: usize) -> bool {
        match self.msgs[i].status {
            Status::InFlight { tag, deadline, .. } => deadline <= self.now() || self.allowed.failing.contains(&tag),
            _ => false,
        }
    }

    fn settle(&mut self, i: usize, status: Status) {
        if let Some(tag) = self.tag_of(i) {
            self.settled_tags.push(tag);
        }
        self.msgs[i].status = status;
    }

    fn check_delivery(&mut self, d: &Delivery<Pay>, owner: Option<ConsumerId>) -> Result<(), TestCaseError> {
        let now = self.now();
        let n = d.payload.n();
        prop_assert_eq!(d.queue, self.q);
        prop_assert_eq!(Some(n), self.head(), "delivered {:?} at {}, model head differs", d, now);
        let m = &self.msgs[n];
        prop_assert_eq!(&d.id, &m.id);
        prop_assert!(m.ready_at <= now && !m.expired(now));
        prop_assert_eq!(d.delivery_count, m.deliveries + 1);
        prop_assert_eq!(d.redelivered, m.deliveries > 0);
        if let Some(c) = owner {
            let prefetch = self.consumers.iter().find(|(k, _)| *k == c).map(|(_, p)| *p);
            prop_assert!(prefetch.is_some(), "delivery to unknown consumer {:?}", c);
            prop_assert!(self.held_by(c) < prefetch.unwrap_or(0) as usize, "prefetch exceeded");
        }
        let m = &mut self.msgs[n];
        m.deliveries += 1;
        m.status = Status::InFlight { tag: d.tag, deadline: now + LEASE, owner };
        Ok(())
    }

    /// What a durable host does after each call: seal what was recorded,
    /// write it (here: keep it for replay), and release its effects.
    fn commit(&mut self) {
        let sealed = self.broker.seal();
        self.log.extend(sealed.records);
        self.broker.committed(sealed.epoch);
    }

    fn check_effects(&mut self) -> Result<(), TestCaseError> {
        self.commit();
        let effects: Vec<_> = self.broker.drain_effects().collect();
        let now = self.now();
        let mut expired_effects = 0;
        for e in effects {
            match e {
                Effect::Deliver { consumer, delivery } => self.check_delivery(&delivery, Some(consumer))?,
                Effect::Reply { request, .. } => {
                    prop_assert_eq!(self.replying.take(), Some(request), "a reply nobody was waiting for");
                    self.close_request(request)?;
                }
                Effect::RequestTimedOut { request } => {
                    let due = self.requests.iter().find(|p| p.request == request).and_then(|p| p.deadline);
                    prop_assert_eq!(due, Some(now), "request {:?} timed out at the wrong time", request);
                    self.close_request(request)?;
                }
                Effect::Redelivered { queue, id, delivery_count } => {
                    prop_assert_eq!(queue, self.q);
                    let i = self.find(&id, |i| self.may_fail(i))?;
                    prop_assert!(self.may_fail(i), "{} returned without cause", id);
                    let m = &self.msgs[i];
                    prop_assert_eq!(delivery_count, m.deliveries);
                    prop_assert!(m.deliveries < MAX_DELIVERIES && !m.expired(now));
                    self.settle(i, Status::Queued);
                }
                Effect::Expired { queue, .. } => {
                    prop_assert!(queue == self.q || queue == self.side);
                    expired_effects += 1;
                }
                Effect::DeadLettered { queue, target, reason, .. } if queue == self.side => {
                    // Nothing consumes it: its messages only ever expire.
                    prop_assert_eq!(reason, DeadLetterReason::Expired);
                    prop_assert!(target.is_some() && target == self.broker.queue_id("side.dlq"));
                    prop_assert!(self.side_waiting > 0);
                    self.side_waiting -= 1;
                    expired_effects -= 1;
                }
                Effect::DeadLettered { queue, target, id, reason } if queue != self.q => {
                    // Only a full dead-letter queue that drops its oldest says anything.
                    prop_assert_eq!(self.v.dlq, Dlq::Limited(true), "{:?} dead-lettered from {:?}", id, queue);
                    prop_assert_eq!(Some(queue), self.dead_letter_queue());
                    prop_assert_eq!((target, reason), (None, DeadLetterReason::MaxLen));
                    // Oldest by first enqueue (a message keeps its enqueuedAt when
                    // dead-lettered), not by arrival: the lowest payload number.
                    let oldest = self.graveyard.iter().copied().min();
                    self.graveyard.retain(|&i| Some(i) != oldest);
                    prop_assert_eq!(oldest.map(|i| self.msgs[i].id.clone()), Some(id), "the dead-letter queue drops its oldest");
                }
                Effect::DeadLettered { queue, target, id, reason } => {
                    prop_assert_eq!(queue, self.q);
                    let full = self.graveyard.len() >= DLQ_ROOM;
                    let expected = if self.v.dlq == Dlq::Limited(false) && full { None } else { self.dead_letter_queue() };
                    prop_assert_eq!(target, expected, "dead-lettered to the configured target");
                    let i = self.find(&id, |i| self.justified(i, reason))?;
                    prop_assert!(self.justified(i, reason), "{} dead-lettered as {:?} without cause: {:?}", id, reason, self.msgs[i]);
                    if matches!(self.v.dlq, Dlq::Limited(_)) && target.is_some() {
                        self.graveyard.push_back(i);
                    }
                    match reason {
                        DeadLetterReason::MaxLen => {
                            self.allowed.drops.pop_front();
                        }
                        DeadLetterReason::Expired => {
                            expired_effects -= 1;
                            self.settle(i, Status::Dead(reason));
                        }
                        _ => self.settle(i, Status::Dead(reason)),
                    }
                }
                other => prop_assert!(false, "unexpected effect {:?}", other),
            }
        }
        prop_assert_eq!(expired_effects, 0, "Expired and DeadLettered(expired) come in pairs");
        prop_assert_eq!(self.replying, None, "the reply was not delivered");
        Ok(())
    }

    /// Checks after every operation: all due work was done, and the counts agree.
    fn check_state(&self) -> Result<(), TestCaseError> {
        let now = self.now();
        for p in self.requests.iter().filter(|p| p.open) {
            prop_assert!(p.deadline.map_or(true, |d| d > now), "request {:?} outlived its timeout", p.request);
        }
        prop_assert!(self.allowed.drops.is_empty(), "overflow did not drop {:?}", self.allowed.drops);
        for (i, m) in self.msgs.iter().enumerate() {
            match m.status {
                Status::InFlight { deadline, tag, .. } => {
                    prop_assert!(deadline > now, "lease of {} outlived its deadline", i);
                    prop_assert!(!self.allowed.failing.contains(&tag), "{} should have been returned", i);
                }
                Status::Queued => prop_assert!(!m.expired(now), "{} expired but is still queued", i),
                _ => {}
            }
        }
        if self.head().is_some() {
            for &(c, prefetch) in &self.consumers {
                prop_assert!(self.held_by(c) >= prefetch as usize, "idle consumer {:?} while messages are ready", c);
            }
        }
        let s = self.broker.queue_stats(self.q).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let count = |f: &dyn Fn(&Msg) -> bool| self.msgs.iter().filter(|m| f(m)).count() as u64;
        prop_assert_eq!(s.ready, count(&|m| m.status == Status::Queued && m.ready_at <= now));
        prop_assert_eq!(s.delayed, count(&|m| m.status == Status::Queued && m.ready_at > now));
        prop_assert_eq!(s.in_flight, count(&|m| matches!(m.status, Status::InFlight { .. })));
        prop_assert_eq!(s.sent, self.msgs.len() as u64);
        prop_assert_eq!(s.acked, count(&|m| m.status == Status::Acked));
        let dead = count(&|m| matches!(m.status, Status::Dead(_)));
        prop_assert_eq!(s.dead_lettered, dead);
        prop_assert_eq!(s.expired, count(&|m| m.status == Status::Dead(DeadLetterReason::Expired)));
        let dlq_ready = match self.dead_letter_queue() {
            Some(dlq) => self.broker.queue_stats(dlq).map_err(|e| TestCaseError::fail(e.to_string()))?.ready,
            None => 0,
        };
        let kept = match self.v.dlq {
            Dlq::Discard => 0,
            Dlq::Limited(_) => self.graveyard.len() as u64,
            Dlq::Default | Dlq::Named => dead,
        };
        prop_assert_eq!(dlq_ready, kept, "every dead-lettered message reached the DLQ, or none when they are dropped");
        let side = self.broker.queue_stats(self.side).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(side.ready + side.delayed, self.side_waiting, "the memory-only queue holds what was published");
        Ok(())
    }

    /// Model of a send, batch or publish: the ids, or the error expected.
    fn send(&mut self, specs: Vec<Spec>, via: Via) -> Result<(), TestCaseError> {
        let now = self.now();
        let to_main = match via {
            Via::Publish(key) => {
                let key: Vec<&str> = key.split('.').collect();
                self.bound.iter().any(|&p| matches(&PATTERNS[p].split('.').collect::<Vec<_>>(), &key))
            }
            Via::One | Via::Batch | Via::Request(_) => true,
        };
        let fresh_id = |seen: &HashMap<u8, Millis>, k: u8| !seen.get(&k).is_some_and(|&until| until > now);
        // Payloads number the messages the model expects to be enqueued;
        // a duplicate gets none, since it must never show up.
        let mut new_ids = HashSet::new();
        let mut fresh = 0;
        let mut outgoing = Vec::new();
        for s in &specs {
            let is_new = to_main && s.id.map_or(true, |k| fresh_id(&self.seen_ids, k) && new_ids.insert(k));
            let payload = if is_new { self.msgs.len() + fresh } else { usize::MAX };
            fresh += usize::from(is_new);
            let id = match via {
                // A request id is never reused: the earlier request would own it.
                Via::Request(_) => Some(format!("req{}", self.requests.len()).into()),
                _ => s.id.map(|k| format!("k{k}").into()),
            };
            outgoing.push(Outgoing { id, payload: Pay::of(payload), priority: s.priority, delay: s.delay, ttl: s.ttl });
        }
        let queued = self.queued().count();
        let mut request = None;
        let one = || outgoing.first().cloned().ok_or_else(|| TestCaseError::fail("empty send"));
        let result = match via {
            Via::Batch => self.broker.send_batch(self.q, outgoing.clone()),
            Via::One => self.broker.send(self.q, one()?).map(|id| vec![id]),
            Via::Publish(key) => self.broker.publish(key, one()?),
            Via::Request(timeout) => {
                let out = one()?;
                let id = out.id.clone().map(MessageId::Given);
                self.broker.request(self.q, out, timeout).map(|r| {
                    request = Some(r);
                    id.into_iter().collect()
                })
            }
        };
        // Requeues may overshoot the limit; only new messages are refused,
        // and a refused publish reaches no queue.
        if !self.v.drop_oldest && fresh > 0 && queued + fresh > MAX_LEN {
            prop_assert_eq!(result.map_err(|e| e.code), Err(ErrorCode::QueueFull));
            return self.check_effects();
        }
        let mut ids = result.map_err(|e| TestCaseError::fail(format!("send refused: {e}")))?;
        if let Via::Publish(_) = via {
            // One copy per matching queue, in queue order: main, then the
            // memory-only queue bound to '#'.
            prop_assert_eq!(ids.len(), 1 + usize::from(to_main));
            ids.pop();
            self.side_waiting += 1;
            if !to_main {
                return self.check_effects();
            }
        }
        prop_assert_eq!(ids.len(), specs.len());
        if let (Some(r), Via::Request(timeout)) = (request, via) {
            self.requests.push(Pending { request: r, deadline: timeout.map(|t| now + t), open: true });
        }
        // Replay the batch on the model in order: drops, then the new message.
        for ((spec, id), out) in specs.iter().zip(ids).zip(outgoing) {
            if let Some(k) = spec.id {
                prop_assert_eq!(&id, &MessageId::Given(format!("k{k}").into()));
                if !fresh_id(&self.seen_ids, k) {
                    continue;
                }
                self.seen_ids.insert(k, now + DEDUP_WINDOW);
            } else if let Via::Request(_) = via {
                prop_assert_eq!(&id, &MessageId::Given(format!("req{}", self.requests.len() - 1).into()));
            } else {
                prop_assert!(matches!(id, MessageId::Auto(_)));
            }
            while self.queued().count() >= MAX_LEN {
                let victim = self.oldest().ok_or_else(|| TestCaseError::fail("full but nothing to drop"))?;
                self.allowed.drops.push_back(victim);
                self.msgs[victim].status = Status::Dead(DeadLetterReason::MaxLen);
            }
            prop_assert_eq!(out.payload.n(), self.msgs.len());
            self.msgs.push(Msg {
                id,
                request,
                priority: spec.priority,
                ready_at: now + spec.delay,
                expires_at: match (spec.ttl, self.v.ttl) {
                    (Some(a), Some(b)) => Some(now + a.min(b)),
                    (a, b) => a.or(b).map(|t| now + t),
                },
                deliveries: 0,
                status: Status::Queued,
            });
        }
        self.check_effects()
    }

    /// After a restart: consumers are transient (gone, their leases
    /// ownerless), and the memory-only queue is empty.
    fn restarted(&mut self) {
        self.consumers.clear();
        for m in &mut self.msgs {
            if let Status::InFlight { owner, .. } = &mut m.status {
                *owner = None;
            }
        }
        self.side_waiting = 0;
        // Pending requests live in memory: a restart forgets them, silently.
        for p in &mut self.requests {
            p.open = false;
        }
    }

    fn close_request(&mut self, request: RequestId) -> Result<(), TestCaseError> {
        let p = self.requests.iter_mut().find(|p| p.request == request);
        prop_assert!(p.as_ref().is_some_and(|p| p.open), "request {:?} answered twice or unknown", request);
        if let Some(p) = p {
            p.open = false;
        }
        Ok(())
    }

    fn pick_in_flight(&self, i: usize) -> Option<(usize, DeliveryTag)> {
        let all = self.in_flight();
        let m = *all.get(i % all.len().max(1))?;
        Some((m, self.tag_of(m)?))
    }

    fn run(&mut self, op: Op) -> Result<(), TestCaseError> {
        self.allowed = Allowed::default();
        match op {
            Op::Send(s) => self.send(vec![s], Via::One)?,
            Op::Batch(specs) => self.send(specs, Via::Batch)?,
            Op::Publish(k, s) => self.send(vec![s], Via::Publish(KEYS[k]))?,
            Op::Request(mut s, timeout) => {
                // Requests carry ids of their own (send gives them), never reused.
                s.id = None;
                self.send(vec![s], Via::Request(timeout))?;
            }
            Op::Reply(i) => {
                if let Some((m, tag)) = self.pick_in_flight(i) {
                    match self.msgs[m].request {
                        Some(r) => {
                            let open = self.requests.iter().any(|p| p.request == r && p.open);
                            self.replying = open.then_some(r);
                            prop_assert!(self.broker.reply(tag, Pay::of(m)).is_ok());
                            self.settle(m, Status::Acked);
                        }
                        None => prop_assert_eq!(self.broker.reply(tag, Pay::of(m)).map_err(|e| e.code), Err(ErrorCode::InvalidArgument)),
                    }
                    self.check_effects()?;
                }
            }
            Op::Bind(p) => {
                prop_assert!(self.broker.bind(PATTERNS[p], self.q).is_ok());
                self.bound.insert(p);
                self.check_effects()?;
            }
            Op::Unbind(p) => {
                prop_assert!(self.broker.unbind(PATTERNS[p], self.q).is_ok());
                self.bound.remove(&p);
                self.check_effects()?;
            }
            Op::Redeclare(same) => {
                let declare = |b: &mut B, name, o| b.declare_queue(name, o).map_err(|e| e.code);
                if same {
                    // The options again, the default dead-letter queue spelled out.
                    prop_assert_eq!(declare(&mut self.broker, "main", Some(options(self.v))), Ok(self.q));
                    if self.v.dlq == Dlq::Default {
                        // The default dead-letter queue, spelled out, is the same option.
                        let o = QueueOptions { dead_letter: DeadLetterTarget::Named("main.dlq".into()), ..options(self.v) };
                        prop_assert_eq!(declare(&mut self.broker, "main", Some(o)), Ok(self.q));
                    }
                    prop_assert_eq!(declare(&mut self.broker, "main", None), Ok(self.q));
                    prop_assert_eq!(declare(&mut self.broker, "side", Some(side_options())), Ok(self.side));
                } else {
                    let o = QueueOptions { lease: LEASE + 1, ..options(self.v) };
                    prop_assert_eq!(declare(&mut self.broker, "main", Some(o)), Err(ErrorCode::InvalidArgument));
                    let o = QueueOptions { durable: true, ..side_options() };
                    prop_assert_eq!(declare(&mut self.broker, "side", Some(o)), Err(ErrorCode::InvalidArgument));
                }
                self.check_effects()?;
            }
            Op::BadSend => {
                let bad = Outgoing { priority: 10, ..Outgoing::new(Pay::of(usize::MAX)) };
                prop_assert_eq!(self.broker.send(self.q, bad).map_err(|e| e.code), Err(ErrorCode::InvalidArgument));
                self.check_effects()?;
            }
            Op::Get => {
                let got = self.broker.take(self.q).map_err(|e| TestCaseError::fail(e.to_string()))?;
                self.check_effects()?;
                match got {
                    Some(d) => {
                        self.check_delivery(&d, None)?;
                        // As a durable host does once the lease is written (check_effects committed it).
                        prop_assert!(self.broker.hand_out(d.tag), "a fresh delivery is handed out");
                    }
                    None => prop_assert_eq!(self.head(), None, "get found nothing though a message is ready"),
                }
                self.check_effects()?;
            }
            Op::Ack(i) => {
                if let Some((m, tag)) = self.pick_in_flight(i) {
                    prop_assert!(self.broker.ack(tag).is_ok());
                    self.settle(m, Status::Acked);
                    self.check_effects()?;
                }
            }
            Op::StaleAck(i) => {
                let tag = self.settled_tags.get(i % self.settled_tags.len().max(1)).copied().unwrap_or(DeliveryTag(u64::MAX));
                prop_assert_eq!(self.broker.ack(tag).map_err(|e| e.code), Err(ErrorCode::StaleDelivery));
                prop_assert_eq!(self.broker.nack(tag, true, None).map_err(|e| e.code), Err(ErrorCode::StaleDelivery));
                self.check_effects()?;
            }
            Op::Nack(i, how) => {
                if let Some((m, tag)) = self.pick_in_flight(i) {
                    let now = self.now();
                    let result = match how {
                        Nack::Requeue => {
                            // The queue's backoff decides the new ready time; none keeps its place.
                            let will_return = self.msgs[m].deliveries < MAX_DELIVERIES && !self.msgs[m].expired(now);
                            if will_return && self.v.backoff > 0 {
                                self.msgs[m].ready_at = now + self.v.backoff;
                            }
                            self.broker.nack(tag, true, None)
                        }
                        Nack::Delay(d) => {
                            // The model cannot see the new ready time in the effect; set it up front.
                            let will_return = self.msgs[m].deliveries < MAX_DELIVERIES && !self.msgs[m].expired(now);
                            if will_return {
                                self.msgs[m].ready_at = now + d;
                            }
                            self.broker.nack(tag, true, Some(d))
                        }
                        Nack::DeadLetter => {
                            self.allowed.rejected = Some(tag);
                            self.broker.nack(tag, false, None)
                        }
                    };
                    prop_assert!(result.is_ok());
                    self.allowed.failing.insert(tag);
                    self.check_effects()?;
                    prop_assert!(self.tag_of(m) != Some(tag), "nacked message still in flight");
                }
            }
            Op::Subscribe(prefetch) => {
                let sub = Subscription { prefetch, ..Subscription::default() };
                let c = self.broker.subscribe(self.q, sub).map_err(|e| TestCaseError::fail(e.to_string()))?;
                self.consumers.push((c, prefetch));
                self.check_effects()?;
            }
            Op::Cancel(i) => {
                if !self.consumers.is_empty() {
                    let (c, _) = self.consumers.remove(i % self.consumers.len());
                    for m in 0..self.msgs.len() {
                        if let Status::InFlight { owner: Some(o), tag, .. } = self.msgs[m].status {
                            if o == c {
                                self.allowed.failing.insert(tag);
                            }
                        }
                    }
                    self.broker.cancel(c);
                    self.check_effects()?;
                }
            }
            Op::Advance(by) => {
                let target = self.now() + by;
                loop {
                    let next = self.broker.next_deadline();
                    prop_assert!(next.map_or(true, |at| at > self.now()), "deadline {:?} left in the past", next);
                    let step = next.map_or(target, |at| at.min(target));
                    self.clock.set(step);
                    self.broker.advance();
                    self.check_effects()?;
                    self.check_state()?;
                    if step == target {
                        break;
                    }
                }
            }
            Op::Purge => {
                let expected = self.queued().count();
                let n = self.broker.purge(self.q).map_err(|e| TestCaseError::fail(e.to_string()))?;
                prop_assert_eq!(n, expected);
                for m in &mut self.msgs {
                    if m.status == Status::Queued {
                        m.status = Status::Purged;
                    }
                }
                self.check_effects()?;
            }
            Op::Extend(i, by) => {
                if let Some((m, tag)) = self.pick_in_flight(i) {
                    prop_assert!(self.broker.extend_lease(tag, by).is_ok());
                    if let Status::InFlight { deadline, .. } = &mut self.msgs[m].status {
                        *deadline = self.clock.now() + by;
                    }
                    self.check_effects()?;
                }
            }
            Op::Release(i) => {
                if let Some((m, tag)) = self.pick_in_flight(i) {
                    prop_assert!(self.broker.release(tag).is_ok());
                    // Back in its place, as if never delivered.
                    self.settle(m, Status::Queued);
                    self.msgs[m].deliveries -= 1;
                    self.check_effects()?;
                }
            }
            Op::Replay => {
                self.commit();
                let records = through_log(&self.log)?;
                let mut replayed = B::replay(self.clock.clone(), SplitMix64::new(1), records)
                    .map_err(|e| TestCaseError::fail(format!("replay failed: {e}")))?;
                // What a compaction would write holds what the log holds.
                let snapshot = through_log(&self.broker.snapshot_records())?;
                let compacted = B::replay(self.clock.clone(), SplitMix64::new(1), snapshot)
                    .map_err(|e| TestCaseError::fail(format!("snapshot replay failed: {e}")))?;
                prop_assert!(replayed.same_durable_state(&compacted), "the log and a snapshot differ");
                // What a host does after recovery: log, then catch up on time.
                replayed.set_recording(true);
                replayed.advance();
                self.broker = replayed;
                self.restarted();
                self.check_effects()?;
            }
            Op::Reopen => {
                // Close (everything is committed), then open the log file as after a crash.
                self.commit();
                let mut bytes = header().to_vec();
                append_frames(&self.log, &mut bytes).map_err(|e| TestCaseError::fail(e.to_string()))?;
                for m in self.in_flight() {
                    if let Some(tag) = self.tag_of(m) {
                        self.allowed.failing.insert(tag);
                    }
                }
                let opened = recovery::open::<Pay, _, _>(&bytes, self.clock.clone(), SplitMix64::new(1), CompactionPolicy::default(), recovery::InFlight::Redeliver)
                    .map_err(|e| TestCaseError::fail(format!("reopen failed: {e}")))?;
                prop_assert_eq!((opened.report.torn_tail, opened.report.corrupt), (None, None));
                self.broker = opened.broker;
                // From here on the log is what the reopened broker holds.
                self.log = self.broker.snapshot_records();
                self.broker.committed(opened.epoch);
                self.restarted();
                self.check_effects()?;
            }
            Op::Recover => {
                for m in self.in_flight() {
                    if let Some(tag) = self.tag_of(m) {
                        self.allowed.failing.insert(tag);
                    }
                }
                self.broker.recover_in_flight();
                self.check_effects()?;
            }
        }
        self.check_state()
    }
}

#[derive(Clone, Copy)]
enum Via {
    One,
    Batch,
    Publish(&'static str),
    Request(Option<Millis>),
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(5000))]

    #[test]
    fn broker_matches_model(v in variant(), ops in prop::collection::vec(op(), 1..40)) {
        let mut h = Harness::new(v);
        for op in ops {
            h.run(op)?;
        }
        // Finally the log rebuilds exactly what the broker holds.
        h.run(Op::Replay)?;
    }
}
