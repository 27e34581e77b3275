//! What each entry in the broker's single timer heap stands for. Entries are
//! never removed early; each is checked against current state when it comes
//! up, so rescheduling (lease extension, requeue) is just another insert.

use super::ids::{ConsumerId, DeliveryTag, QueueId, RequestId};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Deadline {
    /// Delayed messages of this queue may have become due.
    Promote(QueueId),
    /// Message `seq` reaches its TTL.
    Expire(u64),
    Lease(DeliveryTag),
    /// A `once` subscription gives up.
    Wait(ConsumerId),
    Request(RequestId),
}
