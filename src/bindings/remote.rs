//! `RemoteCore`: the local half of a broker kept on a server
//! (core::broker::RemoteBroker) for the wrapper's Redis runtime
//! (js/redis/runtime.ts). Effects come out as `BrokerCore`'s do, so the
//! wrapper hands them on with the same code; server calls come out as
//! command records.

use js_sys::{Array, Function};
use wasm_bindgen::prelude::*;

use super::broker::{encode_effect, outgoing, stats_numbers, Body};
use super::canon;
use super::errors::{to_js, to_js_naming};
use super::options::{self, Options};
use super::outbox::Outbox;
use super::waker::Waker;
use super::wire::{self, millis, RemoteCommand, CLAIMED_STRIDE};
use crate::core::broker::{
    Claimed, ConsumerId, CounterSnapshot, DeadLetterTarget, DeliveryTag, MessageId, QueueId, QueueStats, RemoteBroker,
    RequestId, ServerRef, Settlement, Subscription, THROUGHPUT_SLOTS,
};
use crate::core::error::{CoreError, ErrorCode, Field};
use crate::core::rng::SplitMix64;

use super::clock::HostClock;

type Core = RemoteBroker<Body, HostClock, SplitMix64>;

#[wasm_bindgen]
pub struct RemoteCore {
    core: Core,
    waker: Waker,
    out: Outbox,
    commands: Outbox,
}

/// [queue, seq, tag]: where the host settles a delivery on the server.
fn settlement(s: Settlement) -> Vec<f64> {
    vec![f64::from(s.queue.0), s.at.seq as f64, s.at.tag as f64]
}

#[wasm_bindgen]
impl RemoteCore {
    #[wasm_bindgen(constructor)]
    pub fn new(seed: f64, wake: Function) -> RemoteCore {
        RemoteCore {
            core: RemoteBroker::new(HostClock, SplitMix64::new(seed as u64)),
            waker: Waker::new(wake),
            out: Outbox::default(),
            commands: Outbox::default(),
        }
    }

    /// As `BrokerCore.declareQueue`; `options` undefined declares the queue
    /// without options (the server's, once known, are adopted by declaring
    /// them).
    #[wasm_bindgen(js_name = declareQueue)]
    pub fn declare_queue(&mut self, name: &str, options: JsValue, argument: &str) -> Result<u32, JsValue> {
        let options = if options.is_undefined() {
            None
        } else {
            Some(options::queue(&Options::new(options, "options".into())?)?)
        };
        let declared = self.act(|core| core.declare_queue(name, options));
        declared.map(|q| q.0).map_err(|e| to_js_naming(e, Field::QueueName, argument))
    }

    /// What the server's `declare` takes after the name: explicit (0 or 1),
    /// then field and value pairs (js/redis/library.lua).
    pub fn declaration(&self, queue: u32) -> Result<Array, JsValue> {
        let (o, explicit) = self.core.queue_options(QueueId(queue)).ok_or_else(|| unknown(queue))?;
        let out = Array::new();
        let push = |s: &str| {
            out.push(&JsValue::from_str(s));
        };
        push(if explicit { "1" } else { "0" });
        push("canon");
        push(&canon::canonical(o));
        if let Some(n) = o.max_length {
            push("maxLength");
            push(&n.to_string());
            push("overflow");
            push(canon::overflow(o.overflow));
        }
        if let Some(ttl) = o.ttl {
            push("ttl");
            push(&ttl.to_string());
        }
        push("lease");
        push(&o.lease.to_string());
        push("maxDeliveries");
        push(&o.max_deliveries.to_string());
        match &o.dead_letter {
            DeadLetterTarget::Default => {}
            DeadLetterTarget::Named(name) => {
                push("deadLetter");
                push(name);
            }
            DeadLetterTarget::Discard => {
                push("deadLetter");
                push("-");
            }
        }
        if let Some(d) = o.dedup_window {
            push("dedup");
            push(&d.to_string());
        }
        Ok(out)
    }

    #[wasm_bindgen(js_name = queueId)]
    pub fn queue_id(&self, name: &str) -> f64 {
        self.core.queue_id(name).map_or(wire::NONE, |q| f64::from(q.0))
    }

    #[wasm_bindgen(js_name = queueName)]
    pub fn queue_name(&self, queue: u32) -> Option<String> {
        self.core.queue_name(QueueId(queue)).map(str::to_owned)
    }

    /// Names of every queue, in id order: index i is queue id i.
    #[wasm_bindgen(js_name = queueNames)]
    pub fn queue_names(&self) -> Array {
        self.core.queues().map(|(_, name)| JsValue::from_str(name)).collect()
    }

    /// Checks a message's fields as a send on the in-memory broker would.
    #[wasm_bindgen(js_name = checkSend)]
    pub fn check_send(&self, queue: u32, id: Option<String>, priority: f64, ttl: f64) -> Result<(), JsValue> {
        self.core.check_send(QueueId(queue), &outgoing((), id, priority, 0.0, ttl)).map_err(to_js)
    }

    /// Checks a binding (or unbinding) the host makes on the server.
    pub fn bind(&mut self, pattern: &str, queue: u32) -> Result<(), JsValue> {
        self.core.bind(pattern, QueueId(queue)).map_err(to_js)
    }

    /// The version of the bindings loaded, NONE when they must be loaded.
    #[wasm_bindgen(js_name = bindingsVersion)]
    pub fn bindings_version(&self) -> f64 {
        self.core.bindings_version().map_or(wire::NONE, |v| v as f64)
    }

    /// `patterns[i]` binds queue `queues[i]`.
    #[wasm_bindgen(js_name = loadBindings)]
    pub fn load_bindings(&mut self, version: f64, patterns: Vec<String>, queues: &[u32]) -> Result<(), JsValue> {
        if patterns.len() != queues.len() {
            return Err(to_js(CoreError::new(ErrorCode::InvalidArgument, "bindings arrays differ in length")));
        }
        let pairs = patterns.iter().map(String::as_str).zip(queues.iter().map(|&q| QueueId(q)));
        self.core.load_bindings(version as u64, pairs).map_err(to_js)
    }

    /// The queues a message published with `key` goes to.
    pub fn route(&self, key: &str) -> Result<Vec<u32>, JsValue> {
        self.core.route(key).map(|qs| qs.into_iter().map(|q| q.0).collect()).map_err(to_js)
    }

    pub fn request(&mut self, queue: u32, timeout: f64) -> Result<f64, JsValue> {
        self.act(|core| core.request(QueueId(queue), millis(timeout))).map(|r| r.0 as f64).map_err(to_js)
    }

    /// A reply to `request` arrived: whether anyone still waits for it.
    pub fn replied(&mut self, request: f64) -> bool {
        self.act(|core| core.replied(RequestId(request as u64)))
    }

    #[wasm_bindgen(js_name = cancelRequest)]
    pub fn cancel_request(&mut self, request: f64) {
        self.act(|core| core.cancel_request(RequestId(request as u64)));
    }

    /// As `BrokerCore.subscribe`.
    pub fn subscribe(&mut self, queue: u32, deadline: f64) -> Result<u32, JsValue> {
        let subscription = Subscription { once: true, deadline: millis(deadline), ..Subscription::default() };
        self.act(|core| core.subscribe(QueueId(queue), subscription)).map(|c| c.0).map_err(to_js)
    }

    /// As `BrokerCore.subscribeConsumer`.
    #[wasm_bindgen(js_name = subscribeConsumer)]
    pub fn subscribe_consumer(&mut self, queue: u32, options: JsValue) -> Result<u32, JsValue> {
        let subscription = options::subscription(&Options::new(options, "options".into())?)?;
        self.act(|core| core.subscribe(QueueId(queue), subscription)).map(|c| c.0).map_err(to_js)
    }

    pub fn cancel(&mut self, consumer: u32) {
        self.act(|core| core.cancel(ConsumerId(consumer)));
    }

    /// The claim for `queue` came back: `lease` (ms), then `CLAIMED_STRIDE`
    /// numbers per delivery in `nums`, and the caller-given ids in `ids`.
    pub fn claimed(&mut self, queue: u32, lease: f64, nums: &[f64], ids: &Array) -> Result<(), JsValue> {
        let mut given = ids.iter();
        let mut deliveries = Vec::with_capacity(nums.len() / CLAIMED_STRIDE);
        for d in nums.chunks_exact(CLAIMED_STRIDE) {
            let id = if d[2] == wire::NONE {
                MessageId::Given(given.next().and_then(|v| v.as_string()).unwrap_or_default().into_boxed_str())
            } else {
                MessageId::Auto(d[2] as u64)
            };
            deliveries.push(Claimed {
                at: ServerRef { seq: d[0] as u64, tag: d[1] as u64 },
                id,
                payload: Body::of_slot(d[5] as u32),
                delivery_count: d[3] as u32,
                enqueued_at: d[4] as u64,
                request: d[6] == 1.0,
            });
        }
        self.act(|core| core.claimed(QueueId(queue), millis(lease).unwrap_or(0), deliveries)).map_err(to_js)
    }

    #[wasm_bindgen(js_name = claimFailed)]
    pub fn claim_failed(&mut self, queue: u32) {
        self.act(|core| core.claim_failed(QueueId(queue)));
    }

    /// The server says `queue` has due messages: whether they are wanted here.
    pub fn woken(&mut self, queue: u32) -> bool {
        self.act(|core| core.woken(QueueId(queue)))
    }

    pub fn reconnected(&mut self) {
        self.act(Core::reconnected);
    }

    /// The queues to wait on the server for.
    pub fn starved(&mut self) -> Vec<u32> {
        self.core.starved().into_iter().map(|q| q.0).collect()
    }

    /// Ends a delivery here for an ack or a release on the server: [queue, seq, tag].
    pub fn settle(&mut self, tag: f64) -> Result<Vec<f64>, JsValue> {
        self.act(|core| core.settle(DeliveryTag(tag as u64))).map(settlement).map_err(to_js)
    }

    /// As `settle`, for a reply: refused for a delivery without a request.
    pub fn reply(&mut self, tag: f64) -> Result<Vec<f64>, JsValue> {
        self.act(|core| core.reply(DeliveryTag(tag as u64))).map(settlement).map_err(to_js)
    }

    /// [queue, seq, tag, wait (NONE: dead-letter)].
    pub fn nack(&mut self, tag: f64, requeue: bool, delay: f64) -> Result<Vec<f64>, JsValue> {
        let (s, wait) = self.act(|core| core.nack(DeliveryTag(tag as u64), requeue, millis(delay))).map_err(to_js)?;
        let mut out = settlement(s);
        out.push(wire::from_millis(wait));
        Ok(out)
    }

    /// [queue, seq, tag].
    #[wasm_bindgen(js_name = extendLease)]
    pub fn extend_lease(&mut self, tag: f64, by: f64) -> Result<Vec<f64>, JsValue> {
        self.act(|core| core.extend_lease(DeliveryTag(tag as u64), millis(by).unwrap_or(0))).map(settlement).map_err(to_js)
    }

    /// A queue's stats, as `BrokerCore.stats` gives them, from the numbers
    /// the server's `stats` answers (js/redis/library.lua).
    pub fn stats(reply: &[f64]) -> Result<Vec<f64>, JsValue> {
        let malformed = || to_js(CoreError::new(ErrorCode::Storage, "the server's stats are malformed"));
        let (head, rest) = reply.split_at_checked(10).ok_or_else(malformed)?;
        let (ring, latency) = rest.split_at_checked(2 * THROUGHPUT_SLOTS).ok_or_else(malformed)?;
        let n = |i: usize| head[i] as u64;
        let mut throughput = [(0, 0); THROUGHPUT_SLOTS];
        for (slot, pair) in throughput.iter_mut().zip(ring.chunks_exact(2)) {
            *slot = (pair[0] as u64, pair[1] as u64);
        }
        let counts = CounterSnapshot {
            sent: n(3),
            acked: n(4),
            nacked: n(5),
            expired: n(6),
            redelivered: n(7),
            dead_lettered: n(8),
            latency: latency.chunks_exact(2).map(|p| (p[0] as u32, p[1] as u64)).collect(),
            throughput,
        };
        let stats = QueueStats::from_counts(n(0), n(2), n(1), &counts, n(9)).map_err(to_js)?;
        Ok(stats_numbers(stats))
    }

    pub fn advance(&mut self) {
        self.act(Core::advance);
    }

    #[wasm_bindgen(js_name = nextDeadline)]
    pub fn next_deadline(&mut self) -> f64 {
        let at = self.core.next_deadline();
        self.waker.armed(at)
    }

    /// As `BrokerCore.drain`.
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

    /// Moves the pending commands into their outbox (read at
    /// `commandsPtr`, `COMMAND_STRIDE` numbers each); returns how many numbers.
    #[wasm_bindgen(js_name = drainCommands)]
    pub fn drain_commands(&mut self) -> u32 {
        self.commands.begin();
        for command in self.core.drain_commands() {
            self.commands.push(&RemoteCommand::record(command));
        }
        self.commands.len()
    }

    #[wasm_bindgen(js_name = commandsPtr)]
    pub fn commands_ptr(&self) -> u32 {
        self.commands.ptr()
    }
}

impl RemoteCore {
    fn act<T>(&mut self, call: impl FnOnce(&mut Core) -> T) -> T {
        let result = call(&mut self.core);
        let core = &mut self.core;
        self.waker.after(core.has_work(), || core.next_deadline());
        result
    }
}

fn unknown(queue: u32) -> JsValue {
    to_js(CoreError::new(ErrorCode::InvalidArgument, format!("unknown queue {queue}")))
}
