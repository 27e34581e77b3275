//! The table of live tasks: everything added and not yet finished.

use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};

use super::priority::Priority;
use super::TaskId;
use crate::core::time::Millis;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Phase {
    Waiting,
    Running,
    /// Failed or timed out, waiting out its backoff before it queues again.
    RetryPending,
}

#[derive(Debug)]
pub(super) struct Entry<T> {
    /// Kept while running, since a retry starts it again.
    pub task: T,
    pub priority: Priority,
    /// Resolved against the scheduler defaults when the task was added.
    pub timeout: Option<Millis>,
    pub retries: u32,
    /// Attempts started so far; while running, the current one.
    pub attempt: u32,
    pub phase: Phase,
}

impl<T> Entry<T> {
    pub fn is(&self, phase: Phase, attempt: u32) -> bool {
        self.phase == phase && self.attempt == attempt
    }

    pub fn has_retries_left(&self) -> bool {
        self.attempt <= self.retries
    }
}

/// Live tasks by id. Ids are handed out here, consecutively, so recent
/// tasks sit in a slab indexed by `id - base`: adds, starts and completions
/// touch neighbouring memory instead of hashing into a big table. A task
/// that outlives many later ones (a long-running attempt) would pin `base`
/// and let the slab fill with holes, so once the slab is mostly holes its
/// oldest live entries move to a small map of stragglers, keeping memory
/// proportional to the live tasks.
#[derive(Debug)]
pub(super) struct TaskTable<T> {
    /// Id of `slots[0]`; every id below it is finished or a straggler.
    base: u64,
    slots: VecDeque<Option<Entry<T>>>,
    live_in_slots: usize,
    stragglers: HashMap<TaskId, Entry<T>, BuildHasherDefault<IdHasher>>,
}

/// Holes tolerated before compacting, so a short slab never shuffles.
const SLACK: usize = 64;

impl<T> Default for TaskTable<T> {
    fn default() -> Self {
        Self { base: 0, slots: VecDeque::new(), live_in_slots: 0, stragglers: HashMap::default() }
    }
}

impl<T> TaskTable<T> {
    /// The id the next `push` will return.
    pub fn next_id(&self) -> TaskId {
        TaskId(self.base + self.slots.len() as u64)
    }

    pub fn push(&mut self, entry: Entry<T>) -> TaskId {
        let id = self.next_id();
        self.slots.push_back(Some(entry));
        self.live_in_slots += 1;
        id
    }

    pub fn get(&self, id: TaskId) -> Option<&Entry<T>> {
        match self.slot_index(id) {
            Some(i) => self.slots.get(i)?.as_ref(),
            None => self.stragglers.get(&id),
        }
    }

    pub fn get_mut(&mut self, id: TaskId) -> Option<&mut Entry<T>> {
        match self.slot_index(id) {
            Some(i) => self.slots.get_mut(i)?.as_mut(),
            None => self.stragglers.get_mut(&id),
        }
    }

    pub fn remove(&mut self, id: TaskId) -> Option<Entry<T>> {
        let Some(i) = self.slot_index(id) else {
            return self.stragglers.remove(&id);
        };
        let entry = self.slots.get_mut(i)?.take()?;
        self.live_in_slots -= 1;
        self.compact();
        Some(entry)
    }

    pub fn iter(&self) -> impl Iterator<Item = (TaskId, &Entry<T>)> {
        let slots = self.slots.iter().enumerate();
        let in_slots = slots.filter_map(|(i, e)| Some((TaskId(self.base + i as u64), e.as_ref()?)));
        in_slots.chain(self.stragglers.iter().map(|(&id, e)| (id, e)))
    }

    fn slot_index(&self, id: TaskId) -> Option<usize> {
        // Ids at or past the end land here too and simply miss in `slots`.
        id.0.checked_sub(self.base).map(|i| usize::try_from(i).unwrap_or(usize::MAX))
    }

    /// Drops leading holes; while the slab is mostly holes, moves its oldest
    /// live entry aside so the holes behind it can go too. Each entry moves
    /// at most once and each slot is dropped once: O(1) amortized.
    fn compact(&mut self) {
        loop {
            match self.slots.front() {
                Some(None) => {}
                Some(Some(_)) if self.slots.len() > 2 * self.live_in_slots + SLACK => {
                    if let Some(Some(entry)) = self.slots.front_mut().map(Option::take) {
                        self.stragglers.insert(TaskId(self.base), entry);
                        self.live_in_slots -= 1;
                    }
                }
                _ => return,
            }
            self.slots.pop_front();
            self.base += 1;
        }
    }
}

/// Straggler ids are integers from our own counter, not attacker-chosen
/// keys, so `SipHash`'s flood resistance buys nothing and costs a large share
/// of each add/complete. A multiply spreads consecutive ids over all bits.
#[derive(Default)]
pub(super) struct IdHasher(u64);

impl Hasher for IdHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(self.0.rotate_left(8) ^ u64::from(b));
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(task: u32) -> Entry<u32> {
        Entry { task, priority: Priority::default(), timeout: None, retries: 0, attempt: 0, phase: Phase::Waiting }
    }

    #[test]
    fn ids_are_consecutive_and_finished_ones_miss() {
        let mut t = TaskTable::default();
        let ids: Vec<_> = (0..3).map(|n| t.push(entry(n))).collect();
        assert_eq!(ids, [TaskId(0), TaskId(1), TaskId(2)]);
        assert_eq!(t.remove(TaskId(1)).map(|e| e.task), Some(1));
        assert!(t.remove(TaskId(1)).is_none());
        assert!(t.get(TaskId(3)).is_none() && t.get(TaskId(u64::MAX)).is_none());
        assert_eq!(t.get(TaskId(2)).map(|e| e.task), Some(2));
    }

    #[test]
    fn a_long_lived_task_does_not_pin_the_slab() {
        let mut t = TaskTable::default();
        let stuck = t.push(entry(0));
        for n in 1..10_000 {
            let id = t.push(entry(n));
            assert!(t.remove(id).is_some());
        }
        assert!(t.slots.len() <= SLACK + 1, "slab holds {} slots", t.slots.len());
        assert_eq!(t.get(stuck).map(|e| e.task), Some(0));
        assert_eq!(t.iter().map(|(id, _)| id).collect::<Vec<_>>(), [stuck]);
        assert!(t.remove(stuck).is_some());
        assert_eq!(t.iter().count(), 0);
        assert_eq!(t.next_id(), TaskId(10_000));
    }

    proptest::proptest! {
        #[test]
        fn behaves_like_a_map(ops in proptest::collection::vec((0u8..2, proptest::prelude::any::<u16>()), 1..3_000)) {
            let mut t = TaskTable::default();
            let mut model = std::collections::BTreeMap::new();
            for (push, pick) in ops {
                if push > 0 {
                    let id = t.push(entry(u32::from(pick)));
                    model.insert(id, u32::from(pick));
                } else if !model.is_empty() {
                    // Remove mostly recent tasks, so old ones linger and compaction runs.
                    let keys: Vec<_> = model.keys().copied().collect();
                    let id = keys[keys.len() - 1 - usize::from(pick) % keys.len().min(8)];
                    proptest::prop_assert_eq!(t.remove(id).map(|e| e.task), model.remove(&id));
                }
                proptest::prop_assert!(t.slots.len() <= 2 * model.len() + SLACK + 1);
            }
            let listed: std::collections::BTreeMap<_, _> = t.iter().map(|(id, e)| (id, e.task)).collect();
            proptest::prop_assert_eq!(listed, model);
        }
    }
}
