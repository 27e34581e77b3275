//! Error codes shared by every part of the core; the bindings turn them into
//! `FerryError` objects whose `code` is [`ErrorCode::as_str`].

use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    Closed,
    QueueFull,
    StaleDelivery,
    Timeout,
    Aborted,
    Cleared,
    NotSerializable,
    Storage,
    InvalidArgument,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::Closed => "CLOSED",
            ErrorCode::QueueFull => "QUEUE_FULL",
            ErrorCode::StaleDelivery => "STALE_DELIVERY",
            ErrorCode::Timeout => "TIMEOUT",
            ErrorCode::Aborted => "ABORTED",
            ErrorCode::Cleared => "CLEARED",
            ErrorCode::NotSerializable => "NOT_SERIALIZABLE",
            ErrorCode::Storage => "STORAGE",
            ErrorCode::InvalidArgument => "INVALID_ARGUMENT",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The setting or argument an `InvalidArgument` error is about. The core
/// names it by meaning only; each binding spells it as its callers do
/// (`options.maxLength`), so the rule lives here and the name there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    QueueName,
    MaxLength,
    Ttl,
    Lease,
    MaxDeliveries,
    DeadLetter,
    DedupWindow,
    Prefetch,
    Timeout,
    RateMax,
    RateInterval,
    Concurrency,
    MessageId,
    RoutingKey,
    Pattern,
}

/// An error raised by the core: a stable code plus a message for people.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CoreError {
    pub code: ErrorCode,
    /// With a `field`, what that value must be ("must be at least 1"):
    /// the binding puts the argument's name in front.
    pub message: String,
    pub field: Option<Field>,
}

impl CoreError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self { code, message: message.into(), field: None }
    }

    /// `field`'s value breaks a rule; `message` says what it must be.
    pub fn out_of_range(field: Field, message: impl Into<String>) -> Self {
        Self { code: ErrorCode::InvalidArgument, message: message.into(), field: Some(field) }
    }
}

impl fmt::Display for CoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.field {
            Some(field) => write!(f, "{}: {field:?} {}", self.code, self.message),
            None => write!(f, "{}: {}", self.code, self.message),
        }
    }
}

impl std::error::Error for CoreError {}
