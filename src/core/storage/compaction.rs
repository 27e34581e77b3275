//! When to rewrite the log from a snapshot, and how to do it crash-safely.
//!
//! The protocol is write-new, sync, rename, sync-dir:
//!
//! 1. `Write { Compact, header + snapshot frames }`
//! 2. `Sync(Compact)`: the new log is durable before it has a name that matters.
//! 3. `ReplaceLog`: rename(2) swaps it in atomically; a crash leaves either
//!    the old log or the new one, and both hold the same state.
//! 4. `SyncDir`: the rename itself survives power loss.
//!
//! A crash before step 3 leaves a `.compact` file beside an intact log;
//! opening removes it. Appends queued behind step 4 go to the new log.

use crate::core::broker::Broker;
use crate::core::error::CoreError;
use crate::core::rng::Rng;
use crate::core::time::Clock;

use super::codec::Payload;
use super::io::{File, IoStep};
use super::log::{append_frames, header};

/// Compact once the log is larger than `min_bytes` and more than `growth`
/// times the size it had right after the last compaction (or, after
/// opening, the size a snapshot would have). Each compaction costs time in
/// proportion to the live state, and the next one waits until the log has
/// grown by a multiple of that, so the cost per appended byte stays bounded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CompactionPolicy {
    pub min_bytes: usize,
    pub growth: usize,
}

impl Default for CompactionPolicy {
    fn default() -> Self {
        Self { min_bytes: 4 << 20, growth: 2 }
    }
}

impl CompactionPolicy {
    pub fn is_due(&self, log_len: usize, base_len: usize) -> bool {
        log_len > self.min_bytes && log_len > base_len.saturating_mul(self.growth)
    }
}

/// A complete log holding nothing but the broker's snapshot.
pub fn snapshot_log<P: Payload + Clone, C: Clock, R: Rng>(broker: &Broker<P, C, R>) -> Result<Vec<u8>, CoreError> {
    let mut bytes = header().to_vec();
    append_frames(&broker.snapshot_records(), &mut bytes)?;
    Ok(bytes)
}

/// The steps that make `log` (from [`snapshot_log`]) the log.
pub fn replace_log(log: Vec<u8>) -> Vec<IoStep> {
    vec![IoStep::Write { file: File::Compact, bytes: log }, IoStep::Sync(File::Compact), IoStep::ReplaceLog, IoStep::SyncDir]
}
