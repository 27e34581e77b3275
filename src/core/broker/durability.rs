//! Which changes reach the log. On a durable broker a queue declared with
//! `durable: false` keeps its messages in memory only: its declaration and
//! bindings are logged (queue ids stay dense, and after a restart the queue
//! is there, empty), the records of its messages are not, nor are its
//! counters and dedup window. A message dead-lettered across the line is,
//! to the log, discarded (durable into memory-only) or arrives whole
//! (memory-only into durable, as a snapshot of the message and of its new
//! queue's counters).

use super::ids::{DeliveryTag, QueueId};
use super::record::Record;
use super::snapshot::{LeaseSnapshot, MessageSnapshot};
use super::state::State;

/// How one record, about to be applied, goes into the log.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Logged {
    As,
    /// A dead-lettering into a memory-only queue: the log sees a discard.
    AsDiscarded,
    /// A dead-lettering of message `seq` into a durable queue from a
    /// memory-only one: once applied, the log gets the message whole.
    AsArrival(u64),
    Not,
}

impl<P: Clone> State<P> {
    fn durable_queue(&self, q: QueueId) -> bool {
        self.queue(q).is_some_and(|queue| queue.options.durable)
    }

    fn durable_message(&self, seq: u64) -> bool {
        self.messages.get(seq).is_some_and(|m| self.durable_queue(m.queue))
    }

    fn durable_lease(&self, tag: DeliveryTag) -> bool {
        self.leases.get(&tag).is_some_and(|l| self.durable_message(l.seq))
    }

    /// How `rec` is logged, judged on the state before it is applied.
    pub fn logged(&self, rec: &Record<P>) -> Logged {
        let kept = |durable: bool| if durable { Logged::As } else { Logged::Not };
        match rec {
            Record::QueueDeclared { .. } | Record::Bound { .. } | Record::Unbound { .. } | Record::IdsRestored { .. } => {
                Logged::As
            }
            Record::Enqueued { queue, .. } | Record::Purged { queue } | Record::QueueRestored { queue, .. } => {
                kept(self.durable_queue(*queue))
            }
            Record::MessageRestored(m) => kept(self.durable_queue(m.queue)),
            Record::Leased { seq, .. } => kept(self.durable_message(*seq)),
            Record::LeaseExtended { tag, .. }
            | Record::Acked { tag, .. }
            | Record::Returned { tag, .. }
            | Record::Released { tag } => kept(self.durable_lease(*tag)),
            Record::DeadLettered { seq, target, .. } => {
                match (self.durable_message(*seq), target.map(|t| self.durable_queue(t))) {
                    (true, None | Some(true)) => Logged::As,
                    (true, Some(false)) => Logged::AsDiscarded,
                    (false, Some(true)) => Logged::AsArrival(*seq),
                    (false, None | Some(false)) => Logged::Not,
                }
            }
        }
    }

    /// Message `seq` exactly as it is, for a snapshot or an arrival.
    pub fn message_snapshot(&self, seq: u64) -> Option<MessageSnapshot<P>> {
        let m = self.messages.get(seq)?;
        let lease = m.lease.get().and_then(|tag| self.leases.get(&tag).map(|l| LeaseSnapshot { tag, deadline: l.deadline }));
        Some(MessageSnapshot {
            seq,
            queue: m.queue,
            id: m.id.clone(),
            payload: m.payload.clone(),
            priority: m.priority,
            enqueued_at: m.enqueued_at,
            ready_at: m.ready_at,
            expires_at: m.expires_at.get(),
            deliveries: m.deliveries,
            lease,
            request: self.requests.get(&seq).copied(),
        })
    }
}
