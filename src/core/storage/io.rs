//! What the host must do to its files, as data: the core decides every
//! write, sync and rename; the bindings only carry them out, in order.

/// The files of one durable broker whose log is at `path`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum File {
    /// `path`: the log.
    Log,
    /// `path + ".compact"`: a log being written to replace it. Only a
    /// rename makes it the log, so one that exists on open is a leftover of
    /// a compaction that never finished, and the log beside it is whole.
    Compact,
    /// `path + ".corrupt"`: the unreadable remainder of a damaged log, from
    /// the first bad frame on, kept for inspection.
    Corrupt,
}

/// One file operation. A host runs the steps it is given one at a time, in
/// order, and never starts a later batch before an earlier one is done; if a
/// step fails, the broker must stop (fail-stop: its memory is now ahead of
/// the disk) and be reopened from the files.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IoStep {
    /// Append to the log, creating it if missing.
    AppendLog(Vec<u8>),
    /// Create `file`, or truncate it, and write `bytes` into it.
    Write { file: File, bytes: Vec<u8> },
    /// Make `file`'s contents durable (`fsync`/`fdatasync`; `F_FULLFSYNC`
    /// on macOS). Only after this are they acknowledged.
    Sync(File),
    /// Atomically rename the compact file over the log (`rename(2)`). A
    /// handle opened on the log before this refers to the old file: reopen.
    ReplaceLog,
    /// Make renames, creations and removals durable (`fsync` on the
    /// directory): a synced file is not yet a durable name.
    SyncDir,
    /// Remove `file` if it exists.
    Remove(File),
}
