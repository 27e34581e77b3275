//! Per-queue counters and rates.

use super::histogram::Histogram;
use super::snapshot::CounterSnapshot;
use crate::core::error::CoreError;
use crate::core::time::Millis;

#[derive(Clone, Debug, Default, PartialEq)]
pub struct QueueStats {
    pub ready: u64,
    pub in_flight: u64,
    pub delayed: u64,
    /// Dead-lettered from this queue, for any reason.
    pub dead_lettered: u64,
    pub sent: u64,
    pub acked: u64,
    pub nacked: u64,
    pub expired: u64,
    pub redelivered: u64,
    /// Acks per second over the last 10 s.
    pub throughput_per_sec: f64,
    /// Send → ack, in ms.
    pub latency_p50: f64,
    pub latency_p95: f64,
    pub latency_p99: f64,
}

impl QueueStats {
    /// A queue's statistics from counts kept elsewhere (a server shared by
    /// many brokers), as of `now`: rates and percentiles as here.
    pub fn from_counts(ready: u64, in_flight: u64, delayed: u64, counts: &CounterSnapshot, now: Millis) -> Result<Self, CoreError> {
        let mut stats = QueueStats { ready, in_flight, delayed, ..Default::default() };
        Counters::restore(counts)?.fill(&mut stats, now);
        Ok(stats)
    }
}

/// Seconds in the throughput window, one slot each.
pub const THROUGHPUT_SLOTS: usize = 10;
const SLOTS: usize = THROUGHPUT_SLOTS;
const SLOT_MS: Millis = 1_000;

/// Acks per one-second slot for the last ten seconds; a slot is reused when
/// its second comes round again.
#[derive(Clone, Debug, Default, PartialEq)]
pub(super) struct Throughput {
    slots: [(u64, u64); SLOTS],
}

impl Throughput {
    pub fn record(&mut self, at: Millis) {
        let second = at / SLOT_MS;
        let slot = &mut self.slots[(second % SLOTS as u64) as usize];
        if slot.0 != second {
            *slot = (second, 0);
        }
        slot.1 += 1;
    }

    pub fn per_sec(&self, now: Millis) -> f64 {
        let second = now / SLOT_MS;
        let recent = self
            .slots
            .iter()
            .filter(|(s, _)| *s <= second && second - *s < SLOTS as u64)
            .map(|(_, n)| n)
            .sum::<u64>();
        recent as f64 * 1_000.0 / (SLOTS as u64 * SLOT_MS) as f64
    }
}

/// The durable part of a queue's statistics: rebuilt exactly by replay.
#[derive(Clone, Debug, Default, PartialEq)]
pub(super) struct Counters {
    pub sent: u64,
    pub acked: u64,
    pub nacked: u64,
    pub expired: u64,
    pub redelivered: u64,
    pub dead_lettered: u64,
    pub latency: Histogram,
    pub throughput: Throughput,
}

impl Counters {
    pub fn snapshot(&self) -> CounterSnapshot {
        CounterSnapshot {
            sent: self.sent,
            acked: self.acked,
            nacked: self.nacked,
            expired: self.expired,
            redelivered: self.redelivered,
            dead_lettered: self.dead_lettered,
            latency: self.latency.buckets(),
            throughput: self.throughput.slots,
        }
    }

    pub fn restore(s: &CounterSnapshot) -> Result<Self, CoreError> {
        Ok(Self {
            sent: s.sent,
            acked: s.acked,
            nacked: s.nacked,
            expired: s.expired,
            redelivered: s.redelivered,
            dead_lettered: s.dead_lettered,
            latency: Histogram::from_buckets(&s.latency)?,
            throughput: Throughput { slots: s.throughput },
        })
    }

    pub fn fill(&self, stats: &mut QueueStats, now: Millis) {
        stats.sent = self.sent;
        stats.acked = self.acked;
        stats.nacked = self.nacked;
        stats.expired = self.expired;
        stats.redelivered = self.redelivered;
        stats.dead_lettered = self.dead_lettered;
        stats.throughput_per_sec = self.throughput.per_sec(now);
        stats.latency_p50 = self.latency.quantile(0.50);
        stats.latency_p95 = self.latency.quantile(0.95);
        stats.latency_p99 = self.latency.quantile(0.99);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_kept_elsewhere_read_as_counts_kept_here() {
        let mut here = Counters { sent: 5, acked: 3, ..Default::default() };
        for (at, latency) in [(1_000, 4), (1_200, 40), (2_500, 400)] {
            here.throughput.record(at);
            here.latency.record(latency);
        }
        let mut expected = QueueStats { ready: 1, in_flight: 1, ..Default::default() };
        here.fill(&mut expected, 3_000);
        assert_eq!(QueueStats::from_counts(1, 1, 0, &here.snapshot(), 3_000).unwrap(), expected);
        let bad = CounterSnapshot { latency: vec![(u32::MAX, 1)], ..here.snapshot() };
        assert!(QueueStats::from_counts(0, 0, 0, &bad, 0).is_err());
    }

    #[test]
    fn throughput_slides_over_ten_seconds() {
        let mut t = Throughput::default();
        for at in [100, 200, 1_500, 9_999] {
            t.record(at);
        }
        assert_eq!(t.per_sec(9_999), 0.4);
        assert_eq!(t.per_sec(10_000), 0.2, "second 0 left the window");
        t.record(10_100);
        assert_eq!(t.per_sec(10_500), 0.3);
        assert_eq!(t.per_sec(30_000), 0.0);
    }
}
