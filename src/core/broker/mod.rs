//! The broker core: queues with priorities, delays, TTLs and length limits;
//! leased deliveries with ack/nack, redelivery and dead-lettering; fair
//! consumers with prefetch, rate limits and handler timeouts; dedup
//! windows; topic routing; request/reply; statistics.
//!
//! Commands read the injected clock and rng, validate, and turn each durable
//! change into a [`Record`] that [`State::apply`](state::State) performs, so
//! [`Broker::replay`] of the records rebuilds the same state. Every deadline
//! sits in one [`TimerHeap`]; each command first processes what is due, so
//! the broker always acts as of `clock.now()`, and the host arms a single
//! timer at [`Broker::next_deadline`].

mod commit;
mod consumer;
mod deadlines;
mod dedup;
mod durability;
mod effect;
mod histogram;
mod ids;
mod message;
mod options;
mod queue;
mod ready;
mod record;
mod remote;
mod snapshot;
mod state;
mod stats;
mod topic;

use std::collections::HashSet;

pub use commit::{Epoch, Sealed};
pub use effect::Effect;
pub use ids::{ConsumerId, DeliveryTag, MessageId, Priority, QueueId, RequestId};
pub use message::{DeadLetterReason, Delivery, Outgoing};
pub use options::{DeadLetterTarget, Overflow, QueueOptions, Subscription, MAX_NAME_BYTES};
pub use record::Record;
pub use remote::{Claimed, Command, RemoteBroker, ServerRef, Settlement, MAX_CLAIM};
pub use snapshot::{CounterSnapshot, LeaseSnapshot, MessageSnapshot};
pub use stats::{QueueStats, THROUGHPUT_SLOTS};
pub use crate::core::rate::{RateLimit, Window};

use commit::{take_deliveries, Held};
use consumer::Consumers;
use deadlines::Deadline;
use durability::Logged;
use crate::core::int_map::IntMap;
use options::{declaration, default_dead_letter_queue, invalid, positive, within_name_limit};
use queue::Queue;
use state::State;
use topic::Pattern;

use crate::core::error::{CoreError, ErrorCode, Field};
use crate::core::rng::Rng;
use crate::core::time::{Clock, Millis};
use crate::core::timers::TimerHeap;

/// The verdict on one outgoing message, reached before anything changes.
enum Admission {
    /// A caller id seen inside the queue's dedup window: accepted, not enqueued.
    Duplicate(Box<str>),
    New(Priority),
}

pub struct Broker<P, C, R> {
    clock: C,
    rng: R,
    /// Time up to which deadlines have been processed. Never goes backwards,
    /// even if the host clock does.
    now: Millis,
    state: State<P>,
    timers: TimerHeap<Deadline>,
    consumers: Consumers,
    /// Pending requests and their timeout.
    requests: IntMap<RequestId, Option<Millis>>,
    /// Queues where a delivery may have become possible.
    dirty: Vec<QueueId>,
    /// Effects of the commands since the last seal (all of them, in memory).
    effects: Vec<Effect<P>>,
    /// Recording (durable): records not sealed yet, effects held until
    /// their epoch is committed, and those released and not drained yet.
    recording: bool,
    log: Vec<Record<P>>,
    /// A memory-only queue took ids (sequence numbers, delivery tags) the
    /// log has not seen: the next seal records the counters, so ids are
    /// never reused after a restart.
    ids_unlogged: bool,
    held: Held<P>,
    released: Vec<Effect<P>>,
    /// Recording: deliveries made and not handed out yet (their lease is
    /// still being written). One whose lease runs out meanwhile never
    /// reached anyone: it goes back uncounted, not as a failed delivery.
    unhanded: IntMap<DeliveryTag, ()>,
    /// Whether payloads let go of are reported ([`Effect::Dropped`]).
    report_drops: bool,
    /// Reused by `commit` for the payloads a record removes.
    dropped: Vec<P>,
}

/// Stale timer entries a broker may hold beyond twice its live ones, so a
/// small broker never spends time compacting its timers.
const TIMER_SLACK: usize = 64;

/// Whether a timer entry is still wanted: its owner waits for exactly this
/// deadline. The one rule for skipping stale entries ([`Broker::next_deadline`])
/// and for dropping them ([`Broker::compact_timers`]).
fn timer_is_live<P>(
    state: &State<P>,
    consumers: &Consumers,
    requests: &IntMap<RequestId, Option<Millis>>,
    at: Millis,
    key: &Deadline,
) -> bool {
    match *key {
        Deadline::Promote(q) => state.queue(q).is_some_and(|q| q.ready.has_delayed_at(at)),
        Deadline::Expire(seq) => state.messages.get(seq).is_some_and(|m| m.expires_at.get() == Some(at)),
        Deadline::Lease(tag) => state.leases.get(&tag).is_some_and(|l| l.deadline == at),
        Deadline::Wait(c) => consumers.get(c).is_some_and(|k| k.deadline == Some(at)),
        Deadline::Request(r) => requests.get(&r).is_some_and(|d| *d == Some(at)),
        Deadline::RateReopens(c) => consumers.get(c).is_some_and(|k| k.reopens == Some(at)),
        Deadline::HandlerTimeout(tag) => consumers.owner(tag).is_some(),
    }
}

fn stale(tag: DeliveryTag) -> CoreError {
    CoreError::new(
        ErrorCode::StaleDelivery,
        format!("delivery {} is not in flight: already settled, or its lease expired", tag.0),
    )
}

impl<P: Clone, C: Clock, R: Rng> Broker<P, C, R> {
    pub fn new(clock: C, rng: R) -> Self {
        let now = clock.now();
        Self {
            clock,
            rng,
            now,
            state: State::default(),
            timers: TimerHeap::default(),
            consumers: Consumers::default(),
            requests: IntMap::default(),
            dirty: Vec::new(),
            effects: Vec::new(),
            recording: false,
            log: Vec::new(),
            ids_unlogged: false,
            held: Held::default(),
            report_drops: false,
            dropped: Vec::new(),
            released: Vec::new(),
            unhanded: IntMap::default(),
        }
    }

    // ---- queues and bindings -------------------------------------------

    pub fn declare_queue(&mut self, name: &str, opts: Option<QueueOptions>) -> Result<QueueId, CoreError> {
        let opts = declaration(name, opts)?;
        let existing = self.state.names.get(name).copied();
        match (existing, opts) {
            (Some(q), None) => Ok(q),
            (Some(q), Some(options)) => {
                let queue = self.queue(q)?;
                if !queue.explicit {
                    // Its records (messages, counters) were logged, or not, by
                    // the durability it was created with: it cannot change.
                    if queue.options.durable != options.durable {
                        let durable = queue.options.durable;
                        return Err(invalid(format!("queue {name:?} exists with durable: {durable}; declare it so")));
                    }
                    self.commit(Record::QueueDeclared { queue: q, name: name.into(), options, explicit: true });
                    Ok(q)
                } else if queue.options == options {
                    Ok(q)
                } else {
                    Err(invalid(format!("queue {name:?} already exists with different options")))
                }
            }
            (None, opts) => {
                let q = self.next_queue_id().ok_or_else(|| invalid("too many queues"))?;
                let explicit = opts.is_some();
                let options = opts.unwrap_or_default();
                self.commit(Record::QueueDeclared { queue: q, name: name.into(), options, explicit });
                Ok(q)
            }
        }
    }

    pub fn queue_id(&self, name: &str) -> Option<QueueId> {
        self.state.names.get(name).copied()
    }

    pub fn queue_name(&self, q: QueueId) -> Option<&str> {
        self.state.queue(q).map(|queue| &*queue.name)
    }

    pub fn queues(&self) -> impl Iterator<Item = (QueueId, &str)> {
        self.state.queues.iter().zip(0..).map(|(queue, i)| (QueueId(i), &*queue.name))
    }

    pub fn bind(&mut self, pattern: &str, q: QueueId) -> Result<(), CoreError> {
        self.queue(q)?;
        Pattern::parse(pattern)?;
        if !self.state.bindings.contains(pattern, q) {
            self.commit(Record::Bound { pattern: pattern.into(), queue: q });
        }
        Ok(())
    }

    /// Removing a binding that does not exist is not an error (as in RabbitMQ).
    pub fn unbind(&mut self, pattern: &str, q: QueueId) -> Result<(), CoreError> {
        self.queue(q)?;
        Pattern::parse(pattern)?;
        if self.state.bindings.contains(pattern, q) {
            self.commit(Record::Unbound { pattern: pattern.into(), queue: q });
        }
        Ok(())
    }

    // ---- sending -----------------------------------------------------------

    pub fn send(&mut self, q: QueueId, msg: Outgoing<P>) -> Result<MessageId, CoreError> {
        self.catch_up();
        let admission = self.admit(q, &msg, &HashSet::new(), 0)?;
        let id = self.enqueue(q, msg, admission, None);
        self.catch_up();
        Ok(id)
    }

    /// All or nothing: every message is checked (including capacity under
    /// `Overflow::Reject`) before the first one is enqueued.
    pub fn send_batch(&mut self, q: QueueId, msgs: Vec<Outgoing<P>>) -> Result<Vec<MessageId>, CoreError> {
        self.catch_up();
        let mut admissions = Vec::with_capacity(msgs.len());
        {
            let (mut seen, mut fresh) = (HashSet::new(), 0);
            for msg in &msgs {
                let admission = self.admit(q, msg, &seen, fresh)?;
                if let Admission::New(_) = admission {
                    fresh += 1;
                    if let Some(id) = &msg.id {
                        seen.insert(&**id);
                    }
                }
                admissions.push(admission);
            }
        }
        let ids = msgs.into_iter().zip(admissions).map(|(msg, a)| self.enqueue(q, msg, a, None)).collect();
        self.catch_up();
        Ok(ids)
    }

    /// One copy per distinct queue whose bindings match; nothing when none does.
    pub fn publish(&mut self, routing_key: &str, msg: Outgoing<P>) -> Result<Vec<MessageId>, CoreError> {
        within_name_limit(Field::RoutingKey, routing_key)?;
        self.catch_up();
        let targets = self.state.bindings.route(routing_key);
        let admissions: Vec<(QueueId, Admission)> = targets
            .into_iter()
            .map(|q| Ok((q, self.admit(q, &msg, &HashSet::new(), 0)?)))
            .collect::<Result<_, CoreError>>()?;
        let ids = admissions.into_iter().map(|(q, a)| self.enqueue(q, msg.clone(), a, None)).collect();
        self.catch_up();
        Ok(ids)
    }

    pub fn request(&mut self, q: QueueId, msg: Outgoing<P>, timeout: Option<Millis>) -> Result<RequestId, CoreError> {
        positive(Field::Timeout, timeout)?;
        self.catch_up();
        let admission = match self.admit(q, &msg, &HashSet::new(), 0)? {
            // The earlier request owns that message; this one could never be answered.
            Admission::Duplicate(id) => return Err(invalid(format!("request id {id:?} was already used"))),
            new => new,
        };
        let request = RequestId(self.state.next_request);
        self.enqueue(q, msg, admission, Some(request));
        let deadline = timeout.map(|t| self.now.saturating_add(t));
        self.requests.insert(request, deadline);
        if let Some(at) = deadline {
            self.timers.schedule(at, Deadline::Request(request));
        }
        self.catch_up();
        Ok(request)
    }

    /// Forget a pending request: a later reply is still an ack, but resolves nothing.
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
        self.mark_dirty(q);
        self.catch_up();
        Ok(c)
    }

    /// Idempotent. The consumer's unsettled deliveries go back to the queue
    /// as failed deliveries (they count towards `max_deliveries`).
    pub fn cancel(&mut self, c: ConsumerId) {
        self.catch_up();
        // Deliveries to `c` the host has not drained yet (or, durable, that
        // wait for their commit) never reached anyone: they go back
        // uncounted, not as failed deliveries.
        let mut unseen = take_deliveries(&mut self.effects, c);
        unseen.extend(self.held.take_deliveries_to(c));
        unseen.extend(take_deliveries(&mut self.released, c));
        for tag in unseen {
            // Settled already, before the host drained its delivery.
            if self.state.leases.contains_key(&tag) {
                self.put_back(tag);
            }
        }
        if let Some(consumer) = self.consumers.remove(c) {
            for tag in consumer.tags {
                self.fail_delivery(tag, false, None);
            }
        }
        self.catch_up();
    }

    /// Gives back a delivery the host could not hand out (its receiver went
    /// away first): the message returns to its place with its delivery count
    /// as before, so it is not a failed delivery.
    pub fn release(&mut self, tag: DeliveryTag) -> Result<(), CoreError> {
        self.catch_up();
        self.leased(tag)?;
        self.put_back(tag);
        self.catch_up();
        Ok(())
    }

    /// Takes the next ready message now (a poll, not tied to a consumer).
    pub fn take(&mut self, q: QueueId) -> Result<Option<Delivery<P>>, CoreError> {
        self.catch_up();
        self.queue(q)?;
        let delivery = self.next_due(q).and_then(|seq| self.deliver(seq, None));
        self.catch_up();
        Ok(delivery)
    }

    pub fn ack(&mut self, tag: DeliveryTag) -> Result<(), CoreError> {
        self.catch_up();
        self.leased(tag)?;
        self.release_owner(tag);
        self.commit(Record::Acked { tag, at: self.now });
        self.catch_up();
        Ok(())
    }

    /// `requeue: false` dead-letters (reason `rejected`). A requeue waits for
    /// `delay`, or else the queue's backoff for this delivery count.
    pub fn nack(&mut self, tag: DeliveryTag, requeue: bool, delay: Option<Millis>) -> Result<(), CoreError> {
        self.catch_up();
        let seq = self.leased(tag)?;
        if requeue {
            self.fail_delivery(tag, true, delay);
        } else if delay.is_some() {
            return Err(invalid("a delay only applies to a requeue"));
        } else {
            self.dead_letter(seq, DeadLetterReason::Rejected, true);
        }
        self.catch_up();
        Ok(())
    }

    /// Acks the delivery and resolves the request it carried.
    pub fn reply(&mut self, tag: DeliveryTag, payload: P) -> Result<(), CoreError> {
        self.catch_up();
        let seq = self.leased(tag)?;
        let request = self
            .state
            .requests
            .get(&seq)
            .copied()
            .ok_or_else(|| invalid(format!("delivery {} is not a request", tag.0)))?;
        self.release_owner(tag);
        self.commit(Record::Acked { tag, at: self.now });
        if self.requests.remove(&request).is_some() {
            self.effects.push(Effect::Reply { request, payload });
        } else {
            self.drop_payload(payload);
        }
        self.catch_up();
        Ok(())
    }

    /// New deadline = now + `by` (SQS ChangeMessageVisibility); 0 returns it at once.
    pub fn extend_lease(&mut self, tag: DeliveryTag, by: Millis) -> Result<(), CoreError> {
        self.catch_up();
        self.leased(tag)?;
        self.commit(Record::LeaseExtended { tag, deadline: self.now.saturating_add(by) });
        self.catch_up();
        Ok(())
    }

    /// Removes ready and delayed messages; in-flight ones stay.
    pub fn purge(&mut self, q: QueueId) -> Result<usize, CoreError> {
        self.catch_up();
        let n = self.queue(q)?.ready.len();
        if n > 0 {
            self.commit(Record::Purged { queue: q });
        }
        self.catch_up();
        Ok(n)
    }

    /// Returns every in-flight message to its queue as a failed delivery:
    /// after a restart, no consumer holds them any more.
    pub fn recover_in_flight(&mut self) {
        self.catch_up();
        let mut tags: Vec<DeliveryTag> = self.state.leases.keys().copied().collect();
        tags.sort_unstable();
        for tag in tags {
            self.fail_delivery(tag, false, None);
        }
        self.catch_up();
    }

    // ---- time and effects -----------------------------------------------

    /// Processes everything due at `clock.now()`, then dispatches.
    pub fn advance(&mut self) {
        self.catch_up();
    }

    /// When the host should call [`Broker::advance`] next.
    pub fn next_deadline(&mut self) -> Option<Millis> {
        let (state, consumers, requests) = (&self.state, &self.consumers, &self.requests);
        self.timers.prune(|at, key| timer_is_live(state, consumers, requests, at, key));
        self.timers.next_deadline()
    }

    /// Reports every payload the broker lets go of for good as an
    /// [`Effect::Dropped`], in order with the other effects (on a durable
    /// broker, after the deliveries committed before it). Off by default.
    pub fn report_drops(&mut self, on: bool) {
        self.report_drops = on;
    }

    fn drop_payload(&mut self, payload: P) {
        if self.report_drops {
            self.effects.push(Effect::Dropped { payload });
        }
    }

    /// What the host acts on: every effect so far in memory; on a durable
    /// broker, only those whose records are committed.
    pub fn drain_effects(&mut self) -> std::vec::Drain<'_, Effect<P>> {
        if self.recording {
            self.released.drain(..)
        } else {
            self.effects.drain(..)
        }
    }

    pub fn queue_stats(&self, q: QueueId) -> Result<QueueStats, CoreError> {
        Ok(self.queue(q)?.stats(self.now.max(self.clock.now())))
    }

    /// Whether queue `q` has messages ready to deliver now (stats' `ready`,
    /// without computing the rest): what a leader wakes its followers for.
    pub fn has_ready(&self, q: QueueId) -> bool {
        self.queue(q).is_ok_and(|queue| queue.ready.due_len() > 0)
    }

    /// Every delivery tag handed out so far is below this one (tags are
    /// never reused): a shared broker's new leader tells the tags an earlier
    /// leader handed out from its own by it.
    pub fn tag_floor(&self) -> u64 {
        self.state.next_tag
    }

    // ---- log ---------------------------------------------------------------

    /// Turns recording (durable mode) on: every change is kept as a record
    /// for [`Broker::seal`], and effects wait for their commit. Off by
    /// default, so in-memory brokers never clone payloads into a log.
    pub fn set_recording(&mut self, on: bool) {
        self.recording = on;
    }

    /// Takes every record made since the last seal, and holds the effects
    /// made with them until [`Broker::committed`] is called with the
    /// returned epoch (see [`commit`](self::commit)).
    pub fn seal(&mut self) -> Sealed<P> {
        if std::mem::take(&mut self.ids_unlogged) {
            let state = &self.state;
            let (next_seq, next_tag, next_request) = (state.next_seq, state.next_tag, state.next_request);
            self.log.push(Record::IdsRestored { next_seq, next_tag, next_request });
        }
        let epoch = self.held.seal(std::mem::take(&mut self.effects));
        Sealed { epoch, records: std::mem::take(&mut self.log) }
    }

    /// The records of every epoch up to `epoch` are in the log: their effects
    /// may be drained. A delivery whose message expired, or that was settled,
    /// while its lease was being written is not handed out.
    pub fn committed(&mut self, epoch: Epoch) {
        self.catch_up();
        for effect in self.held.release_through(epoch) {
            if let Effect::Deliver { consumer, delivery } = &effect {
                self.unhanded.remove(&delivery.tag);
                if !self.may_hand_out(delivery.tag) {
                    continue;
                }
                match self.consumers.get(*consumer) {
                    Some(k) if k.once => {
                        self.consumers.remove(*consumer);
                    }
                    Some(k) => self.arm_timeout(delivery.tag, k.timeout),
                    None => {}
                }
            }
            self.released.push(effect);
        }
        self.catch_up();
    }

    /// Whether a delivery taken by [`Broker::get`] on a durable broker may be
    /// handed out now that its lease is committed: not when it was settled
    /// meanwhile, or its message expired (it is dead-lettered instead).
    pub fn hand_out(&mut self, tag: DeliveryTag) -> bool {
        self.catch_up();
        self.unhanded.remove(&tag);
        let ok = self.may_hand_out(tag);
        self.catch_up();
        ok
    }

    /// Whether the host has something to do: records to commit, or effects
    /// to seal or drain. (Effects of a sealed epoch wait for the host's own
    /// `committed`, so they are not work it needs telling about.)
    pub fn has_work(&self) -> bool {
        !self.log.is_empty() || !self.effects.is_empty() || !self.released.is_empty() || self.ids_unlogged
    }

    /// The newest epoch sealed so far (0 before the first seal).
    pub fn last_sealed(&self) -> Epoch {
        self.held.last()
    }

    /// Rebuilds a broker from its log. Consumers, waiters and requests are
    /// not in it; leases come back with their deadlines and expire as usual.
    /// Nothing is processed yet: turn recording on before the first
    /// `advance()`, so what it does for the time that passed is logged too.
    pub fn replay(clock: C, rng: R, records: impl IntoIterator<Item = Record<P>>) -> Result<Self, CoreError> {
        Self::replay_counted(clock, rng, records).map_err(|(_, e)| e)
    }

    /// [`Broker::replay`], telling on failure the index of the first record
    /// that does not fit the state before it (so a host can keep what came
    /// before it).
    pub fn replay_counted(
        clock: C,
        rng: R,
        records: impl IntoIterator<Item = Record<P>>,
    ) -> Result<Self, (usize, CoreError)> {
        let mut broker = Self::new(clock, rng);
        // Recovered payloads have nothing on the host side to free.
        let mut dropped = Vec::new();
        for (i, rec) in records.into_iter().enumerate() {
            broker.state.apply(rec, broker.now, &mut broker.timers, &mut dropped).map_err(|e| (i, e))?;
            dropped.clear();
        }
        Ok(broker)
    }

    /// Whether both brokers hold the same durable state (what a log records).
    pub fn same_durable_state(&self, other: &Self) -> bool
    where
        P: PartialEq,
    {
        self.state == other.state
    }

    // ---- internals -----------------------------------------------------------

    /// A delivery nobody received goes back to its place, uncounted; one
    /// whose message expired meanwhile is dead-lettered, as any return is.
    fn put_back(&mut self, tag: DeliveryTag) {
        self.unhanded.remove(&tag);
        let Some(seq) = self.state.leases.get(&tag).map(|l| l.seq) else { return };
        self.release_owner(tag);
        self.commit(Record::Released { tag });
        let Some(msg) = self.state.messages.get(seq) else { return };
        let (q, expired) = (msg.queue, msg.is_expired(self.now));
        if expired {
            self.dead_letter(seq, DeadLetterReason::Expired, false);
        } else {
            self.mark_dirty(q);
        }
    }

    fn may_hand_out(&mut self, tag: DeliveryTag) -> bool {
        let Some(seq) = self.state.leases.get(&tag).map(|l| l.seq) else { return false };
        if self.state.messages.get(seq).is_some_and(|m| m.is_expired(self.now)) {
            self.dead_letter(seq, DeadLetterReason::Expired, false);
            return false;
        }
        true
    }

    fn commit(&mut self, rec: Record<P>) {
        let logged = if self.recording { self.state.logged(&rec) } else { Logged::Not };
        match (&logged, &rec) {
            (Logged::As, _) => self.log.push(rec.clone()),
            (Logged::Not, Record::Enqueued { .. } | Record::Leased { .. }) => self.ids_unlogged = true,
            (Logged::AsDiscarded, Record::DeadLettered { seq, at, reason, nacked, .. }) => {
                let (seq, at, reason, nacked) = (*seq, *at, *reason, *nacked);
                self.log.push(Record::DeadLettered { seq, at, reason, nacked, target: None, expires_at: None });
            }
            _ => {}
        }
        let applied = self.state.apply(rec, self.now, &mut self.timers, &mut self.dropped);
        if self.report_drops {
            self.effects.extend(self.dropped.drain(..).map(|payload| Effect::Dropped { payload }));
        } else {
            self.dropped.clear();
        }
        debug_assert!(applied.is_ok(), "a command produced a record that does not fit: {applied:?}");
        if let Logged::AsArrival(seq) = logged {
            // The message whole, and its new queue's counters, which its
            // arrival moved (no other record says so without the source).
            if let Some(m) = self.state.message_snapshot(seq) {
                let q = m.queue;
                self.log.push(Record::MessageRestored(Box::new(m)));
                if let Some(queue) = self.state.queue(q) {
                    let counters = Box::new(queue.counters.snapshot());
                    self.log.push(Record::QueueRestored { queue: q, counters, dedup: queue.dedup.entries() });
                }
            }
        }
    }

    /// The options queue `q` has.
    pub fn queue_options(&self, q: QueueId) -> Result<&QueueOptions, CoreError> {
        self.queue(q).map(|queue| &queue.options)
    }

    fn queue(&self, q: QueueId) -> Result<&Queue, CoreError> {
        self.state.queue(q).ok_or_else(|| invalid(format!("unknown queue {}", q.0)))
    }

    fn next_queue_id(&self) -> Option<QueueId> {
        u32::try_from(self.state.queues.len()).ok().map(QueueId)
    }

    /// The in-flight message behind `tag`.
    fn leased(&self, tag: DeliveryTag) -> Result<u64, CoreError> {
        self.state.leases.get(&tag).map(|l| l.seq).ok_or_else(|| stale(tag))
    }

    /// Catches up with the clock: processes every deadline up to
    /// `clock.now()` in time order, acting at each one's own time, and
    /// dispatches after each. Every public call starts here, so the result
    /// does not depend on how often the host calls in.
    fn catch_up(&mut self) {
        let target = self.now.max(self.clock.now());
        while let Some((at, key)) = self.timers.pop_due(target) {
            self.now = self.now.max(at);
            self.fire(key);
            self.flush();
        }
        self.now = target;
        self.flush();
        self.compact_timers();
    }

    /// Keeps the timer heap within a constant factor of its live entries:
    /// settled messages leave their expiry (and lease) entries behind. Live
    /// entries number at most one per message (its expiry), one per distinct
    /// delayed ready time (so again at most one per message), one per lease,
    /// two per consumer (a wait's end or its window's reopening), one per
    /// consumer's delivery (its timeout) and one per request. Beyond twice
    /// that, most are stale, and dropping them costs O(n) paid for by the
    /// n/2 dropped: amortized O(1).
    fn compact_timers(&mut self) {
        let (state, consumers, requests) = (&self.state, &self.consumers, &self.requests);
        let live_at_most = 2 * state.messages.len() + state.leases.len() + consumers.live_timers() + requests.len();
        if self.timers.len() > 2 * live_at_most + TIMER_SLACK {
            self.timers.retain_live(|at, key| timer_is_live(state, consumers, requests, at, key));
        }
    }

    fn fire(&mut self, key: Deadline) {
        let now = self.now;
        match key {
            Deadline::Promote(q) => {
                if let Some(queue) = self.state.queues.get_mut(q.0 as usize) {
                    queue.ready.promote(now);
                    self.mark_dirty(q);
                }
            }
            Deadline::Expire(seq) => {
                // An in-flight message expires when it comes back (see fail_delivery).
                if self.state.messages.get(seq).is_some_and(|m| m.lease.is_none() && m.is_expired(now)) {
                    self.dead_letter(seq, DeadLetterReason::Expired, false);
                }
            }
            Deadline::Lease(tag) => {
                if self.state.leases.get(&tag).is_some_and(|l| l.deadline <= now) {
                    if self.unhanded.remove(&tag).is_some() {
                        self.put_back(tag);
                    } else {
                        self.fail_delivery(tag, false, None);
                    }
                }
            }
            Deadline::Wait(c) => {
                if self.consumers.get(c).is_some_and(|k| k.deadline.is_some_and(|d| d <= now)) {
                    self.consumers.remove(c);
                    self.effects.push(Effect::WaitExpired { consumer: c });
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
                // Unsettled still: its handler failed, as if it had nacked.
                if let Some(consumer) = self.consumers.owner(tag) {
                    self.effects.push(Effect::HandlerTimedOut { consumer, tag });
                    self.fail_delivery(tag, true, None);
                }
            }
        }
    }

    /// Queues rarely number more than a few per call, so a linear check keeps
    /// a batch of sends from queueing the same dispatch once per message.
    fn mark_dirty(&mut self, q: QueueId) {
        if !self.dirty.contains(&q) {
            self.dirty.push(q);
        }
    }

    fn flush(&mut self) {
        while let Some(q) = self.dirty.pop() {
            self.dispatch(q);
        }
    }

    /// Hands due messages to consumers with spare prefetch, round-robin.
    fn dispatch(&mut self, q: QueueId) {
        while let Some(seq) = self.next_due(q) {
            let Some(c) = self.consumers.pick(q, self.now, &mut self.timers) else { return };
            if let Some(delivery) = self.deliver(seq, Some(c)) {
                self.effects.push(Effect::Deliver { consumer: c, delivery });
            }
        }
    }

    /// The head of the queue, dead-lettering expired heads on the way: an
    /// expired message is never delivered, even in the millisecond its
    /// expiry timer shares with the delivery.
    fn next_due(&mut self, q: QueueId) -> Option<u64> {
        let now = self.now;
        if let Some(queue) = self.state.queues.get_mut(q.0 as usize) {
            // A message due this very millisecond may still wait for its
            // Promote timer, queued behind the one being fired now.
            if queue.ready.earliest_delayed().is_some_and(|at| at <= now) {
                queue.ready.promote(now);
            }
        }
        loop {
            let seq = self.state.queue(q)?.ready.head()?.seq;
            if !self.state.messages.get(seq)?.is_expired(self.now) {
                return Some(seq);
            }
            self.dead_letter(seq, DeadLetterReason::Expired, false);
        }
    }

    fn deliver(&mut self, seq: u64, owner: Option<ConsumerId>) -> Option<Delivery<P>> {
        let tag = DeliveryTag(self.state.next_tag);
        let lease = self.queue(self.state.messages.get(seq)?.queue).ok()?.options.lease;
        self.commit(Record::Leased { seq, tag, deadline: self.now.saturating_add(lease) });
        if self.recording {
            self.unhanded.insert(tag, ());
        }
        let msg = self.state.messages.get(seq)?;
        let delivery = Delivery {
            tag,
            queue: msg.queue,
            id: msg.id.clone(),
            payload: msg.payload.clone(),
            delivery_count: msg.deliveries,
            redelivered: msg.deliveries > 1,
            enqueued_at: msg.enqueued_at,
            request: self.state.requests.get(&seq).copied(),
        };
        if let Some(c) = owner {
            match self.consumers.get(c).map(|k| (k.once, k.timeout)) {
                // A `once` subscription is done; its delivery stays valid
                // without it. On a durable broker it stays until its delivery
                // is handed out (`committed`): one dropped there (expired or
                // settled meanwhile) must leave it waiting for the next.
                Some((true, _)) if !self.recording => {
                    self.consumers.remove(c);
                }
                Some((_, timeout)) => {
                    self.consumers.delivered(c, tag, self.now);
                    // A durable broker hands it out once its lease is
                    // written (`committed`): its handler's time starts then.
                    if !self.recording {
                        self.arm_timeout(tag, timeout);
                    }
                }
                None => {}
            }
        }
        Some(delivery)
    }

    /// Delivery `tag` was handed out: it fails if still unsettled after `timeout`.
    fn arm_timeout(&mut self, tag: DeliveryTag, timeout: Option<Millis>) {
        if let Some(t) = timeout {
            self.timers.schedule(self.now.saturating_add(t), Deadline::HandlerTimeout(tag));
        }
    }

    /// The consumer holding `tag` (if any) no longer does, and has room again.
    fn release_owner(&mut self, tag: DeliveryTag) {
        // Whatever ends the lease ends its waiting to be handed out.
        self.unhanded.remove(&tag);
        if let Some(q) = self.consumers.release(tag) {
            self.mark_dirty(q);
        }
    }

    /// Checks one outgoing message against queue `q`, given the ids and the
    /// count of new messages a batch has already admitted before it.
    fn admit(&self, q: QueueId, msg: &Outgoing<P>, batch_ids: &HashSet<&str>, batch_new: usize) -> Result<Admission, CoreError> {
        let queue = self.queue(q)?;
        let priority = msg.check()?;
        if let Some(id) = &msg.id {
            if queue.options.dedup_window.is_some() && (queue.dedup.contains(id, self.now) || batch_ids.contains(&**id)) {
                return Ok(Admission::Duplicate(id.clone()));
            }
        }
        if queue.options.overflow == Overflow::Reject && queue.is_full(batch_new) {
            return Err(CoreError::new(ErrorCode::QueueFull, format!("queue {:?} is full", queue.name)));
        }
        Ok(Admission::New(priority))
    }

    fn enqueue(&mut self, q: QueueId, msg: Outgoing<P>, admission: Admission, request: Option<RequestId>) -> MessageId {
        let priority = match admission {
            Admission::Duplicate(id) => {
                self.drop_payload(msg.payload);
                return MessageId::Given(id);
            }
            Admission::New(p) => p,
        };
        let now = self.now;
        let (queue_ttl, drop_oldest) = match self.state.queue(q) {
            Some(queue) => (queue.options.ttl, queue.options.overflow == Overflow::DropOldest),
            None => (None, false),
        };
        while drop_oldest && self.state.queue(q).is_some_and(|queue| queue.is_full(0)) {
            let Some(oldest) = self.state.queue(q).and_then(|queue| queue.ready.oldest()) else { break };
            self.dead_letter(oldest, DeadLetterReason::MaxLen, false);
        }
        let seq = self.state.next_seq;
        let ttl = match (msg.ttl, queue_ttl) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let id = msg.id.map_or(MessageId::Auto(seq), MessageId::Given);
        self.commit(Record::Enqueued {
            queue: q,
            seq,
            id: id.clone(),
            payload: msg.payload,
            priority,
            enqueued_at: now,
            ready_at: now.saturating_add(msg.delay),
            expires_at: ttl.map(|t| now.saturating_add(t)),
            request,
        });
        self.mark_dirty(q);
        id
    }

    /// A delivery failed: the message goes back (after a delay if nacked),
    /// unless it has used up its deliveries or expired meanwhile.
    fn fail_delivery(&mut self, tag: DeliveryTag, nacked: bool, delay: Option<Millis>) {
        let Some(seq) = self.state.leases.get(&tag).map(|l| l.seq) else { return };
        let Some(msg) = self.state.messages.get(seq) else { return };
        let Some(queue) = self.state.queue(msg.queue) else { return };
        let (q, deliveries, ready_at) = (msg.queue, msg.deliveries, msg.ready_at);
        let (max_deliveries, backoff) = (queue.options.max_deliveries, queue.options.backoff);
        let (expired, id) = (msg.is_expired(self.now), msg.id.clone());
        self.release_owner(tag);
        if deliveries >= max_deliveries {
            return self.dead_letter(seq, DeadLetterReason::DeliveryLimit, nacked);
        }
        if expired {
            return self.dead_letter(seq, DeadLetterReason::Expired, nacked);
        }
        let wait = match delay {
            Some(d) => d,
            None if nacked => backoff.delay(deliveries, &mut self.rng),
            None => 0,
        };
        // Without a wait the message keeps its old ready time, hence its old place.
        let ready_at = if wait == 0 { ready_at } else { self.now.saturating_add(wait) };
        self.commit(Record::Returned { tag, ready_at, nacked });
        self.effects.push(Effect::Redelivered { queue: q, id, delivery_count: deliveries });
        self.mark_dirty(q);
    }

    /// Moves message `seq` to its queue's dead-letter target, making room
    /// there if needed, or discards it when there is no target.
    fn dead_letter(&mut self, seq: u64, reason: DeadLetterReason, nacked: bool) {
        let Some(source) = self.state.messages.get(seq).map(|m| m.queue) else { return };
        let target = self.dead_letter_target(source).filter(|&t| self.make_room(t));
        let ttl = target.and_then(|t| self.state.queue(t)).and_then(|t| t.options.ttl);
        let expires_at = ttl.map(|ttl| self.now.saturating_add(ttl));
        self.remove_message(seq, reason, nacked, target, expires_at);
        if let Some(t) = target {
            self.mark_dirty(t);
        }
    }

    fn remove_message(&mut self, seq: u64, reason: DeadLetterReason, nacked: bool, target: Option<QueueId>, expires_at: Option<Millis>) {
        let Some(msg) = self.state.messages.get(seq) else { return };
        let (queue, id, lease) = (msg.queue, msg.id.clone(), msg.lease);
        if let Some(tag) = lease.get() {
            self.release_owner(tag);
        }
        self.commit(Record::DeadLettered { seq, at: self.now, reason, nacked, target, expires_at });
        if reason == DeadLetterReason::Expired {
            self.effects.push(Effect::Expired { queue, id: id.clone() });
        }
        self.effects.push(Effect::DeadLettered { queue, target, id, reason });
    }

    /// Whether a dead-lettered message may enter `t`. A full target with
    /// drop-oldest discards the message it holds that was enqueued earliest;
    /// one with reject refuses, and the message is discarded instead.
    /// Neither cascades further, so a cycle of dead-letter queues cannot loop.
    fn make_room(&mut self, t: QueueId) -> bool {
        let Some(queue) = self.state.queue(t) else { return false };
        if !queue.is_full(0) {
            return true;
        }
        match (queue.options.overflow, queue.ready.oldest()) {
            (Overflow::DropOldest, Some(oldest)) => {
                self.remove_message(oldest, DeadLetterReason::MaxLen, false, None, None);
                true
            }
            _ => false,
        }
    }

    /// The queue dead-letters from `source` go to, created (implicitly) if missing.
    fn dead_letter_target(&mut self, source: QueueId) -> Option<QueueId> {
        let queue = self.state.queue(source)?;
        let name: Box<str> = match &queue.options.dead_letter {
            DeadLetterTarget::Default => default_dead_letter_queue(&queue.name).into(),
            DeadLetterTarget::Named(name) => name.as_str().into(),
            DeadLetterTarget::Discard => return None,
        };
        // Refused at declare, but a log written before that rule may still
        // hold such a queue: its dead letters are discarded, as they were then.
        if name == queue.name {
            return None;
        }
        if let Some(&t) = self.state.names.get(&name) {
            return Some(t);
        }
        let t = self.next_queue_id()?;
        // Dead letters of a memory-only queue are memory-only too.
        let options = QueueOptions::implicit_dead_letter_queue(queue.options.durable);
        self.commit(Record::QueueDeclared { queue: t, name, options, explicit: false });
        Some(t)
    }
}

#[cfg(test)]
mod tests;
