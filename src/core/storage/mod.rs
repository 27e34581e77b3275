//! Durable brokers, independent of where the bytes live: the log format
//! (header, checksummed frames of encoded records), recovery from whatever a
//! crash left, compaction into a snapshot, and the file steps a host must
//! carry out, in order, for each of them. The bindings do the actual I/O;
//! nothing here touches a disk.
//!
//! A host (Node, with files):
//! 1. reads `path` (empty if missing) and calls [`recovery::open`], then
//!    runs `Opened::steps` ([`io::IoStep`]) before serving any command;
//! 2. after the commands of a tick, calls [`journal::Journal::commit`] and
//!    runs its steps, queued behind any earlier ones; the commands resolve
//!    once their last step is done;
//! 3. on any failed step, stops the broker: it is reopened from the files.
//!
//! In IndexedDB there are no files or fsyncs: the log is the concatenation,
//! in key order, of values in one object store. `AppendLog` puts one value
//! under the next key; the four compaction steps (`Write` of the compact
//! file through `SyncDir`) are one readwrite transaction that clears the
//! store and puts the new log, atomic by IndexedDB's own rules; `Sync` is
//! waiting for the transaction's `complete` with `durability: "strict"`.

pub mod codec;
pub mod compaction;
pub mod crc32c;
pub mod io;
pub mod journal;
pub mod log;
pub mod recovery;
pub mod wire;
