//! Opening a durable broker from whatever its log file holds.

use crate::core::broker::{Broker, Epoch};
use crate::core::error::CoreError;
use crate::core::rng::Rng;
use crate::core::time::Clock;

use super::codec::Payload;
use super::compaction::{replace_log, snapshot_log, CompactionPolicy};
use super::io::{File, IoStep};
use super::journal::Journal;
use super::log::{frame_of_record, read_log, Damage, Recovered, Tail, HEADER_LEN};

/// What recovery found. A host should surface `corrupt` (an 'error' event):
/// committed data after that point could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecoveryReport {
    /// Records replayed.
    pub records: usize,
    /// Offset of an incomplete last frame that was dropped: a writer died
    /// mid-append, and nothing in it had been acknowledged.
    pub torn_tail: Option<usize>,
    /// Offset of the first damaged frame, and what was wrong with it. The
    /// bytes from there on are kept in [`File::Corrupt`].
    pub corrupt: Option<(usize, Damage)>,
}

/// What becomes of the deliveries that were in flight when the log was last written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InFlight {
    /// Nobody holds them any more (the only writer restarted): they come
    /// back at once as failed deliveries.
    Redeliver,
    /// Other contexts may still hold some (a shared broker's new leader):
    /// each lease runs on to its stored deadline, and a holder's settle of
    /// its tag still counts.
    KeepLeases,
}

pub struct Opened<P, C, R> {
    /// Recording; with [`InFlight::Redeliver`], leases held at the crash are
    /// returned as redeliveries (their `Redelivered` effects wait for `epoch`
    /// to be committed).
    pub broker: Broker<P, C, R>,
    pub journal: Journal,
    pub report: RecoveryReport,
    /// To run before the broker is used: removes a leftover compact file,
    /// keeps a damaged remainder, and writes the recovered state back
    /// (appended, or as a fresh log when the old one ended badly, had no
    /// header yet, or was due for compaction).
    pub steps: Vec<IoStep>,
    /// To pass to [`Broker::committed`] once `steps` have run.
    pub epoch: Epoch,
}

/// Opens the broker whose log holds `bytes` (empty when the file does not
/// exist). Fails only on a file that is not a log this version can read.
/// Damage (a bad frame, or records that do not fit the state before them)
/// keeps the longest valid prefix of whole frames and reports the rest.
pub fn open<P, C, R>(
    bytes: &[u8],
    clock: C,
    rng: R,
    policy: CompactionPolicy,
    in_flight: InFlight,
) -> Result<Opened<P, C, R>, CoreError>
where
    P: Payload + Clone,
    C: Clock + Clone,
    R: Rng + Clone,
{
    let Recovered { records, mut valid_len, mut tail } = read_log::<P>(bytes)?;
    let mut replayed = records.len();
    let mut broker = match Broker::replay_counted(clock.clone(), rng.clone(), records) {
        Ok(broker) => broker,
        // Records that do not fit (two writers shared the log): keep every
        // whole frame before the first of them, as for any damage.
        Err((index, error)) => {
            let at = frame_of_record::<P>(bytes, index).ok_or(error.clone())?;
            let prefix = read_log::<P>(bytes.get(..at).unwrap_or_default())?.records;
            (valid_len, tail, replayed) = (at, Tail::Corrupt { at, damage: Damage::Unfit(error.message) }, prefix.len());
            Broker::replay(clock, rng, prefix)?
        }
    };
    let report = RecoveryReport {
        records: replayed,
        torn_tail: match tail {
            Tail::TornTail { at } => Some(at),
            _ => None,
        },
        corrupt: match &tail {
            Tail::Corrupt { at, damage } => Some((*at, damage.clone())),
            _ => None,
        },
    };
    broker.set_recording(true);
    match in_flight {
        InFlight::Redeliver => broker.recover_in_flight(),
        // Replay already armed each lease's timer at its deadline.
        InFlight::KeepLeases => broker.advance(),
    }

    let mut steps = vec![IoStep::Remove(File::Compact)];
    if let Some((at, _)) = &report.corrupt {
        let rest = bytes.get(*at..).unwrap_or_default().to_vec();
        steps.extend([IoStep::Write { file: File::Corrupt, bytes: rest }, IoStep::Sync(File::Corrupt)]);
    }
    // The live state's size, estimated without building a snapshot: the
    // floor growth is measured from, and whether the log is due for a
    // compaction right away (a log reopened after many short sessions).
    let base_len = broker.snapshot_size_hint(|p| p.bytes().len()) + HEADER_LEN;
    // Appending after a bad ending would bury new frames behind it: rewrite.
    let (journal, epoch) = if tail != Tail::Clean || valid_len == 0 || policy.is_due(valid_len, base_len) {
        let snapshot = snapshot_log(&broker)?;
        let epoch = broker.seal().epoch;
        let base_len = snapshot.len();
        steps.extend(replace_log(snapshot));
        (Journal::new(policy, base_len, base_len), epoch)
    } else {
        // What a killed writer left may still be only in the OS's cache, the
        // log's bytes or (after a compaction's rename) its very name; none of
        // it was acknowledged, but it is about to be served as if it were.
        steps.extend([IoStep::Sync(File::Log), IoStep::SyncDir]);
        let mut journal = Journal::new(policy, valid_len, base_len);
        let commit = journal.commit(&mut broker)?;
        steps.extend(commit.steps);
        (journal, commit.epoch)
    };
    Ok(Opened { broker, journal, report, steps, epoch })
}
