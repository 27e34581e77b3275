// worker_threads sharing one broker: the main thread's (the leader, durable
// on a log file here) serves the followers that workers open with the port
// its share() made. Every call of a follower is done by the leader.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { Broker, FerryError } from 'ferrymq';

const CHILD = new URL('./worker-child.mjs', import.meta.url);
const folder = mkdtempSync(join(tmpdir(), 'ferrymq-threads-'));
let logs = 0;
const durable = () => Broker.open({ storage: { file: join(folder, `log-${++logs}`) } });

/** A worker following `broker`, doing `task`; its messages go to `onMessage`. */
function follower(broker, task, extra = {}) {
  const port = broker.share();
  return new Worker(CHILD, { workerData: { port, task, ...extra }, transferList: [port] });
}

test('four worker_threads send and consume through the main thread: every message once, nothing left', async () => {
  const broker = await durable();
  assert.equal(broker.role, 'leader');
  const PER_WORKER = 250;
  const consumed = new Map();
  const roles = [];
  let sent = 0;
  let allConsumed;
  const done = new Promise((resolve) => {
    allConsumed = resolve;
  });
  const workers = Array.from({ length: 4 }, (_, worker) => {
    const w = follower(broker, 'send and consume', { worker, count: PER_WORKER });
    w.on('message', (m) => {
      if (m.role) roles.push(m.role);
      if (m.sent) sent += m.sent;
      if (m.consumed) {
        consumed.set(m.consumed, (consumed.get(m.consumed) ?? 0) + 1);
        if (consumed.size === 4 * PER_WORKER) allConsumed();
      }
    });
    return w;
  });
  await done;
  for (const w of workers) w.postMessage('stop');
  await Promise.all(workers.map((w) => once(w, 'exit')));
  assert.deepEqual(roles, ['follower', 'follower', 'follower', 'follower']);
  assert.equal(sent, 4 * PER_WORKER);
  assert.deepEqual([...consumed.values()].filter((n) => n !== 1), [], 'no message consumed twice');
  const stats = (await broker.fetchStats()).queues.jobs;
  assert.deepEqual([stats.acked, stats.ready, stats.inFlight, stats.redelivered], [4 * PER_WORKER, 0, 0, 0]);
  await broker.close();
});

test('what a worker held when it ended comes back at once, redelivered', async () => {
  const broker = await durable();
  // A lease longer than the waits below: only the follower's end can bring them back.
  const jobs = broker.queue('jobs', { leaseMs: 600_000 });
  await jobs.sendBatch(['a', 'b', 'c'].map((payload) => ({ payload })));
  const w = follower(broker, 'hold', { count: 3 });
  while ((await once(w, 'message'))[0].holding === undefined);
  await w.terminate();
  const back = [];
  for (let i = 0; i < 3; i++) back.push(await jobs.receive({ waitMs: 30_000 }));
  assert.deepEqual(back.map((m) => [m.payload, m.deliveryCount, m.redelivered]).sort(), [['a', 2, true], ['b', 2, true], ['c', 2, true]]);
  await Promise.all(back.map((m) => m.ack()));
  await broker.close();
});

test('a worker request is answered by a consumer in the main thread', async () => {
  const broker = await durable();
  broker.queue('rpc').consume((m) => m.reply({ to: m.payload.ask, sum: 42 }));
  const w = follower(broker, 'request', { worker: 7 });
  let answer;
  w.on('message', (m) => {
    if (m.answer) answer = m.answer;
  });
  await once(w, 'exit');
  assert.deepEqual(answer, { to: 7, sum: 42 });
  await broker.close();
});

test('a follower of a closed leader stops with CLOSED; share() is the leader\'s alone', async () => {
  const leader = new Broker();
  const broker = await Broker.open({ storage: { port: leader.share() } });
  assert.equal(broker.role, 'follower');
  assert.throws(() => broker.share(), (e) => e instanceof FerryError && e.code === 'INVALID_ARGUMENT');
  const waiting = broker.queue('q').receive({ waitMs: 60_000 });
  const errors = [];
  broker.on('error', ({ error }) => errors.push(error.code));
  await leader.close();
  await assert.rejects(waiting, (e) => e instanceof FerryError && e.code === 'CLOSED');
  assert.deepEqual(errors, [], 'a leader closing is no error');
  assert.throws(() => broker.queue('q'), (e) => e instanceof FerryError && e.code === 'CLOSED');
  await broker.close();
});

test('a leader whose storage fails stops its followers with that error', async () => {
  const path = join(folder, `log-${++logs}`);
  const leader = await Broker.open({ storage: { file: path } });
  leader.on('error', () => {});
  const broker = await Broker.open({ storage: { port: leader.share() } });
  const errors = [];
  broker.on('error', ({ error }) => errors.push(error.code));
  const [jobs, other] = [broker.queue('jobs'), broker.queue('other')];
  await Promise.all([jobs.fetchStats(), other.fetchStats()]);
  const waiting = other.receive({ waitMs: 60_000 });
  await leader[Symbol.for('ferrymq.idle')]();
  // The next write's sync fails: the leader stops (fail-stop), and says why.
  const handle = await open(path, 'r');
  const FileHandle = handle.constructor;
  await handle.close();
  const datasync = FileHandle.prototype.datasync;
  FileHandle.prototype.datasync = () => Promise.reject(Object.assign(new Error('EIO: injected'), { code: 'EIO' }));
  try {
    await assert.rejects(jobs.send('x'), (e) => e instanceof FerryError && e.code === 'STORAGE');
  } finally {
    FileHandle.prototype.datasync = datasync;
  }
  await assert.rejects(waiting, (e) => e instanceof FerryError && e.code === 'STORAGE');
  assert.deepEqual(errors, ['STORAGE']);
  assert.throws(() => broker.queue('jobs'), (e) => e.code === 'STORAGE');
  await broker.close();
  await leader.close();
});

test('a reply only the leader\'s context can hold rejects the follower\'s request, and both keep working', async () => {
  const leader = new Broker();
  leader.queue('rpc').consume((m) => m.reply(m.payload === 'fn' ? { run: () => 1 } : 'plain'));
  const broker = await Broker.open({ storage: { port: leader.share() } });
  await assert.rejects(broker.request('rpc', 'fn', { timeoutMs: 60_000 }), (e) => e instanceof FerryError && e.code === 'NOT_SERIALIZABLE');
  assert.equal(await broker.request('rpc', 'again', { timeoutMs: 60_000 }), 'plain');
  await broker.close();
  await leader.close();
});

test('a port nobody serves is refused at open; so is anything but a port', async () => {
  const { port1, port2 } = new MessageChannel();
  port1.close();
  await assert.rejects(Broker.open({ storage: { port: port2 } }), (e) => e instanceof FerryError && e.code === 'STORAGE');
  await assert.rejects(Broker.open({ storage: { port: {} } }), (e) => e instanceof TypeError && e.message.includes('options.storage.port'));
  await assert.rejects(Broker.open({ storage: { port: port2, file: 'x' } }), TypeError);
});
