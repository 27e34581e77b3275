//! Binary encoding of [`Record`]s: a tag byte, then the fields as varints,
//! length-prefixed strings and bytes. Times that follow another time
//! (ready, expiry) are stored as the wrapping difference from it, which is
//! small in the usual case and still exact in every other.

use crate::core::backoff::{Backoff, BackoffKind};
use crate::core::broker::{
    CounterSnapshot, DeadLetterReason, DeadLetterTarget, DeliveryTag, LeaseSnapshot, MessageId, MessageSnapshot,
    Overflow, Priority, QueueId, QueueOptions, Record, RequestId, THROUGHPUT_SLOTS,
};
use crate::core::time::Millis;

use super::wire::{put_bytes, put_opt, put_u64, DecodeError, Reader};

/// How a message payload becomes bytes in the log and back. Payloads are
/// opaque here: the bindings decide what the bytes mean.
pub trait Payload: Sized {
    fn bytes(&self) -> &[u8];
    fn from_bytes(bytes: &[u8]) -> Self;
}

impl Payload for Box<[u8]> {
    fn bytes(&self) -> &[u8] {
        self
    }

    fn from_bytes(bytes: &[u8]) -> Self {
        bytes.into()
    }
}

mod tag {
    pub const QUEUE_DECLARED: u8 = 0;
    pub const BOUND: u8 = 1;
    pub const UNBOUND: u8 = 2;
    pub const ENQUEUED: u8 = 3;
    pub const LEASED: u8 = 4;
    pub const LEASE_EXTENDED: u8 = 5;
    pub const ACKED: u8 = 6;
    pub const RETURNED: u8 = 7;
    pub const DEAD_LETTERED: u8 = 8;
    pub const PURGED: u8 = 9;
    pub const QUEUE_RESTORED: u8 = 10;
    pub const MESSAGE_RESTORED: u8 = 11;
    pub const IDS_RESTORED: u8 = 12;
    pub const RELEASED: u8 = 13;
}

pub fn encode<P: Payload>(rec: &Record<P>, out: &mut Vec<u8>) {
    match rec {
        Record::QueueDeclared { queue, name, options, explicit } => {
            out.push(tag::QUEUE_DECLARED);
            put_u64(out, queue.0.into());
            put_bytes(out, name.as_bytes());
            put_options(out, options);
            out.push((*explicit).into());
        }
        Record::Bound { pattern, queue } | Record::Unbound { pattern, queue } => {
            out.push(if matches!(rec, Record::Bound { .. }) { tag::BOUND } else { tag::UNBOUND });
            put_bytes(out, pattern.as_bytes());
            put_u64(out, queue.0.into());
        }
        Record::Enqueued { queue, seq, id, payload, priority, enqueued_at, ready_at, expires_at, request } => {
            out.push(tag::ENQUEUED);
            let times = [*enqueued_at, *ready_at];
            put_message(out, (*seq, *queue, id), payload, *priority, times, *expires_at, *request);
        }
        Record::Leased { seq, tag, deadline } => {
            out.push(tag::LEASED);
            put_u64(out, *seq);
            put_u64(out, tag.0);
            put_u64(out, *deadline);
        }
        Record::LeaseExtended { tag, deadline } => {
            out.push(tag::LEASE_EXTENDED);
            put_u64(out, tag.0);
            put_u64(out, *deadline);
        }
        Record::Acked { tag, at } => {
            out.push(tag::ACKED);
            put_u64(out, tag.0);
            put_u64(out, *at);
        }
        Record::Returned { tag, ready_at, nacked } => {
            out.push(tag::RETURNED);
            put_u64(out, tag.0);
            put_u64(out, *ready_at);
            out.push((*nacked).into());
        }
        Record::Released { tag } => {
            out.push(tag::RELEASED);
            put_u64(out, tag.0);
        }
        Record::DeadLettered { seq, at, reason, nacked, target, expires_at } => {
            out.push(tag::DEAD_LETTERED);
            put_u64(out, *seq);
            put_u64(out, *at);
            out.push(reason_tag(*reason));
            out.push((*nacked).into());
            put_opt(out, target.map(|t| t.0.into()));
            put_opt(out, expires_at.map(|e| e.wrapping_sub(*at)));
        }
        Record::Purged { queue } => {
            out.push(tag::PURGED);
            put_u64(out, queue.0.into());
        }
        Record::QueueRestored { queue, counters, dedup } => {
            out.push(tag::QUEUE_RESTORED);
            put_u64(out, queue.0.into());
            put_counters(out, counters);
            put_u64(out, dedup.len() as u64);
            for (id, until) in dedup {
                put_bytes(out, id.as_bytes());
                put_u64(out, *until);
            }
        }
        Record::MessageRestored(m) => {
            out.push(tag::MESSAGE_RESTORED);
            let times = [m.enqueued_at, m.ready_at];
            put_message(out, (m.seq, m.queue, &m.id), &m.payload, m.priority, times, m.expires_at, m.request);
            put_u64(out, m.deliveries.into());
            match m.lease {
                None => out.push(0),
                Some(LeaseSnapshot { tag, deadline }) => {
                    out.push(1);
                    put_u64(out, tag.0);
                    put_u64(out, deadline);
                }
            }
        }
        Record::IdsRestored { next_seq, next_tag, next_request } => {
            out.push(tag::IDS_RESTORED);
            for n in [next_seq, next_tag, next_request] {
                put_u64(out, *n);
            }
        }
    }
}

/// Decodes one record from the front of `r`.
pub fn decode<P: Payload>(r: &mut Reader<'_>) -> Result<Record<P>, DecodeError> {
    Ok(match r.u8()? {
        tag::QUEUE_DECLARED => Record::QueueDeclared {
            queue: queue(r)?,
            name: r.str()?.into(),
            options: options(r)?,
            explicit: r.bool()?,
        },
        tag::BOUND => Record::Bound { pattern: r.str()?.into(), queue: queue(r)? },
        tag::UNBOUND => Record::Unbound { pattern: r.str()?.into(), queue: queue(r)? },
        tag::ENQUEUED => {
            let MessageSnapshot { seq, queue, id, payload, priority, enqueued_at, ready_at, expires_at, request, .. } =
                message(r)?;
            Record::Enqueued { queue, seq, id, payload, priority, enqueued_at, ready_at, expires_at, request }
        }
        tag::LEASED => Record::Leased { seq: r.u64()?, tag: DeliveryTag(r.u64()?), deadline: r.u64()? },
        tag::LEASE_EXTENDED => Record::LeaseExtended { tag: DeliveryTag(r.u64()?), deadline: r.u64()? },
        tag::ACKED => Record::Acked { tag: DeliveryTag(r.u64()?), at: r.u64()? },
        tag::RETURNED => Record::Returned { tag: DeliveryTag(r.u64()?), ready_at: r.u64()?, nacked: r.bool()? },
        tag::RELEASED => Record::Released { tag: DeliveryTag(r.u64()?) },
        tag::DEAD_LETTERED => {
            let (seq, at) = (r.u64()?, r.u64()?);
            let (reason, nacked) = (reason(r.u8()?)?, r.bool()?);
            let target = r.opt()?.map(queue_id).transpose()?;
            let expires_at = r.opt()?.map(|d| at.wrapping_add(d));
            Record::DeadLettered { seq, at, reason, nacked, target, expires_at }
        }
        tag::PURGED => Record::Purged { queue: queue(r)? },
        tag::QUEUE_RESTORED => {
            let queue = queue(r)?;
            let counters = Box::new(counters(r)?);
            let n = r.count()?;
            let mut dedup = Vec::with_capacity(n);
            for _ in 0..n {
                dedup.push((r.str()?.into(), r.u64()?));
            }
            Record::QueueRestored { queue, counters, dedup }
        }
        tag::MESSAGE_RESTORED => {
            let mut m = message(r)?;
            m.deliveries = r.u32()?;
            if r.bool()? {
                m.lease = Some(LeaseSnapshot { tag: DeliveryTag(r.u64()?), deadline: r.u64()? });
            }
            Record::MessageRestored(Box::new(m))
        }
        tag::IDS_RESTORED => Record::IdsRestored { next_seq: r.u64()?, next_tag: r.u64()?, next_request: r.u64()? },
        tag => return Err(DecodeError::BadTag { what: "record", tag }),
    })
}

/// The fields a sent message and a restored one share.
fn put_message<P: Payload>(
    out: &mut Vec<u8>,
    (seq, queue, id): (u64, QueueId, &MessageId),
    payload: &P,
    priority: Priority,
    [enqueued_at, ready_at]: [Millis; 2],
    expires_at: Option<Millis>,
    request: Option<RequestId>,
) {
    put_u64(out, seq);
    put_u64(out, queue.0.into());
    match id {
        MessageId::Auto(n) => {
            out.push(0);
            put_u64(out, *n);
        }
        MessageId::Given(s) => {
            out.push(1);
            put_bytes(out, s.as_bytes());
        }
    }
    put_bytes(out, payload.bytes());
    out.push(priority.get());
    put_u64(out, enqueued_at);
    put_u64(out, ready_at.wrapping_sub(enqueued_at));
    put_opt(out, expires_at.map(|e| e.wrapping_sub(enqueued_at)));
    put_opt(out, request.map(|r| r.0));
}

/// What [`put_message`] wrote, as a message not (yet) delivered.
fn message<P: Payload>(r: &mut Reader<'_>) -> Result<MessageSnapshot<P>, DecodeError> {
    let (seq, queue) = (r.u64()?, queue(r)?);
    let id = match r.u8()? {
        0 => MessageId::Auto(r.u64()?),
        1 => MessageId::Given(r.str()?.into()),
        tag => return Err(DecodeError::BadTag { what: "message id", tag }),
    };
    let payload = P::from_bytes(r.bytes()?);
    let priority = Priority::new(r.u8()?).map_err(|_| DecodeError::OutOfRange("priority"))?;
    let enqueued_at = r.u64()?;
    let ready_at = enqueued_at.wrapping_add(r.u64()?);
    let expires_at = r.opt()?.map(|d| enqueued_at.wrapping_add(d));
    let request = r.opt()?.map(RequestId);
    let (deliveries, lease) = (0, None);
    Ok(MessageSnapshot { seq, queue, id, payload, priority, enqueued_at, ready_at, expires_at, deliveries, lease, request })
}

fn queue_id(n: u64) -> Result<QueueId, DecodeError> {
    u32::try_from(n).map(QueueId).map_err(|_| DecodeError::OutOfRange("queue id"))
}

fn queue(r: &mut Reader<'_>) -> Result<QueueId, DecodeError> {
    queue_id(r.u64()?)
}

fn reason_tag(reason: DeadLetterReason) -> u8 {
    match reason {
        DeadLetterReason::Expired => 0,
        DeadLetterReason::MaxLen => 1,
        DeadLetterReason::Rejected => 2,
        DeadLetterReason::DeliveryLimit => 3,
    }
}

fn reason(tag: u8) -> Result<DeadLetterReason, DecodeError> {
    Ok(match tag {
        0 => DeadLetterReason::Expired,
        1 => DeadLetterReason::MaxLen,
        2 => DeadLetterReason::Rejected,
        3 => DeadLetterReason::DeliveryLimit,
        tag => return Err(DecodeError::BadTag { what: "dead-letter reason", tag }),
    })
}

fn put_options(out: &mut Vec<u8>, o: &QueueOptions) {
    put_opt(out, o.max_length);
    out.push(match o.overflow {
        Overflow::Reject => 0,
        Overflow::DropOldest => 1,
    });
    put_opt(out, o.ttl);
    put_u64(out, o.lease);
    put_u64(out, o.max_deliveries.into());
    out.push(match o.backoff.kind {
        BackoffKind::Fixed => 0,
        BackoffKind::Exponential => 1,
    });
    put_u64(out, o.backoff.base);
    put_opt(out, o.backoff.max);
    out.push(o.backoff.jitter.into());
    match &o.dead_letter {
        DeadLetterTarget::Default => out.push(0),
        DeadLetterTarget::Named(name) => {
            out.push(1);
            put_bytes(out, name.as_bytes());
        }
        DeadLetterTarget::Discard => out.push(2),
    }
    put_opt(out, o.dedup_window);
    out.push(o.durable.into());
}

fn options(r: &mut Reader<'_>) -> Result<QueueOptions, DecodeError> {
    let max_length = r.opt()?;
    let overflow = match r.u8()? {
        0 => Overflow::Reject,
        1 => Overflow::DropOldest,
        tag => return Err(DecodeError::BadTag { what: "overflow", tag }),
    };
    let (ttl, lease, max_deliveries) = (r.opt()?, r.u64()?, r.u32()?);
    let kind = match r.u8()? {
        0 => BackoffKind::Fixed,
        1 => BackoffKind::Exponential,
        tag => return Err(DecodeError::BadTag { what: "backoff", tag }),
    };
    let backoff = Backoff { kind, base: r.u64()?, max: r.opt()?, jitter: r.bool()? };
    let dead_letter = match r.u8()? {
        0 => DeadLetterTarget::Default,
        1 => DeadLetterTarget::Named(r.str()?.into()),
        2 => DeadLetterTarget::Discard,
        tag => return Err(DecodeError::BadTag { what: "dead-letter target", tag }),
    };
    let (dedup_window, durable) = (r.opt()?, r.bool()?);
    Ok(QueueOptions { max_length, overflow, ttl, lease, max_deliveries, backoff, dead_letter, dedup_window, durable })
}

fn put_counters(out: &mut Vec<u8>, c: &CounterSnapshot) {
    for n in [c.sent, c.acked, c.nacked, c.expired, c.redelivered, c.dead_lettered] {
        put_u64(out, n);
    }
    put_u64(out, c.latency.len() as u64);
    for &(bucket, count) in &c.latency {
        put_u64(out, bucket.into());
        put_u64(out, count);
    }
    for &(second, count) in &c.throughput {
        put_u64(out, second);
        put_u64(out, count);
    }
}

fn counters(r: &mut Reader<'_>) -> Result<CounterSnapshot, DecodeError> {
    let [sent, acked, nacked, expired, redelivered, dead_lettered] =
        [r.u64()?, r.u64()?, r.u64()?, r.u64()?, r.u64()?, r.u64()?];
    let n = r.count()?;
    let mut latency = Vec::with_capacity(n);
    for _ in 0..n {
        latency.push((r.u32()?, r.u64()?));
    }
    let mut throughput = [(0, 0); THROUGHPUT_SLOTS];
    for slot in &mut throughput {
        *slot = (r.u64()?, r.u64()?);
    }
    Ok(CounterSnapshot { sent, acked, nacked, expired, redelivered, dead_lettered, latency, throughput })
}
