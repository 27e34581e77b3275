//! One structure for every deadline (delays, TTLs, leases, timeouts), so the
//! host needs a single timer armed at [`TimerHeap::next_deadline`].
//!
//! Cancelling is lazy: owners re-check a popped entry against their own state
//! (for example a lease's current deadline) and ignore stale ones. That keeps
//! rescheduling O(log n) without an index into the heap. Owners that let
//! stale entries outnumber live ones call [`TimerHeap::retain_live`], so
//! memory follows what is live, not what was ever scheduled.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::hash::Hash;

use super::time::Millis;

#[derive(Debug)]
pub struct TimerHeap<K: Ord> {
    heap: BinaryHeap<Reverse<(Millis, u64, K)>>,
    // Insertion counter: equal deadlines fire in the order they were set.
    seq: u64,
}

impl<K: Ord> Default for TimerHeap<K> {
    fn default() -> Self {
        Self { heap: BinaryHeap::new(), seq: 0 }
    }
}

impl<K: Ord> TimerHeap<K> {
    pub fn schedule(&mut self, at: Millis, key: K) {
        self.seq += 1;
        self.heap.push(Reverse((at, self.seq, key)));
    }

    /// Earliest deadline, possibly of an entry its owner no longer wants.
    pub fn next_deadline(&self) -> Option<Millis> {
        self.heap.peek().map(|Reverse((at, _, _))| *at)
    }

    /// Removes and returns the earliest entry due at or before `now`.
    pub fn pop_due(&mut self, now: Millis) -> Option<(Millis, K)> {
        if self.next_deadline()? > now {
            return None;
        }
        self.heap.pop().map(|Reverse((at, _, key))| (at, key))
    }

    /// Drops stale entries from the top so `next_deadline` is exact;
    /// `is_live` says whether an entry is still wanted.
    pub fn prune(&mut self, mut is_live: impl FnMut(Millis, &K) -> bool) {
        while let Some(Reverse((at, _, key))) = self.heap.peek() {
            if is_live(*at, key) {
                break;
            }
            self.heap.pop();
        }
    }

    /// Rebuilds the heap from the entries `is_live` keeps, each (deadline,
    /// key) once, at its earliest insertion so firing order is unchanged.
    /// O(n): callers run it when more than half the entries are stale, so
    /// its cost is paid by the entries it drops, each scheduled once.
    pub fn retain_live(&mut self, mut is_live: impl FnMut(Millis, &K) -> bool)
    where
        K: Hash,
    {
        let mut first: HashMap<(Millis, K), u64> = HashMap::new();
        for Reverse((at, seq, key)) in std::mem::take(&mut self.heap).into_vec() {
            if is_live(at, &key) {
                let kept = first.entry((at, key)).or_insert(seq);
                *kept = (*kept).min(seq);
            }
        }
        self.heap = first.into_iter().map(|((at, key), seq)| Reverse((at, seq, key))).collect();
    }

    pub fn len(&self) -> usize {
        self.heap.len()
    }

    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    pub fn clear(&mut self) {
        self.heap.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pops_in_deadline_then_insertion_order() {
        let mut t = TimerHeap::default();
        t.schedule(30, 'c');
        t.schedule(10, 'a');
        t.schedule(10, 'b');
        assert_eq!(t.next_deadline(), Some(10));
        assert_eq!(t.pop_due(5), None);
        assert_eq!(t.pop_due(10), Some((10, 'a')));
        assert_eq!(t.pop_due(10), Some((10, 'b')));
        assert_eq!(t.pop_due(29), None);
        assert_eq!(t.pop_due(100), Some((30, 'c')));
        assert!(t.is_empty());
    }

    #[test]
    fn retain_live_drops_stale_and_repeated_entries_keeping_order() {
        let mut t = TimerHeap::default();
        for (at, key) in [(5, 'x'), (1, 'a'), (5, 'b'), (5, 'x'), (3, 'z'), (5, 'a')] {
            t.schedule(at, key);
        }
        t.retain_live(|_, k| *k != 'z');
        assert_eq!(t.len(), 4);
        let fired: Vec<_> = std::iter::from_fn(|| t.pop_due(10)).collect();
        assert_eq!(fired, [(1, 'a'), (5, 'x'), (5, 'b'), (5, 'a')]);
    }

    #[test]
    fn prune_discards_stale_heads_only() {
        let mut t = TimerHeap::default();
        t.schedule(1, 1);
        t.schedule(2, 2);
        t.schedule(3, 3);
        t.prune(|_, k| *k != 1);
        assert_eq!(t.next_deadline(), Some(2));
        assert_eq!(t.len(), 2);
    }
}
