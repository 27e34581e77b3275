//! The log file: a header, then frames, each holding one batch of records.
//!
//! ```text
//! header  = "FERRYMQ\0" | version: u16 LE (1) | flags: u16 LE (0)          12 bytes
//! frame   = len: u32 LE | body_crc: u32 LE | head_crc: u32 LE | body     12 + len bytes
//! body    = record*      (codec.rs; the records of one commit, in order)
//! body_crc = masked crc32c(body)
//! head_crc = masked crc32c(len ++ body_crc), both as stored
//! ```
//!
//! A frame is the unit of atomicity: a batch is in the log entirely or not
//! at all. `head_crc` vouches for the length before the body is read, which
//! tells the two ways a log can end badly apart:
//!
//! - [`Tail::TornTail`]: the last frame is incomplete (fewer than 12 bytes
//!   of header, or a sound header whose body runs past the end). That is a
//!   writer killed mid-append, the normal `kill -9` case; nothing it held
//!   was acknowledged, and it is dropped without complaint.
//! - [`Tail::Corrupt`]: a complete frame fails a check (either CRC, the
//!   length cap, or decoding). Appends only ever shorten a file, so this is
//!   damage, wherever it sits; it is reported, and recovery keeps the
//!   records before it (RocksDB's PointInTime).
//!
//! Either way [`Recovered::valid_len`] is where the good prefix ends.

use std::fmt;

use crate::core::broker::Record;
use crate::core::error::{CoreError, ErrorCode};

use super::codec::{self, Payload};
use super::crc32c::masked;
use super::wire::{DecodeError, Reader};

pub const MAGIC: [u8; 8] = *b"FERRYMQ\0";
pub const VERSION: u16 = 1;
pub const HEADER_LEN: usize = 12;
pub const FRAME_HEADER_LEN: usize = 12;
/// No body is longer. A batch that would be is split over several frames
/// at record boundaries (so such a batch is not atomic); a single record
/// this long is refused, so hosts must bound payload sizes well below it.
pub const MAX_FRAME_BYTES: usize = 64 << 20;
/// The largest payload a host may hand a durable broker: whatever record
/// carries it (an enqueue, or a snapshot's copy with its lease and a
/// 255-byte id) still fits one frame. Hosts refuse larger ones up front, so
/// one oversized message can never stop a broker at commit time.
pub const MAX_PAYLOAD_BYTES: usize = MAX_FRAME_BYTES - 4096;

pub fn header() -> [u8; HEADER_LEN] {
    let mut h = [0u8; HEADER_LEN];
    let (magic, rest) = h.split_at_mut(MAGIC.len());
    magic.copy_from_slice(&MAGIC);
    let (version, _flags) = rest.split_at_mut(2);
    version.copy_from_slice(&VERSION.to_le_bytes());
    h
}

/// Appends `records` to `out` as frames: one, unless the batch exceeds
/// [`MAX_FRAME_BYTES`]. On error `out` is left as it was.
pub fn append_frames<P: Payload>(records: &[Record<P>], out: &mut Vec<u8>) -> Result<(), CoreError> {
    let original = out.len();
    let mut start = out.len();
    out.extend_from_slice(&[0; FRAME_HEADER_LEN]);
    for rec in records {
        let rec_start = out.len();
        codec::encode(rec, out);
        if out.len() - rec_start > MAX_FRAME_BYTES {
            out.truncate(original);
            return Err(CoreError::new(ErrorCode::Storage, format!("a record is longer than {MAX_FRAME_BYTES} bytes")));
        }
        if out.len() - start - FRAME_HEADER_LEN > MAX_FRAME_BYTES {
            let rec = out.split_off(rec_start);
            seal(out, start);
            start = out.len();
            out.extend_from_slice(&[0; FRAME_HEADER_LEN]);
            out.extend_from_slice(&rec);
        }
    }
    if out.len() - start == FRAME_HEADER_LEN {
        out.truncate(start);
    } else {
        seal(out, start);
    }
    Ok(())
}

/// Fills in the header of the frame that starts at `start` and runs to the end.
fn seal(out: &mut [u8], start: usize) {
    let Some(frame) = out.get_mut(start..) else { return };
    let (head, body) = frame.split_at_mut(FRAME_HEADER_LEN.min(frame.len()));
    let len = u32::try_from(body.len()).unwrap_or(u32::MAX);
    let mut fields = [0u8; 8];
    fields[..4].copy_from_slice(&len.to_le_bytes());
    fields[4..].copy_from_slice(&masked(body).to_le_bytes());
    if let Some(dst) = head.get_mut(..8) {
        dst.copy_from_slice(&fields);
    }
    if let Some(dst) = head.get_mut(8..) {
        dst.copy_from_slice(&masked(&fields).to_le_bytes());
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Damage {
    /// The frame header's own checksum fails: its length cannot be trusted.
    BadFrameHeader,
    /// A sound header claiming more than [`MAX_FRAME_BYTES`].
    FrameTooLarge(u32),
    BadChecksum,
    /// The checksum holds but the records do not decode: written by a
    /// different (buggy or newer) program.
    Undecodable(DecodeError),
    /// The records decode but do not fit the state before them (say, a
    /// message sequence used twice): two writers shared the log.
    Unfit(String),
}

impl fmt::Display for Damage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Damage::BadFrameHeader => f.write_str("frame header checksum mismatch"),
            Damage::FrameTooLarge(n) => write!(f, "frame of {n} bytes exceeds the limit"),
            Damage::BadChecksum => f.write_str("frame checksum mismatch"),
            Damage::Undecodable(e) => write!(f, "frame does not decode: {e}"),
            Damage::Unfit(why) => write!(f, "records do not fit what came before them: {why}"),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Tail {
    Clean,
    /// An incomplete last frame starts at `at`.
    TornTail { at: usize },
    /// The frame at `at` is damaged; nothing from it on was read.
    Corrupt { at: usize, damage: Damage },
}

#[derive(Debug, PartialEq)]
pub struct Recovered<P> {
    pub records: Vec<Record<P>>,
    /// Bytes of header and good frames; 0 when there is no complete header.
    pub valid_len: usize,
    pub tail: Tail,
}

/// A file that is not a log this version can read: refused rather than
/// recovered, so opening the wrong path never overwrites it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HeaderError {
    NotALog,
    UnsupportedVersion(u16),
    UnknownFlags(u16),
}

impl From<HeaderError> for CoreError {
    fn from(e: HeaderError) -> Self {
        let message = match e {
            HeaderError::NotALog => "not a ferrymq log (bad magic)".to_owned(),
            HeaderError::UnsupportedVersion(v) => format!("log format version {v} is not supported (expected {VERSION})"),
            HeaderError::UnknownFlags(f) => format!("log header has unknown flags {f:#06x}"),
        };
        CoreError::new(ErrorCode::Storage, message)
    }
}

fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    let b = bytes.get(at..at.checked_add(4)?)?;
    <[u8; 4]>::try_from(b).ok().map(u32::from_le_bytes)
}

fn u16_at(bytes: &[u8], at: usize) -> Option<u16> {
    let b = bytes.get(at..at.checked_add(2)?)?;
    <[u8; 2]>::try_from(b).ok().map(u16::from_le_bytes)
}

pub fn read_log<P: Payload>(bytes: &[u8]) -> Result<Recovered<P>, HeaderError> {
    let expected = header();
    if bytes.len() < HEADER_LEN {
        // Empty: no log yet. A prefix of the header: killed while creating it.
        if !expected.starts_with(bytes) {
            return Err(HeaderError::NotALog);
        }
        let tail = if bytes.is_empty() { Tail::Clean } else { Tail::TornTail { at: 0 } };
        return Ok(Recovered { records: Vec::new(), valid_len: 0, tail });
    }
    if !bytes.starts_with(&MAGIC) {
        return Err(HeaderError::NotALog);
    }
    match (u16_at(bytes, 8), u16_at(bytes, 10)) {
        (Some(VERSION), Some(0)) => {}
        (Some(VERSION), Some(flags)) => return Err(HeaderError::UnknownFlags(flags)),
        (Some(v), _) => return Err(HeaderError::UnsupportedVersion(v)),
        (None, _) => return Err(HeaderError::NotALog),
    }
    let mut records = Vec::new();
    let mut at = HEADER_LEN;
    let tail = loop {
        match read_frame(bytes, at, &mut records) {
            Ok(Some(next)) => at = next,
            Ok(None) => break Tail::Clean,
            Err(tail) => break tail,
        }
    };
    Ok(Recovered { records, valid_len: at, tail })
}

/// The offset of the frame that holds record `index` of a log `read_log`
/// read whole, or `None` when there is no such record.
pub fn frame_of_record<P: Payload>(bytes: &[u8], index: usize) -> Option<usize> {
    let (mut at, mut before) = (HEADER_LEN, 0);
    let mut records = Vec::<Record<P>>::new();
    loop {
        let next = read_frame(bytes, at, &mut records).ok()??;
        if before + records.len() > index {
            return Some(at);
        }
        before += records.len();
        records.clear();
        at = next;
    }
}

/// Reads the frame at `at` into `records`: the offset after it, `None` at
/// the end, or how the log ends here.
fn read_frame<P: Payload>(bytes: &[u8], at: usize, records: &mut Vec<Record<P>>) -> Result<Option<usize>, Tail> {
    let rest = bytes.get(at..).unwrap_or_default();
    if rest.is_empty() {
        return Ok(None);
    }
    let torn = Tail::TornTail { at };
    let corrupt = |damage| Tail::Corrupt { at, damage };
    let (Some(len), Some(body_crc), Some(head_crc)) = (u32_at(rest, 0), u32_at(rest, 4), u32_at(rest, 8)) else {
        return Err(torn);
    };
    if masked(rest.get(..8).unwrap_or_default()) != head_crc {
        return Err(corrupt(Damage::BadFrameHeader));
    }
    let body_len = len as usize;
    if body_len > MAX_FRAME_BYTES {
        return Err(corrupt(Damage::FrameTooLarge(len)));
    }
    let end = FRAME_HEADER_LEN + body_len;
    let Some(body) = rest.get(FRAME_HEADER_LEN..end) else { return Err(torn) };
    if masked(body) != body_crc {
        return Err(corrupt(Damage::BadChecksum));
    }
    let mut batch = Vec::new();
    let mut r = Reader::new(body);
    while !r.is_empty() {
        batch.push(codec::decode(&mut r).map_err(|e| corrupt(Damage::Undecodable(e)))?);
    }
    records.append(&mut batch);
    Ok(Some(at + end))
}
