//! The event-sourced log: every durable change to a broker is one of these.
//! Commands read the clock and rng, validate, and emit records; applying a
//! record never consults either, so replaying a log rebuilds the same state.

use super::ids::{DeliveryTag, MessageId, Priority, QueueId, RequestId};
use super::message::DeadLetterReason;
use super::options::QueueOptions;
use super::snapshot::{CounterSnapshot, MessageSnapshot};
use crate::core::time::Millis;

#[derive(Clone, Debug, PartialEq)]
pub enum Record<P> {
    /// Creates queue `queue` (ids are dense, in creation order) or, for an
    /// existing one, replaces its options (an implicit queue being declared).
    QueueDeclared { queue: QueueId, name: Box<str>, options: QueueOptions, explicit: bool },
    Bound { pattern: Box<str>, queue: QueueId },
    Unbound { pattern: Box<str>, queue: QueueId },
    Enqueued {
        queue: QueueId,
        seq: u64,
        id: MessageId,
        payload: P,
        priority: Priority,
        enqueued_at: Millis,
        ready_at: Millis,
        expires_at: Option<Millis>,
        request: Option<RequestId>,
    },
    /// Message `seq` handed out under `tag`; its delivery count goes up by one.
    Leased { seq: u64, tag: DeliveryTag, deadline: Millis },
    LeaseExtended { tag: DeliveryTag, deadline: Millis },
    /// `at` feeds the latency histogram and throughput window.
    Acked { tag: DeliveryTag, at: Millis },
    /// The delivery failed and the message is queued again at `ready_at`.
    Returned { tag: DeliveryTag, ready_at: Millis, nacked: bool },
    /// A delivery the host never handed out goes back to its place, uncounted.
    Released { tag: DeliveryTag },
    /// The message leaves its queue (queued or in flight). With a target it
    /// moves there, ready at `at` and expiring at `expires_at`; without, it is gone.
    DeadLettered {
        seq: u64,
        at: Millis,
        reason: DeadLetterReason,
        nacked: bool,
        target: Option<QueueId>,
        expires_at: Option<Millis>,
    },
    /// Every queued (not in-flight) message of the queue is removed.
    Purged { queue: QueueId },
    /// Written by snapshots: a queue's counters and dedup window (ids with
    /// their expiry, oldest first) as they were, so a compacted log keeps its
    /// statistics and still recognises recent duplicates of acked messages.
    QueueRestored { queue: QueueId, counters: Box<CounterSnapshot>, dedup: Vec<(Box<str>, Millis)> },
    /// Written by snapshots: a message exactly as it was, queued or in flight.
    MessageRestored(Box<MessageSnapshot<P>>),
    /// Written by snapshots: settled messages may have left the id counters
    /// above every id still alive, and ids are never reused.
    IdsRestored { next_seq: u64, next_tag: u64, next_request: u64 },
}
