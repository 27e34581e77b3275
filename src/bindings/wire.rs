//! Every number that crosses the boundary to the JS wrapper, each an enum
//! that wasm-bindgen exports: js/wire.ts and js/storage.ts
//! import them from pkg/ferrymq.js, so JS restates no value defined here.
//! The conversions from and to the core's types live here too, next to the
//! tests that check them against the core.
//!
//! Plain Rust but for the export attribute, so those tests run natively
//! (src/lib.rs), where only they use this module.
#![cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]

#[cfg(target_arch = "wasm32")]
use wasm_bindgen::prelude::wasm_bindgen;

use crate::core::broker;
use crate::core::scheduler;
use crate::core::storage::io::{File, IoStep};
use crate::core::time::Millis;

/// Numbers of the record layout that are not kinds.
#[cfg_attr(target_arch = "wasm32", wasm_bindgen)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wire {
    /// A numeric field without a value (no generated id, deadline, target,
    /// limit...): every real value is >= 0. JS passes it for "absent" too.
    None = -1,
    /// f64s per scheduler effect record: [kind, task slot, attempt, extra].
    SchedulerStride = 4,
    /// f64s per broker effect record (unused trailing fields hold None).
    BrokerStride = 9,
    /// f64s per command of a broker kept on a server: [kind, queue, seq, tag, extra].
    CommandStride = 5,
    /// f64s per delivery a claim brought, as the wrapper hands them over:
    /// [seq, tag, message id (None: given, the next JS value), delivery
    /// count, enqueued at (epoch ms), payload slot, 1 if it carries a request].
    ClaimedStride = 7,
}

pub const NONE: f64 = Wire::None as i32 as f64;
pub const STRIDE: usize = Wire::BrokerStride as usize;
pub const SCHEDULER_STRIDE: usize = Wire::SchedulerStride as usize;
pub const COMMAND_STRIDE: usize = Wire::CommandStride as usize;
pub const CLAIMED_STRIDE: usize = Wire::ClaimedStride as usize;

/// The kind of a broker effect record, its field 0. A message id field is
/// the generated id's number, or None for a caller-given id, which is then
/// the record's last JS value. Each variant lists the fields after the
/// kind, then the JS values the record adds to the batch, in order. A
/// payload is a slot of the wrapper's payload table (None for a message
/// recovered from the log, which only has its bytes).
#[cfg_attr(target_arch = "wasm32", wasm_bindgen)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BrokerEffect {
    /// consumer (None for `take`), message id, delivery tag, delivery count,
    /// `DeliveryFlag` bits, enqueued at (epoch ms), request (or None),
    /// payload slot; values: [its encoded bytes if recovered], [id].
    Deliver = 1,
    /// consumer: a `once` subscription's deadline passed.
    WaitExpired = 2,
    /// queue, message id, target queue (None: discarded), `DeadLetterReason`; values: [id].
    DeadLettered = 3,
    /// queue, message id; values: [id].
    Expired = 4,
    /// queue, message id, delivery count; values: [id].
    Redelivered = 5,
    /// request, payload slot.
    Reply = 6,
    /// request.
    RequestTimedOut = 7,
    /// consumer, delivery tag.
    HandlerTimedOut = 8,
    /// payload slot: the broker let go of it.
    Dropped = 9,
}

impl<P> From<&broker::Effect<P>> for BrokerEffect {
    fn from(effect: &broker::Effect<P>) -> Self {
        match effect {
            broker::Effect::Deliver { .. } => Self::Deliver,
            broker::Effect::WaitExpired { .. } => Self::WaitExpired,
            broker::Effect::DeadLettered { .. } => Self::DeadLettered,
            broker::Effect::Expired { .. } => Self::Expired,
            broker::Effect::Redelivered { .. } => Self::Redelivered,
            broker::Effect::Reply { .. } => Self::Reply,
            broker::Effect::RequestTimedOut { .. } => Self::RequestTimedOut,
            broker::Effect::HandlerTimedOut { .. } => Self::HandlerTimedOut,
            broker::Effect::Dropped { .. } => Self::Dropped,
        }
    }
}

/// What a broker kept on a server asks the host to do there, a command
/// record's field 0. Each names a queue, and a delivery by the server's
/// seq and tag (None for a claim); `extra` is as listed.
#[cfg_attr(target_arch = "wasm32", wasm_bindgen)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RemoteCommand {
    /// extra: the most to claim; the host answers with `claimed`.
    Claim = 1,
    /// Back as it was, uncounted: nobody received it.
    Release = 2,
    /// Back as after its lease: its consumer went away.
    Fail = 3,
    /// Failed as a nack: extra, the wait before it is due again (ms).
    Nack = 4,
}

impl RemoteCommand {
    /// The record of `command`.
    pub fn record(command: broker::Command) -> [f64; COMMAND_STRIDE] {
        use broker::Command as C;
        let at = |at: broker::ServerRef| (at.seq as f64, at.tag as f64);
        let (kind, queue, (seq, tag), extra) = match command {
            C::Claim { queue, max } => (Self::Claim, queue, (NONE, NONE), f64::from(max)),
            C::Release { queue, at: a } => (Self::Release, queue, at(a), NONE),
            C::Fail { queue, at: a } => (Self::Fail, queue, at(a), NONE),
            C::Nack { queue, at: a, wait } => (Self::Nack, queue, at(a), wait as f64),
        };
        [kind.code(), f64::from(queue.0), seq, tag, extra]
    }
}

/// Bits of a DELIVER record's flags field.
#[cfg_attr(target_arch = "wasm32", wasm_bindgen)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeliveryFlag {
    Redelivered = 1,
    /// Recovered from the log: the payload value is its encoded bytes, for JS to decode.
    Recovered = 2,
}

/// Why a message was dead-lettered: a DEAD_LETTERED record's field 4.
#[cfg_attr(target_arch = "wasm32", wasm_bindgen)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeadLetterReason {
    Expired = 0,
    MaxLen = 1,
    Rejected = 2,
    DeliveryLimit = 3,
}

impl From<broker::DeadLetterReason> for DeadLetterReason {
    fn from(reason: broker::DeadLetterReason) -> Self {
        match reason {
            broker::DeadLetterReason::Expired => Self::Expired,
            broker::DeadLetterReason::MaxLen => Self::MaxLen,
            broker::DeadLetterReason::Rejected => Self::Rejected,
            broker::DeadLetterReason::DeliveryLimit => Self::DeliveryLimit,
        }
    }
}

/// The kind of a scheduler effect record [kind, slot, attempt, extra]; `slot` is
/// the task's slot in the wrapper's task table. Each variant lists the
/// fields it uses (the others are 0).
#[cfg_attr(target_arch = "wasm32", wasm_bindgen)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SchedulerEffect {
    /// slot, attempt: call the task's function.
    Start = 1,
    /// slot, attempt; extra: 1 when a retry follows.
    TimedOut = 2,
    /// slot, attempt (the next one); extra: epoch ms it is due.
    Retry = 3,
    /// slot: failed for good.
    Failed = 4,
    /// slot: timed out for good.
    GaveUp = 5,
    /// slot; extra: 1 when it was running.
    Aborted = 6,
    /// slot: removed by `clear`.
    Cleared = 7,
    Empty = 8,
    Idle = 9,
    RateLimited = 10,
    RateLimitCleared = 11,
}

impl<T> From<&scheduler::Effect<T>> for SchedulerEffect {
    fn from(effect: &scheduler::Effect<T>) -> Self {
        match effect {
            scheduler::Effect::Start { .. } => Self::Start,
            scheduler::Effect::TimedOut { .. } => Self::TimedOut,
            scheduler::Effect::Retry { .. } => Self::Retry,
            scheduler::Effect::Failed { .. } => Self::Failed,
            scheduler::Effect::GaveUp { .. } => Self::GaveUp,
            scheduler::Effect::Aborted { .. } => Self::Aborted,
            scheduler::Effect::Cleared { .. } => Self::Cleared,
            scheduler::Effect::Empty => Self::Empty,
            scheduler::Effect::Idle => Self::Idle,
            scheduler::Effect::RateLimited => Self::RateLimited,
            scheduler::Effect::RateLimitCleared => Self::RateLimitCleared,
        }
    }
}

/// What a file step does (see `IoStep`): a step is [op, `StorageFile`, bytes?].
#[cfg_attr(target_arch = "wasm32", wasm_bindgen)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StorageOp {
    /// Append the bytes to the log.
    AppendLog = 0,
    /// Create or truncate the file and write the bytes.
    Write = 1,
    Sync = 2,
    /// Rename the compact file over the log (file: the log).
    ReplaceLog = 3,
    /// Sync the log's directory (file: the log).
    SyncDir = 4,
    /// Remove the file if it exists.
    Remove = 5,
}

/// A durable broker's files (see `File`).
#[cfg_attr(target_arch = "wasm32", wasm_bindgen)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StorageFile {
    Log = 0,
    Compact = 1,
    Corrupt = 2,
}

impl From<File> for StorageFile {
    fn from(file: File) -> Self {
        match file {
            File::Log => Self::Log,
            File::Compact => Self::Compact,
            File::Corrupt => Self::Corrupt,
        }
    }
}

/// A step as [op, file, bytes?]; steps without a file name the log.
pub fn storage_step(step: IoStep) -> (StorageOp, StorageFile, Option<Vec<u8>>) {
    match step {
        IoStep::AppendLog(bytes) => (StorageOp::AppendLog, StorageFile::Log, Some(bytes)),
        IoStep::Write { file, bytes } => (StorageOp::Write, file.into(), Some(bytes)),
        IoStep::Sync(file) => (StorageOp::Sync, file.into(), None),
        IoStep::ReplaceLog => (StorageOp::ReplaceLog, StorageFile::Log, None),
        IoStep::SyncDir => (StorageOp::SyncDir, StorageFile::Log, None),
        IoStep::Remove(file) => (StorageOp::Remove, file.into(), None),
    }
}

/// An enum's value as an f64 record field.
pub trait Code: Copy {
    fn code(self) -> f64;
}

macro_rules! impl_code {
    ($($kind:ty),*) => {$(
        impl Code for $kind {
            fn code(self) -> f64 {
                f64::from(self as i32)
            }
        }
    )*};
}

impl_code!(BrokerEffect, SchedulerEffect, DeliveryFlag, DeadLetterReason, StorageOp, StorageFile, RemoteCommand);

/// A JS duration or deadline; the wrapper passes NONE (or any negative or
/// non-finite number) for "absent".
pub fn millis(value: f64) -> Option<Millis> {
    (value.is_finite() && value >= 0.0).then_some(value as Millis)
}

/// A JS count the wrapper has checked (a whole number), or NONE for
/// "absent"; beyond `u32::MAX` it saturates.
pub fn count_or_none(value: f64) -> Option<u32> {
    (value.is_finite() && value >= 0.0).then_some(value.min(f64::from(u32::MAX)) as u32)
}

pub fn from_millis(value: Option<Millis>) -> f64 {
    value.map_or(NONE, |m| m as f64)
}

pub fn flag(on: bool) -> f64 {
    if on {
        1.0
    } else {
        0.0
    }
}

/// Each exported enum against the core type it mirrors: one to one, so a
/// variant added on either side without its counterpart fails here (or,
/// for a core variant, already in the exhaustive conversions above).
#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::broker::{ConsumerId, Delivery, DeliveryTag, MessageId, QueueId, RequestId};
    use crate::core::scheduler::TaskId;

    /// Every variant of a fieldless enum; the match stops compiling when one is left out.
    macro_rules! every {
        ($kind:ident: $($variant:ident),+ $(,)?) => {{
            let _exhaustive = |k: $kind| match k {
                $($kind::$variant)|+ => (),
            };
            [$($kind::$variant),+]
        }};
    }

    /// `mapped` (what the core's variants convert to) is each of `all` exactly once.
    fn one_to_one<K: Code + std::fmt::Debug>(mapped: impl IntoIterator<Item = K>, all: &[K]) {
        let sorted = |codes: Vec<f64>| {
            let mut codes = codes;
            codes.sort_by(f64::total_cmp);
            codes
        };
        let mapped = sorted(mapped.into_iter().map(Code::code).collect());
        assert_eq!(mapped, sorted(all.iter().map(|k| k.code()).collect()), "{all:?}");
    }

    #[test]
    fn dead_letter_reasons_mirror_the_core() {
        use broker::DeadLetterReason as Core;
        let core = every!(Core: Expired, MaxLen, Rejected, DeliveryLimit);
        let wire = every!(DeadLetterReason: Expired, MaxLen, Rejected, DeliveryLimit);
        one_to_one(core.map(DeadLetterReason::from), &wire);
    }

    #[test]
    fn storage_files_and_ops_mirror_the_core() {
        one_to_one(
            every!(File: Log, Compact, Corrupt).map(StorageFile::from),
            &every!(StorageFile: Log, Compact, Corrupt),
        );
        let steps = [
            IoStep::AppendLog(vec![]),
            IoStep::Write { file: File::Compact, bytes: vec![] },
            IoStep::Sync(File::Log),
            IoStep::ReplaceLog,
            IoStep::SyncDir,
            IoStep::Remove(File::Compact),
        ];
        let ops = every!(StorageOp: AppendLog, Write, Sync, ReplaceLog, SyncDir, Remove);
        one_to_one(steps.map(|s| storage_step(s).0), &ops);
    }

    #[test]
    fn broker_effects_mirror_the_core() {
        use broker::Effect as E;
        let (queue, consumer, request, tag) = (QueueId(0), ConsumerId(0), RequestId(0), DeliveryTag(0));
        let id = || MessageId::Auto(0);
        let delivery = Delivery {
            tag,
            queue,
            id: id(),
            payload: (),
            delivery_count: 1,
            redelivered: false,
            enqueued_at: 0,
            request: None,
        };
        let effects = [
            E::Deliver { consumer, delivery },
            E::WaitExpired { consumer },
            E::DeadLettered { queue, target: None, id: id(), reason: broker::DeadLetterReason::Expired },
            E::Expired { queue, id: id() },
            E::Redelivered { queue, id: id(), delivery_count: 2 },
            E::HandlerTimedOut { consumer, tag },
            E::Reply { request, payload: () },
            E::RequestTimedOut { request },
            E::Dropped { payload: () },
        ];
        let all = every!(BrokerEffect:
            Deliver, WaitExpired, DeadLettered, Expired, Redelivered, Reply, RequestTimedOut, HandlerTimedOut, Dropped);
        one_to_one(effects.iter().map(BrokerEffect::from), &all);
    }

    #[test]
    fn remote_commands_mirror_the_core() {
        use broker::Command as C;
        let (queue, at) = (QueueId(3), broker::ServerRef { seq: 7, tag: 9 });
        let commands = [C::Claim { queue, max: 5 }, C::Release { queue, at }, C::Fail { queue, at }, C::Nack { queue, at, wait: 40 }];
        let records = commands.map(RemoteCommand::record);
        let kinds: Vec<f64> = records.iter().map(|r| r[0]).collect();
        assert_eq!(kinds, every!(RemoteCommand: Claim, Release, Fail, Nack).map(Code::code));
        assert_eq!(records[0], [1.0, 3.0, NONE, NONE, 5.0]);
        assert_eq!(records[3], [4.0, 3.0, 7.0, 9.0, 40.0]);
    }

    #[test]
    fn scheduler_effects_mirror_the_core() {
        use scheduler::Effect as E;
        let id = TaskId(0);
        let effects = [
            E::Start { id, attempt: 1, task: () },
            E::TimedOut { id, attempt: 1, will_retry: false, task: () },
            E::Retry { id, attempt: 2, at: 0, task: () },
            E::Failed { id, task: () },
            E::GaveUp { id, task: () },
            E::Aborted { id, was_running: false, task: () },
            E::Cleared { id, task: () },
            E::Empty,
            E::Idle,
            E::RateLimited,
            E::RateLimitCleared,
        ];
        let all = every!(SchedulerEffect:
            Start, TimedOut, Retry, Failed, GaveUp, Aborted, Cleared, Empty, Idle, RateLimited, RateLimitCleared);
        one_to_one(effects.iter().map(SchedulerEffect::from), &all);
    }

    #[test]
    fn delivery_flags_are_distinct_bits() {
        let bits = every!(DeliveryFlag: Redelivered, Recovered).map(|f| f as u32);
        assert!(bits.iter().all(|b| b.is_power_of_two()));
        assert_eq!(bits.iter().fold(0, |all, b| all | b).count_ones() as usize, bits.len());
    }
}
