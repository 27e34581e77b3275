//! One structure for every deadline (delays, TTLs, leases, timeouts), so the
//! host needs a single timer armed at [`TimerHeap::next_deadline`].
//!
//! Cancelling is lazy: owners re-check a popped entry against their own state
//! (for example a lease's current deadline) and ignore stale ones. That keeps
//! rescheduling O(log n) without an index into the heap.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

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
