//! What the broker tells its host; the host drains these after every call.

use super::ids::{ConsumerId, DeliveryTag, MessageId, QueueId, RequestId};
use super::message::{DeadLetterReason, Delivery};

#[derive(Clone, Debug, PartialEq)]
pub enum Effect<P> {
    Deliver { consumer: ConsumerId, delivery: Delivery<P> },
    /// A `once` subscription reached its deadline with nothing delivered; it is gone.
    WaitExpired { consumer: ConsumerId },
    /// `target: None` means the message was discarded.
    DeadLettered { queue: QueueId, target: Option<QueueId>, id: MessageId, reason: DeadLetterReason },
    Expired { queue: QueueId, id: MessageId },
    /// A delivery failed (nack with requeue, lease expiry, consumer cancel,
    /// recovery) and the message went back to its queue.
    Redelivered { queue: QueueId, id: MessageId, delivery_count: u32 },
    /// Delivery `tag` stayed unsettled past its consumer's timeout: its
    /// handler is to be told to stop. The delivery has failed as a nack
    /// does (a `Redelivered` or `DeadLettered` effect follows), so a late
    /// ack or nack of it is stale.
    HandlerTimedOut { consumer: ConsumerId, tag: DeliveryTag },
    Reply { request: RequestId, payload: P },
    RequestTimedOut { request: RequestId },
    /// The broker let go of a payload for good: its message was acked,
    /// discarded, purged or refused as a duplicate, or a reply had no
    /// request left to answer. Only when asked for
    /// ([`super::Broker::report_drops`]): a host that keeps payloads itself
    /// and hands the broker handles to them frees what a handle held.
    Dropped { payload: P },
}
