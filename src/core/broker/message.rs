//! Messages as sent, as stored and as delivered.

use super::ids::{DeliveryTag, MessageId, Priority, QueueId, RequestId};
use crate::core::time::Millis;

#[derive(Clone, Debug, PartialEq)]
pub struct Outgoing<P> {
    /// Caller-chosen id: the dedup key. `None` generates one.
    pub id: Option<Box<str>>,
    pub payload: P,
    /// 0..=9, higher first.
    pub priority: u8,
    /// Not deliverable before now + delay.
    pub delay: Millis,
    pub ttl: Option<Millis>,
}

impl<P> Outgoing<P> {
    pub fn new(payload: P) -> Self {
        Self { id: None, payload, priority: 0, delay: 0, ttl: None }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Delivery<P> {
    pub tag: DeliveryTag,
    pub queue: QueueId,
    pub id: MessageId,
    pub payload: P,
    /// 1 on the first delivery.
    pub delivery_count: u32,
    pub redelivered: bool,
    pub enqueued_at: Millis,
    pub request: Option<RequestId>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DeadLetterReason {
    Expired,
    MaxLen,
    Rejected,
    DeliveryLimit,
}

impl DeadLetterReason {
    pub fn as_str(self) -> &'static str {
        match self {
            DeadLetterReason::Expired => "expired",
            DeadLetterReason::MaxLen => "maxlen",
            DeadLetterReason::Rejected => "rejected",
            DeadLetterReason::DeliveryLimit => "delivery-limit",
        }
    }
}

/// A message held by the broker, keyed by its sequence number.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Stored<P> {
    pub queue: QueueId,
    pub id: MessageId,
    pub payload: P,
    pub priority: Priority,
    pub enqueued_at: Millis,
    /// Its key in the ready index, together with priority and seq. Kept from
    /// the first enqueue across immediate requeues, so a returned message
    /// goes back to its original position.
    pub ready_at: Millis,
    pub expires_at: Option<Millis>,
    pub deliveries: u32,
    /// `Some` while in flight; the lease itself lives in the lease map.
    pub lease: Option<DeliveryTag>,
}

impl<P> Stored<P> {
    pub fn is_expired(&self, now: Millis) -> bool {
        self.expires_at.is_some_and(|at| at <= now)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Lease {
    pub seq: u64,
    pub deadline: Millis,
}
