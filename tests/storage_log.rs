//! The log format (methods T4 and T7): every record survives encode and
//! decode, arbitrary bytes never panic the reader, and a damaged log yields
//! a prefix of what was committed, with torn tails and corruption told apart.

use ferrymq::core::backoff::{Backoff, BackoffKind};
use ferrymq::core::broker::{
    CounterSnapshot, DeadLetterReason, DeadLetterTarget, DeliveryTag, LeaseSnapshot, MessageId, MessageSnapshot,
    Overflow, Priority, QueueId, QueueOptions, Record, RequestId, THROUGHPUT_SLOTS,
};
use ferrymq::core::storage::codec::{decode, encode};
use ferrymq::core::storage::log::{
    append_frames, header, read_log, Damage, HeaderError, Recovered, Tail, FRAME_HEADER_LEN, HEADER_LEN, MAX_FRAME_BYTES,
    MAX_PAYLOAD_BYTES,
};
use ferrymq::core::storage::wire::Reader;
use proptest::prelude::*;
use proptest::strategy::ValueTree;

type Rec = Record<Box<[u8]>>;

fn name() -> impl Strategy<Value = Box<str>> {
    "[a-z.#*é]{0,12}".prop_map(Into::into)
}

fn time() -> impl Strategy<Value = u64> {
    prop_oneof![0..100u64, 1_700_000_000_000..1_700_000_100_000u64, Just(u64::MAX)]
}

fn message_id() -> impl Strategy<Value = MessageId> {
    prop_oneof![any::<u64>().prop_map(MessageId::Auto), name().prop_map(MessageId::Given)]
}

fn options() -> impl Strategy<Value = QueueOptions> {
    let backoff = (any::<bool>(), any::<u64>(), proptest::option::of(any::<u64>()), any::<bool>()).prop_map(
        |(exp, base, max, jitter)| Backoff {
            kind: if exp { BackoffKind::Exponential } else { BackoffKind::Fixed },
            base,
            max,
            jitter,
        },
    );
    let dead_letter = prop_oneof![
        Just(DeadLetterTarget::Default),
        Just(DeadLetterTarget::Discard),
        name().prop_map(|n| DeadLetterTarget::Named(n.into()))
    ];
    (
        (proptest::option::of(any::<u64>()), any::<bool>(), proptest::option::of(time()), any::<u64>(), any::<u32>()),
        (backoff, dead_letter, proptest::option::of(any::<u64>()), any::<bool>()),
    )
        .prop_map(|((max_length, drop, ttl, lease, max_deliveries), (backoff, dead_letter, dedup_window, durable))| {
            QueueOptions {
                max_length,
                overflow: if drop { Overflow::DropOldest } else { Overflow::Reject },
                ttl,
                lease,
                max_deliveries,
                backoff,
                dead_letter,
                dedup_window,
                durable,
            }
        })
}

fn payload() -> impl Strategy<Value = Box<[u8]>> {
    proptest::collection::vec(any::<u8>(), 0..40).prop_map(Into::into)
}

fn priority() -> impl Strategy<Value = Priority> {
    (0..10u8).prop_map(|p| Priority::new(p).expect("in range"))
}

fn reason() -> impl Strategy<Value = DeadLetterReason> {
    prop_oneof![
        Just(DeadLetterReason::Expired),
        Just(DeadLetterReason::MaxLen),
        Just(DeadLetterReason::Rejected),
        Just(DeadLetterReason::DeliveryLimit)
    ]
}

fn counters() -> impl Strategy<Value = CounterSnapshot> {
    (
        proptest::array::uniform6(any::<u64>()),
        proptest::collection::vec((any::<u32>(), any::<u64>()), 0..4),
        proptest::array::uniform10((any::<u64>(), any::<u64>())),
    )
        .prop_map(|([sent, acked, nacked, expired, redelivered, dead_lettered], latency, throughput)| {
            let throughput: [(u64, u64); THROUGHPUT_SLOTS] = throughput;
            CounterSnapshot { sent, acked, nacked, expired, redelivered, dead_lettered, latency, throughput }
        })
}

fn snapshot() -> impl Strategy<Value = MessageSnapshot<Box<[u8]>>> {
    let lease = proptest::option::of((any::<u64>(), time()).prop_map(|(t, deadline)| LeaseSnapshot {
        tag: DeliveryTag(t),
        deadline,
    }));
    (
        (any::<u64>(), any::<u32>(), message_id(), payload(), priority()),
        (time(), time(), proptest::option::of(time()), any::<u32>(), lease, proptest::option::of(any::<u64>())),
    )
        .prop_map(|((seq, q, id, payload, priority), (enqueued_at, ready_at, expires_at, deliveries, lease, request))| {
            MessageSnapshot {
                seq,
                queue: QueueId(q),
                id,
                payload,
                priority,
                enqueued_at,
                ready_at,
                expires_at,
                deliveries,
                lease,
                request: request.map(RequestId),
            }
        })
}

fn record() -> impl Strategy<Value = Rec> {
    let q = any::<u32>().prop_map(QueueId);
    let tag = any::<u64>().prop_map(DeliveryTag);
    prop_oneof![
        (q.clone(), name(), options(), any::<bool>())
            .prop_map(|(queue, name, options, explicit)| Record::QueueDeclared { queue, name, options, explicit }),
        (name(), q.clone()).prop_map(|(pattern, queue)| Record::Bound { pattern, queue }),
        (name(), q.clone()).prop_map(|(pattern, queue)| Record::Unbound { pattern, queue }),
        snapshot().prop_map(|m| Record::Enqueued {
            queue: m.queue,
            seq: m.seq,
            id: m.id,
            payload: m.payload,
            priority: m.priority,
            enqueued_at: m.enqueued_at,
            ready_at: m.ready_at,
            expires_at: m.expires_at,
            request: m.request,
        }),
        (any::<u64>(), tag.clone(), time()).prop_map(|(seq, tag, deadline)| Record::Leased { seq, tag, deadline }),
        (tag.clone(), time()).prop_map(|(tag, deadline)| Record::LeaseExtended { tag, deadline }),
        (tag.clone(), time()).prop_map(|(tag, at)| Record::Acked { tag, at }),
        (tag.clone(), time(), any::<bool>()).prop_map(|(tag, ready_at, nacked)| Record::Returned { tag, ready_at, nacked }),
        tag.prop_map(|tag| Record::Released { tag }),
        (any::<u64>(), time(), reason(), any::<bool>(), proptest::option::of(q.clone()), proptest::option::of(time()))
            .prop_map(|(seq, at, reason, nacked, target, expires_at)| Record::DeadLettered {
                seq,
                at,
                reason,
                nacked,
                target,
                expires_at
            }),
        q.clone().prop_map(|queue| Record::Purged { queue }),
        (q, counters(), proptest::collection::vec((name(), time()), 0..4)).prop_map(|(queue, c, dedup)| {
            Record::QueueRestored { queue, counters: Box::new(c), dedup }
        }),
        snapshot().prop_map(|m| Record::MessageRestored(Box::new(m))),
        (any::<u64>(), any::<u64>(), any::<u64>())
            .prop_map(|(next_seq, next_tag, next_request)| Record::IdsRestored { next_seq, next_tag, next_request }),
    ]
}

/// A log of `batches`, and the offset where each batch's frame ends.
fn log_of(batches: &[Vec<Rec>]) -> (Vec<u8>, Vec<usize>) {
    let mut bytes = header().to_vec();
    let mut ends = vec![];
    for batch in batches {
        append_frames(batch, &mut bytes).expect("frames");
        ends.push(bytes.len());
    }
    (bytes, ends)
}

fn read(bytes: &[u8]) -> Result<Recovered<Box<[u8]>>, HeaderError> {
    read_log(bytes)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn every_record_round_trips(rec in record()) {
        let mut bytes = vec![];
        encode(&rec, &mut bytes);
        let mut r = Reader::new(&bytes);
        prop_assert_eq!(decode::<Box<[u8]>>(&mut r), Ok(rec));
        prop_assert!(r.is_empty());
    }

    #[test]
    fn batches_round_trip_through_the_log(batches in proptest::collection::vec(proptest::collection::vec(record(), 1..4), 0..5)) {
        let (bytes, _) = log_of(&batches);
        let got = read(&bytes).expect("header");
        prop_assert_eq!(got.tail, Tail::Clean);
        prop_assert_eq!(got.valid_len, bytes.len());
        prop_assert_eq!(got.records, batches.concat());
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let mut r = Reader::new(&bytes);
        while decode::<Box<[u8]>>(&mut r).is_ok() && !r.is_empty() {}
        // Also behind a valid header, with and without a matching frame checksum.
        let mut log = header().to_vec();
        log.extend_from_slice(&bytes);
        let _ = read(&log);
        let mut framed = header().to_vec();
        framed.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
        let body_crc = ferrymq::core::storage::crc32c::masked(&bytes);
        framed.extend_from_slice(&body_crc.to_le_bytes());
        let head_crc = ferrymq::core::storage::crc32c::masked(&framed[HEADER_LEN..HEADER_LEN + 8]);
        framed.extend_from_slice(&head_crc.to_le_bytes());
        framed.extend_from_slice(&bytes);
        if let Ok(got) = read(&framed) {
            let ok = matches!(got.tail, Tail::Clean | Tail::Corrupt { damage: Damage::Undecodable(_), .. });
            prop_assert!(ok, "a frame with good checksums is read or found undecodable: {:?}", got.tail);
        }
    }
}

fn sample_batches() -> Vec<Vec<Rec>> {
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let strategy = proptest::collection::vec(proptest::collection::vec(record(), 1..3), 6);
    strategy.new_tree(&mut runner).expect("sample").current()
}

/// How many whole batches a recovered record list holds; fails unless it is
/// exactly a prefix of the committed batches.
fn whole_batches(got: &[Rec], batches: &[Vec<Rec>]) -> usize {
    let mut n = 0;
    let mut rest = got;
    while !rest.is_empty() {
        let batch = &batches[n];
        assert!(rest.len() >= batch.len() && rest[..batch.len()] == batch[..], "not a prefix of whole batches");
        rest = &rest[batch.len()..];
        n += 1;
    }
    n
}

/// Counts wider than 32 bits come back whole, whatever the platform's usize.
#[test]
fn counts_round_trip_at_full_width() {
    let huge = [u64::MAX, u64::MAX - 1, (1 << 32) + 1, 1 << 53];
    for n in huge {
        let options = QueueOptions { max_length: Some(n), ..QueueOptions::default() };
        let counters = CounterSnapshot { sent: n, acked: n, dead_lettered: n, latency: vec![(7, n)], ..CounterSnapshot::default() };
        let records: [Rec; 2] = [
            Record::QueueDeclared { queue: QueueId(0), name: "q".into(), options, explicit: true },
            Record::QueueRestored { queue: QueueId(0), counters: Box::new(counters), dedup: vec![] },
        ];
        for rec in records {
            let mut bytes = vec![];
            encode(&rec, &mut bytes);
            assert_eq!(decode::<Box<[u8]>>(&mut Reader::new(&bytes)), Ok(rec));
        }
    }
}

#[test]
fn every_truncation_is_a_clean_prefix() {
    let batches = sample_batches();
    let (bytes, ends) = log_of(&batches);
    for cut in 0..=bytes.len() {
        let got = read(&bytes[..cut]).expect("a cut header is no error");
        let n = whole_batches(&got.records, &batches);
        let boundary = if n == 0 { HEADER_LEN } else { ends[n - 1] };
        if cut < HEADER_LEN {
            assert_eq!(got.valid_len, 0);
            assert_eq!(got.tail, if cut == 0 { Tail::Clean } else { Tail::TornTail { at: 0 } });
        } else if cut == boundary {
            assert_eq!((got.valid_len, &got.tail), (cut, &Tail::Clean), "cut at {cut}");
        } else {
            assert_eq!((got.valid_len, &got.tail), (boundary, &Tail::TornTail { at: boundary }), "cut at {cut}");
        }
        assert!(ends.get(n).map_or(true, |&end| end > cut), "a whole frame was dropped at cut {cut}");
    }
}

#[test]
fn every_bit_flip_is_reported() {
    let batches = sample_batches();
    let (bytes, ends) = log_of(&batches);
    let starts: Vec<usize> = std::iter::once(HEADER_LEN).chain(ends.iter().copied()).collect();
    for bit in 0..bytes.len() * 8 {
        let mut flipped = bytes.clone();
        flipped[bit / 8] ^= 1 << (bit % 8);
        let byte = bit / 8;
        let got = read(&flipped);
        if byte < HEADER_LEN {
            assert!(got.is_err(), "flip in the file header at byte {byte} must refuse the file");
            continue;
        }
        let got = got.expect("header intact");
        let frame = starts.iter().rposition(|&s| s <= byte).expect("inside a frame");
        let at = starts[frame];
        assert_eq!(got.records, batches[..frame].concat(), "flip at byte {byte}: the frames before it survive");
        assert_eq!(got.valid_len, at);
        let damage = match got.tail {
            Tail::Corrupt { at: a, damage } if a == at => damage,
            other => panic!("flip at byte {byte} reported as {other:?}"),
        };
        let in_head = byte < at + FRAME_HEADER_LEN;
        assert_eq!(damage == Damage::BadFrameHeader, in_head, "flip at byte {byte}: {damage:?}");
    }
}

#[test]
fn wrong_files_are_refused_not_recovered() {
    assert_eq!(read(b"{\"not\": \"a log\"}").err(), Some(HeaderError::NotALog));
    assert_eq!(read(b"FERRX").err(), Some(HeaderError::NotALog));
    assert_eq!(read(b"FERRY").map(|r| r.tail), Ok(Tail::TornTail { at: 0 }), "killed while writing the header");
    let mut v2 = header().to_vec();
    v2[8] = 2;
    assert_eq!(read(&v2).err(), Some(HeaderError::UnsupportedVersion(2)));
    let mut flagged = header().to_vec();
    flagged[10] = 1;
    assert_eq!(read(&flagged).err(), Some(HeaderError::UnknownFlags(1)));
    assert_eq!(read(&header()).map(|r| r.tail), Ok(Tail::Clean));
}

#[test]
fn a_batch_over_the_frame_limit_splits_at_record_boundaries() {
    let big = |seq: u64| Record::Enqueued {
        queue: QueueId(0),
        seq,
        id: MessageId::Auto(seq),
        payload: vec![7u8; MAX_FRAME_BYTES / 2 + 1].into(),
        priority: Priority::new(0).expect("in range"),
        enqueued_at: 0,
        ready_at: 0,
        expires_at: None,
        request: None,
    };
    let batch = vec![big(1), big(2)];
    let (bytes, _) = log_of(std::slice::from_ref(&batch));
    let got = read(&bytes).expect("header");
    assert_eq!((got.tail, got.records), (Tail::Clean, batch));
    let first_len = u32::from_le_bytes(bytes[HEADER_LEN..HEADER_LEN + 4].try_into().expect("4 bytes")) as usize;
    assert!(first_len < bytes.len() - HEADER_LEN - FRAME_HEADER_LEN, "two frames");

    let mut out = vec![1, 2, 3];
    let small: Rec = Record::Purged { queue: QueueId(0) };
    let huge = vec![small, Record::MessageRestored(Box::new(MessageSnapshot {
        seq: 1,
        queue: QueueId(0),
        id: MessageId::Auto(1),
        payload: vec![0u8; MAX_FRAME_BYTES + 1].into(),
        priority: Priority::new(0).expect("in range"),
        enqueued_at: 0,
        ready_at: 0,
        expires_at: None,
        deliveries: 0,
        lease: None,
        request: None,
    }))];
    assert!(append_frames(&huge, &mut out).is_err());
    assert_eq!(out, [1, 2, 3], "nothing half-written on error");
}

#[test]
fn an_empty_batch_writes_nothing() {
    let mut out = vec![];
    append_frames::<Box<[u8]>>(&[], &mut out).expect("empty");
    assert!(out.is_empty());
}

#[test]
fn the_largest_allowed_payload_fits_one_frame_in_every_record_that_carries_it() {
    let payload: Box<[u8]> = vec![7u8; MAX_PAYLOAD_BYTES].into();
    let id = MessageId::Given("é".repeat(127).into());
    let enqueued: Rec = Record::Enqueued {
        queue: QueueId(u32::MAX),
        seq: u64::MAX,
        id: id.clone(),
        payload: payload.clone(),
        priority: Priority::new(9).unwrap(),
        enqueued_at: u64::MAX,
        ready_at: u64::MAX,
        expires_at: Some(u64::MAX),
        request: Some(RequestId(u64::MAX)),
    };
    let restored: Rec = Record::MessageRestored(Box::new(MessageSnapshot {
        seq: u64::MAX,
        queue: QueueId(u32::MAX),
        id,
        payload,
        priority: Priority::new(9).unwrap(),
        enqueued_at: u64::MAX,
        ready_at: u64::MAX,
        expires_at: Some(u64::MAX),
        deliveries: u32::MAX,
        lease: Some(LeaseSnapshot { tag: DeliveryTag(u64::MAX), deadline: u64::MAX }),
        request: Some(RequestId(u64::MAX)),
    }));
    for rec in [enqueued, restored] {
        let mut out = Vec::new();
        append_frames(&[rec], &mut out).expect("fits one frame");
    }
}
