// Several Node processes sharing one broker on a real redis-server: each
// child (child.mjs) opens it on its own connections, as separate services
// would, and this process watches through a broker of its own.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { Broker } from '../../dist/ferrymq.mjs';
import { withLibrary } from './server.mjs';

let server;
withLibrary((s) => {
  server = s;
});

let prefixes = 0;
const children = new Set();

/** A child playing `role`; `lines` yields what it says, `exited` resolves with its exit. */
function child(prefix, role, params = {}) {
  const proc = spawn(process.execPath, [new URL('./child.mjs', import.meta.url).pathname, server.url, prefix, role, JSON.stringify(params)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.add(proc);
  const exited = new Promise((resolve) => proc.once('exit', (code, signal) => resolve(code ?? signal)));
  exited.then(() => children.delete(proc));
  const lines = createInterface({ input: proc.stdout })[Symbol.asyncIterator]();
  const next = async () => {
    const { value, done } = await lines.next();
    if (done) throw new Error(`${role} ended without saying more`);
    return JSON.parse(value);
  };
  return { proc, next, exited, kill: (signal = 'SIGKILL') => proc.kill(signal) };
}

/** A broker of this process on a fresh prefix, and that prefix for children. */
async function shared() {
  const prefix = `procs${++prefixes}`;
  const broker = await Broker.open({ storage: { redis: server.url, prefix } });
  return { prefix, broker };
}

test.afterEach(() => {
  for (const proc of children) proc.kill('SIGKILL');
});

test('two consumer processes share one queue: every message is delivered once', { timeout: 60_000 }, async () => {
  const { prefix, broker } = await shared();
  const queue = broker.queue('work');
  const n = 200;
  await queue.sendBatch(Array.from({ length: n }, (_, i) => ({ payload: i })));
  const consumers = [child(prefix, 'consume', { queue: 'work', prefetch: 4 }), child(prefix, 'consume', { queue: 'work', prefetch: 4 })];
  const all = [];
  let allSeen;
  const everything = new Promise((resolve) => {
    allSeen = resolve;
  });
  for (const c of consumers) {
    (async () => {
      assert.deepEqual(await c.next(), { ready: true });
      for (;;) {
        all.push((await c.next()).got);
        if (all.length === n) allSeen();
      }
    })().catch(() => {});
  }
  await everything;
  assert.equal(all.length, n, 'every message delivered');
  assert.equal(new Set(all).size, n, 'none twice');
  await broker.close();
});

test('a process killed while holding deliveries: another gets them after leaseMs, redelivered', { timeout: 60_000 }, async () => {
  const { prefix, broker } = await shared();
  const queue = broker.queue('held', { leaseMs: 500 });
  const ids = await queue.sendBatch([{ payload: 'a' }, { payload: 'b' }, { payload: 'c' }]);
  const holder = child(prefix, 'hold', { queue: 'held', n: 3 });
  assert.deepEqual((await holder.next()).held.sort(), [...ids].sort());
  holder.kill();
  await holder.exited;
  const again = [];
  for (let i = 0; i < 3; i++) again.push(await queue.receive({ waitMs: 10_000 }));
  assert.deepEqual(again.map((m) => m.id).sort(), [...ids].sort());
  assert.ok(again.every((m) => m.redelivered && m.deliveryCount === 2));
  for (const m of again) await m.ack();
  await broker.close();
});

test('maxLength holds exactly across four producer processes sending at once', { timeout: 60_000 }, async () => {
  const { prefix, broker } = await shared();
  const queue = broker.queue('bounded', { maxLength: 40 });
  // Declared before the producers start, so theirs (without options) adopt it.
  await queue.fetchStats();
  const producers = Array.from({ length: 4 }, () => child(prefix, 'produce', { queue: 'bounded', n: 25 }));
  const results = await Promise.all(producers.map((p) => p.next()));
  assert.equal(results.reduce((n, r) => n + r.sent, 0), 40);
  assert.equal(results.reduce((n, r) => n + r.full, 0), 60, 'every other send refused QUEUE_FULL');
  assert.equal((await queue.fetchStats()).ready, 40);
  await broker.close();
});

test('priorities, a dedup window, delays and topic bindings hold across processes', { timeout: 60_000 }, async () => {
  const { prefix, broker } = await shared();
  const queue = broker.queue('mixed', { dedupWindowMs: 60_000 });
  await queue.fetchStats();
  const producer = child(prefix, 'mixed', { queue: 'mixed' });
  assert.deepEqual(await producer.next(), { done: true });
  const order = [];
  for (let m = await queue.receive(); m !== null; m = await queue.receive()) {
    order.push(m.payload);
    await m.ack();
  }
  assert.deepEqual(order, ['high', 'low', 'once'], 'priority first, the duplicate once, the delayed one not yet');
  assert.equal((await queue.fetchStats()).delayed, 1);
  const audit = await broker.queue('audit').receive();
  assert.equal(audit.payload, 'published', 'the binding another process made routed its publish');
  await broker.close();
});

test('request and reply across processes', { timeout: 60_000 }, async () => {
  const { prefix, broker } = await shared();
  const responder = child(prefix, 'reply', { queue: 'rpc' });
  assert.deepEqual(await responder.next(), { ready: true });
  const replies = await Promise.all([1, 2, 3].map((n) => broker.request('rpc', n, { timeoutMs: 10_000 })));
  assert.deepEqual(replies, [{ echo: 1 }, { echo: 2 }, { echo: 3 }]);
  await broker.close();
});

test('a client whose clock is 30 s off still sees delays and TTLs by the server clock', { timeout: 60_000 }, async () => {
  for (const skewMs of [30_000, -30_000]) {
    const { prefix, broker } = await shared();
    const queue = broker.queue('timed');
    const producer = child(prefix, 'timed', { queue: 'timed', delayMs: 60_000, ttlMs: 20_000, skewMs });
    assert.deepEqual(await producer.next(), { done: true });
    const stats = await queue.fetchStats();
    assert.deepEqual([stats.ready, stats.delayed, stats.expired], [1, 1, 0], `skew ${skewMs}: neither due early nor expired`);
    assert.equal((await queue.receive()).payload, 'short-lived');
    assert.equal(await queue.receive(), null);
    await broker.close();
  }
});

test('Redis killed and restarted mid-stream: no resolved send lost, no acked message back, everyone resumes', { timeout: 60_000 }, async () => {
  const { prefix, broker } = await shared();
  // A delivery whose ack was lost with the connection comes back after its lease.
  const queue = broker.queue('stream', { dedupWindowMs: 600_000, leaseMs: 2_000 });
  await queue.fetchStats();
  broker.on('error', () => {});
  const n = 60;
  const received = new Set();
  const acked = new Set();
  const again = [];
  queue.consume(async (m) => {
    received.add(m.id);
    if (acked.has(m.id)) again.push(m.id);
    // An ack in flight when the server died may have been done or not: it
    // rejects, and only a resolved one promises the message is gone.
    await m.ack();
    acked.add(m.id);
  });
  const producer = child(prefix, 'stream', { queue: 'stream', n });
  const resolved = new Set();
  let restarted = false;
  for (;;) {
    const line = await producer.next();
    if (line.done) break;
    if (line.sent === undefined) continue;
    resolved.add(line.sent);
    if (resolved.size === n / 2 && !restarted) {
      restarted = true;
      await server.kill();
      await new Promise((resolve) => setTimeout(resolve, 200));
      await server.restart();
    }
  }
  assert.equal(resolved.size, n, 'the producer went on by itself');
  const deadline = Date.now() + 20_000;
  while ([...resolved].some((id) => !received.has(id)) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  assert.deepEqual([...resolved].filter((id) => !received.has(id)), [], 'every resolved send was delivered');
  assert.deepEqual(again, [], 'no message came back after its ack resolved');
  await broker.close();
});
