//! The durable state of a broker and the one function that changes it.

use std::collections::HashMap;

use super::deadlines::Deadline;
use super::dedup::DedupWindow;
use super::ids::{DeliveryTag, MessageId, QueueId, RequestId};
use super::message::{DeadLetterReason, Lease, LeaseTag, Stored};
use super::queue::Queue;
use super::ready::Slot;
use super::record::Record;
use super::snapshot::LeaseSnapshot;
use super::stats::Counters;
use super::topic::{Bindings, Pattern};
use crate::core::error::{CoreError, ErrorCode};
use crate::core::int_map::IntMap;
use crate::core::seq_slab::SeqSlab;
use crate::core::time::Millis;
use crate::core::timers::TimerHeap;

/// Everything a log must reproduce. Consumers, waiters and pending requests
/// live outside it: they are transient.
#[derive(Debug, PartialEq)]
pub(super) struct State<P> {
    pub queues: Vec<Queue>,
    pub names: HashMap<Box<str>, QueueId>,
    pub bindings: Bindings,
    pub messages: SeqSlab<Stored<P>>,
    pub leases: IntMap<DeliveryTag, Lease>,
    /// The request a message carries, by seq. Apart from the message because
    /// few messages are requests and millions of messages would pay for it.
    pub requests: IntMap<u64, RequestId>,
    pub next_seq: u64,
    pub next_tag: u64,
    pub next_request: u64,
}

impl<P> Default for State<P> {
    fn default() -> Self {
        Self {
            queues: Vec::new(),
            names: HashMap::new(),
            bindings: Bindings::default(),
            messages: SeqSlab::default(),
            leases: IntMap::default(),
            requests: IntMap::default(),
            next_seq: 1,
            next_tag: 1,
            next_request: 1,
        }
    }
}

fn corrupt(what: &str) -> CoreError {
    CoreError::new(ErrorCode::Storage, format!("log does not fit the state: {what}"))
}

fn slot<P>(seq: u64, m: &Stored<P>) -> Slot {
    Slot { priority: m.priority, ready_at: m.ready_at, seq }
}

impl<P> State<P> {
    pub fn queue(&self, q: QueueId) -> Option<&Queue> {
        self.queues.get(q.0 as usize)
    }

    fn queue_mut(queues: &mut [Queue], q: QueueId) -> Result<&mut Queue, CoreError> {
        queues.get_mut(q.0 as usize).ok_or_else(|| corrupt("unknown queue"))
    }

    /// Applies one record. `now` only decides whether a message entering a
    /// queue is due or still delayed; `timers` receives its deadlines; the
    /// payloads of messages it removes for good go to `dropped`.
    pub fn apply(
        &mut self,
        rec: Record<P>,
        now: Millis,
        timers: &mut TimerHeap<Deadline>,
        dropped: &mut Vec<P>,
    ) -> Result<(), CoreError> {
        match rec {
            Record::QueueDeclared { queue, name, options, explicit } => {
                if queue.0 as usize == self.queues.len() {
                    if self.names.contains_key(&name) {
                        return Err(corrupt("queue name declared twice"));
                    }
                    self.names.insert(name.clone(), queue);
                    self.queues.push(Queue::new(name, options, explicit));
                } else {
                    let existing = Self::queue_mut(&mut self.queues, queue)?;
                    if existing.name != name {
                        return Err(corrupt("queue renamed"));
                    }
                    existing.set_options(options);
                    existing.explicit = explicit;
                }
            }
            Record::Bound { pattern, queue } => {
                Self::queue_mut(&mut self.queues, queue)?;
                let parsed = Pattern::parse(&pattern)?;
                self.bindings.add(&pattern, parsed, queue);
            }
            Record::Unbound { pattern, queue } => self.bindings.remove(&pattern, queue),
            Record::Enqueued { queue: q, seq, id, payload, priority, enqueued_at, ready_at, expires_at, request } => {
                self.check_fresh(q, seq)?;
                let queue = Self::queue_mut(&mut self.queues, q)?;
                if let (MessageId::Given(given), Some(window)) = (&id, queue.options.dedup_window) {
                    queue.dedup.insert(given, enqueued_at, enqueued_at.saturating_add(window));
                }
                queue.counters.sent += 1;
                let expires_at = expires_at.into();
                let message =
                    Stored { queue: q, id, payload, priority, enqueued_at, ready_at, expires_at, deliveries: 0, lease: LeaseTag::NONE };
                self.place(seq, message, None, request, now, timers)?;
            }
            Record::Leased { seq, tag, deadline } => {
                if self.leases.contains_key(&tag) {
                    return Err(corrupt("delivery tag reused"));
                }
                let lease = LeaseTag::of(tag).ok_or_else(|| corrupt("delivery tag 0"))?;
                let msg = self.messages.get_mut(seq).ok_or_else(|| corrupt("lease of unknown message"))?;
                let queue = Self::queue_mut(&mut self.queues, msg.queue)?;
                if msg.lease.is_some() || !queue.ready.remove(slot(seq, msg)) {
                    return Err(corrupt("lease of a message that is not queued"));
                }
                msg.lease = lease;
                msg.deliveries = msg.deliveries.saturating_add(1);
                queue.in_flight += 1;
                self.leases.insert(tag, Lease { seq, deadline });
                timers.schedule(deadline, Deadline::Lease(tag));
                self.next_tag = self.next_tag.max(tag.0.saturating_add(1));
            }
            Record::LeaseExtended { tag, deadline } => {
                let lease = self.leases.get_mut(&tag).ok_or_else(|| corrupt("unknown lease"))?;
                lease.deadline = deadline;
                timers.schedule(deadline, Deadline::Lease(tag));
            }
            Record::Acked { tag, at } => {
                let lease = self.leases.get(&tag).ok_or_else(|| corrupt("ack of unknown lease"))?;
                let msg = self.messages.get(lease.seq).ok_or_else(|| corrupt("lease of unknown message"))?;
                let queue = Self::queue_mut(&mut self.queues, msg.queue)?;
                queue.in_flight = queue.in_flight.saturating_sub(1);
                queue.counters.acked += 1;
                queue.counters.latency.record(at.saturating_sub(msg.enqueued_at));
                queue.counters.throughput.record(at);
                let seq = lease.seq;
                self.leases.remove(&tag);
                dropped.extend(self.messages.remove(seq).map(|m| m.payload));
                self.requests.remove(&seq);
            }
            Record::Returned { tag, ready_at, nacked } => {
                let lease = self.leases.get(&tag).ok_or_else(|| corrupt("return of unknown lease"))?;
                let seq = lease.seq;
                let msg = self.messages.get_mut(seq).ok_or_else(|| corrupt("lease of unknown message"))?;
                let queue = Self::queue_mut(&mut self.queues, msg.queue)?;
                msg.lease = LeaseTag::NONE;
                msg.ready_at = ready_at;
                if queue.ready.insert(slot(seq, msg), now) {
                    timers.schedule(ready_at, Deadline::Promote(msg.queue));
                }
                queue.in_flight = queue.in_flight.saturating_sub(1);
                queue.counters.redelivered += 1;
                queue.counters.nacked += u64::from(nacked);
                self.leases.remove(&tag);
            }
            Record::Released { tag } => {
                let lease = self.leases.remove(&tag).ok_or_else(|| corrupt("release of unknown lease"))?;
                let msg = self.messages.get_mut(lease.seq).ok_or_else(|| corrupt("lease of unknown message"))?;
                let queue = Self::queue_mut(&mut self.queues, msg.queue)?;
                msg.lease = LeaseTag::NONE;
                msg.deliveries = msg.deliveries.saturating_sub(1);
                if queue.ready.insert(slot(lease.seq, msg), now) {
                    timers.schedule(msg.ready_at, Deadline::Promote(msg.queue));
                }
                queue.in_flight = queue.in_flight.saturating_sub(1);
            }
            Record::DeadLettered { seq, at, reason, nacked, target, expires_at } => {
                if let Some(t) = target {
                    Self::queue_mut(&mut self.queues, t)?;
                }
                let msg = self.messages.get_mut(seq).ok_or_else(|| corrupt("dead-letter of unknown message"))?;
                let source = Self::queue_mut(&mut self.queues, msg.queue)?;
                match msg.lease.take() {
                    Some(tag) => {
                        self.leases.remove(&tag);
                        source.in_flight = source.in_flight.saturating_sub(1);
                    }
                    None => {
                        if !source.ready.remove(slot(seq, msg)) {
                            return Err(corrupt("dead-letter of a message that is not in its queue"));
                        }
                    }
                }
                source.counters.dead_lettered += 1;
                source.counters.expired += u64::from(reason == DeadLetterReason::Expired);
                source.counters.nacked += u64::from(nacked);
                match target {
                    Some(t) => {
                        let target = Self::queue_mut(&mut self.queues, t)?;
                        msg.queue = t;
                        msg.ready_at = at;
                        msg.expires_at = expires_at.into();
                        msg.deliveries = 0;
                        self.requests.remove(&seq);
                        if target.ready.insert(slot(seq, msg), now) {
                            timers.schedule(at, Deadline::Promote(t));
                        }
                        if let Some(e) = msg.expires_at.get() {
                            timers.schedule(e, Deadline::Expire(seq));
                        }
                        target.counters.sent += 1;
                    }
                    None => {
                        dropped.extend(self.messages.remove(seq).map(|m| m.payload));
                        self.requests.remove(&seq);
                    }
                }
            }
            Record::Purged { queue } => {
                let queue = Self::queue_mut(&mut self.queues, queue)?;
                for seq in queue.ready.drain() {
                    dropped.extend(self.messages.remove(seq).map(|m| m.payload));
                    self.requests.remove(&seq);
                }
            }
            Record::QueueRestored { queue, counters, dedup } => {
                let counters = Counters::restore(&counters)?;
                let queue = Self::queue_mut(&mut self.queues, queue)?;
                queue.counters = counters;
                queue.dedup = DedupWindow::restore(&dedup);
            }
            Record::MessageRestored(m) => {
                let (seq, lease, request) = (m.seq, m.lease, m.request);
                if lease.is_some_and(|l| LeaseTag::of(l.tag).is_none()) {
                    return Err(corrupt("delivery tag 0"));
                }
                self.check_fresh(m.queue, seq)?;
                self.place(seq, m.into_stored(), lease, request, now, timers)?;
            }
            Record::IdsRestored { next_seq, next_tag, next_request } => {
                self.next_seq = self.next_seq.max(next_seq);
                self.next_tag = self.next_tag.max(next_tag);
                self.next_request = self.next_request.max(next_request);
            }
        }
        Ok(())
    }

    /// A new message needs an existing queue and an unused sequence number.
    fn check_fresh(&self, q: QueueId, seq: u64) -> Result<(), CoreError> {
        self.queue(q).ok_or_else(|| corrupt("unknown queue"))?;
        if self.messages.contains_key(seq) {
            return Err(corrupt("message sequence reused"));
        }
        Ok(())
    }

    /// Puts a message into its queue's ready order, or in flight under
    /// `lease`, and schedules its deadlines.
    fn place(
        &mut self,
        seq: u64,
        msg: Stored<P>,
        lease: Option<LeaseSnapshot>,
        request: Option<RequestId>,
        now: Millis,
        timers: &mut TimerHeap<Deadline>,
    ) -> Result<(), CoreError> {
        let queue = Self::queue_mut(&mut self.queues, msg.queue)?;
        match lease {
            None => {
                if queue.ready.insert(slot(seq, &msg), now) {
                    timers.schedule(msg.ready_at, Deadline::Promote(msg.queue));
                }
            }
            Some(LeaseSnapshot { tag, deadline }) => {
                if self.leases.contains_key(&tag) {
                    return Err(corrupt("delivery tag reused"));
                }
                queue.in_flight += 1;
                self.leases.insert(tag, Lease { seq, deadline });
                timers.schedule(deadline, Deadline::Lease(tag));
                self.next_tag = self.next_tag.max(tag.0.saturating_add(1));
            }
        }
        if let Some(at) = msg.expires_at.get() {
            timers.schedule(at, Deadline::Expire(seq));
        }
        self.next_seq = self.next_seq.max(seq.saturating_add(1));
        if let Some(r) = request {
            self.next_request = self.next_request.max(r.0.saturating_add(1));
            self.requests.insert(seq, r);
        }
        self.messages.insert(seq, msg);
        Ok(())
    }
}
