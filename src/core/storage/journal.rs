//! The bridge between a durable broker and its log: after the commands of
//! one tick, [`Journal::commit`] turns the records they made into the steps
//! that persist them, compacting when the log has grown enough.
//!
//! Group commit falls out of when the host calls it: every command since the
//! last commit lands in one frame, one append and one sync. The host
//! resolves those commands (a send resolves "once persisted") only when the
//! last of the returned steps has completed.

use crate::core::broker::{Broker, Epoch};
use crate::core::error::CoreError;
use crate::core::rng::Rng;
use crate::core::time::Clock;

use super::codec::Payload;
use super::compaction::{replace_log, snapshot_log, CompactionPolicy};
use super::io::{File, IoStep};
use super::log::append_frames;

/// What one commit asks of the host: run `steps`, in order, then tell the
/// broker that `epoch` is committed.
#[derive(Debug)]
pub struct Commit {
    pub epoch: Epoch,
    pub steps: Vec<IoStep>,
}

#[derive(Debug)]
pub struct Journal {
    policy: CompactionPolicy,
    /// Size of the log once every step handed out so far has run.
    log_len: usize,
    /// Size of the last snapshot: the log's floor, which growth is measured from.
    base_len: usize,
}

impl Journal {
    pub(super) fn new(policy: CompactionPolicy, log_len: usize, base_len: usize) -> Self {
        Self { policy, log_len, base_len }
    }

    /// Seals what `broker` recorded since the last call and returns the
    /// steps that persist it: none when nothing durable changed, else an
    /// append and a sync, or, when the policy says so, a compaction (which
    /// covers them too). An error (a record over the frame limit) means the
    /// broker has changed in ways the log cannot hold: the host must stop it.
    pub fn commit<P, C, R>(&mut self, broker: &mut Broker<P, C, R>) -> Result<Commit, CoreError>
    where
        P: Payload + Clone,
        C: Clock,
        R: Rng,
    {
        let sealed = broker.seal();
        let epoch = sealed.epoch;
        if sealed.records.is_empty() {
            return Ok(Commit { epoch, steps: Vec::new() });
        }
        let mut bytes = Vec::new();
        append_frames(&sealed.records, &mut bytes)?;
        if self.policy.is_due(self.log_len.saturating_add(bytes.len()), self.base_len) {
            return Ok(Commit { epoch, steps: self.rewrite(broker)? });
        }
        self.log_len += bytes.len();
        Ok(Commit { epoch, steps: vec![IoStep::AppendLog(bytes), IoStep::Sync(File::Log)] })
    }

    /// Seals, then rewrites the log from a snapshot of `broker`, whatever
    /// its size: the records just sealed are part of the snapshot.
    pub fn compact<P, C, R>(&mut self, broker: &mut Broker<P, C, R>) -> Result<Commit, CoreError>
    where
        P: Payload + Clone,
        C: Clock,
        R: Rng,
    {
        let epoch = broker.seal().epoch;
        Ok(Commit { epoch, steps: self.rewrite(broker)? })
    }

    fn rewrite<P, C, R>(&mut self, broker: &Broker<P, C, R>) -> Result<Vec<IoStep>, CoreError>
    where
        P: Payload + Clone,
        C: Clock,
        R: Rng,
    {
        let log = snapshot_log(broker)?;
        self.log_len = log.len();
        self.base_len = log.len();
        Ok(replace_log(log))
    }
}
