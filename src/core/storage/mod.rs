//! Durable brokers, independent of where the bytes live: the log format
//! (header, checksummed frames of encoded records), recovery from whatever a
//! crash left, compaction into a snapshot, and the file steps a host must
//! carry out, in order, for each of them. The JS bindings do the actual I/O
//! (files in Node, IndexedDB in browsers); nothing here touches a disk.

pub mod codec;
pub mod crc32c;
pub mod log;
pub mod wire;
