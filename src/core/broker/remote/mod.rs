//! The local half of a broker whose queues live on a server (Redis), shared
//! by every process that opens it.
//!
//! The server decides everything about messages, atomically: admission,
//! order, leases, redelivery, dead letters (`js/redis/library.lua`). What is
//! local by nature is decided here, as [`Broker`](super::Broker) decides it
//! in memory: which consumer of this process gets each delivery (prefetch,
//! round-robin, rate limits), waits and their deadlines, handler timeouts,
//! request timeouts, the backoff of a nack, and how many messages each queue
//! should claim from the server: what its consumers can take now, never more,
//! so no message sits leased in a process that cannot start it.
//!
//! The host runs the server calls. It drains [`Command`]s (claims, and the
//! deliveries to give back or fail that no caller is waiting on) and answers
//! each claim with [`RemoteBroker::claimed`]; `ack`, `nack`, `extend_lease`,
//! `reply` and `release` check the delivery here and return the server's
//! name for it, for the host to settle there. Deliveries, expired waits and
//! timeouts come out as the in-memory broker's [`Effect`]s.

use std::collections::HashMap;

use super::commit::take_deliveries;
use super::consumer::Consumers;
use super::deadlines::Deadline;
use super::effect::Effect;
use super::ids::{ConsumerId, DeliveryTag, MessageId, QueueId, RequestId};
use super::message::{Delivery, Outgoing};
use super::options::{declaration, invalid, positive, within_name_limit, QueueOptions, Subscription};
use super::topic::{Bindings, Pattern};
use crate::core::error::{CoreError, ErrorCode, Field};
use crate::core::int_map::IntMap;
use crate::core::rng::Rng;
use crate::core::time::{Clock, Millis};
use crate::core::timers::TimerHeap;

/// The most one claim asks for: bounds how long one server call runs.
pub const MAX_CLAIM: u32 = 256;

/// A delivery as the server names it: the message's sequence number and the
/// tag of its current lease.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServerRef {
    pub seq: u64,
    pub tag: u64,
}

/// One delivery a claim brought.
#[derive(Clone, Debug, PartialEq)]
pub struct Claimed<P> {
    pub at: ServerRef,
    pub id: MessageId,
    pub payload: P,
    pub delivery_count: u32,
    pub enqueued_at: Millis,
    /// It carries a request: it may be replied to.
    pub request: bool,
}

/// A server call the host makes on the broker's behalf.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Command {
    /// Claim up to `max` deliveries of `queue`; answer with `claimed`.
    Claim { queue: QueueId, max: u32 },
    /// A delivery nobody received goes back as it was, uncounted.
    Release { queue: QueueId, at: ServerRef },
    /// A delivery whose consumer went away comes back as after its lease.
    Fail { queue: QueueId, at: ServerRef },
    /// A delivery whose handler timed out fails as a nack, after `wait`.
    Nack { queue: QueueId, at: ServerRef, wait: Millis },
}

/// What the host settles on the server for a local delivery.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Settlement {
    pub queue: QueueId,
    pub at: ServerRef,
}

#[derive(Debug)]
struct RemoteQueue {
    name: Box<str>,
    options: QueueOptions,
    explicit: bool,
    /// How many the claim in flight asked for: one claim at a time.
    claiming: Option<u32>,
    /// The last claim found less than it asked for: claim again only when
    /// the server says messages are due ([`RemoteBroker::woken`]) or a new
    /// subscriber asks.
    starved: bool,
    /// Waits whose deadline came while a claim was in flight: they end after
    /// it if it brought them nothing and came back short; after a full one
    /// they wait for the next claim's answer.
    late_waits: Vec<ConsumerId>,
}

/// A delivery this process holds.
#[derive(Clone, Copy, Debug)]
struct Held {
    queue: QueueId,
    at: ServerRef,
    delivery_count: u32,
    request: bool,
    /// When this process stops counting on its lease (the server's lease
    /// length, from when the claim came back: never before the server's end).
    deadline: Millis,
}

pub struct RemoteBroker<P, C, R> {
    clock: C,
    rng: R,
    now: Millis,
    queues: Vec<RemoteQueue>,
    names: HashMap<Box<str>, QueueId>,
    consumers: Consumers,
    timers: TimerHeap<Deadline>,
    held: IntMap<DeliveryTag, Held>,
    next_tag: u64,
    requests: IntMap<RequestId, Option<Millis>>,
    next_request: u64,
    /// The server's bindings as last loaded, and their version; None once a
    /// bind or unbind of this process made them stale.
    bindings: Bindings,
    bindings_version: Option<u64>,
    dirty: Vec<QueueId>,
    effects: Vec<Effect<P>>,
    commands: Vec<Command>,
}

fn stale(tag: DeliveryTag) -> CoreError {
    CoreError::new(
        ErrorCode::StaleDelivery,
        format!("delivery {} is not in flight: already settled, or its lease expired", tag.0),
    )
}

impl<P: Clone, C: Clock, R: Rng> RemoteBroker<P, C, R> {
    pub fn new(clock: C, rng: R) -> Self {
        let now = clock.now();
        Self {
            clock,
            rng,
            now,
            queues: Vec::new(),
            names: HashMap::new(),
            consumers: Consumers::default(),
            timers: TimerHeap::default(),
            held: IntMap::default(),
            next_tag: 1,
            requests: IntMap::default(),
            next_request: 1,
            bindings: Bindings::default(),
            bindings_version: None,
            dirty: Vec::new(),
            effects: Vec::new(),
            commands: Vec::new(),
        }
    }

    // ---- queues and bindings -------------------------------------------

    /// The queue's id here, checked as the in-memory broker checks it. The
    /// host declares it on the server too, which compares it with the
    /// declarations of other processes.
    pub fn declare_queue(&mut self, name: &str, opts: Option<QueueOptions>) -> Result<QueueId, CoreError> {
        let opts = declaration(name, opts)?;
        if let Some(&q) = self.names.get(name) {
            let queue = &mut self.queues[q.0 as usize];
            match opts {
                None => {}
                Some(options) if !queue.explicit => {
                    queue.options = options;
                    queue.explicit = true;
                }
                Some(options) if queue.options != options => {
                    return Err(invalid(format!("queue {name:?} already exists with different options")));
                }
                Some(_) => {}
            }
            return Ok(q);
        }
        let q = QueueId(u32::try_from(self.queues.len()).map_err(|_| invalid("too many queues"))?);
        self.queues.push(RemoteQueue {
            name: name.into(),
            explicit: opts.is_some(),
            options: opts.unwrap_or_default(),
            claiming: None,
            starved: false,
            late_waits: Vec::new(),
        });
        self.names.insert(name.into(), q);
        Ok(q)
    }

    pub fn queue_id(&self, name: &str) -> Option<QueueId> {
        self.names.get(name).copied()
    }

    pub fn queue_name(&self, q: QueueId) -> Option<&str> {
        self.queues.get(q.0 as usize).map(|queue| &*queue.name)
    }

    /// Every queue known here, in id order.
    pub fn queues(&self) -> impl Iterator<Item = (QueueId, &str)> {
        self.queues.iter().enumerate().map(|(i, q)| (QueueId(i as u32), &*q.name))
    }

    /// The options the queue was declared with here (the defaults for one
    /// made implicitly), and whether explicitly.
    pub fn queue_options(&self, q: QueueId) -> Option<(&QueueOptions, bool)> {
        self.queues.get(q.0 as usize).map(|queue| (&queue.options, queue.explicit))
    }

    /// Checks a binding the host is about to make (or remove) on the server;
    /// the routes known here are stale until loaded again.
    pub fn bind(&mut self, pattern: &str, q: QueueId) -> Result<(), CoreError> {
        Pattern::parse(pattern)?;
        self.queue(q)?;
        self.bindings_version = None;
        Ok(())
    }

    /// The version of the bindings loaded, None when they must be loaded.
    pub fn bindings_version(&self) -> Option<u64> {
        self.bindings_version
    }

    /// Replaces the bindings with the server's, as of `version`.
    pub fn load_bindings<'a>(&mut self, version: u64, bindings: impl IntoIterator<Item = (&'a str, QueueId)>) -> Result<(), CoreError> {
        let mut loaded = Bindings::default();
        for (text, q) in bindings {
            self.queue(q)?;
            loaded.add(text, Pattern::parse(text)?, q);
        }
        self.bindings = loaded;
        self.bindings_version = Some(version);
        Ok(())
    }

    /// The queues a message published with `key` goes to, by the loaded
    /// bindings (the server refuses the publish if they moved on).
    pub fn route(&self, key: &str) -> Result<Vec<QueueId>, CoreError> {
        within_name_limit(Field::RoutingKey, key)?;
        Ok(self.bindings.route(key).into_iter().collect())
    }

    /// Checks a message for `q` as the in-memory broker checks it, before
    /// the host sends it.
    pub fn check_send<T>(&self, q: QueueId, msg: &Outgoing<T>) -> Result<(), CoreError> {
        self.queue(q)?;
        msg.check().map(|_| ())
    }

    // ---- requests ----------------------------------------------------------

    /// A request the host sends; its reply comes back through `replied`.
    pub fn request(&mut self, q: QueueId, timeout: Option<Millis>) -> Result<RequestId, CoreError> {
        self.catch_up();
        self.queue(q)?;
        positive(Field::Timeout, timeout)?;
        let r = RequestId(self.next_request);
        self.next_request += 1;
        let deadline = timeout.map(|t| self.now.saturating_add(t));
        if let Some(at) = deadline {
            self.timers.schedule(at, Deadline::Request(r));
        }
        self.requests.insert(r, deadline);
        Ok(r)
    }

    /// A reply to request `r` arrived: whether anyone still waits for it.
    pub fn replied(&mut self, r: RequestId) -> bool {
        self.requests.remove(&r).is_some()
    }

    pub fn cancel_request(&mut self, r: RequestId) {
        self.requests.remove(&r);
    }

    // ---- consuming ---------------------------------------------------------

    pub fn subscribe(&mut self, q: QueueId, sub: Subscription) -> Result<ConsumerId, CoreError> {
        self.catch_up();
        self.queue(q)?;
        sub.validate()?;
        let c = self.consumers.add(q, sub)?;
        if let Some(at) = sub.deadline {
            self.timers.schedule(at, Deadline::Wait(c));
        }
        // A new subscriber asks the server once, whatever earlier claims
        // found: a receive must see what was sent since. The claim goes out
        // before its wait can end, so even a wait of 0 ms gets its answer.
        self.queues[q.0 as usize].starved = false;
        self.plan_claim(q);
        self.catch_up();
        Ok(c)
    }

    /// Idempotent. Deliveries the host has not drained yet go back to the
    /// server as they were; those its handlers hold fail, as after a lease.
    pub fn cancel(&mut self, c: ConsumerId) {
        self.catch_up();
        for tag in take_deliveries(&mut self.effects, c) {
            if let Some(h) = self.held.remove(&tag) {
                self.commands.push(Command::Release { queue: h.queue, at: h.at });
            }
        }
        if let Some(consumer) = self.consumers.remove(c) {
            for tag in consumer.tags {
                if let Some(h) = self.held.remove(&tag) {
                    self.commands.push(Command::Fail { queue: h.queue, at: h.at });
                }
            }
        }
        self.catch_up();
    }

    /// The claim in flight for `q` came back with `deliveries`: they go to
    /// its consumers as the in-memory broker would hand them out; any nobody
    /// can take now go back to the server.
    pub fn claimed(&mut self, q: QueueId, lease: Millis, deliveries: Vec<Claimed<P>>) -> Result<(), CoreError> {
        self.catch_up();
        let asked = self.queue_mut(q)?.claiming.take().unwrap_or(0);
        let found = deliveries.len();
        for d in deliveries {
            match self.consumers.pick(q, self.now, &mut self.timers) {
                Some(c) => self.deliver(q, c, lease, d),
                None => {
                    self.commands.push(Command::Release { queue: q, at: d.at });
                    self.effects.push(Effect::Dropped { payload: d.payload });
                }
            }
        }
        let queue = &mut self.queues[q.0 as usize];
        queue.starved = found < asked as usize;
        let late = std::mem::take(&mut queue.late_waits);
        if queue.starved {
            for c in late {
                self.end_wait(c);
            }
        } else {
            // Full: the server may have more. The waits still open (many
            // made at once, as receiveBatch does) go with the next claim's
            // answer, planned below; each full claim hands something out.
            let open = late.into_iter().filter(|&c| self.consumers.get(c).is_some()).collect();
            self.queues[q.0 as usize].late_waits = open;
        }
        self.mark_dirty(q);
        self.catch_up();
        Ok(())
    }

    /// The claim in flight for `q` failed (the server is unreachable): no
    /// claim until `woken` or `reconnected`.
    pub fn claim_failed(&mut self, q: QueueId) {
        if let Some(queue) = self.queues.get_mut(q.0 as usize) {
            queue.claiming = None;
            queue.starved = true;
        }
    }

    /// The server says `q` has due messages: whether this process wants
    /// them (if not, the host leaves the signal for another process).
    pub fn woken(&mut self, q: QueueId) -> bool {
        self.catch_up();
        let Some(queue) = self.queues.get_mut(q.0 as usize) else { return false };
        queue.starved = false;
        let wanted = self.demand(q) > 0;
        self.mark_dirty(q);
        self.catch_up();
        wanted
    }

    /// The connection is back: every queue with demand claims again.
    pub fn reconnected(&mut self) {
        self.catch_up();
        for q in 0..self.queues.len() {
            self.queues[q].starved = false;
            self.mark_dirty(QueueId(q as u32));
        }
        self.catch_up();
    }

    /// Queues to wait on the server for: wanted here, and the last claim
    /// found nothing more.
    pub fn starved(&mut self) -> Vec<QueueId> {
        let mut out = Vec::new();
        for q in (0..self.queues.len() as u32).map(QueueId) {
            let queue = &self.queues[q.0 as usize];
            if queue.starved && queue.claiming.is_none() && self.demand(q) > 0 {
                out.push(q);
            }
        }
        out
    }

    /// As `settle`, for a reply: only a delivery that carries a request.
    pub fn reply(&mut self, tag: DeliveryTag) -> Result<Settlement, CoreError> {
        self.catch_up();
        if !self.held(tag)?.request {
            return Err(invalid(format!("delivery {} is not a request", tag.0)));
        }
        self.settle(tag)
    }

    /// Ends delivery `tag` here, its consumer having room again, for the
    /// host to ack it or release it on the server (a release: its receiver
    /// went away before it was handed out).
    pub fn settle(&mut self, tag: DeliveryTag) -> Result<Settlement, CoreError> {
        self.catch_up();
        let h = self.held(tag)?;
        self.held.remove(&tag);
        self.release_owner(tag);
        self.catch_up();
        Ok(Settlement { queue: h.queue, at: h.at })
    }

    /// `requeue: false` dead-letters on the server. A requeue waits for
    /// `delay`, or else the queue's backoff for this delivery count: the wait
    /// returned, for the server.
    pub fn nack(&mut self, tag: DeliveryTag, requeue: bool, delay: Option<Millis>) -> Result<(Settlement, Option<Millis>), CoreError> {
        self.catch_up();
        let h = self.held(tag)?;
        if !requeue && delay.is_some() {
            return Err(invalid("a delay only applies to a requeue"));
        }
        let wait = requeue.then(|| self.wait_after_nack(&h, delay));
        Ok((self.settle(tag)?, wait))
    }

    /// New deadline = now + `by` (SQS ChangeMessageVisibility); 0 returns it
    /// at once (the server fails it, as after its lease).
    pub fn extend_lease(&mut self, tag: DeliveryTag, by: Millis) -> Result<Settlement, CoreError> {
        self.catch_up();
        let h = self.held(tag)?;
        if by == 0 {
            return self.settle(tag);
        }
        let deadline = self.now.saturating_add(by);
        if let Some(held) = self.held.get_mut(&tag) {
            held.deadline = deadline;
        }
        self.timers.schedule(deadline, Deadline::Lease(tag));
        Ok(Settlement { queue: h.queue, at: h.at })
    }

    // ---- time and effects -----------------------------------------------

    pub fn advance(&mut self) {
        self.catch_up();
    }

    /// When the host should call [`RemoteBroker::advance`] next.
    pub fn next_deadline(&mut self) -> Option<Millis> {
        let (held, consumers, requests) = (&self.held, &self.consumers, &self.requests);
        self.timers.prune(|at, key| is_live(held, consumers, requests, at, key));
        self.timers.next_deadline()
    }

    /// Whether the host has effects to drain or commands to run.
    pub fn has_work(&self) -> bool {
        !self.effects.is_empty() || !self.commands.is_empty()
    }

    pub fn drain_effects(&mut self) -> std::vec::Drain<'_, Effect<P>> {
        self.effects.drain(..)
    }

    pub fn drain_commands(&mut self) -> std::vec::Drain<'_, Command> {
        self.commands.drain(..)
    }

    // ---- internals -------------------------------------------------------

    fn queue(&self, q: QueueId) -> Result<&RemoteQueue, CoreError> {
        self.queues.get(q.0 as usize).ok_or_else(|| invalid(format!("unknown queue {}", q.0)))
    }

    fn queue_mut(&mut self, q: QueueId) -> Result<&mut RemoteQueue, CoreError> {
        self.queues.get_mut(q.0 as usize).ok_or_else(|| invalid(format!("unknown queue {}", q.0)))
    }

    /// A delivery held here whose lease this process still counts on.
    fn held(&self, tag: DeliveryTag) -> Result<Held, CoreError> {
        self.held.get(&tag).filter(|h| h.deadline > self.now).copied().ok_or_else(|| stale(tag))
    }

    fn wait_after_nack(&mut self, h: &Held, delay: Option<Millis>) -> Millis {
        let backoff = self.queues[h.queue.0 as usize].options.backoff;
        delay.unwrap_or_else(|| backoff.delay(h.delivery_count, &mut self.rng))
    }

    fn release_owner(&mut self, tag: DeliveryTag) {
        if let Some(q) = self.consumers.release(tag) {
            self.mark_dirty(q);
        }
    }

    fn deliver(&mut self, q: QueueId, c: ConsumerId, lease: Millis, d: Claimed<P>) {
        let tag = DeliveryTag(self.next_tag);
        self.next_tag += 1;
        let deadline = self.now.saturating_add(lease);
        self.held.insert(tag, Held { queue: q, at: d.at, delivery_count: d.delivery_count, request: d.request, deadline });
        self.timers.schedule(deadline, Deadline::Lease(tag));
        match self.consumers.get(c).map(|k| (k.once, k.timeout)) {
            Some((true, _)) => {
                self.consumers.remove(c);
            }
            Some((false, timeout)) => {
                self.consumers.delivered(c, tag, self.now);
                if let Some(t) = timeout {
                    self.timers.schedule(self.now.saturating_add(t), Deadline::HandlerTimeout(tag));
                }
            }
            None => {}
        }
        let dropped = d.payload.clone();
        let delivery = Delivery {
            tag,
            queue: q,
            id: d.id,
            payload: d.payload,
            delivery_count: d.delivery_count,
            redelivered: d.delivery_count > 1,
            enqueued_at: d.enqueued_at,
            request: None,
        };
        self.effects.push(Effect::Deliver { consumer: c, delivery });
        // The delivery carries the payload on: nothing here keeps it.
        self.effects.push(Effect::Dropped { payload: dropped });
    }

    /// How many deliveries `q`'s consumers could start now.
    fn demand(&mut self, q: QueueId) -> u32 {
        self.consumers.room_for(q, self.now)
    }

    fn end_wait(&mut self, c: ConsumerId) {
        if self.consumers.remove(c).is_some() {
            self.effects.push(Effect::WaitExpired { consumer: c });
        }
    }

    fn mark_dirty(&mut self, q: QueueId) {
        if !self.dirty.contains(&q) {
            self.dirty.push(q);
        }
    }

    /// Processes every deadline up to now, in order, then plans the claims
    /// that what happened makes worth it.
    fn catch_up(&mut self) {
        let target = self.now.max(self.clock.now());
        while let Some((at, key)) = self.timers.pop_due(target) {
            self.now = self.now.max(at);
            self.fire(key);
        }
        self.now = target;
        while let Some(q) = self.dirty.pop() {
            self.plan_claim(q);
        }
    }

    fn plan_claim(&mut self, q: QueueId) {
        let Some(queue) = self.queues.get(q.0 as usize) else { return };
        if queue.claiming.is_some() || queue.starved {
            return;
        }
        let max = self.demand(q).min(MAX_CLAIM);
        if max > 0 {
            self.queues[q.0 as usize].claiming = Some(max);
            self.commands.push(Command::Claim { queue: q, max });
        }
    }

    fn fire(&mut self, key: Deadline) {
        let now = self.now;
        match key {
            Deadline::Lease(tag) => {
                // The server has given it to someone else, or will: a late
                // settle is stale, and its consumer has room again.
                if self.held.get(&tag).is_some_and(|h| h.deadline <= now) {
                    self.held.remove(&tag);
                    self.release_owner(tag);
                }
            }
            Deadline::Wait(c) => {
                let Some(k) = self.consumers.get(c).filter(|k| k.deadline.is_some_and(|d| d <= now)) else { return };
                let q = k.queue;
                match self.queues.get_mut(q.0 as usize) {
                    // The claim may bring it something: it decides.
                    Some(queue) if queue.claiming.is_some() => queue.late_waits.push(c),
                    _ => self.end_wait(c),
                }
            }
            Deadline::Request(r) => {
                if self.requests.get(&r).is_some_and(|d| d.is_some_and(|d| d <= now)) {
                    self.requests.remove(&r);
                    self.effects.push(Effect::RequestTimedOut { request: r });
                }
            }
            Deadline::RateReopens(c) => {
                if let Some(k) = self.consumers.get_mut(c).filter(|k| k.reopens.is_some_and(|at| at <= now)) {
                    k.reopens = None;
                    let q = k.queue;
                    self.mark_dirty(q);
                }
            }
            Deadline::HandlerTimeout(tag) => {
                if let (Some(consumer), Some(h)) = (self.consumers.owner(tag), self.held.get(&tag).copied()) {
                    self.effects.push(Effect::HandlerTimedOut { consumer, tag });
                    let wait = self.wait_after_nack(&h, None);
                    self.held.remove(&tag);
                    self.release_owner(tag);
                    self.commands.push(Command::Nack { queue: h.queue, at: h.at, wait });
                }
            }
            // The server keeps messages, their delays and their TTLs.
            Deadline::Promote(_) | Deadline::Expire(_) => {}
        }
    }
}

/// Whether a timer entry is still wanted (see the in-memory broker's).
fn is_live(
    held: &IntMap<DeliveryTag, Held>,
    consumers: &Consumers,
    requests: &IntMap<RequestId, Option<Millis>>,
    at: Millis,
    key: &Deadline,
) -> bool {
    match *key {
        Deadline::Lease(tag) => held.get(&tag).is_some_and(|h| h.deadline == at),
        Deadline::Wait(c) => consumers.get(c).is_some_and(|k| k.deadline == Some(at)),
        Deadline::Request(r) => requests.get(&r).is_some_and(|d| *d == Some(at)),
        Deadline::RateReopens(c) => consumers.get(c).is_some_and(|k| k.reopens == Some(at)),
        Deadline::HandlerTimeout(tag) => consumers.owner(tag).is_some(),
        Deadline::Promote(_) | Deadline::Expire(_) => false,
    }
}

#[cfg(test)]
mod tests;
