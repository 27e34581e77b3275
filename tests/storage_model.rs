//! Durable brokers through crashes (methods T1, T3, T5): random commands,
//! group commits, compactions and crashes against a simulated file system
//! that runs the core's [`IoStep`]s. A crash runs only some of the pending
//! steps, may tear the next write, and may be a power loss (unsynced data
//! and unsynced directory changes are lost, unsynced appends survive only
//! in part). Reopening must yield the state of some commit at or after the
//! last acknowledged one: so every acknowledged send is there, no
//! acknowledged ack is undone, and nothing unacknowledged is half-applied.
//! A consumer takes deliveries as a host hands them out: only once the
//! commit that leased them is durable, which the harness checks for each.

use std::collections::BTreeMap;

use ferrymq::core::broker::{
    Broker, DeliveryTag, Effect, Epoch, Outgoing, Overflow, QueueId, QueueOptions, Record, Subscription,
};
use ferrymq::core::error::{CoreError, ErrorCode};
use ferrymq::core::rng::SplitMix64;
use ferrymq::core::storage::compaction::CompactionPolicy;
use ferrymq::core::storage::io::{File, IoStep};
use ferrymq::core::storage::journal::Journal;
use ferrymq::core::storage::log::{append_frames, header, Damage};
use ferrymq::core::storage::recovery::{open, InFlight, Opened};
use ferrymq::core::time::{ManualClock, Millis};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

type P = Box<[u8]>;
type B = Broker<P, ManualClock, SplitMix64>;
type Rec = Record<P>;

const POLICY: CompactionPolicy = CompactionPolicy { min_bytes: 600, growth: 2 };

#[derive(Clone, Debug, Default)]
struct Inode {
    data: Vec<u8>,
    synced: Vec<u8>,
}

/// Files as a POSIX system keeps them: names point at inodes; data and names
/// are durable only once synced.
#[derive(Clone, Debug, Default)]
struct SimFs {
    inodes: Vec<Inode>,
    live: BTreeMap<File, usize>,
    durable: BTreeMap<File, usize>,
}

impl SimFs {
    fn file(&mut self, f: File) -> &mut Inode {
        let next = self.inodes.len();
        let i = *self.live.entry(f).or_insert(next);
        if i == next {
            self.inodes.push(Inode::default());
        }
        &mut self.inodes[i]
    }

    /// Runs `step`; with `torn`, a write stops after that many bytes and
    /// nothing else runs (the process died inside it).
    fn run(&mut self, step: &IoStep, torn: Option<usize>) {
        let cut = |b: &[u8]| b[..torn.map_or(b.len(), |n| n.min(b.len()))].to_vec();
        match step {
            IoStep::AppendLog(bytes) => self.file(File::Log).data.extend(cut(bytes)),
            IoStep::Write { file, bytes } => self.file(*file).data = cut(bytes),
            _ if torn.is_some() => {}
            IoStep::Sync(f) => {
                if let Some(&i) = self.live.get(f) {
                    self.inodes[i].synced = self.inodes[i].data.clone();
                }
            }
            IoStep::ReplaceLog => {
                let i = self.live.remove(&File::Compact).expect("the compact file exists when it is renamed");
                self.live.insert(File::Log, i);
            }
            IoStep::SyncDir => self.durable = self.live.clone(),
            IoStep::Remove(f) => {
                self.live.remove(f);
            }
        }
    }

    /// Power loss: names revert to the last directory sync, contents to the
    /// last file sync plus, for appends, `keep` of the bytes after it.
    fn power_loss(&mut self, keep: usize) {
        self.live = self.durable.clone();
        for inode in &mut self.inodes {
            let extra = if inode.data.starts_with(&inode.synced) { &inode.data[inode.synced.len()..] } else { &[] };
            let kept = extra[..keep.min(extra.len())].to_vec();
            inode.data = inode.synced.clone();
            inode.data.extend(kept);
        }
    }

    fn log(&self) -> Vec<u8> {
        self.live.get(&File::Log).map(|&i| self.inodes[i].data.clone()).unwrap_or_default()
    }

    fn has(&self, f: File) -> bool {
        self.live.contains_key(&f)
    }
}

#[derive(Clone, Copy, Debug)]
struct Crash {
    /// Pending steps that complete before it.
    steps: usize,
    /// Bytes of the next step's write that make it to the file.
    torn: Option<usize>,
    /// Power loss keeping this many unsynced bytes per file; else `kill -9`.
    power: Option<usize>,
}

#[derive(Clone, Debug)]
enum Op {
    Send { priority: u8, delay: Millis, ttl: Option<Millis>, id: Option<u8> },
    Batch(u8),
    Get,
    Ack(usize),
    Nack(usize, bool),
    Advance(Millis),
    Commit,
    Compact,
    Flush,
    Crash(Vec<Crash>),
}

fn crash() -> impl Strategy<Value = Crash> {
    (0..6usize, proptest::option::of(0..40usize), proptest::option::weighted(0.5, 0..30usize))
        .prop_map(|(steps, torn, power)| Crash { steps, torn, power })
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0..3u8, prop_oneof![Just(0u64), Just(30)], proptest::option::weighted(0.2, 20..300u64), proptest::option::weighted(0.3, 0..5u8))
            .prop_map(|(priority, delay, ttl, id)| Op::Send { priority, delay, ttl, id }),
        2 => (1..5u8).prop_map(Op::Batch),
        4 => Just(Op::Get),
        3 => any::<usize>().prop_map(Op::Ack),
        2 => (any::<usize>(), any::<bool>()).prop_map(|(i, r)| Op::Nack(i, r)),
        3 => (1..120u64).prop_map(Op::Advance),
        5 => Just(Op::Commit),
        1 => Just(Op::Compact),
        2 => Just(Op::Flush),
        2 => proptest::collection::vec(crash(), 1..3).prop_map(Op::Crash),
    ]
}

fn reopened(clock: &ManualClock, records: &[Rec]) -> B {
    let mut b = B::replay(clock.clone(), SplitMix64::new(1), records.to_vec()).expect("a snapshot replays");
    b.recover_in_flight();
    b
}

struct Harness {
    clock: ManualClock,
    fs: SimFs,
    broker: B,
    journal: Journal,
    q: QueueId,
    /// Steps handed out and not yet run, in order.
    pending: Vec<IoStep>,
    /// The durable states a crash may leave, oldest first, each with how
    /// many pending steps must have run for it to be acknowledged.
    states: Vec<(usize, Vec<Rec>)>,
    held: Vec<DeliveryTag>,
    /// The epoch of the last commit handed out: committed once every
    /// pending step has run.
    epoch: Option<Epoch>,
    next_payload: u64,
    compactions: usize,
}

impl Harness {
    fn new() -> Result<Self, TestCaseError> {
        let clock = ManualClock::new(1_700_000_000_000);
        let opened = open::<P, _, _>(&[], clock.clone(), SplitMix64::new(1), POLICY, InFlight::Redeliver).map_err(fail)?;
        let (mut broker, journal) = (opened.broker, opened.journal);
        let options = QueueOptions {
            lease: 100,
            max_deliveries: 3,
            max_length: Some(12),
            overflow: Overflow::DropOldest,
            dedup_window: Some(500),
            ..QueueOptions::default()
        };
        let q = broker.declare_queue("jobs", Some(options)).map_err(fail)?;
        broker.bind("jobs.#", q).map_err(fail)?;
        let mut h = Self {
            clock,
            fs: SimFs::default(),
            broker,
            journal,
            q,
            pending: opened.steps,
            states: vec![(0, vec![])],
            held: vec![],
            epoch: Some(opened.epoch),
            next_payload: 0,
            compactions: 0,
        };
        h.broker.subscribe(h.q, Subscription { prefetch: 3, ..Subscription::default() }).map_err(fail)?;
        h.commit(false)?;
        h.flush()?;
        Ok(h)
    }

    fn outgoing(&mut self) -> Outgoing<P> {
        self.next_payload += 1;
        Outgoing::new(self.next_payload.to_le_bytes().to_vec().into())
    }

    fn commit(&mut self, compact: bool) -> Result<(), TestCaseError> {
        let commit = if compact { self.journal.compact(&mut self.broker) } else { self.journal.commit(&mut self.broker) };
        let commit = commit.map_err(fail)?;
        self.epoch = Some(commit.epoch);
        let steps = commit.steps;
        if steps.is_empty() {
            return Ok(());
        }
        self.compactions += usize::from(steps.contains(&IoStep::ReplaceLog));
        self.pending.extend(steps);
        let snapshot = self.broker.snapshot_records();
        let replayed = B::replay(self.clock.clone(), SplitMix64::new(1), snapshot.clone()).map_err(fail)?;
        prop_assert!(replayed.same_durable_state(&self.broker), "the snapshot replays into the live state");
        self.states.push((self.pending.len(), snapshot));
        Ok(())
    }

    /// Runs every pending step; the last commit is then durable, and what
    /// waited for it is handed out.
    fn flush(&mut self) -> Result<(), TestCaseError> {
        for step in std::mem::take(&mut self.pending) {
            self.fs.run(&step, None);
        }
        let last = self.states.pop().map_or_else(Vec::new, |(_, s)| s);
        self.states = vec![(0, last)];
        if let Some(epoch) = self.epoch.take() {
            self.broker.committed(epoch);
        }
        self.take_deliveries()
    }

    /// Every delivery the broker hands out must be leased in the state a
    /// crash can no longer undo: else, after a crash, it would be handed
    /// out again while its first holder still works on it.
    fn take_deliveries(&mut self) -> Result<(), TestCaseError> {
        let effects: Vec<_> = self.broker.drain_effects().collect();
        for effect in effects {
            if let Effect::Deliver { delivery, .. } = effect {
                let tag = delivery.tag;
                let durable = self.states[0].1.iter().any(|r| match r {
                    Record::MessageRestored(m) => m.lease.is_some_and(|l| l.tag == tag),
                    _ => false,
                });
                prop_assert!(durable, "delivery {:?} handed out before its lease was durable", tag);
                self.held.push(tag);
            }
        }
        Ok(())
    }

    fn crash(&mut self, c: Crash) -> Result<(), TestCaseError> {
        let done = c.steps.min(self.pending.len());
        for step in &self.pending[..done] {
            self.fs.run(step, None);
        }
        if let (Some(n), Some(step)) = (c.torn, self.pending.get(done)) {
            self.fs.run(step, Some(n));
        }
        if let Some(keep) = c.power {
            self.fs.power_loss(keep);
        }
        let Opened { broker, journal, report, steps, epoch } =
            open::<P, _, _>(&self.fs.log(), self.clock.clone(), SplitMix64::new(1), POLICY, InFlight::Redeliver).map_err(fail)?;
        prop_assert_eq!(report.corrupt, None, "a crash tears the end of a log, it never damages it");
        let acked = self.states.iter().rposition(|(need, _)| *need <= done).unwrap_or(0);
        let matches = |s: &[Rec]| reopened(&self.clock, s).same_durable_state(&broker);
        let found = (acked..self.states.len()).rev().find(|&j| matches(&self.states[j].1));
        let Some(found) = found else {
            return Err(fail(format!("after {c:?} the log holds no state at or after the last acknowledged commit")));
        };
        // Until the open steps have synced it, a power loss may still take
        // the log back to any state from the acknowledged one to this one.
        let mut states: Vec<_> = self.states.drain(acked..=found).map(|(_, s)| (steps.len(), s)).collect();
        states[0].0 = 0;
        // Replay processes what fell due while the broker was down at the
        // time it reopens, so the state it holds then is its own.
        states.push((steps.len(), broker.snapshot_records()));
        self.states = states;
        (self.broker, self.journal, self.pending) = (broker, journal, steps);
        self.epoch = Some(epoch);
        self.held.clear();
        // Consumers do not outlive a crash; the host subscribes again.
        self.broker.subscribe(self.q, Subscription { prefetch: 3, ..Subscription::default() }).map_err(fail)?;
        Ok(())
    }

    fn run(&mut self, op: Op) -> Result<(), TestCaseError> {
        match op {
            Op::Send { priority, delay, ttl, id } => {
                let msg = Outgoing { priority, delay, ttl, id: id.map(|k| format!("k{k}").into()), ..self.outgoing() };
                self.broker.send(self.q, msg).map_err(fail)?;
            }
            Op::Batch(n) => {
                let msgs = (0..n).map(|_| self.outgoing()).collect();
                self.broker.send_batch(self.q, msgs).map_err(fail)?;
            }
            Op::Get => {
                if let Some(d) = self.broker.take(self.q).map_err(fail)? {
                    self.held.push(d.tag);
                }
            }
            Op::Ack(i) | Op::Nack(i, _) if self.held.is_empty() => {
                let _ = i;
            }
            Op::Ack(i) => {
                let tag = self.held.swap_remove(i % self.held.len());
                stale_at_most(self.broker.ack(tag))?;
            }
            Op::Nack(i, requeue) => {
                let tag = self.held.swap_remove(i % self.held.len());
                stale_at_most(self.broker.nack(tag, requeue, None))?;
            }
            Op::Advance(by) => {
                self.clock.advance(by);
                self.broker.advance();
            }
            Op::Commit => self.commit(false)?,
            Op::Compact => self.commit(true)?,
            Op::Flush => self.flush()?,
            Op::Crash(plan) => {
                for c in plan {
                    self.crash(c)?;
                }
                self.flush()?;
            }
        }
        self.take_deliveries()
    }
}

/// A held delivery may have gone stale (its lease ran out while time
/// moved); any other refusal is a bug.
fn stale_at_most(result: Result<(), CoreError>) -> Result<(), TestCaseError> {
    match result {
        Ok(()) => Ok(()),
        Err(e) if e.code == ErrorCode::StaleDelivery => Ok(()),
        Err(e) => Err(fail(format!("settling a held delivery failed: {e}"))),
    }
}

fn fail(e: impl std::fmt::Display) -> TestCaseError {
    TestCaseError::fail(e.to_string())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn acknowledged_state_survives_crashes(ops in proptest::collection::vec(op(), 1..60)) {
        let mut h = Harness::new()?;
        for op in ops {
            h.run(op)?;
        }
        h.run(Op::Commit)?;
        h.run(Op::Crash(vec![Crash { steps: usize::MAX, torn: None, power: Some(0) }]))?;
    }
}

#[test]
fn long_runs_compact_and_stay_bounded() {
    let mut h = Harness::new().expect("harness");
    let mut most = 0;
    for i in 0..3_000u64 {
        let op = match i % 4 {
            0 => Op::Send { priority: (i % 3) as u8, delay: 0, ttl: None, id: None },
            1 => Op::Get,
            2 => Op::Ack(0),
            _ => Op::Commit,
        };
        h.run(op).expect("op");
        if i % 50 == 0 {
            h.flush().expect("flush");
            most = most.max(h.fs.log().len());
        }
    }
    assert!(h.compactions >= 3, "only {} compactions", h.compactions);
    assert!(most < 4 * POLICY.min_bytes + 2_000, "the log grew to {most} bytes");
    h.run(Op::Crash(vec![Crash { steps: 0, torn: None, power: None }])).expect("reopen");
}

/// A broker with a little of everything, committed and flushed.
fn busy() -> Harness {
    let mut h = Harness::new().expect("harness");
    let ops = [
        Op::Send { priority: 1, delay: 0, ttl: None, id: Some(1) },
        Op::Send { priority: 0, delay: 30, ttl: Some(200), id: None },
        Op::Batch(3),
        Op::Get,
        Op::Get,
        Op::Ack(0),
        Op::Get,
        Op::Nack(0, true),
        Op::Advance(10),
        Op::Get,
        Op::Commit,
        Op::Flush,
    ];
    for op in ops {
        h.run(op).expect("op");
    }
    h
}

#[test]
fn compaction_survives_a_crash_after_every_step() {
    for power in [None, Some(0), Some(7)] {
        for steps in 0..=4 {
            for torn in [None, Some(5)] {
                let mut h = busy();
                h.run(Op::Compact).expect("compact");
                assert_eq!(h.pending.len(), 4, "write, sync, rename, sync dir");
                h.crash(Crash { steps, torn, power }).expect("recovers");
                // The leftover compact file goes first thing on open.
                if h.fs.has(File::Compact) {
                    assert_eq!(h.pending.first(), Some(&IoStep::Remove(File::Compact)));
                }
                h.flush().expect("flush");
                assert!(!h.fs.has(File::Compact));
            }
        }
    }
}

#[test]
fn open_reports_corruption_and_keeps_the_damaged_rest() {
    let mut h = busy();
    let mut log = h.fs.log();
    let committed = log.len();
    h.run(Op::Send { priority: 0, delay: 0, ttl: None, id: None }).expect("send");
    h.run(Op::Commit).expect("commit");
    h.flush().expect("flush");
    log = h.fs.log();
    assert!(log.len() > committed);
    log[committed + 20] ^= 0x10;
    let opened = open::<P, _, _>(&log, h.clock.clone(), SplitMix64::new(1), POLICY, InFlight::Redeliver).expect("opens");
    assert_eq!(opened.report.corrupt, Some((committed, Damage::BadChecksum)));
    assert_eq!(opened.steps[1], IoStep::Write { file: File::Corrupt, bytes: log[committed..].to_vec() });
    assert!(opened.steps.contains(&IoStep::ReplaceLog), "the log is rewritten without the damage");

    // A torn tail is no corruption, and also rewritten so appends follow good frames.
    let torn = open::<P, _, _>(&log[..committed + 3], h.clock.clone(), SplitMix64::new(1), POLICY, InFlight::Redeliver).expect("opens");
    assert_eq!((torn.report.torn_tail, torn.report.corrupt), (Some(committed), None));
    assert!(torn.steps.contains(&IoStep::ReplaceLog));

    // A clean log is appended to, not rewritten.
    let clean = open::<P, _, _>(&h.fs.log(), h.clock.clone(), SplitMix64::new(1), POLICY, InFlight::Redeliver).expect("opens");
    assert_eq!(clean.steps[..3], [IoStep::Remove(File::Compact), IoStep::Sync(File::Log), IoStep::SyncDir]);
    assert!(matches!(clean.steps[3..], [IoStep::AppendLog(_), IoStep::Sync(File::Log)]), "the leases it returned");
    assert!(open::<P, _, _>(b"hello", h.clock.clone(), SplitMix64::new(1), POLICY, InFlight::Redeliver).is_err(), "not a log: refused");
    assert_eq!(header().len(), 12);
}

/// The AppendLog bytes of `steps`, in order.
fn appended(steps: &[IoStep]) -> Vec<u8> {
    steps
        .iter()
        .filter_map(|s| match s {
            IoStep::AppendLog(bytes) => Some(bytes.as_slice()),
            _ => None,
        })
        .flatten()
        .copied()
        .collect()
}

#[test]
fn two_writers_on_one_log_leave_the_first_writers_prefix_readable() {
    // Two brokers opened the same log (as through two paths to one file)
    // and both appended: the second's records reuse the first's sequence
    // numbers. Opening keeps every whole frame before the first misfit.
    let clock = ManualClock::new(1_700_000_000_000);
    let fresh = open::<P, _, _>(&[], clock.clone(), SplitMix64::new(1), POLICY, InFlight::Redeliver).expect("opens");
    let mut log = written(&fresh.steps);
    let mut writers: Vec<_> = (0..2)
        .map(|_| open::<P, _, _>(&log, clock.clone(), SplitMix64::new(1), POLICY, InFlight::Redeliver).expect("opens"))
        .collect();
    let mut first_state = None;
    for (n, w) in writers.iter_mut().enumerate() {
        let q = w.broker.declare_queue("jobs", None).expect("declare");
        w.broker.send(q, Outgoing::new(vec![n as u8].into())).expect("send");
        let commit = w.journal.commit(&mut w.broker).expect("commit");
        log.extend(appended(&commit.steps));
        if n == 0 {
            first_state = Some(w.broker.snapshot_records());
        }
    }
    let opened = open::<P, _, _>(&log, clock.clone(), SplitMix64::new(1), POLICY, InFlight::Redeliver).expect("opens, not refused");
    let (at, damage) = opened.report.corrupt.clone().expect("the misfit is reported");
    assert!(matches!(damage, Damage::Unfit(_)), "{damage:?}");
    assert!(at < log.len());
    assert!(opened.steps.contains(&IoStep::Write { file: File::Corrupt, bytes: log[at..].to_vec() }));
    let first = B::replay(clock.clone(), SplitMix64::new(1), first_state.expect("first writer")).expect("replays");
    assert!(opened.broker.same_durable_state(&first), "the first writer's state is what survives");
}

#[test]
fn opening_a_clean_log_compacts_only_when_due_judged_by_an_estimate_of_the_live_state() {
    // Two logs written with compaction out of the way: one of messages still
    // queued (the live state is most of it), one of acked history.
    let clock = ManualClock::new(1_700_000_000_000);
    let never = CompactionPolicy { min_bytes: usize::MAX, growth: 2 };
    let write = |ack: bool| {
        let mut w = open::<P, _, _>(&[], clock.clone(), SplitMix64::new(1), never, InFlight::Redeliver).expect("opens");
        let mut log = written(&w.steps);
        let q = w.broker.declare_queue("jobs", None).expect("declare");
        for n in 0..40u8 {
            w.broker.send(q, Outgoing { id: Some(format!("job-{n}").into()), ..Outgoing::new(vec![n; 16].into()) }).expect("send");
            if ack {
                let d = w.broker.take(q).expect("get").expect("a delivery");
                w.broker.ack(d.tag).expect("ack");
            }
            log.extend(appended(&w.journal.commit(&mut w.broker).expect("commit").steps));
        }
        log
    };
    let (live, history) = (write(false), write(true));
    assert!(live.len() > POLICY.min_bytes && history.len() > POLICY.min_bytes);

    let opened = open::<P, _, _>(&live, clock.clone(), SplitMix64::new(1), POLICY, InFlight::Redeliver).expect("opens");
    assert!(!opened.steps.contains(&IoStep::ReplaceLog), "mostly live: appended to, not compacted");
    let hint = opened.broker.snapshot_size_hint(|p| p.len());
    let mut real = Vec::new();
    append_frames(&opened.broker.snapshot_records(), &mut real).expect("encodes");
    let real = real.len();
    assert!(hint * 2 >= real && hint <= real * 2, "estimate {hint} for a snapshot of about {real} bytes");

    let opened = open::<P, _, _>(&history, clock, SplitMix64::new(1), POLICY, InFlight::Redeliver).expect("opens");
    assert!(opened.steps.contains(&IoStep::ReplaceLog), "mostly acked history: compacted at once");
}

/// The log a fresh open writes whole.
fn written(steps: &[IoStep]) -> Vec<u8> {
    steps
        .iter()
        .find_map(|s| match s {
            IoStep::Write { file: File::Compact, bytes } => Some(bytes.clone()),
            _ => None,
        })
        .expect("a fresh log is written whole")
}

#[test]
fn a_log_reopened_after_every_short_session_still_compacts() {
    // A host that opens the broker, does a little work and closes, over and
    // over (a CLI, a serverless function). Everything sent is acked, so the
    // live state stays tiny; the log should stay within a constant factor
    // of it (or of min_bytes), whatever the number of restarts.
    let clock = ManualClock::new(1_700_000_000_000);
    let mut fs = SimFs::default();
    let mut q = None;
    for _ in 0..400 {
        let log = fs.live.get(&File::Log).map(|&i| fs.inodes[i].data.clone()).unwrap_or_default();
        let mut o = open::<P, _, _>(&log, clock.clone(), SplitMix64::new(1), POLICY, InFlight::Redeliver).expect("opens");
        for step in &o.steps {
            fs.run(step, None);
        }
        let queue = *q.get_or_insert_with(|| o.broker.declare_queue("jobs", None).expect("declare"));
        o.broker.send(queue, Outgoing::new(vec![7; 32].into())).expect("send");
        let d = o.broker.take(queue).expect("get").expect("a delivery");
        o.broker.ack(d.tag).expect("ack");
        for step in &o.journal.commit(&mut o.broker).expect("commit").steps {
            fs.run(step, None);
        }
        clock.advance(1_000);
    }
    let log_len = fs.live.get(&File::Log).map_or(0, |&i| fs.inodes[i].data.len());
    assert!(log_len <= POLICY.min_bytes * POLICY.growth * 4, "after 400 short sessions the log holds {log_len} bytes of acked history");
}

#[test]
fn a_new_leader_keeps_the_leases_other_contexts_hold_and_lets_them_expire_on_time() {
    // A shared broker's leader died with deliveries out: a follower holding
    // one must still be able to ack it, and one nobody acks comes back at
    // its lease's deadline, counted, as after any lease.
    let clock = ManualClock::new(1_700_000_000_000);
    let mut fs = SimFs::default();
    let mut o = open::<P, _, _>(&[], clock.clone(), SplitMix64::new(1), POLICY, InFlight::Redeliver).expect("opens");
    let q = o.broker.declare_queue("jobs", Some(QueueOptions { lease: 1_000, ..QueueOptions::default() })).expect("declare");
    for n in [1u8, 2] {
        o.broker.send(q, Outgoing::new(vec![n].into())).expect("send");
    }
    let held = [o.broker.take(q).expect("get").expect("one"), o.broker.take(q).expect("get").expect("two")];
    for step in o.steps.iter().chain(&o.journal.commit(&mut o.broker).expect("commit").steps) {
        fs.run(step, None);
    }
    let log = fs.live.get(&File::Log).map(|&i| fs.inodes[i].data.clone()).expect("a log");

    clock.advance(400);
    let mut next = open::<P, _, _>(&log, clock.clone(), SplitMix64::new(1), POLICY, InFlight::KeepLeases).expect("opens");
    next.broker.committed(next.epoch);
    assert_eq!(next.broker.queue_stats(q).expect("stats").in_flight, 2, "both leases run on");
    assert!(held.iter().all(|d| d.tag.0 < next.broker.tag_floor()), "the earlier leader's tags are below the floor");
    next.broker.ack(held[0].tag).expect("the holder's ack counts");
    assert!(next.broker.take(q).expect("get").is_none(), "nothing is ready before the other lease ends");

    clock.advance(599);
    next.broker.advance();
    assert!(next.broker.take(q).expect("get").is_none(), "still leased 1 ms before its deadline");
    clock.advance(1);
    next.broker.advance();
    let back = next.broker.take(q).expect("get").expect("back at its deadline");
    assert_eq!((&back.id, back.delivery_count), (&held[1].id, 2));
    assert!(next.broker.ack(held[1].tag).is_err(), "the old tag is stale once its lease ended");

    // Today's reopen by the only writer is unchanged: what was out is back at once.
    let again = open::<P, _, _>(&log, clock.clone(), SplitMix64::new(1), POLICY, InFlight::Redeliver).expect("opens");
    assert_eq!(again.broker.queue_stats(q).map(|s| s.in_flight).expect("stats"), 0);
}
