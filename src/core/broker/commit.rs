//! Durable commit: which effects wait for which records.
//!
//! A durable broker must not hand anything out before the records it depends
//! on are in the log: a lease that was never written would, after a crash,
//! be handed out again while its first holder still works on it. So while
//! the broker records, the effects its commands make are held back.
//! [`Broker::seal`](super::Broker::seal) takes the records made since the
//! last seal together with the effects made alongside them, as one numbered
//! epoch; the host writes the records, then calls
//! [`Broker::committed`](super::Broker::committed) with that epoch, which
//! releases its effects (and every earlier epoch's) for draining, in order.
//! Effects never overtake their records, and nothing the host forgets to
//! commit can be handed out.

use std::collections::VecDeque;

use super::effect::Effect;
use super::ids::{ConsumerId, DeliveryTag};
use super::record::Record;

/// The number of one seal; epochs count up from 1 and are committed in order.
pub type Epoch = u64;

/// What one seal hands the host to write.
#[derive(Debug)]
pub struct Sealed<P> {
    pub epoch: Epoch,
    pub records: Vec<Record<P>>,
}

/// Effects of sealed epochs whose records are still being written.
#[derive(Debug)]
pub(super) struct Held<P> {
    sealed: VecDeque<(Epoch, Vec<Effect<P>>)>,
    last: Epoch,
}

impl<P> Default for Held<P> {
    fn default() -> Self {
        Self { sealed: VecDeque::new(), last: 0 }
    }
}

impl<P> Held<P> {
    /// Holds `effects` under a new epoch, returned. An empty seal still gets
    /// one, so the host can always answer a seal with `committed`.
    pub fn seal(&mut self, effects: Vec<Effect<P>>) -> Epoch {
        self.last += 1;
        if !effects.is_empty() {
            self.sealed.push_back((self.last, effects));
        }
        self.last
    }

    /// The effects of every epoch up to `epoch`, oldest first.
    pub fn release_through(&mut self, epoch: Epoch) -> Vec<Effect<P>> {
        let mut out = Vec::new();
        while self.sealed.front().is_some_and(|(e, _)| *e <= epoch) {
            if let Some((_, effects)) = self.sealed.pop_front() {
                out.extend(effects);
            }
        }
        out
    }

    /// The newest epoch sealed so far (0 before the first seal).
    pub fn last(&self) -> Epoch {
        self.last
    }

    /// Removes every held delivery to consumer `c`, returning their tags.
    pub fn take_deliveries_to(&mut self, c: ConsumerId) -> Vec<DeliveryTag> {
        let mut tags = Vec::new();
        for (_, effects) in &mut self.sealed {
            tags.extend(take_deliveries(effects, c));
        }
        tags
    }
}

/// Removes the deliveries to consumer `c` from `effects`, returning their tags.
pub(super) fn take_deliveries<P>(effects: &mut Vec<Effect<P>>, c: ConsumerId) -> Vec<DeliveryTag> {
    let mut tags = Vec::new();
    effects.retain(|e| match e {
        Effect::Deliver { consumer, delivery } if *consumer == c => {
            tags.push(delivery.tag);
            false
        }
        _ => true,
    });
    tags
}
