//! Per-queue and per-subscription settings, and their validation.

use crate::core::backoff::Backoff;
use crate::core::error::{CoreError, ErrorCode, Field};
use crate::core::rate::RateLimit;
use crate::core::time::Millis;

/// Queue names, routing keys, patterns and caller ids share RabbitMQ's limit.
pub const MAX_NAME_BYTES: usize = 255;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Overflow {
    /// Refuse the send with QUEUE_FULL: nothing is lost silently.
    #[default]
    Reject,
    /// Dead-letter the message enqueued earliest (reason `maxlen`) to make room.
    DropOldest,
}

#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum DeadLetterTarget {
    /// `${name}.dlq`, created on first use.
    #[default]
    Default,
    Named(String),
    Discard,
}

#[derive(Clone, Debug, PartialEq)]
pub struct QueueOptions {
    /// Limit on messages waiting in the queue (ready or delayed, not in
    /// flight). u64, not usize: a limit above 2^32 must not wrap on wasm32.
    pub max_length: Option<u64>,
    pub overflow: Overflow,
    pub ttl: Option<Millis>,
    pub lease: Millis,
    pub max_deliveries: u32,
    pub backoff: Backoff,
    pub dead_letter: DeadLetterTarget,
    pub dedup_window: Option<Millis>,
    /// On a recording (durable) broker, whether its messages are logged
    /// (see durability); meaningless in memory.
    pub durable: bool,
}

impl Default for QueueOptions {
    fn default() -> Self {
        Self {
            max_length: None,
            overflow: Overflow::Reject,
            ttl: None,
            lease: 30_000,
            max_deliveries: 10,
            backoff: Backoff::NONE,
            dead_letter: DeadLetterTarget::Default,
            dedup_window: None,
            durable: true,
        }
    }
}

impl QueueOptions {
    /// What an auto-created dead-letter queue gets: no further dead-lettering,
    /// so a chain of queues can never loop.
    pub(super) fn implicit_dead_letter_queue(durable: bool) -> Self {
        Self { dead_letter: DeadLetterTarget::Discard, durable, ..Self::default() }
    }

    /// The same options spelled one way only, so that a re-declaration
    /// compares equal whenever it means the same queue: the default
    /// dead-letter queue named, a backoff that never waits, or an overflow
    /// policy without a limit to overflow are the defaults.
    pub(super) fn normalized(mut self, queue: &str) -> Self {
        if self.dead_letter == DeadLetterTarget::Named(default_dead_letter_queue(queue)) {
            self.dead_letter = DeadLetterTarget::Default;
        }
        if self.backoff.base == 0 || self.backoff.max == Some(0) {
            self.backoff = Backoff::NONE;
        }
        if self.max_length.is_none() {
            self.overflow = Overflow::default();
        }
        self
    }

    /// Checks the options of the queue named `queue`.
    pub(super) fn validate(&self, queue: &str) -> Result<(), CoreError> {
        positive(Field::MaxLength, self.max_length)?;
        positive(Field::Ttl, self.ttl)?;
        positive(Field::Lease, Some(self.lease))?;
        positive(Field::MaxDeliveries, Some(u64::from(self.max_deliveries)))?;
        positive(Field::DedupWindow, self.dedup_window)?;
        if let DeadLetterTarget::Named(name) = &self.dead_letter {
            check_name(Field::DeadLetter, name)?;
            // Its dead letters would come straight back, to fail again.
            if name == queue {
                return Err(CoreError::out_of_range(Field::DeadLetter, format!("must name another queue than {queue:?} itself")));
            }
        }
        Ok(())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Subscription {
    /// Maximum unacked deliveries to this consumer; at least 1.
    pub prefetch: u32,
    /// Cancel after one delivery: a waiting `receive()`.
    pub once: bool,
    /// For `once`: give up at this time with `Effect::WaitExpired`.
    pub deadline: Option<Millis>,
    /// Limits the deliveries made to this consumer, first ones and
    /// redeliveries alike, counted when each is made.
    pub rate_limit: Option<RateLimit>,
    /// A delivery still unsettled this long after it was handed out fails
    /// as a nack does, with `Effect::HandlerTimedOut`.
    pub timeout: Option<Millis>,
}

impl Default for Subscription {
    fn default() -> Self {
        Self { prefetch: 1, once: false, deadline: None, rate_limit: None, timeout: None }
    }
}

/// AMQP's limit on a consumer's prefetch count (a 16-bit field there).
pub const MAX_PREFETCH: u32 = 65_535;

impl Subscription {
    pub(super) fn validate(&self) -> Result<(), CoreError> {
        if !(1..=MAX_PREFETCH).contains(&self.prefetch) {
            return Err(CoreError::out_of_range(Field::Prefetch, format!("must be from 1 to {MAX_PREFETCH}")));
        }
        positive(Field::Timeout, self.timeout)?;
        self.rate_limit.map(RateLimit::validated).transpose()?;
        if self.deadline.is_some() && !self.once {
            return Err(invalid("a subscription deadline needs once=true"));
        }
        Ok(())
    }
}

/// A declaration's options, checked and spelled one way (see
/// `normalized`); None for a queue declared without options.
pub(super) fn declaration(name: &str, opts: Option<QueueOptions>) -> Result<Option<QueueOptions>, CoreError> {
    check_name(Field::QueueName, name)?;
    if let Some(o) = &opts {
        o.validate(name)?;
    }
    Ok(opts.map(|o| o.normalized(name)))
}

/// Where [`DeadLetterTarget::Default`] sends the dead letters of `queue`.
pub(super) fn default_dead_letter_queue(queue: &str) -> String {
    format!("{queue}.dlq")
}

pub(super) fn invalid(message: impl Into<String>) -> CoreError {
    CoreError::new(ErrorCode::InvalidArgument, message)
}

/// Zero is never meaningful for these settings (a zero lease or TTL would
/// make every message vanish at once), so it is refused rather than honoured.
/// Durations are whole milliseconds here, so the binding's 0.5 is a zero too.
pub(super) fn positive(field: Field, value: Option<u64>) -> Result<(), CoreError> {
    match value {
        Some(0) => Err(CoreError::out_of_range(field, "must be at least 1")),
        _ => Ok(()),
    }
}

/// A queue name (or message id): not empty, and within the byte limit.
pub(super) fn check_name(field: Field, name: &str) -> Result<(), CoreError> {
    if name.is_empty() {
        return Err(CoreError::out_of_range(field, "must not be empty"));
    }
    within_name_limit(field, name)
}

/// Routing keys and patterns may be empty, but are no longer than a name.
pub(super) fn within_name_limit(field: Field, name: &str) -> Result<(), CoreError> {
    if name.len() > MAX_NAME_BYTES {
        return Err(CoreError::out_of_range(field, format!("must be at most {MAX_NAME_BYTES} bytes long in UTF-8")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_durations_and_counts_are_refused() {
        let cases = [
            QueueOptions { lease: 0, ..Default::default() },
            QueueOptions { ttl: Some(0), ..Default::default() },
            QueueOptions { max_deliveries: 0, ..Default::default() },
            QueueOptions { max_length: Some(0), ..Default::default() },
            QueueOptions { dedup_window: Some(0), ..Default::default() },
            QueueOptions { dead_letter: DeadLetterTarget::Named(String::new()), ..Default::default() },
        ];
        let fields = [Field::Lease, Field::Ttl, Field::MaxDeliveries, Field::MaxLength, Field::DedupWindow, Field::DeadLetter];
        for (opts, field) in cases.into_iter().zip(fields) {
            let error = opts.validate("q").expect_err("refused");
            assert_eq!((error.code, error.field), (ErrorCode::InvalidArgument, Some(field)), "{opts:?}");
        }
        assert!(QueueOptions::default().validate("q").is_ok());
    }

    #[test]
    fn a_dead_letter_queue_is_another_queue_within_the_name_limit() {
        let named = |name: &str| QueueOptions { dead_letter: DeadLetterTarget::Named(name.into()), ..Default::default() };
        for bad in ["q", &"d".repeat(MAX_NAME_BYTES + 1)] {
            assert_eq!(named(bad).validate("q").map_err(|e| e.field), Err(Some(Field::DeadLetter)), "{bad}");
        }
        assert!(named(&"d".repeat(MAX_NAME_BYTES)).validate("q").is_ok());
    }

    #[test]
    fn subscription_rules() {
        assert!(Subscription::default().validate().is_ok());
        let field = |s: Subscription| s.validate().map_err(|e| e.field);
        for prefetch in [0, MAX_PREFETCH + 1] {
            assert_eq!(field(Subscription { prefetch, ..Default::default() }), Err(Some(Field::Prefetch)));
        }
        assert!(Subscription { prefetch: MAX_PREFETCH, ..Default::default() }.validate().is_ok());
        assert_eq!(field(Subscription { timeout: Some(0), ..Default::default() }), Err(Some(Field::Timeout)));
        let rate = RateLimit::sliding(0, 5);
        assert_eq!(field(Subscription { rate_limit: Some(rate), ..Default::default() }), Err(Some(Field::RateMax)));
        assert!(Subscription { deadline: Some(5), ..Default::default() }.validate().is_err());
        assert!(Subscription { once: true, deadline: Some(5), ..Default::default() }.validate().is_ok());
    }
}
