//! What each entry in the broker's single timer heap stands for. Entries are
//! not removed when they go stale; each is checked against current state when
//! it comes up, so rescheduling (lease extension, requeue) is just another
//! insert. Stale ones are dropped in bulk once they outnumber the live ones.

use super::ids::{ConsumerId, DeliveryTag, QueueId, RequestId};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(super) enum Deadline {
    /// Delayed messages of this queue become due.
    Promote(QueueId),
    /// Message `seq` reaches its TTL.
    Expire(u64),
    Lease(DeliveryTag),
    /// A `once` subscription gives up.
    Wait(ConsumerId),
    Request(RequestId),
    /// The rate window of this consumer reopens: deliveries to it may resume.
    RateReopens(ConsumerId),
    /// A consumer's delivery reaches its timeout. One per delivery tag, and
    /// tags are never reused, so it is live while the delivery is unsettled.
    HandlerTimeout(DeliveryTag),
}
