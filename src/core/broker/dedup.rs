//! Caller ids seen recently by one queue (SQS FIFO / JetStream `Nats-Msg-Id`):
//! a repeat inside the window is accepted but not enqueued again, even if
//! the first one was already acked.

use std::collections::{HashMap, VecDeque};

use crate::core::time::Millis;

#[derive(Debug, Default, PartialEq)]
pub(super) struct DedupWindow {
    until: HashMap<Box<str>, Millis>,
    // Insertion order, to forget old ids without scanning the map.
    order: VecDeque<(Millis, Box<str>)>,
}

impl DedupWindow {
    pub fn contains(&self, id: &str, now: Millis) -> bool {
        self.until.get(id).is_some_and(|&until| until > now)
    }

    /// Pruning here, at the record's own time, keeps live and replayed
    /// windows identical.
    pub fn insert(&mut self, id: &str, now: Millis, until: Millis) {
        self.prune(now);
        self.until.insert(id.into(), until);
        self.order.push_back((until, id.into()));
    }

    /// Entries kept, including those not pruned yet, and their ids' bytes.
    pub fn size(&self) -> (usize, usize) {
        (self.order.len(), self.order.iter().map(|(_, id)| id.len()).sum())
    }

    /// Every entry, oldest first, including those not pruned yet: what a
    /// snapshot needs to rebuild an identical window.
    pub fn entries(&self) -> Vec<(Box<str>, Millis)> {
        self.order.iter().map(|(until, id)| (id.clone(), *until)).collect()
    }

    /// The inverse of [`DedupWindow::entries`]. A later entry for an id
    /// supersedes an earlier one, as it did when both were inserted.
    pub fn restore(entries: &[(Box<str>, Millis)]) -> Self {
        let mut window = Self::default();
        for (id, until) in entries {
            window.until.insert(id.clone(), *until);
            window.order.push_back((*until, id.clone()));
        }
        window
    }

    fn prune(&mut self, now: Millis) {
        while let Some((until, _)) = self.order.front() {
            if *until > now {
                break;
            }
            if let Some((until, id)) = self.order.pop_front() {
                // A later re-insert of the same id keeps its own entry.
                if self.until.get(&id) == Some(&until) {
                    self.until.remove(&id);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_until_the_window_closes() {
        let mut d = DedupWindow::default();
        d.insert("a", 0, 100);
        assert!(d.contains("a", 99));
        assert!(!d.contains("a", 100));
        assert!(!d.contains("b", 0));
        d.insert("b", 50, 150);
        d.insert("a", 120, 220);
        assert_eq!(d.until.len(), 2);
        assert!(d.contains("a", 200));
        d.insert("c", 160, 260);
        assert!(!d.contains("b", 160));
        assert_eq!(d.until.len(), 2, "b was pruned, a kept its newer entry");
        assert_eq!(DedupWindow::restore(&d.entries()), d);
    }
}
