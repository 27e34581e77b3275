//! The table of live tasks: everything added and not yet finished.


use super::priority::Priority;
use super::TaskId;
use crate::core::seq_slab::SeqSlab;
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

/// Live tasks by id. Ids are handed out here, consecutively, and tasks
/// mostly finish in about that order: a [`SeqSlab`].
#[derive(Debug)]
pub(super) struct TaskTable<T> {
    next: u64,
    slab: SeqSlab<Entry<T>>,
}

impl<T> Default for TaskTable<T> {
    fn default() -> Self {
        Self { next: 0, slab: SeqSlab::default() }
    }
}

impl<T> TaskTable<T> {
    /// The id the next `push` will return.
    pub fn next_id(&self) -> TaskId {
        TaskId(self.next)
    }

    pub fn push(&mut self, entry: Entry<T>) -> TaskId {
        let id = self.next_id();
        self.next += 1;
        self.slab.insert(id.0, entry);
        id
    }

    pub fn get(&self, id: TaskId) -> Option<&Entry<T>> {
        self.slab.get(id.0)
    }

    pub fn get_mut(&mut self, id: TaskId) -> Option<&mut Entry<T>> {
        self.slab.get_mut(id.0)
    }

    pub fn remove(&mut self, id: TaskId) -> Option<Entry<T>> {
        self.slab.remove(id.0)
    }

    pub fn iter(&self) -> impl Iterator<Item = (TaskId, &Entry<T>)> {
        self.slab.iter().map(|(id, e)| (TaskId(id), e))
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
}
