//! The durable part of one queue.

use super::dedup::DedupWindow;
use super::options::{Overflow, QueueOptions};
use super::ready::ReadyIndex;
use super::stats::{Counters, QueueStats};
use crate::core::time::Millis;

#[derive(Debug, PartialEq)]
pub(super) struct Queue {
    pub name: Box<str>,
    pub options: QueueOptions,
    /// False for a queue that exists only because something needed it (an
    /// auto-created dead-letter queue, or declared without options): the
    /// first declaration with options may still set them.
    pub explicit: bool,
    pub ready: ReadyIndex,
    pub in_flight: u64,
    pub dedup: DedupWindow,
    pub counters: Counters,
}

impl Queue {
    pub fn new(name: Box<str>, options: QueueOptions, explicit: bool) -> Self {
        let mut queue = Self {
            name,
            options: QueueOptions::default(),
            explicit,
            ready: ReadyIndex::default(),
            in_flight: 0,
            dedup: DedupWindow::default(),
            counters: Counters::default(),
        };
        queue.set_options(options);
        queue
    }

    /// Options are set here only, so the ready index keeps enqueue order
    /// exactly while the queue may have to drop its oldest message (once
    /// normalized, drop-oldest comes with a limit). Declarations normalize
    /// already; this is for logs written before they did.
    pub fn set_options(&mut self, options: QueueOptions) {
        let options = options.normalized(&self.name);
        self.ready.keep_enqueue_order(options.overflow == Overflow::DropOldest);
        self.options = options;
    }

    /// Whether one more message would exceed `max_length`.
    pub fn is_full(&self, extra: usize) -> bool {
        let waiting = (self.ready.len() as u64).saturating_add(extra as u64);
        self.options.max_length.is_some_and(|max| waiting >= max)
    }

    pub fn stats(&self, now: Millis) -> QueueStats {
        let mut stats = QueueStats {
            ready: self.ready.due_len() as u64,
            delayed: self.ready.delayed_len() as u64,
            in_flight: self.in_flight,
            ..QueueStats::default()
        };
        self.counters.fill(&mut stats, now);
        stats
    }
}
