use js_sys::Array;
use wasm_bindgen::prelude::*;

use super::clock::HostClock;
use super::errors::to_js;
use super::wire::{self, millis, STRIDE};
use crate::core::broker::{
    Broker, ConsumerId, DeadLetterReason, Delivery, DeliveryTag, Effect, MessageId, Outgoing, QueueId,
    QueueOptions, Subscription,
};
use crate::core::error::{CoreError, ErrorCode};
use crate::core::rng::SplitMix64;

/// A message body as JS handed it over: kept as JS values, never serialized
/// on the in-memory path.
#[derive(Clone)]
pub struct Body {
    payload: JsValue,
    headers: JsValue,
}

type Core = Broker<Body, HostClock, SplitMix64>;

#[wasm_bindgen]
pub struct BrokerCore {
    core: Core,
}

fn invalid(message: &str) -> JsValue {
    to_js(CoreError::new(ErrorCode::InvalidArgument, message))
}

#[wasm_bindgen]
impl BrokerCore {
    #[wasm_bindgen(constructor)]
    pub fn new(seed: f64) -> BrokerCore {
        BrokerCore { core: Broker::new(HostClock, SplitMix64::new(seed as u64)) }
    }

    /// Without `explicit` the queue is fetched, or created with defaults.
    #[wasm_bindgen(js_name = declareQueue)]
    pub fn declare_queue(&mut self, name: &str, explicit: bool, lease: f64) -> Result<u32, JsValue> {
        let defaults = QueueOptions::default();
        let options = explicit.then(|| QueueOptions { lease: millis(lease).unwrap_or(defaults.lease), ..defaults });
        self.core.declare_queue(name, options).map(|q| q.0).map_err(to_js)
    }

    /// Returns the generated id's number, or NONE when the caller gave an id.
    #[allow(clippy::too_many_arguments)]
    pub fn send(
        &mut self,
        queue: u32,
        payload: JsValue,
        headers: JsValue,
        id: Option<String>,
        priority: u32,
        delay: f64,
        ttl: f64,
    ) -> Result<f64, JsValue> {
        let priority = u8::try_from(priority).map_err(|_| invalid("priority must be from 0 to 9"))?;
        let message = Outgoing {
            id: id.map(String::into_boxed_str),
            payload: Body { payload, headers },
            priority,
            delay: millis(delay).unwrap_or(0),
            ttl: millis(ttl),
        };
        match self.core.send(QueueId(queue), message).map_err(to_js)? {
            MessageId::Auto(n) => Ok(n as f64),
            MessageId::Given(_) => Ok(wire::NONE),
        }
    }

    /// Takes one ready message now, encoded as a single DELIVER record
    /// (consumer NONE); empty when nothing is ready.
    pub fn get(&mut self, queue: u32, vals: &Array) -> Result<Vec<f64>, JsValue> {
        let mut nums = Vec::new();
        if let Some(delivery) = self.core.get(QueueId(queue)).map_err(to_js)? {
            encode_delivery(&mut nums, vals, wire::NONE, delivery);
        }
        Ok(nums)
    }

    pub fn subscribe(&mut self, queue: u32, prefetch: u32, once: bool, deadline: f64) -> Result<u32, JsValue> {
        let subscription = Subscription { prefetch, once, deadline: millis(deadline) };
        self.core.subscribe(QueueId(queue), subscription).map(|c| c.0).map_err(to_js)
    }

    pub fn cancel(&mut self, consumer: u32) {
        self.core.cancel(ConsumerId(consumer));
    }

    pub fn ack(&mut self, tag: f64) -> Result<(), JsValue> {
        self.core.ack(DeliveryTag(tag as u64)).map_err(to_js)
    }

    pub fn nack(&mut self, tag: f64, requeue: bool, delay: f64) -> Result<(), JsValue> {
        self.core.nack(DeliveryTag(tag as u64), requeue, millis(delay)).map_err(to_js)
    }

    pub fn advance(&mut self) {
        self.core.advance();
    }

    /// Epoch ms of the next deadline, or NONE.
    #[wasm_bindgen(js_name = nextDeadline)]
    pub fn next_deadline(&mut self) -> f64 {
        wire::from_millis(self.core.next_deadline())
    }

    /// Hands every pending effect to JS: records as numbers (returned), the
    /// JS values they carry appended to `vals`.
    pub fn drain(&mut self, vals: &Array) -> Vec<f64> {
        let mut nums = Vec::new();
        for effect in self.core.drain_effects() {
            encode_effect(&mut nums, vals, effect);
        }
        nums
    }
}

fn record(nums: &mut Vec<f64>, fields: [f64; STRIDE]) {
    nums.extend_from_slice(&fields);
}

/// The id's number for generated ids; a given id goes to `vals` (callers push
/// it last, after the record's other values).
fn auto_id(id: &MessageId) -> f64 {
    match id {
        MessageId::Auto(n) => *n as f64,
        MessageId::Given(_) => wire::NONE,
    }
}

fn push_given_id(vals: &Array, id: &MessageId) {
    if let MessageId::Given(s) = id {
        vals.push(&JsValue::from_str(s));
    }
}

fn encode_delivery(nums: &mut Vec<f64>, vals: &Array, consumer: f64, d: Delivery<Body>) {
    record(
        nums,
        [
            wire::DELIVER,
            consumer,
            auto_id(&d.id),
            d.tag.0 as f64,
            f64::from(d.delivery_count),
            wire::flag(d.redelivered),
            d.enqueued_at as f64,
            d.request.map_or(wire::NONE, |r| r.0 as f64),
        ],
    );
    vals.push(&d.payload.payload);
    vals.push(&d.payload.headers);
    push_given_id(vals, &d.id);
}

fn encode_effect(nums: &mut Vec<f64>, vals: &Array, effect: Effect<Body>) {
    const N: f64 = wire::NONE;
    match effect {
        Effect::Deliver { consumer, delivery } => encode_delivery(nums, vals, f64::from(consumer.0), delivery),
        Effect::WaitExpired { consumer } => record(nums, [wire::WAIT_EXPIRED, f64::from(consumer.0), N, N, N, N, N, N]),
        Effect::DeadLettered { queue, target, id, reason } => {
            let target = target.map_or(N, |t| f64::from(t.0));
            record(nums, [wire::DEAD_LETTERED, f64::from(queue.0), auto_id(&id), target, reason_code(reason), N, N, N]);
            push_given_id(vals, &id);
        }
        Effect::Expired { queue, id } => {
            record(nums, [wire::EXPIRED, f64::from(queue.0), auto_id(&id), N, N, N, N, N]);
            push_given_id(vals, &id);
        }
        Effect::Redelivered { queue, id, delivery_count } => {
            let count = f64::from(delivery_count);
            record(nums, [wire::REDELIVERED, f64::from(queue.0), auto_id(&id), count, N, N, N, N]);
            push_given_id(vals, &id);
        }
        Effect::Reply { request, payload } => {
            record(nums, [wire::REPLY, request.0 as f64, N, N, N, N, N, N]);
            vals.push(&payload.payload);
        }
        Effect::RequestTimedOut { request } => {
            record(nums, [wire::REQUEST_TIMED_OUT, request.0 as f64, N, N, N, N, N, N]);
        }
    }
}

/// Index into `DEAD_LETTER_REASONS` in js/wire.js.
fn reason_code(reason: DeadLetterReason) -> f64 {
    match reason {
        DeadLetterReason::Expired => 0.0,
        DeadLetterReason::MaxLen => 1.0,
        DeadLetterReason::Rejected => 2.0,
        DeadLetterReason::DeliveryLimit => 3.0,
    }
}
