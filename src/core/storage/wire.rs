//! The primitives records are built from: LEB128 varints (ids, times and
//! counts are mostly small), length-prefixed bytes and strings, options.
//! Reading never trusts a length: it is checked against the bytes that are
//! actually left before anything is allocated.

use std::fmt;

use crate::core::error::{CoreError, ErrorCode};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// The bytes end in the middle of a value.
    Truncated,
    /// A varint longer than its type allows.
    Overlong,
    /// An enum tag (record kind, option flag, ...) with no meaning.
    BadTag { what: &'static str, tag: u8 },
    BadUtf8,
    /// A value its type does not admit, such as priority 12.
    OutOfRange(&'static str),
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::Truncated => f.write_str("value cut short"),
            DecodeError::Overlong => f.write_str("varint too long"),
            DecodeError::BadTag { what, tag } => write!(f, "unknown {what} tag {tag}"),
            DecodeError::BadUtf8 => f.write_str("string is not UTF-8"),
            DecodeError::OutOfRange(what) => write!(f, "{what} out of range"),
        }
    }
}

impl From<DecodeError> for CoreError {
    fn from(e: DecodeError) -> Self {
        CoreError::new(ErrorCode::Storage, format!("undecodable record: {e}"))
    }
}

pub fn put_u64(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

pub fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    put_u64(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

pub fn put_opt(out: &mut Vec<u8>, n: Option<u64>) {
    match n {
        None => out.push(0),
        Some(n) => {
            out.push(1);
            put_u64(out, n);
        }
    }
}

/// A cursor over untrusted bytes.
pub struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Self { bytes }
    }

    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    pub fn u8(&mut self) -> Result<u8, DecodeError> {
        let (&b, rest) = self.bytes.split_first().ok_or(DecodeError::Truncated)?;
        self.bytes = rest;
        Ok(b)
    }

    pub fn u64(&mut self) -> Result<u64, DecodeError> {
        let mut n = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.u8()?;
            let bits = u64::from(b & 0x7F);
            // The tenth byte may only carry the top bit of a u64.
            if shift == 63 && bits > 1 {
                return Err(DecodeError::Overlong);
            }
            n |= bits << shift;
            if b & 0x80 == 0 {
                return Ok(n);
            }
        }
        Err(DecodeError::Overlong)
    }

    pub fn u32(&mut self) -> Result<u32, DecodeError> {
        u32::try_from(self.u64()?).map_err(|_| DecodeError::Overlong)
    }

    pub fn bool(&mut self) -> Result<bool, DecodeError> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            tag => Err(DecodeError::BadTag { what: "bool", tag }),
        }
    }

    pub fn opt(&mut self) -> Result<Option<u64>, DecodeError> {
        Ok(if self.bool()? { Some(self.u64()?) } else { None })
    }

    /// A length-prefixed slice, borrowed: the length is checked against what
    /// is left, so a garbage length cannot make anyone allocate.
    pub fn bytes(&mut self) -> Result<&'a [u8], DecodeError> {
        let len = usize::try_from(self.u64()?).map_err(|_| DecodeError::Truncated)?;
        if len > self.bytes.len() {
            return Err(DecodeError::Truncated);
        }
        let (head, rest) = self.bytes.split_at(len);
        self.bytes = rest;
        Ok(head)
    }

    pub fn str(&mut self) -> Result<&'a str, DecodeError> {
        std::str::from_utf8(self.bytes()?).map_err(|_| DecodeError::BadUtf8)
    }

    /// A count of items that each take at least one byte: more than the
    /// bytes left is impossible, so it bounds `Vec::with_capacity`.
    pub fn count(&mut self) -> Result<usize, DecodeError> {
        let n = usize::try_from(self.u64()?).map_err(|_| DecodeError::Truncated)?;
        if n > self.bytes.len() {
            return Err(DecodeError::Truncated);
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_round_trip_at_the_edges() {
        for n in [0, 1, 127, 128, 300, u64::from(u32::MAX), u64::MAX - 1, u64::MAX] {
            let mut out = Vec::new();
            put_u64(&mut out, n);
            let mut r = Reader::new(&out);
            assert_eq!(r.u64(), Ok(n));
            assert!(r.is_empty());
        }
    }

    #[test]
    fn overlong_and_short_varints_are_refused() {
        assert_eq!(Reader::new(&[0xFF; 10]).u64(), Err(DecodeError::Overlong));
        assert_eq!(Reader::new(&[0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x02]).u64(), Err(DecodeError::Overlong));
        assert_eq!(Reader::new(&[0x80]).u64(), Err(DecodeError::Truncated));
        assert_eq!(Reader::new(&[0x80, 0x80, 0x80, 0x80, 0x10]).u32(), Err(DecodeError::Overlong));
    }

    #[test]
    fn lengths_beyond_the_input_allocate_nothing() {
        let mut out = Vec::new();
        put_u64(&mut out, u64::MAX);
        assert_eq!(Reader::new(&out).bytes(), Err(DecodeError::Truncated));
        assert_eq!(Reader::new(&out).count(), Err(DecodeError::Truncated));
        assert_eq!(Reader::new(&[2, 0xC3, 0x28]).str(), Err(DecodeError::BadUtf8));
    }
}
