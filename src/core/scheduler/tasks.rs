//! The table of live tasks: everything added and not yet finished.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

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
    pub priority: i32,
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

pub(super) type TaskTable<T> = HashMap<TaskId, Entry<T>, BuildHasherDefault<IdHasher>>;

/// Ids are sequential integers from our own counter, not attacker-chosen
/// keys, so SipHash's flood resistance buys nothing and costs a large share
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
