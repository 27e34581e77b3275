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

/// An error raised by the core: a stable code plus a message for people.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CoreError {
    pub code: ErrorCode,
    pub message: String,
}

impl CoreError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self { code, message: message.into() }
    }
}

impl fmt::Display for CoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for CoreError {}
