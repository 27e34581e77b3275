//! The messages of one queue that are not in flight, in delivery order.
//!
//! Due messages sit in one lane per priority, ordered by (ready_at, seq):
//! FIFO within a priority, a message requeued with its old ready_at returns
//! to its old place, and a delayed message, once due, slots in where its
//! ready time puts it. Delayed messages wait apart, ordered by ready time, so
//! counting due vs delayed is O(1) and promotion is a range split.
//!
//! A queue that drops its oldest message on overflow also keeps the same
//! messages in enqueue order (by seq), so finding that one stays O(log n);
//! other queues pay nothing for it.

use std::collections::{BTreeMap, BTreeSet};

use super::ids::Priority;
use crate::core::time::Millis;

/// Where a message sits: enough to find and remove it in O(log n).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Slot {
    pub priority: Priority,
    pub ready_at: Millis,
    pub seq: u64,
}

#[derive(Debug, Default, PartialEq)]
pub(super) struct ReadyIndex {
    due: [BTreeSet<(Millis, u64)>; Priority::LEVELS],
    delayed: BTreeMap<(Millis, u64), Priority>,
    /// Every message above by seq, only while enqueue order is kept.
    by_seq: Option<BTreeSet<u64>>,
}

impl ReadyIndex {
    /// Starts or stops keeping enqueue order (for [`ReadyIndex::oldest`]).
    /// Starting indexes the messages already held: a queue's overflow policy
    /// can change when an implicit queue is declared with options.
    pub fn keep_enqueue_order(&mut self, on: bool) {
        if on == self.by_seq.is_some() {
            return;
        }
        self.by_seq = on.then(|| {
            let due = self.due.iter().flatten().map(|&(_, seq)| seq);
            due.chain(self.delayed.keys().map(|&(_, seq)| seq)).collect()
        });
    }

    /// Returns whether the message is delayed (not yet due at `now`).
    pub fn insert(&mut self, slot: Slot, now: Millis) -> bool {
        if let Some(by_seq) = &mut self.by_seq {
            by_seq.insert(slot.seq);
        }
        if slot.ready_at > now {
            self.delayed.insert((slot.ready_at, slot.seq), slot.priority);
            true
        } else {
            self.lane(slot.priority).insert((slot.ready_at, slot.seq));
            false
        }
    }

    pub fn remove(&mut self, slot: Slot) -> bool {
        let key = (slot.ready_at, slot.seq);
        let removed = self.lane(slot.priority).remove(&key) || self.delayed.remove(&key).is_some();
        if let (true, Some(by_seq)) = (removed, &mut self.by_seq) {
            by_seq.remove(&slot.seq);
        }
        removed
    }

    /// Moves every delayed message whose time has come into its lane.
    pub fn promote(&mut self, now: Millis) {
        let later = self.delayed.split_off(&(now.saturating_add(1), 0));
        let due = std::mem::replace(&mut self.delayed, later);
        if now == Millis::MAX {
            // split_off at MAX+1 saturated to MAX: those at MAX are due too.
            let stuck = std::mem::take(&mut self.delayed);
            self.file(stuck);
        }
        self.file(due);
    }

    fn file(&mut self, entries: BTreeMap<(Millis, u64), Priority>) {
        for ((ready_at, seq), priority) in entries {
            self.lane(priority).insert((ready_at, seq));
        }
    }

    /// The next message to deliver: highest priority, then earliest.
    pub fn head(&self) -> Option<Slot> {
        self.due.iter().enumerate().rev().find_map(|(lane, set)| {
            let &(ready_at, seq) = set.first()?;
            let priority = Priority::new(u8::try_from(lane).ok()?).ok()?;
            Some(Slot { priority, ready_at, seq })
        })
    }

    /// What overflow drops: the seq of the message enqueued earliest, due
    /// or delayed, whatever its priority. None unless enqueue order is kept.
    pub fn oldest(&self) -> Option<u64> {
        self.by_seq.as_ref()?.first().copied()
    }

    /// Whether a delayed message becomes due at exactly `at`.
    pub fn has_delayed_at(&self, at: Millis) -> bool {
        self.delayed.range((at, 0)..=(at, u64::MAX)).next().is_some()
    }

    pub fn earliest_delayed(&self) -> Option<Millis> {
        self.delayed.first_key_value().map(|(&(at, _), _)| at)
    }

    pub fn due_len(&self) -> usize {
        self.due.iter().map(BTreeSet::len).sum()
    }

    pub fn delayed_len(&self) -> usize {
        self.delayed.len()
    }

    pub fn len(&self) -> usize {
        self.due_len() + self.delayed_len()
    }

    /// Empties the index, returning every sequence number it held.
    pub fn drain(&mut self) -> Vec<u64> {
        let mut seqs: Vec<u64> = self.delayed.keys().map(|&(_, seq)| seq).collect();
        self.delayed.clear();
        if let Some(by_seq) = &mut self.by_seq {
            by_seq.clear();
        }
        for lane in &mut self.due {
            seqs.extend(std::mem::take(lane).into_iter().map(|(_, seq)| seq));
        }
        seqs
    }

    fn lane(&mut self, p: Priority) -> &mut BTreeSet<(Millis, u64)> {
        // Priority guarantees lane() < LEVELS; the fallback only satisfies the
        // type checker without a panicking index.
        let last = Priority::LEVELS - 1;
        let i = p.lane().min(last);
        &mut self.due[i]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slot(p: u8, ready_at: Millis, seq: u64) -> Slot {
        Slot { priority: Priority::new(p).unwrap(), ready_at, seq }
    }

    fn drain_heads(ix: &mut ReadyIndex) -> Vec<u64> {
        let mut out = vec![];
        while let Some(s) = ix.head() {
            ix.remove(s);
            out.push(s.seq);
        }
        out
    }

    #[test]
    fn priority_then_ready_time_then_seq() {
        let mut ix = ReadyIndex::default();
        ix.insert(slot(0, 5, 1), 10);
        ix.insert(slot(5, 7, 2), 10);
        ix.insert(slot(0, 3, 3), 10);
        ix.insert(slot(5, 7, 4), 10);
        assert_eq!(drain_heads(&mut ix), [2, 4, 3, 1]);
    }

    #[test]
    fn delayed_messages_wait_then_take_their_place() {
        let mut ix = ReadyIndex::default();
        assert!(ix.insert(slot(0, 20, 1), 10));
        assert!(!ix.insert(slot(0, 15, 2), 15));
        assert_eq!((ix.due_len(), ix.delayed_len()), (1, 1));
        ix.promote(19);
        assert_eq!(ix.delayed_len(), 1);
        ix.insert(slot(0, 25, 3), 25);
        ix.promote(25);
        assert_eq!(drain_heads(&mut ix), [2, 1, 3]);
    }

    #[test]
    fn oldest_is_by_enqueue_order_once_kept() {
        let mut ix = ReadyIndex::default();
        ix.insert(slot(0, 20, 1), 10);
        ix.insert(slot(9, 10, 2), 10);
        ix.insert(slot(0, 5, 3), 10);
        assert_eq!(ix.oldest(), None, "not kept by default");
        ix.keep_enqueue_order(true);
        assert_eq!(ix.oldest(), Some(1), "delayed, low priority, but enqueued first");
        ix.remove(slot(0, 20, 1));
        assert_eq!(ix.oldest(), Some(2));
        assert!(!ix.remove(slot(9, 11, 2)), "a wrong slot removes nothing");
        assert_eq!(ix.oldest(), Some(2));
        ix.drain();
        assert_eq!(ix.oldest(), None);
        ix.keep_enqueue_order(false);
        ix.insert(slot(0, 5, 4), 10);
        assert_eq!(ix.oldest(), None);
    }

    #[test]
    fn promote_at_end_of_time_and_drain() {
        let mut ix = ReadyIndex::default();
        ix.insert(slot(9, Millis::MAX, 1), 0);
        ix.insert(slot(1, 4, 2), 0);
        ix.promote(Millis::MAX);
        assert_eq!(ix.due_len(), 2);
        let mut all = ix.drain();
        all.sort();
        assert_eq!(all, [1, 2]);
        assert_eq!(ix.len(), 0);
    }
}
