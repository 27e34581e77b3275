use js_sys::{Array, Float64Array, Function, Uint8Array};
use wasm_bindgen::prelude::*;

use super::canon;
use super::clock::HostClock;
use super::errors::{to_js, to_js_naming};
use super::options::{self, Options};
use super::outbox::Outbox;
use super::waker::Waker;
use super::wire::{self, flag, millis, BrokerEffect, Code, DeadLetterReason, DeliveryFlag, STRIDE};
use crate::core::broker::{
    Broker, ConsumerId, Delivery, DeliveryTag, Effect, MessageId, Outgoing, QueueId, QueueStats, RequestId,
    Subscription,
};
use crate::core::error::{CoreError, ErrorCode, Field};
use crate::core::rng::SplitMix64;
use crate::core::storage::codec::Payload;
use crate::core::storage::compaction::CompactionPolicy;
use crate::core::storage::io::IoStep;
use crate::core::storage::journal::Journal;
use crate::core::storage::recovery::{self, InFlight};

/// A message body: the slot of the wrapper's payload table that holds its
/// payload and headers as the JS values they are (js/broker/payloads.ts),
/// so no payload crosses into wasm on the in-memory path. On a durable
/// broker it also carries the bytes JS encoded it to (js/codec.ts), which is
/// what the log stores; a message recovered from the log has only the
/// bytes, and JS decodes them when it is delivered. The broker reports each
/// body it lets go of (`Effect::Dropped`), and the wrapper frees its slot.
#[derive(Clone)]
pub struct Body {
    slot: u32,
    /// Boxed twice so that the common case, none, takes 4 bytes, not 8.
    bytes: Option<Box<Box<[u8]>>>,
}

/// The slot of a body with no JS values: recovered from the log.
const NO_SLOT: u32 = u32::MAX;

impl Body {
    /// A body with JS values only: in memory, or on a server that keeps the bytes.
    pub(super) fn of_slot(slot: u32) -> Self {
        Self { slot, bytes: None }
    }

    fn slot(&self) -> f64 {
        if self.slot == NO_SLOT { wire::NONE } else { f64::from(self.slot) }
    }
}

impl Payload for Body {
    fn bytes(&self) -> &[u8] {
        self.bytes.as_deref().map_or(&[], |b| b)
    }

    fn from_bytes(bytes: &[u8]) -> Self {
        Self { slot: NO_SLOT, bytes: Some(Box::new(bytes.into())) }
    }
}

type Core = Broker<Body, HostClock, SplitMix64>;

#[wasm_bindgen]
pub struct BrokerCore {
    core: Core,
    /// Present on a durable broker: turns recorded changes into file steps.
    journal: Option<Journal>,
    /// Wakes the host when a call left work for it: effects to drain,
    /// records to commit, an earlier deadline.
    waker: Waker,
    /// Effects, filled by `drain`.
    out: Outbox,
    /// Deliveries taken by `take`: apart from `out`, because a receive() may
    /// run while JS is still reading a drained batch.
    taken: Outbox,
}

fn invalid(message: &str) -> JsValue {
    to_js(CoreError::new(ErrorCode::InvalidArgument, message))
}

/// One outgoing message from the wrapper's validated arguments. A priority
/// out of u8's range stays out of range (255) rather than saturating into
/// it, so the core refuses it instead of sending at priority 0.
pub(super) fn outgoing<P>(body: P, id: Option<String>, priority: f64, delay: f64, ttl: f64) -> Outgoing<P> {
    Outgoing {
        id: id.map(String::into_boxed_str),
        payload: body,
        priority: if (0.0..=255.0).contains(&priority) { priority as u8 } else { u8::MAX },
        delay: millis(delay).unwrap_or(0),
        ttl: millis(ttl),
    }
}

/// The generated id's number, or NONE for a caller-given id (JS has the string).
fn id_number(id: &MessageId) -> f64 {
    match id {
        MessageId::Auto(n) => *n as f64,
        MessageId::Given(_) => wire::NONE,
    }
}

#[wasm_bindgen]
impl BrokerCore {
    /// `wake`: see the field.
    #[wasm_bindgen(constructor)]
    pub fn new(seed: f64, wake: Function) -> BrokerCore {
        Self::around(Broker::new(HostClock, SplitMix64::new(seed as u64)), None, wake)
    }

    /// A durable broker recovered from its log (`bytes`, empty for a new
    /// one). The file steps to run before it is used are pushed to `steps`
    /// (see `encode_steps`), after which the host calls `committed(lastSealed)`;
    /// what recovery found is pushed to `report` as [records,
    /// tornTailOffset, corruptOffset, corruptReason] (NONE/undefined when absent).
    /// `keepLeases`: a shared broker's new leader, whose followers may still
    /// hold deliveries (see `InFlight`).
    #[wasm_bindgen(js_name = openDurable)]
    pub fn open_durable(
        seed: f64,
        bytes: &[u8],
        keep_leases: bool,
        steps: &Array,
        report: &Array,
        wake: Function,
    ) -> Result<BrokerCore, JsValue> {
        let in_flight = if keep_leases { InFlight::KeepLeases } else { InFlight::Redeliver };
        let opened = recovery::open(bytes, HostClock, SplitMix64::new(seed as u64), CompactionPolicy::default(), in_flight)
            .map_err(to_js)?;
        encode_steps(steps, opened.steps);
        let r = opened.report;
        report.push(&JsValue::from_f64(r.records as f64));
        report.push(&JsValue::from_f64(r.torn_tail.map_or(wire::NONE, |at| at as f64)));
        report.push(&JsValue::from_f64(r.corrupt.as_ref().map_or(wire::NONE, |(at, _)| *at as f64)));
        report.push(&r.corrupt.map_or(JsValue::UNDEFINED, |(_, damage)| JsValue::from_str(&format!("{damage:?}"))));
        Ok(Self::around(opened.broker, Some(opened.journal), wake))
    }

    fn around(mut core: Core, journal: Option<Journal>, wake: Function) -> Self {
        // The wrapper keeps the payloads; it frees a slot when told.
        core.report_drops(true);
        BrokerCore { core, journal, waker: Waker::new(wake), out: Outbox::default(), taken: Outbox::default() }
    }

    #[wasm_bindgen(getter)]
    pub fn durable(&self) -> bool {
        self.journal.is_some()
    }

    /// Durable brokers: pushes to `steps` what persists every change since
    /// the last commit (nothing when nothing durable changed) and returns
    /// its epoch; once the steps have run, the host calls `committed` with
    /// it, and the effects that waited for those records can be drained.
    /// An error means the broker is ahead of what its log can hold: stop it.
    pub fn commit(&mut self, steps: &Array) -> Result<f64, JsValue> {
        self.waker.drained();
        let journal = self.journal.as_mut().ok_or_else(|| invalid("an in-memory broker has nothing to commit"))?;
        let commit = journal.commit(&mut self.core).map_err(to_js)?;
        encode_steps(steps, commit.steps);
        Ok(commit.epoch as f64)
    }

    /// The records of `epoch` (and every earlier one) are written.
    pub fn committed(&mut self, epoch: f64) {
        self.act(|core| core.committed(epoch as u64));
    }

    /// The newest epoch sealed (for the commit that opening made).
    #[wasm_bindgen(getter, js_name = lastSealed)]
    pub fn last_sealed(&self) -> f64 {
        self.core.last_sealed() as f64
    }

    /// Durable brokers: whether a delivery taken by `take` may be handed out
    /// now that its lease is written (not if it expired meanwhile).
    #[wasm_bindgen(js_name = handOut)]
    pub fn hand_out(&mut self, tag: f64) -> bool {
        self.act(|core| core.hand_out(DeliveryTag(tag as u64)))
    }

    /// Declares queue `name`, or checks that the options match an existing
    /// one (a queue the core created itself, such as a dead-letter queue,
    /// adopts them). `options` as the wrapper shape-checked them (see
    /// options.rs); `argument` is what the caller calls the name.
    #[wasm_bindgen(js_name = declareQueue)]
    pub fn declare_queue(&mut self, name: &str, options: JsValue, argument: &str) -> Result<u32, JsValue> {
        let options = options::queue(&Options::new(options, "options".into())?)?;
        let declared = self.act(|core| core.declare_queue(name, Some(options)));
        declared.map(|q| q.0).map_err(|e| to_js_naming(e, Field::QueueName, argument))
    }

    /// The id of the queue named `name`, or NONE when there is none.
    #[wasm_bindgen(js_name = queueId)]
    pub fn queue_id(&self, name: &str) -> f64 {
        self.core.queue_id(name).map_or(wire::NONE, |q| f64::from(q.0))
    }

    /// Returns the generated id's number, or NONE when the caller gave an id.
    #[allow(clippy::too_many_arguments)]
    pub fn send(
        &mut self,
        queue: u32,
        slot: u32,
        id: Option<String>,
        priority: f64,
        delay: f64,
        ttl: f64,
        bytes: Option<Box<[u8]>>,
    ) -> Result<f64, JsValue> {
        let message = outgoing(self.body(slot, bytes)?, id, priority, delay, ttl);
        self.act(|core| core.send(QueueId(queue), message)).map(|id| id_number(&id)).map_err(to_js)
    }

    /// All or nothing. `slots` holds each message's payload slot, `options`
    /// [priority, delay, ttl] per message; `ids` a string or undefined,
    /// `encoded` a Uint8Array or undefined.
    #[wasm_bindgen(js_name = sendBatch)]
    pub fn send_batch(
        &mut self,
        queue: u32,
        slots: &[u32],
        ids: &Array,
        options: &Float64Array,
        encoded: &Array,
    ) -> Result<Vec<f64>, JsValue> {
        let count = slots.len() as u32;
        let lengths_agree = [ids.length(), encoded.length()].iter().all(|&n| n == count);
        if !lengths_agree || options.length() != count * 3 {
            return Err(invalid("batch arrays differ in length"));
        }
        let options = options.to_vec();
        let mut messages = Vec::with_capacity(slots.len());
        for ((i, &slot), o) in (0..count).zip(slots).zip(options.chunks_exact(3)) {
            let bytes = encoded.get(i).dyn_into::<Uint8Array>().ok().map(|b| b.to_vec().into_boxed_slice());
            let body = self.body(slot, bytes)?;
            messages.push(outgoing(body, ids.get(i).as_string(), o[0], o[1], o[2]));
        }
        let sent = self.act(|core| core.send_batch(QueueId(queue), messages)).map_err(to_js)?;
        Ok(sent.iter().map(id_number).collect())
    }

    /// One message per distinct queue bound to a matching pattern; returns
    /// their ids as `send` does (empty when nothing matched).
    #[allow(clippy::too_many_arguments)]
    pub fn publish(
        &mut self,
        routing_key: &str,
        slot: u32,
        id: Option<String>,
        priority: f64,
        delay: f64,
        ttl: f64,
        bytes: Option<Box<[u8]>>,
    ) -> Result<Vec<f64>, JsValue> {
        let message = outgoing(self.body(slot, bytes)?, id, priority, delay, ttl);
        let sent = self.act(|core| core.publish(routing_key, message)).map_err(to_js)?;
        Ok(sent.iter().map(id_number).collect())
    }

    pub fn bind(&mut self, pattern: &str, queue: u32) -> Result<(), JsValue> {
        self.act(|core| core.bind(pattern, QueueId(queue))).map_err(to_js)
    }

    pub fn unbind(&mut self, pattern: &str, queue: u32) -> Result<(), JsValue> {
        self.act(|core| core.unbind(pattern, QueueId(queue))).map_err(to_js)
    }

    /// Sends a request; its reply or timeout arrives as an effect for the returned id.
    pub fn request(&mut self, queue: u32, slot: u32, timeout: f64, bytes: Option<Box<[u8]>>) -> Result<f64, JsValue> {
        let message = Outgoing::new(self.body(slot, bytes)?);
        self.act(|core| core.request(QueueId(queue), message, millis(timeout))).map(|r| r.0 as f64).map_err(to_js)
    }

    #[wasm_bindgen(js_name = cancelRequest)]
    pub fn cancel_request(&mut self, request: f64) {
        self.act(|core| core.cancel_request(RequestId(request as u64)));
    }

    /// Takes up to `max` ready messages now, as DELIVER records (consumer
    /// NONE) at `takenPtr`; returns how many numbers (0: nothing ready).
    pub fn take(&mut self, queue: u32, max: u32, vals: &Array) -> Result<u32, JsValue> {
        self.taken.begin();
        let mut result = Ok(());
        for _ in 0..max {
            match self.core.take(QueueId(queue)) {
                Ok(Some(delivery)) => encode_delivery(&mut self.taken, vals, wire::NONE, delivery),
                Ok(None) => break,
                Err(e) => {
                    result = Err(to_js(e));
                    break;
                }
            }
        }
        // Encoded in place, no list per call; the wake `act` would do, once.
        self.woke();
        result.map(|()| self.taken.len())
    }

    #[wasm_bindgen(js_name = takenPtr)]
    pub fn taken_ptr(&self) -> u32 {
        self.taken.ptr()
    }

    /// A waiting receive(): one delivery, then the subscription ends; or
    /// at `deadline` (epoch ms; NONE: never) WAIT_EXPIRED. Flat numbers:
    /// a receive with a wait subscribes on every call.
    pub fn subscribe(&mut self, queue: u32, deadline: f64) -> Result<u32, JsValue> {
        let subscription = Subscription { once: true, deadline: millis(deadline), ..Subscription::default() };
        self.act(|core| core.subscribe(QueueId(queue), subscription)).map(|c| c.0).map_err(to_js)
    }

    /// A consumer: `options` as consume() shape-checked them; this reads
    /// `prefetch`, `rateLimit` and `timeoutMs` (the rest are the wrapper's).
    #[wasm_bindgen(js_name = subscribeConsumer)]
    pub fn subscribe_consumer(&mut self, queue: u32, options: JsValue) -> Result<u32, JsValue> {
        let subscription = options::subscription(&Options::new(options, "options".into())?)?;
        self.act(|core| core.subscribe(QueueId(queue), subscription)).map(|c| c.0).map_err(to_js)
    }

    pub fn cancel(&mut self, consumer: u32) {
        self.act(|core| core.cancel(ConsumerId(consumer)));
    }

    pub fn ack(&mut self, tag: f64) -> Result<(), JsValue> {
        self.act(|core| core.ack(DeliveryTag(tag as u64))).map_err(to_js)
    }

    pub fn nack(&mut self, tag: f64, requeue: bool, delay: f64) -> Result<(), JsValue> {
        self.act(|core| core.nack(DeliveryTag(tag as u64), requeue, millis(delay))).map_err(to_js)
    }

    /// `slot`: the reply's payload slot; a reply is never stored.
    pub fn reply(&mut self, tag: f64, slot: u32) -> Result<(), JsValue> {
        let body = Body::of_slot(slot);
        self.act(|core| core.reply(DeliveryTag(tag as u64), body)).map_err(to_js)
    }

    /// Gives back a delivery JS could not hand out, uncounted.
    pub fn release(&mut self, tag: f64) -> Result<(), JsValue> {
        self.act(|core| core.release(DeliveryTag(tag as u64))).map_err(to_js)
    }

    /// Queue `queue`'s options, as a declaration elsewhere compares and
    /// adopts them (RemoteCore.declaration's canon).
    #[wasm_bindgen(js_name = describeQueue)]
    pub fn describe_queue(&self, queue: u32) -> Result<String, JsValue> {
        self.core.queue_options(QueueId(queue)).map(canon::canonical).map_err(to_js)
    }

    #[wasm_bindgen(js_name = extendLease)]
    pub fn extend_lease(&mut self, tag: f64, by: f64) -> Result<(), JsValue> {
        self.act(|core| core.extend_lease(DeliveryTag(tag as u64), millis(by).unwrap_or(0))).map_err(to_js)
    }

    pub fn purge(&mut self, queue: u32) -> Result<u32, JsValue> {
        self.act(|core| core.purge(QueueId(queue))).map(|n| n as u32).map_err(to_js)
    }

    /// [ready, inFlight, delayed, deadLettered, sent, acked, nacked, expired,
    /// redelivered, throughputPerSec, p50, p95, p99]
    pub fn stats(&self, queue: u32) -> Result<Vec<f64>, JsValue> {
        self.core.queue_stats(QueueId(queue)).map(stats_numbers).map_err(to_js)
    }

    /// Whether queue `queue` has messages ready now.
    #[wasm_bindgen(js_name = hasReady)]
    pub fn has_ready(&self, queue: u32) -> bool {
        self.core.has_ready(QueueId(queue))
    }

    /// Every tag handed out so far is below it (see `Broker::tag_floor`).
    #[wasm_bindgen(getter, js_name = tagFloor)]
    pub fn tag_floor(&self) -> f64 {
        self.core.tag_floor() as f64
    }

    /// The name of queue `queue` (undefined for an unknown id).
    #[wasm_bindgen(js_name = queueName)]
    pub fn queue_name(&self, queue: u32) -> Option<String> {
        self.core.queue_name(QueueId(queue)).map(str::to_owned)
    }

    /// Names of every queue, in id order: index i is queue id i.
    #[wasm_bindgen(js_name = queueNames)]
    pub fn queue_names(&self) -> Array {
        self.core.queues().map(|(_, name)| JsValue::from_str(name)).collect()
    }

    pub fn advance(&mut self) {
        self.act(Core::advance);
    }

    /// Epoch ms of the next deadline, or NONE.
    #[wasm_bindgen(js_name = nextDeadline)]
    pub fn next_deadline(&mut self) -> f64 {
        let at = self.core.next_deadline();
        self.waker.armed(at)
    }

    /// Moves every pending effect into the outbox (read at `outPtr`); the
    /// JS values they carry are appended to `vals`. Returns how many numbers.
    pub fn drain(&mut self, vals: &Array) -> u32 {
        self.waker.drained();
        self.out.begin();
        for effect in self.core.drain_effects() {
            encode_effect(&mut self.out, vals, effect);
        }
        self.out.len()
    }

    #[wasm_bindgen(js_name = outPtr)]
    pub fn out_ptr(&self) -> u32 {
        self.out.ptr()
    }
}

impl BrokerCore {
    /// Every call that may change the core goes through here: afterwards,
    /// whether it succeeded or not (a failed call still processes what was
    /// due), the host is woken if there is work for it or its timer must
    /// fire sooner.
    fn act<T>(&mut self, call: impl FnOnce(&mut Core) -> T) -> T {
        let result = call(&mut self.core);
        self.woke();
        result
    }

    /// Wakes the host if the last calls left work for it or an earlier deadline.
    fn woke(&mut self) {
        let core = &mut self.core;
        self.waker.after(core.has_work(), || core.next_deadline());
    }

    /// A durable broker stores every message, so it takes none without its bytes.
    fn body(&self, slot: u32, bytes: Option<Box<[u8]>>) -> Result<Body, JsValue> {
        if self.journal.is_some() && bytes.is_none() {
            return Err(to_js(CoreError::new(ErrorCode::NotSerializable, "a durable broker needs the payload's bytes")));
        }
        Ok(Body { slot, bytes: bytes.map(Box::new) })
    }
}

/// A queue's stats as `stats` returns them (js/broker/queue.ts `queueStats`).
pub(super) fn stats_numbers(s: QueueStats) -> Vec<f64> {
    vec![
        s.ready as f64,
        s.in_flight as f64,
        s.delayed as f64,
        s.dead_lettered as f64,
        s.sent as f64,
        s.acked as f64,
        s.nacked as f64,
        s.expired as f64,
        s.redelivered as f64,
        s.throughput_per_sec,
        s.latency_p50,
        s.latency_p95,
        s.latency_p99,
    ]
}

/// Each step as [`StorageOp`, `StorageFile`, bytes?], for js/storage-*.ts.
fn encode_steps(out: &Array, steps: Vec<IoStep>) {
    for step in steps {
        let (op, file, bytes) = wire::storage_step(step);
        let entry = Array::of2(&JsValue::from_f64(op.code()), &JsValue::from_f64(file.code()));
        if let Some(bytes) = bytes {
            entry.push(&Uint8Array::from(bytes.as_slice()));
        }
        out.push(&entry);
    }
}

/// One effect record; the array type makes the compiler check its length.
fn record(out: &mut Outbox, fields: [f64; STRIDE]) {
    out.push(&fields);
}

fn push_given_id(vals: &Array, id: &MessageId) {
    if let MessageId::Given(s) = id {
        vals.push(&JsValue::from_str(s));
    }
}

fn encode_delivery(out: &mut Outbox, vals: &Array, consumer: f64, d: Delivery<Body>) {
    let recovered = d.payload.slot == NO_SLOT;
    record(
        out,
        [
            BrokerEffect::Deliver.code(),
            consumer,
            id_number(&d.id),
            d.tag.0 as f64,
            f64::from(d.delivery_count),
            flag(d.redelivered) * DeliveryFlag::Redelivered.code()
                + flag(recovered) * DeliveryFlag::Recovered.code(),
            d.enqueued_at as f64,
            d.request.map_or(wire::NONE, |r| r.0 as f64),
            d.payload.slot(),
        ],
    );
    if recovered {
        vals.push(&Uint8Array::from(d.payload.bytes()));
    }
    push_given_id(vals, &d.id);
}

pub(super) fn encode_effect(out: &mut Outbox, vals: &Array, effect: Effect<Body>) {
    const N: f64 = wire::NONE;
    let kind = BrokerEffect::from(&effect).code();
    match effect {
        Effect::Deliver { consumer, delivery } => encode_delivery(out, vals, f64::from(consumer.0), delivery),
        Effect::WaitExpired { consumer } => record(out, [kind, f64::from(consumer.0), N, N, N, N, N, N, N]),
        Effect::DeadLettered { queue, target, id, reason } => {
            let target = target.map_or(N, |t| f64::from(t.0));
            let reason = DeadLetterReason::from(reason).code();
            record(out, [kind, f64::from(queue.0), id_number(&id), target, reason, N, N, N, N]);
            push_given_id(vals, &id);
        }
        Effect::Expired { queue, id } => {
            record(out, [kind, f64::from(queue.0), id_number(&id), N, N, N, N, N, N]);
            push_given_id(vals, &id);
        }
        Effect::Redelivered { queue, id, delivery_count } => {
            record(out, [kind, f64::from(queue.0), id_number(&id), f64::from(delivery_count), N, N, N, N, N]);
            push_given_id(vals, &id);
        }
        Effect::Reply { request, payload } => record(out, [kind, request.0 as f64, payload.slot(), N, N, N, N, N, N]),
        Effect::RequestTimedOut { request } => record(out, [kind, request.0 as f64, N, N, N, N, N, N, N]),
        Effect::HandlerTimedOut { consumer, tag } => {
            record(out, [kind, f64::from(consumer.0), tag.0 as f64, N, N, N, N, N, N]);
        }
        // A body recovered from the log has no slot to free.
        Effect::Dropped { payload } if payload.slot == NO_SLOT => {}
        Effect::Dropped { payload } => record(out, [kind, f64::from(payload.slot), N, N, N, N, N, N, N]),
    }
}
