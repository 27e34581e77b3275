//! Messages as sent, as stored and as delivered.

use std::num::NonZeroU64;

use super::ids::{DeliveryTag, MessageId, Priority, QueueId, RequestId};
use super::options::{check_name, positive};
use crate::core::error::{CoreError, Field};
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

    /// Its priority, once its fields are known to be valid.
    pub(super) fn check(&self) -> Result<Priority, CoreError> {
        let priority = Priority::new(self.priority)?;
        positive(Field::Ttl, self.ttl)?;
        if let Some(id) = &self.id {
            check_name(Field::MessageId, id)?;
        }
        Ok(priority)
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
    pub expires_at: Expiry,
    pub deliveries: u32,
    /// Set while in flight; the lease itself lives in the lease map.
    pub lease: LeaseTag,
}

/// When a message expires, if it does: an `Option<Millis>` in 8 bytes, not
/// 16, held as `at + 1` so that every time fits (u64::MAX, "never" in all
/// but name, reads back one less).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct Expiry(Option<NonZeroU64>);

impl Expiry {
    pub fn get(self) -> Option<Millis> {
        self.0.map(|n| n.get() - 1)
    }
}

impl From<Option<Millis>> for Expiry {
    fn from(at: Option<Millis>) -> Self {
        Self(at.and_then(|at| NonZeroU64::new(at.saturating_add(1))))
    }
}

/// The delivery tag of a message in flight, if it is: an `Option` in 8
/// bytes, not 16 (tags count from 1). Millions of queued messages carry one.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(super) struct LeaseTag(Option<NonZeroU64>);

impl LeaseTag {
    pub const NONE: Self = Self(None);

    /// None for tag 0, which no delivery has.
    pub fn of(tag: DeliveryTag) -> Option<Self> {
        NonZeroU64::new(tag.0).map(|n| Self(Some(n)))
    }

    pub fn get(self) -> Option<DeliveryTag> {
        self.0.map(|n| DeliveryTag(n.get()))
    }

    pub fn take(&mut self) -> Option<DeliveryTag> {
        std::mem::take(self).get()
    }

    pub fn is_some(self) -> bool {
        self.0.is_some()
    }

    pub fn is_none(self) -> bool {
        self.0.is_none()
    }
}

impl<P> Stored<P> {
    pub fn is_expired(&self, now: Millis) -> bool {
        self.expires_at.get().is_some_and(|at| at <= now)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Lease {
    pub seq: u64,
    pub deadline: Millis,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_keeps_every_time_but_the_last() {
        for at in [None, Some(0), Some(1), Some(1_700_000_000_000), Some(u64::MAX - 1)] {
            assert_eq!(Expiry::from(at).get(), at);
        }
        assert_eq!(Expiry::from(Some(u64::MAX)).get(), Some(u64::MAX - 1));
        assert_eq!(std::mem::size_of::<Expiry>(), 8);
    }

    #[test]
    fn lease_tag_holds_any_tag_but_zero() {
        assert_eq!(LeaseTag::of(DeliveryTag(7)).map(LeaseTag::get), Some(Some(DeliveryTag(7))));
        assert_eq!(LeaseTag::of(DeliveryTag(0)), None);
        let mut tag = LeaseTag::of(DeliveryTag(u64::MAX)).unwrap();
        assert_eq!(tag.take(), Some(DeliveryTag(u64::MAX)));
        assert!(tag.is_none() && tag == LeaseTag::NONE);
        assert_eq!(std::mem::size_of::<LeaseTag>(), 8);
    }
}
