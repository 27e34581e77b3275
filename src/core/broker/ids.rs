//! Identifiers handed across the API. Distinct newtypes so a delivery tag can
//! never be passed where a queue is expected.

use std::fmt;

use crate::core::error::{CoreError, ErrorCode};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct QueueId(pub u32);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConsumerId(pub u32);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DeliveryTag(pub u64);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RequestId(pub u64);

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum MessageId {
    /// Generated: the message's sequence number, so it is unique per broker.
    Auto(u64),
    /// Chosen by the caller; the only kind that is a dedup key.
    Given(Box<str>),
}

impl fmt::Display for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MessageId::Auto(n) => write!(f, "{n}"),
            MessageId::Given(s) => f.write_str(s),
        }
    }
}

/// A message priority, 0..=9. Only [`Priority::new`] builds one, so the ready
/// index can use it to pick a lane without a bounds check failing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Priority(u8);

impl Priority {
    pub const LEVELS: usize = 10;

    pub fn new(p: u8) -> Result<Self, CoreError> {
        if usize::from(p) < Self::LEVELS {
            Ok(Self(p))
        } else {
            Err(CoreError::new(ErrorCode::InvalidArgument, format!("priority {p} is outside 0..=9")))
        }
    }

    pub fn get(self) -> u8 {
        self.0
    }

    pub(super) fn lane(self) -> usize {
        usize::from(self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_ids_render_as_decimal() {
        assert_eq!(MessageId::Auto(42).to_string(), "42");
        assert_eq!(MessageId::Given("order-7".into()).to_string(), "order-7");
    }

    #[test]
    fn priority_rejects_out_of_range() {
        assert_eq!(Priority::new(9).map(Priority::get), Ok(9));
        assert_eq!(Priority::new(10).map_err(|e| e.code), Err(ErrorCode::InvalidArgument));
    }
}
