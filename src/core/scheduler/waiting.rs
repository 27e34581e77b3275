//! Tasks ready to start: highest priority first, then by id, which is the
//! order of adding. A retried task goes back to its original place.
//!
//! Removal (abort) is lazy: the caller forgets the task and `pop` skips ids
//! its liveness check rejects, so no operation scans a lane.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, VecDeque};

use super::priority::Priority;
use super::TaskId;

#[derive(Debug, Default)]
pub(super) struct WaitQueue {
    lanes: BTreeMap<Reverse<Priority>, Lane>,
    /// Waiting tasks, not counting skipped ids still sitting in lanes.
    live: usize,
    /// Entries of aborted or moved tasks still in lanes: once they outnumber
    /// the live ones, `compact` drops them, so memory follows live tasks
    /// even when the lanes holding them are never popped.
    stale: usize,
}

/// Ids are handed out in increasing order, so new tasks append to `fresh` in
/// O(1); only retried tasks, which must cut back in, pay for the heap.
#[derive(Debug, Default)]
struct Lane {
    fresh: VecDeque<TaskId>,
    returning: BinaryHeap<Reverse<TaskId>>,
}

impl Lane {
    fn pop(&mut self) -> Option<TaskId> {
        match (self.fresh.front(), self.returning.peek()) {
            (Some(fresh), Some(Reverse(back))) if back < fresh => self.returning.pop().map(|r| r.0),
            (Some(_), _) => self.fresh.pop_front(),
            (None, _) => self.returning.pop().map(|r| r.0),
        }
    }

    fn is_empty(&self) -> bool {
        self.fresh.is_empty() && self.returning.is_empty()
    }
}

impl WaitQueue {
    pub fn len(&self) -> usize {
        self.live
    }

    /// `id` must be greater than every id pushed before.
    pub fn push_new(&mut self, priority: Priority, id: TaskId) {
        self.lanes.entry(Reverse(priority)).or_default().fresh.push_back(id);
        self.live += 1;
    }

    pub fn push_returning(&mut self, priority: Priority, id: TaskId) {
        self.lanes.entry(Reverse(priority)).or_default().returning.push(Reverse(id));
        self.live += 1;
    }

    /// Moves waiting task `id` to lane `priority`, at its original place
    /// there; its old entry is skipped when reached.
    pub fn moved(&mut self, priority: Priority, id: TaskId) {
        self.forget();
        self.push_returning(priority, id);
    }

    /// Whether stale entries outnumber live ones enough to drop them.
    pub fn needs_compaction(&self) -> bool {
        self.stale > self.live.saturating_add(64)
    }

    /// Keeps only the entries `is_live(id, lane)` accepts. O(entries), and
    /// run only once stale ones outnumber live ones: amortized O(1).
    pub fn compact(&mut self, is_live: impl Fn(TaskId, Priority) -> bool) {
        self.lanes.retain(|&Reverse(lane), l| {
            l.fresh.retain(|&id| is_live(id, lane));
            l.returning.retain(|&Reverse(id)| is_live(id, lane));
            !l.is_empty()
        });
        self.stale = 0;
    }

    /// A waiting task was removed elsewhere; its id is skipped when reached.
    pub fn forget(&mut self) {
        self.live = self.live.saturating_sub(1);
        self.stale += 1;
        if self.live == 0 {
            self.clear();
        }
    }

    pub fn clear(&mut self) {
        self.lanes.clear();
        self.live = 0;
        self.stale = 0;
    }

    /// The next task `is_live(id, lane)` accepts: stale entries (aborted
    /// tasks, or tasks moved to another lane) are skipped.
    pub fn pop(&mut self, is_live: impl Fn(TaskId, Priority) -> bool) -> Option<TaskId> {
        while self.live > 0 {
            let several = self.lanes.len() > 1;
            let mut first = self.lanes.first_entry()?;
            let lane = first.key().0;
            let popped = first.get_mut().pop();
            // The last lane stays even when empty: removing it would free and
            // reallocate a tree node and buffers on every add in the common
            // single-priority case. At most one empty lane exists, because
            // only the first lane is ever popped.
            let removed = several && first.get().is_empty();
            if removed {
                first.remove();
            }
            match popped {
                Some(id) if is_live(id, lane) => {
                    self.live -= 1;
                    return Some(id);
                }
                // Only reachable if `live` drifted from the lanes; stop
                // rather than spin.
                None if !removed => return None,
                // A stale entry, now gone: look again.
                Some(_) => self.stale = self.stale.saturating_sub(1),
                // An emptied lane, now gone: look again.
                None => {}
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(q: &mut WaitQueue, dead: &[u64]) -> Vec<u64> {
        std::iter::from_fn(|| q.pop(|id, _| !dead.contains(&id.0))).map(|id| id.0).collect()
    }

    #[test]
    fn priority_then_fifo() {
        let mut q = WaitQueue::default();
        for (p, id) in [(0, 1), (5, 2), (0, 3), (-1, 4), (5, 5)] {
            q.push_new(p.into(), TaskId(id));
        }
        assert_eq!(drain(&mut q, &[]), [2, 5, 1, 3, 4]);
        assert_eq!(q.len(), 0);
    }

    #[test]
    fn returning_task_takes_its_original_place() {
        let mut q = WaitQueue::default();
        q.push_new(Priority::default(), TaskId(3));
        q.push_new(Priority::default(), TaskId(4));
        q.push_returning(Priority::default(), TaskId(2));
        q.push_returning(Priority::default(), TaskId(5));
        q.push_returning(Priority::default(), TaskId(1));
        assert_eq!(drain(&mut q, &[]), [1, 2, 3, 4, 5]);
    }

    #[test]
    fn forgotten_ids_are_skipped() {
        let mut q = WaitQueue::default();
        for id in 1..=4 {
            q.push_new(i32::from(id % 2 == 1).into(), TaskId(id));
        }
        q.forget();
        q.forget();
        assert_eq!(q.len(), 2);
        assert_eq!(drain(&mut q, &[1, 4]), [3, 2]);
    }

    #[test]
    fn keeps_at_most_one_empty_lane() {
        let mut q = WaitQueue::default();
        q.push_new(1.into(), TaskId(1));
        q.push_new(2.into(), TaskId(2));
        assert_eq!(drain(&mut q, &[]), [2, 1]);
        assert_eq!(q.lanes.len(), 1);
    }

    #[test]
    fn promoted_tasks_leave_no_pile_of_stale_entries() {
        use super::super::{Concurrency, Effect, Scheduler, SchedulerOptions, TaskOptions};
        use crate::core::rng::SplitMix64;
        use crate::core::time::ManualClock;
        let opts = SchedulerOptions { concurrency: Concurrency::Limited(1), ..Default::default() };
        let mut s: Scheduler<u32, _, _> = Scheduler::new(ManualClock::new(0), SplitMix64::new(1), opts).unwrap();
        let mut running = None;
        let take_start = |s: &mut Scheduler<u32, ManualClock, SplitMix64>, running: &mut Option<(TaskId, u32)>| {
            for e in s.drain_effects() {
                if let Effect::Start { id, attempt, .. } = e {
                    *running = Some((id, attempt));
                }
            }
        };
        // One task runs, two wait; each round adds a task at priority 0 and
        // bumps it to 1 (p-queue's setPriority), and the running one ends.
        s.add(0, TaskOptions::default());
        let w = s.add(1, TaskOptions::default());
        s.set_priority(w, 1.into()).unwrap();
        take_start(&mut s, &mut running);
        for i in 2..20_000u32 {
            let id = s.add(i, TaskOptions::default());
            s.set_priority(id, 1.into()).unwrap();
            let (id, attempt) = running.take().expect("a running task");
            s.complete(id, attempt);
            take_start(&mut s, &mut running);
        }
        assert_eq!(s.size(), 1);
        let entries: usize = s.waiting.lanes.values().map(|l| l.fresh.len() + l.returning.len()).sum();
        assert!(entries <= 64, "{entries} lane entries kept for {} waiting task(s)", s.size());
    }
}
