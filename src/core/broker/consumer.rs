//! Live subscriptions, the limits each puts on its own deliveries
//! (prefetch, a rate limit, a timeout), the round-robin among a queue's
//! consumers and who holds which delivery. Transient: not part of the log.

use std::collections::{BTreeSet, VecDeque};

use super::deadlines::Deadline;
use super::ids::{ConsumerId, DeliveryTag, QueueId};
use super::options::{invalid, Subscription};
use crate::core::error::CoreError;
use crate::core::int_map::IntMap;
use crate::core::rate::RateWindow;
use crate::core::time::Millis;
use crate::core::timers::TimerHeap;

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

/// Every consumer of a broker, each queue's round-robin order, and the
/// consumer holding each unsettled delivery.
#[derive(Debug)]
pub(super) struct Consumers {
    by_id: IntMap<ConsumerId, Consumer>,
    /// Round-robin order of each queue's consumers: the front is served next.
    rings: IntMap<QueueId, VecDeque<ConsumerId>>,
    owners: IntMap<DeliveryTag, ConsumerId>,
    next: u32,
}

impl Default for Consumers {
    fn default() -> Self {
        Self { by_id: IntMap::default(), rings: IntMap::default(), owners: IntMap::default(), next: 1 }
    }
}

impl Consumers {
    /// A new consumer of `q`, last in its round-robin; `sub` must be validated.
    pub fn add(&mut self, q: QueueId, sub: Subscription) -> Result<ConsumerId, CoreError> {
        let c = ConsumerId(self.next);
        self.next = self.next.checked_add(1).ok_or_else(|| invalid("consumer ids exhausted"))?;
        self.by_id.insert(c, Consumer::new(q, sub));
        self.rings.entry(q).or_default().push_back(c);
        Ok(c)
    }

    pub fn get(&self, c: ConsumerId) -> Option<&Consumer> {
        self.by_id.get(&c)
    }

    pub fn get_mut(&mut self, c: ConsumerId) -> Option<&mut Consumer> {
        self.by_id.get_mut(&c)
    }

    /// Takes consumer `c` out of its queue's round-robin; nobody holds the
    /// deliveries it held (`tags` of the consumer returned) any more.
    pub fn remove(&mut self, c: ConsumerId) -> Option<Consumer> {
        let consumer = self.by_id.remove(&c)?;
        if let Some(ring) = self.rings.get_mut(&consumer.queue) {
            ring.retain(|&k| k != c);
        }
        for tag in &consumer.tags {
            self.owners.remove(tag);
        }
        Some(consumer)
    }

    /// The next consumer of `q` with room, round-robin. One whose rate
    /// window is full is skipped, with a wake-up armed for its reopening.
    pub fn pick(&mut self, q: QueueId, now: Millis, timers: &mut TimerHeap<Deadline>) -> Option<ConsumerId> {
        let ring = self.rings.get_mut(&q)?;
        for _ in 0..ring.len() {
            let c = ring.pop_front()?;
            ring.push_back(c);
            let Some(k) = self.by_id.get_mut(&c) else { continue };
            match k.room(now) {
                Room::Yes => return Some(c),
                Room::Full => {}
                Room::RateLimited(at) => {
                    if k.reopens != Some(at) {
                        k.reopens = Some(at);
                        timers.schedule(at, Deadline::RateReopens(c));
                    }
                }
            }
        }
        None
    }

    /// How many deliveries the consumers of `q` could take at `now`: the
    /// spare prefetch of each one whose rate window is open.
    pub fn room_for(&mut self, q: QueueId, now: Millis) -> u32 {
        let Some(ring) = self.rings.get(&q) else { return 0 };
        let mut room = 0u32;
        for c in ring {
            if let Some(k) = self.by_id.get_mut(c) {
                if let Room::Yes = k.room(now) {
                    room = room.saturating_add(k.prefetch.saturating_sub(k.tags.len() as u32));
                }
            }
        }
        room
    }

    /// Delivery `tag` was made to `c` at `now`, after `pick` chose it.
    pub fn delivered(&mut self, c: ConsumerId, tag: DeliveryTag, now: Millis) {
        if let Some(k) = self.by_id.get_mut(&c) {
            k.delivered(now, tag);
            self.owners.insert(tag, c);
        }
    }

    pub fn owner(&self, tag: DeliveryTag) -> Option<ConsumerId> {
        self.owners.get(&tag).copied()
    }

    /// The consumer holding `tag` (if any) no longer does, and has room
    /// again: returns its queue, which may now deliver to it.
    pub fn release(&mut self, tag: DeliveryTag) -> Option<QueueId> {
        let c = self.owners.remove(&tag)?;
        let k = self.by_id.get_mut(&c)?;
        k.tags.remove(&tag);
        Some(k.queue)
    }

    /// Timer entries the consumers may have live: a wait's end and a rate
    /// window's reopening each, and a handler timeout per held delivery.
    pub fn live_timers(&self) -> usize {
        2 * self.by_id.len() + self.owners.len()
    }
}
