//! Compaction's half in the broker: the shortest record list that replays
//! into the same durable state, so a log can be rewritten from it.

use super::ids::{DeliveryTag, MessageId, Priority, QueueId, RequestId};
use super::message::{LeaseTag, Stored};
use super::record::Record;
use super::stats::THROUGHPUT_SLOTS;
use super::Broker;
use crate::core::rng::Rng;
use crate::core::time::{Clock, Millis};

/// A queue's statistics counters as a snapshot carries them.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CounterSnapshot {
    pub sent: u64,
    pub acked: u64,
    pub nacked: u64,
    pub expired: u64,
    pub redelivered: u64,
    pub dead_lettered: u64,
    /// Non-empty buckets of the latency histogram as (bucket, count).
    pub latency: Vec<(u32, u64)>,
    /// The throughput window's slots as (second, acks).
    pub throughput: [(u64, u64); THROUGHPUT_SLOTS],
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LeaseSnapshot {
    pub tag: DeliveryTag,
    pub deadline: Millis,
}

/// One live message with everything replay needs to put it back where it
/// was: its place in the ready order, its delivery count, its lease.
#[derive(Clone, Debug, PartialEq)]
pub struct MessageSnapshot<P> {
    pub seq: u64,
    pub queue: QueueId,
    pub id: MessageId,
    pub payload: P,
    pub priority: Priority,
    pub enqueued_at: Millis,
    pub ready_at: Millis,
    pub expires_at: Option<Millis>,
    pub deliveries: u32,
    /// `Some` while in flight.
    pub lease: Option<LeaseSnapshot>,
    pub request: Option<RequestId>,
}

impl<P> MessageSnapshot<P> {
    /// The message as the broker stores it; seq, lease deadline and request
    /// live beside it there.
    pub(super) fn into_stored(self) -> Stored<P> {
        let Self { queue, id, payload, priority, enqueued_at, ready_at, expires_at, deliveries, lease, .. } = self;
        // Tag 0 (a corrupt log) was refused before this.
        let lease = lease.and_then(|l| LeaseTag::of(l.tag)).unwrap_or(LeaseTag::NONE);
        Stored { queue, id, payload, priority, enqueued_at, ready_at, expires_at: expires_at.into(), deliveries, lease }
    }
}

impl<P: Clone, C: Clock, R: Rng> Broker<P, C, R> {
    /// About how many bytes [`Broker::snapshot_records`] would encode to,
    /// found without building them (no copies; O(state)): what compaction's
    /// policy needs at open. `payload_len` is a payload's stored size. It
    /// only has to be close: it decides when to compact, not what is written.
    pub fn snapshot_size_hint(&self, payload_len: impl Fn(&P) -> usize) -> usize {
        // A record's tag, integers, lengths and options, roughly, in varints.
        const FIXED: usize = 40;
        let state = &self.state;
        let queues: usize = state
            .queues
            .iter()
            .map(|q| {
                let (entries, id_bytes) = q.dedup.size();
                2 * FIXED + q.name.len() + entries * 10 + id_bytes + 8 * THROUGHPUT_SLOTS
            })
            .sum();
        let bindings: usize = state.bindings.iter().map(|(pattern, _)| FIXED + pattern.len()).sum();
        let messages: usize = state
            .messages
            .values()
            .map(|m| {
                let id = match &m.id {
                    MessageId::Given(id) => id.len(),
                    MessageId::Auto(_) => 0,
                };
                FIXED + id + payload_len(&m.payload)
            })
            .sum();
        queues + bindings + messages + FIXED
    }

    /// Records that [`Broker::replay`] turns into this broker's durable
    /// state: queues, bindings, counters and dedup windows, then every live
    /// message in sequence order (so equal deadlines keep their order), then
    /// the id counters.
    pub fn snapshot_records(&self) -> Vec<Record<P>> {
        let state = &self.state;
        let mut out = Vec::with_capacity(2 * state.queues.len() + state.messages.len() + 1);
        for (queue, i) in state.queues.iter().zip(0..) {
            let (name, options, explicit) = (queue.name.clone(), queue.options.clone(), queue.explicit);
            out.push(Record::QueueDeclared { queue: QueueId(i), name, options, explicit });
        }
        for (pattern, queue) in state.bindings.iter() {
            out.push(Record::Bound { pattern: pattern.into(), queue });
        }
        // A memory-only queue's counters, dedup window and messages stay out,
        // as they stay out of the log (see durability).
        for (queue, i) in state.queues.iter().zip(0..).filter(|(queue, _)| queue.options.durable) {
            let counters = Box::new(queue.counters.snapshot());
            out.push(Record::QueueRestored { queue: QueueId(i), counters, dedup: queue.dedup.entries() });
        }
        let mut seqs: Vec<u64> = state.messages.keys().collect();
        seqs.sort_unstable();
        for seq in seqs {
            let Some(m) = state.message_snapshot(seq) else { continue };
            if state.queue(m.queue).is_some_and(|q| q.options.durable) {
                out.push(Record::MessageRestored(Box::new(m)));
            }
        }
        out.push(Record::IdsRestored {
            next_seq: state.next_seq,
            next_tag: state.next_tag,
            next_request: state.next_request,
        });
        out
    }
}
