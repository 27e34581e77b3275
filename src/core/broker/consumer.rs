//! A live subscription and the limits it puts on its own deliveries:
//! prefetch, a rate limit, a timeout. Transient: not part of the log.

use std::collections::BTreeSet;

use super::ids::{DeliveryTag, QueueId};
use super::options::Subscription;
use crate::core::rate::RateWindow;
use crate::core::time::Millis;

#[derive(Debug)]
pub(super) struct Consumer {
    pub queue: QueueId,
    pub prefetch: u32,
    pub once: bool,
    pub deadline: Option<Millis>,
    /// How long each delivery may stay unsettled after it is handed out.
    pub timeout: Option<Millis>,
    /// Its deliveries, first or redelivered, counted when they are made.
    rate: Option<RateWindow>,
    /// When its full window reopens, while a timer for it is armed: the one
    /// live `Deadline::RateReopens` of this consumer.
    pub reopens: Option<Millis>,
    /// Its unsettled deliveries; ordered so a cancel returns them in a
    /// reproducible order.
    pub tags: BTreeSet<DeliveryTag>,
}

/// Whether a consumer may take a delivery now.
pub(super) enum Room {
    Yes,
    /// Its prefetch is used up: an ack or nack makes room.
    Full,
    /// Its rate window is full until this time.
    RateLimited(Millis),
}

impl Consumer {
    /// `sub` must be validated.
    pub fn new(queue: QueueId, sub: Subscription) -> Self {
        let Subscription { prefetch, once, deadline, rate_limit, timeout } = sub;
        Self {
            queue,
            prefetch,
            once,
            deadline,
            timeout,
            rate: rate_limit.map(RateWindow::new),
            reopens: None,
            tags: BTreeSet::new(),
        }
    }

    pub fn room(&mut self, now: Millis) -> Room {
        let unsettled = self.tags.len();
        if unsettled as u64 >= u64::from(self.prefetch) {
            return Room::Full;
        }
        match self.rate.as_mut().map(|rate| rate.check(now, unsettled)) {
            Some(Err(reopens)) => Room::RateLimited(reopens),
            _ => Room::Yes,
        }
    }

    /// A delivery to it was made at `now`; call only after `room` said Yes.
    pub fn delivered(&mut self, now: Millis, tag: DeliveryTag) {
        if let Some(rate) = &mut self.rate {
            rate.record(now);
        }
        self.tags.insert(tag);
    }
}
