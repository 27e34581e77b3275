// The Redis function library (js/redis/library.lua) against a real
// redis-server: the queue rules a shared broker runs on the server, each
// checked with the server's clock replaced by the test clock key, so no
// result depends on how fast the machine is.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Redis } from 'ioredis';
import { withLibrary } from './server.mjs';

const T0 = 1_700_000_000_000;

let server;
let redis;
let prefixes = 0;
withLibrary((s, r) => {
  server = s;
  redis = r;
});

/** A fresh broker prefix on `client`, its clock at T0, and its functions as methods. */
async function broker(client = redis, prefix = `{t${++prefixes}}`) {
  const meta = `${prefix}:meta`;
  const call = (fn, ...args) => client.call('FCALL', `ferrymq_1_${fn}`, 1, meta, ...args.map(String));
  const b = {
    prefix,
    setNow: (ms) => client.set(`${prefix}:clock`, String(ms)),
    open: () => call('open'),
    /** Declares `name` with the core's defaults, overridden by `fields`. */
    declare: (name, fields = {}) => {
      const all = { canon: JSON.stringify(fields), overflow: 'reject', lease: 30000, maxDeliveries: 10, deadLetter: '', ...fields };
      return call('declare', name, 1, ...Object.entries(all).flat());
    },
    send: (q, body, { id = '', priority = 0, delayMs = 0, ttlMs = '' } = {}) => call('send', q, id, priority, delayMs, ttlMs, body),
    /** The deliveries a claim made, as objects. */
    claim: async (q, max = 1) => (await b.claimed(q, max)).deliveries,
    /** A claim's deliveries and its nextIn: ms to the queue's next deadline, -1 for none. */
    claimed: async (q, max = 1) => {
      const [, , nextIn, ...flat] = await call('claim', q, max);
      const out = [];
      for (let i = 0; i < flat.length; i += 7) {
        const [seq, tag, id, deliveryCount, enqueuedAt, request, body] = flat.slice(i, i + 7);
        out.push({ seq, tag, id, deliveryCount, enqueuedAt, request, body });
      }
      return { deliveries: out, nextIn };
    },
    /** `items`: [body, id?] pairs; resolves with the seqs (0 for a duplicate). */
    sendBatch: async (q, items) => (await call('send_batch', q, ...items.flatMap(([body, id = '']) => [id, 0, 0, '', body]))).slice(1),
    release: (q, d) => call('release', q, d.seq, d.tag),
    fail: (q, d) => call('fail', q, d.seq, d.tag),
    purge: (q) => call('purge', q),
    tick: (q) => call('tick', q),
    due: () => call('due'),
    call,
    /** The events so far, each as an object of its fields. */
    events: async () => (await client.xrange(`${prefix}:events`, '-', '+')).map(([, fields]) => Object.fromEntries(
      fields.flatMap((v, i) => (i % 2 === 0 ? [[v, fields[i + 1]]] : [])),
    )),
    request: (q, body, inbox, rid, { id = '' } = {}) => call('request', q, id, 0, 0, '', body, inbox, rid),
    reply: (q, d, body) => call('reply', q, d.seq, d.tag, body),
    bind: (q, pattern) => call('bind', q, pattern),
    unbind: (q, pattern) => call('unbind', q, pattern),
    bindings: () => call('bindings'),
    /** Publishes to the queues `qids`, as routed by bindings `version`; resolves with the seqs. */
    publish: async (version, qids, body, { id = '' } = {}) =>
      (await call('publish', version, qids.length, ...qids, id, 0, 0, '', body)).slice(1),
    /** Acks one delivery: 1, or rejects with its error. */
    ack: async (q, d) => {
      const [answer] = await call('ack', q, d.seq, d.tag);
      if (answer instanceof Error) throw answer;
      return answer;
    },
    nack: (q, d, requeue = true, waitMs = '') => call('nack', q, d.seq, d.tag, requeue ? 1 : 0, waitMs),
    extend: (q, d, ms) => call('extend', q, d.seq, d.tag, ms),
    /** The counters by name, plus `ring` (second -> acks, non-empty slots) and `latency` (bucket -> count). */
    stats: async (q) => {
      const names = ['ready', 'delayed', 'inFlight', 'sent', 'acked', 'nacked', 'expired', 'redelivered', 'deadLettered', 'now'];
      const values = await call('stats', q);
      const pairs = (from, to) => {
        const out = new Map();
        for (let i = from; i < to; i += 2) if (values[i + 1] > 0) out.set(values[i], values[i + 1]);
        return out;
      };
      const ringEnd = names.length + 20;
      return { ...Object.fromEntries(names.map((n, i) => [n, values[i]])), ring: pairs(names.length, ringEnd), latency: pairs(ringEnd, values.length) };
    },
  };
  await b.setNow(T0);
  await b.open();
  return b;
}

const bodies = (deliveries) => deliveries.map((d) => d.body);

/** A fresh broker with queue 'jobs' of `fields`, one message sent and claimed at T0. */
async function oneClaimed(fields) {
  const b = await broker();
  const q = await b.declare('jobs', fields);
  await b.send(q, 'work');
  const [d] = await b.claim(q);
  return { b, q, d };
}

test('messages come out highest priority first, FIFO within a priority', async () => {
  const b = await broker();
  const q = await b.declare('jobs');
  for (const [body, priority] of [['a', 0], ['b', 5], ['c', 0], ['d', 9], ['e', 5]]) await b.send(q, body, { priority });
  assert.deepEqual(bodies(await b.claim(q, 10)), ['d', 'b', 'e', 'a', 'c']);
});

test('a generated id is the message seq; a caller id is kept', async () => {
  const b = await broker();
  const q = await b.declare('jobs');
  const [seq] = await b.send(q, 'x');
  await b.send(q, 'y', { id: 'order-7' });
  const [first, second] = await b.claim(q, 2);
  assert.deepEqual([first.seq, first.id], [seq, '']);
  assert.equal(second.id, 'order-7');
  assert.equal(first.enqueuedAt, T0);
});

test('a delayed message is not claimed before its time', async () => {
  const b = await broker();
  const q = await b.declare('jobs');
  await b.send(q, 'later', { delayMs: 30 });
  await b.setNow(T0 + 29);
  assert.deepEqual(await b.claim(q), []);
  const stats = await b.stats(q);
  assert.deepEqual([stats.ready, stats.delayed], [0, 1]);
  await b.setNow(T0 + 30);
  assert.deepEqual(bodies(await b.claim(q)), ['later']);
});

test('an unacked message comes back after its lease, redelivered; the old ack is stale', async () => {
  const { b, q, d: first } = await oneClaimed({ lease: 300 });
  await b.setNow(T0 + 299);
  assert.deepEqual(await b.claim(q), [], 'held while the lease lasts');
  await b.setNow(T0 + 300);
  const [second] = await b.claim(q);
  assert.equal(second.body, 'work');
  assert.equal(second.deliveryCount, 2);
  assert.notEqual(second.tag, first.tag);
  await assert.rejects(b.ack(q, first), /^ReplyError: STALE_DELIVERY/);
  assert.equal(await b.ack(q, second), 1);
  await assert.rejects(b.ack(q, second), /STALE_DELIVERY/, 'a second ack is stale too');
  const stats = await b.stats(q);
  assert.deepEqual([stats.acked, stats.redelivered, stats.inFlight], [1, 1, 0]);
});

test('one ack call settles many deliveries, each answered on its own', async () => {
  const b = await broker();
  const q = await b.declare('jobs', { lease: 100 });
  for (const body of ['a', 'b', 'c']) await b.send(q, body);
  const [a, bee, c] = await b.claim(q, 3);
  await b.setNow(T0 + 50);
  const answers = await b.call('ack', q, a.seq, a.tag, c.seq, c.tag, a.seq, a.tag, bee.seq, 'no-such-tag');
  assert.equal(answers.length, 4);
  assert.deepEqual([answers[0], answers[1]], [1, 1]);
  assert.match(String(answers[2]), /STALE_DELIVERY delivery .* is not in flight/, 'the same delivery twice: the second is stale');
  assert.match(String(answers[3]), /STALE_DELIVERY/);
  const stats = await b.stats(q);
  assert.deepEqual([stats.acked, stats.inFlight, stats.ready], [2, 1, 0]);
  assert.deepEqual([...stats.latency], [[50, 2]], 'both acks counted in the latency histogram');
  assert.equal([...stats.ring.values()].reduce((x, y) => x + y, 0), 2, 'and in the throughput ring');
  assert.equal(await b.ack(q, bee), 1, 'the stale answer left the held delivery alone');
});

test('an ack call with a malformed delivery changes nothing', async () => {
  const { b, q, d } = await oneClaimed({ lease: 100 });
  await assert.rejects(b.call('ack', q, d.seq, d.tag, 'x', d.tag), /INVALID_ARGUMENT a delivery is named by its seq and tag/);
  await assert.rejects(b.call('ack', q, d.seq), /INVALID_ARGUMENT ack takes a queue, then a seq and a tag per delivery/);
  assert.equal((await b.stats(q)).inFlight, 1);
  assert.equal(await b.ack(q, d), 1);
});

test('an ack after the lease ran out is stale even before anyone reclaims the message', async () => {
  const { b, q, d } = await oneClaimed({ lease: 100 });
  await b.setNow(T0 + 100);
  await assert.rejects(b.ack(q, d), /STALE_DELIVERY/);
  assert.equal((await b.stats(q)).ready, 1);
});

test('extendLease keeps the delivery past its first deadline', async () => {
  const { b, q, d } = await oneClaimed({ lease: 100 });
  await b.setNow(T0 + 90);
  await b.extend(q, d, 100);
  await b.setNow(T0 + 189);
  assert.equal(await b.ack(q, d), 1);
});

test('nack requeues after its wait, in its old place without one; requeue false dead-letters', async () => {
  const b = await broker();
  const q = await b.declare('jobs');
  await b.send(q, 'a');
  await b.send(q, 'b');
  const [a] = await b.claim(q);
  await b.nack(q, a);
  assert.deepEqual(bodies(await b.claim(q, 2)).slice(0, 1), ['a'], 'back at the head: its old ready time');
  const q2 = await b.declare('later');
  await b.send(q2, 'x');
  const [x] = await b.claim(q2);
  await b.nack(q2, x, true, 20);
  await b.setNow(T0 + 19);
  assert.deepEqual(await b.claim(q2), []);
  await b.setNow(T0 + 20);
  const [again] = await b.claim(q2);
  await b.nack(q2, again, false);
  const dlq = await b.declare('later.dlq');
  assert.deepEqual(bodies(await b.claim(dlq)), ['x']);
  const stats = await b.stats(q2);
  assert.deepEqual([stats.nacked, stats.deadLettered, stats.redelivered], [2, 1, 1]);
});

test('a message that used its deliveries is dead-lettered, to a named queue or discarded', async () => {
  const b = await broker();
  const q = await b.declare('jobs', { maxDeliveries: 2, deadLetter: 'failed' });
  await b.send(q, 'poison');
  for (let i = 0; i < 2; i++) await b.nack(q, (await b.claim(q))[0]);
  assert.deepEqual(await b.claim(q), []);
  const failed = await b.declare('failed');
  assert.deepEqual(bodies(await b.claim(failed)), ['poison']);
  const discard = await b.declare('gone', { maxDeliveries: 1, deadLetter: '-' });
  await b.send(discard, 'z');
  await b.nack(discard, (await b.claim(discard))[0]);
  assert.deepEqual((await b.stats(discard)).deadLettered, 1);
  assert.equal(await redis.hget(`${b.prefix}:queues`, 'gone.dlq'), null, 'no dead-letter queue made');
});

test('a message past its TTL is never delivered and goes to the dead-letter queue', async () => {
  const b = await broker();
  const q = await b.declare('jobs', { ttl: 50 });
  await b.send(q, 'stale');
  await b.send(q, 'fresh', { ttlMs: 500 });
  await b.setNow(T0 + 50);
  assert.deepEqual(bodies(await b.claim(q, 5)), [], 'the queue TTL is the shorter one for both');
  const dlq = await b.declare('jobs.dlq');
  assert.deepEqual(bodies(await b.claim(dlq, 5)), ['stale', 'fresh']);
  assert.equal((await b.stats(q)).expired, 2);
});

test('maxLength with reject refuses QUEUE_FULL; with drop-oldest the oldest is dead-lettered', async () => {
  const b = await broker();
  const q = await b.declare('capped', { maxLength: 2 });
  await b.send(q, '1');
  await b.send(q, '2');
  await assert.rejects(b.send(q, '3'), /^ReplyError: QUEUE_FULL queue "capped" is full/);
  const d = await b.declare('rolling', { maxLength: 2, overflow: 'drop-oldest' });
  for (const body of ['1', '2', '3']) await b.send(d, body, { priority: body === '1' ? 9 : 0 });
  assert.deepEqual(bodies(await b.claim(d, 5)), ['2', '3'], 'the earliest sent went, whatever its priority');
  const dlq = await b.declare('rolling.dlq');
  assert.deepEqual(bodies(await b.claim(dlq)), ['1']);
});

test('a caller id inside the dedup window is accepted once', async () => {
  const b = await broker();
  const q = await b.declare('jobs', { dedup: 1000 });
  const [first] = await b.send(q, 'a', { id: 'k' });
  await b.setNow(T0 + 999);
  assert.equal((await b.send(q, 'b', { id: 'k' }))[0], 0, 'a duplicate');
  await b.setNow(T0 + 1000);
  const [again] = await b.send(q, 'c', { id: 'k' });
  assert.ok(again > first, 'new after the window');
  assert.deepEqual(bodies(await b.claim(q, 5)), ['a', 'c']);
});

test('declaring a queue again with other options is refused; an implicit queue adopts them', async () => {
  const b = await broker();
  const q = await b.declare('jobs', { lease: 100 });
  assert.equal(await b.declare('jobs', { lease: 100 }), q);
  await assert.rejects(b.declare('jobs', { lease: 200 }), /^ReplyError: INVALID_ARGUMENT queue "jobs" already exists with different options/);
  await b.send(q, 'x');
  await b.nack(q, (await b.claim(q))[0], false);
  const dlq = await b.declare('jobs.dlq', { lease: 5 });
  const [d] = await b.claim(dlq);
  await b.setNow(T0 + 5);
  await assert.rejects(b.ack(dlq, d), /STALE_DELIVERY/, 'the adopted lease applies');
});

test('consumers on four connections claim every message exactly once', async () => {
  const clients = await Promise.all([0, 1, 2, 3].map(async () => {
    const c = new Redis(server.url, { lazyConnect: true });
    await c.connect();
    return c;
  }));
  try {
    const b = await broker();
    const q = await b.declare('shared');
    const n = 2000;
    await Promise.all(Array.from({ length: n }, (_, i) => b.send(q, String(i))));
    const views = await Promise.all(clients.map((c) => broker(c, b.prefix)));
    const seen = await Promise.all(views.map(async (view) => {
      const got = [];
      for (let batch = await view.claim(q, 7); batch.length > 0; batch = await view.claim(q, 7)) {
        for (const d of batch) {
          got.push(d.body);
          await view.ack(q, d);
        }
      }
      return got;
    }));
    const all = seen.flat();
    assert.equal(all.length, n, 'none twice');
    assert.equal(new Set(all).size, n, 'none lost');
    assert.equal((await b.stats(q)).acked, n);
  } finally {
    for (const c of clients) c.disconnect();
  }
});

test('what a resolved send and ack did survives the server being killed', async () => {
  const b = await broker();
  const q = await b.declare('jobs');
  for (const body of ['a', 'b', 'c']) await b.send(q, body);
  await b.ack(q, (await b.claim(q))[0]);
  await server.kill();
  await server.restart();
  await redis.ping();
  assert.deepEqual(bodies(await b.claim(q, 5)), ['b', 'c']);
  assert.equal((await b.stats(q)).acked, 1);
});

test('sendBatch sends every message or none; an id twice in one batch is a duplicate', async () => {
  const b = await broker();
  const q = await b.declare('capped', { maxLength: 3, dedup: 1000 });
  await assert.rejects(b.sendBatch(q, [['1'], ['2'], ['3'], ['4']]), /QUEUE_FULL/);
  assert.equal((await b.stats(q)).sent, 0, 'nothing sent');
  const seqs = await b.sendBatch(q, [['a', 'k'], ['b', 'k'], ['c']]);
  assert.equal(seqs[1], 0, 'the second k is a duplicate');
  assert.deepEqual(bodies(await b.claim(q, 5)), ['a', 'c']);
});

test('release puts a delivery back uncounted, in its place; fail counts it as a failed delivery', async () => {
  const b = await broker();
  const q = await b.declare('jobs');
  await b.send(q, 'a');
  await b.send(q, 'b');
  await b.release(q, (await b.claim(q))[0]);
  const [again] = await b.claim(q);
  assert.deepEqual([again.body, again.deliveryCount], ['a', 1], 'as if never delivered');
  await b.fail(q, again);
  const [third] = await b.claim(q);
  assert.deepEqual([third.body, third.deliveryCount], ['a', 2]);
  const stats = await b.stats(q);
  assert.deepEqual([stats.redelivered, stats.nacked], [1, 0]);
  await assert.rejects(b.release(q, again), /STALE_DELIVERY/);
});

test('purge drops the waiting messages and leaves those in flight', async () => {
  const b = await broker();
  const q = await b.declare('jobs');
  for (const body of ['a', 'b', 'c']) await b.send(q, body);
  const [held] = await b.claim(q);
  assert.equal(await b.purge(q), 2);
  assert.deepEqual(await b.claim(q), []);
  assert.equal(await b.ack(q, held), 1);
});

test('redelivered, expired and dead-letter events name the queue, the message and why', async () => {
  const b = await broker();
  const q = await b.declare('jobs', { lease: 10, ttl: 100, maxDeliveries: 2 });
  await b.send(q, 'a', { id: 'order-1' });
  await b.claim(q);
  await b.setNow(T0 + 10);
  await b.claim(q);
  await b.setNow(T0 + 20);
  await b.tick(q);
  const [seq] = await b.send(q, 'b');
  await b.setNow(T0 + 120);
  await b.tick(q);
  assert.deepEqual(await b.events(), [
    { type: 'redelivered', queue: 'jobs', id: 'order-1', deliveryCount: '1' },
    { type: 'dead-letter', queue: 'jobs', id: 'order-1', reason: 'delivery-limit', deadLetterQueue: 'jobs.dlq' },
    { type: 'expired', queue: 'jobs', id: String(seq) },
    { type: 'dead-letter', queue: 'jobs', id: String(seq), reason: 'expired', deadLetterQueue: 'jobs.dlq' },
  ]);
});

test('a claim says when the queue next needs a look: a delayed message, a lease, an expiry', async () => {
  const b = await broker();
  const q = await b.declare('jobs', { lease: 500 });
  assert.equal((await b.claimed(q)).nextIn, -1, 'nothing to wait for');
  await b.send(q, 'later', { delayMs: 200 });
  assert.equal((await b.claimed(q)).nextIn, 200);
  await b.send(q, 'now', { ttlMs: 1000 });
  const { deliveries, nextIn } = await b.claimed(q);
  assert.deepEqual([bodies(deliveries), nextIn], [['now'], 200]);
  await b.setNow(T0 + 200);
  assert.equal((await b.claimed(q)).nextIn, 300, 'the first lease');
});

test('a consumer blocked on the wake list is woken by a due message, not by a delayed one', async () => {
  const blocked = new Redis(server.url, { lazyConnect: true });
  await blocked.connect();
  try {
    const b = await broker();
    const q = await b.declare('jobs');
    const wakeKey = `${b.prefix}:q:${q}:wake`;
    await b.send(q, 'later', { delayMs: 50 });
    assert.equal(await redis.llen(wakeKey), 0, 'nothing due, no marker');
    const woken = blocked.blpop(wakeKey, 5);
    await b.send(q, 'now');
    assert.deepEqual(await woken, [wakeKey, '1']);
    assert.equal(await redis.llen(wakeKey), 0, 'the woken consumer took the marker');
    await b.send(q, 'now too');
    await b.send(q, 'and this');
    assert.equal(await redis.llen(wakeKey), 1, 'one marker however many sends');
    await redis.del(wakeKey);
    assert.deepEqual(bodies(await b.claim(q)), ['now']);
    assert.equal(await redis.llen(wakeKey), 1, 'messages left due wake the next consumer');
    await redis.del(wakeKey);
    await b.claim(q, 2);
    assert.equal(await redis.llen(wakeKey), 0, 'none left due, no marker');
    await b.setNow(T0 + 50);
    await b.tick(q);
    assert.equal(await redis.llen(wakeKey), 1, 'the delayed message, once due, wakes a consumer at the next look');
  } finally {
    blocked.disconnect();
  }
});

test('a reply reaches the requester\'s inbox and acks the request; a plain message cannot be replied to', async () => {
  const b = await broker();
  const q = await b.declare('rpc');
  const inbox = `${b.prefix}:inbox:p1`;
  await b.request(q, 'question', inbox, 7);
  await b.send(q, 'plain');
  const [asked, plain] = await b.claim(q, 2);
  assert.deepEqual([asked.request, plain.request], [1, 0], 'a claim says which deliveries carry a request');
  assert.equal(await b.reply(q, asked, 'answer'), 1);
  assert.deepEqual(await redis.lrange(inbox, 0, -1), ['7', 'answer']);
  assert.ok((await redis.pttl(inbox)) > 0, 'an inbox nobody reads expires');
  await assert.rejects(b.reply(q, plain, 'x'), /^ReplyError: INVALID_ARGUMENT delivery \d+ is not a request/);
  assert.equal(await b.ack(q, plain), 1, 'and the refused reply left it in flight');
  const d = await b.declare('dedup', { dedup: 1000 });
  await b.request(d, 'q', inbox, 8, { id: 'once' });
  await assert.rejects(b.request(d, 'q', inbox, 9, { id: 'once' }), /INVALID_ARGUMENT request id "once" was already used/);
  assert.equal((await b.stats(q)).acked, 2);
});

test('bindings carry a version; a publish routed by an old version is refused and sends nothing', async () => {
  const b = await broker();
  const a = await b.declare('a');
  const c = await b.declare('c', { maxLength: 1 });
  assert.equal(await b.bind(a, 'order.*'), 1);
  assert.equal(await b.bind(a, 'order.*'), 1, 'binding twice changes nothing');
  assert.equal(await b.bind(c, 'order.#'), 2);
  assert.deepEqual((await b.bindings()).slice(0, 1), [2]);
  assert.deepEqual(new Set((await b.bindings()).slice(1)), new Set([`${a}:order.*`, `${c}:order.#`]));
  await assert.rejects(b.publish(1, [a], 'x'), /^ReplyError: BINDINGS_CHANGED/);
  assert.equal((await b.publish(2, [a, c], 'first')).length, 2);
  await assert.rejects(b.publish(2, [a, c], 'second'), /QUEUE_FULL queue "c" is full/);
  assert.deepEqual(bodies(await b.claim(a, 5)), ['first'], 'all or nothing: a got no second copy');
  assert.equal(await b.unbind(c, 'order.#'), 3);
  assert.equal(await b.unbind(c, 'order.#'), 3, 'unbinding what is not bound changes nothing');
});

test('acks feed the core\'s latency histogram buckets and the per-second throughput ring', async () => {
  const b = await broker();
  const q = await b.declare('jobs');
  const second = Math.floor(T0 / 1000);
  for (const [sentAt, latency] of [[0, 5], [5, 100], [105, 1000]]) {
    await b.setNow(T0 + sentAt);
    await b.send(q, 'x');
    const [d] = await b.claim(q);
    await b.setNow(T0 + sentAt + latency);
    await b.ack(q, d);
  }
  const stats = await b.stats(q);
  // Buckets as histogram.rs numbers them: exact below 32; 100 -> 82; 1000 -> 190.
  assert.deepEqual(stats.latency, new Map([[5, 1], [82, 1], [190, 1]]));
  assert.deepEqual(stats.ring, new Map([[second, 2], [second + 1, 1]]));
  assert.equal(stats.now, T0 + 1105);
});

test('a malformed call is refused before it changes anything', async () => {
  const b = await broker();
  const q = await b.declare('jobs', { maxLength: 2, overflow: 'drop-oldest' });
  await b.send(q, 'a');
  await b.send(q, 'b');
  const [d] = await b.claim(q);
  await assert.rejects(b.nack(q, d, true, 'soon'), /^ReplyError: INVALID_ARGUMENT nack takes requeue 0 or 1 and a wait in ms/);
  await assert.rejects(b.nack(q, d, false, 10), /INVALID_ARGUMENT a delay only applies to a requeue/);
  await assert.rejects(b.send(q, 'c', { delayMs: -1 }), /INVALID_ARGUMENT delayMs/);
  await assert.rejects(b.send(q, 'c', { priority: 10 }), /INVALID_ARGUMENT priority must be one of 0..9/);
  await assert.rejects(b.call('send_batch', q, '', 0, 0, '', 'x', ''), /INVALID_ARGUMENT a batch takes 5 arguments per message/);
  await assert.rejects(b.claim('99'), /^ReplyError: INVALID_ARGUMENT unknown queue 99/);
  await assert.rejects(b.call('ack', q, 'x', d.tag), /INVALID_ARGUMENT a delivery is named by its seq and tag/);
  await assert.rejects(b.request(q, 'c', `${b.prefix}:bindings`, 1), /INVALID_ARGUMENT a request needs an id and an inbox under/);
  await assert.rejects(redis.call('FCALL', 'ferrymq_1_stats', 1, `${b.prefix}:queues`, q), /INVALID_ARGUMENT KEYS\[1\] must be/);
  const stats = await b.stats(q);
  assert.deepEqual([stats.ready, stats.inFlight, stats.sent, stats.deadLettered], [1, 1, 2, 0], 'nothing lost, nothing sent');
  assert.equal(await b.ack(q, d), 1, 'the delivery is still held');
});

test('deadlines are processed in time order, each at its own time', async () => {
  const b = await broker();
  const q = await b.declare('jobs', { lease: 100, ttl: 150 });
  const dlq = await b.declare('jobs.dlq', { lease: 5000, ttl: 1000 });
  await b.send(q, 'a');
  await b.claim(q);
  await b.setNow(T0 + 200);
  await b.tick(q);
  const stats = await b.stats(q);
  // The lease ran out at +100 (back, redelivered), then the TTL at +150 (expired).
  assert.deepEqual([stats.redelivered, stats.expired], [1, 1]);
  assert.deepEqual((await b.events()).map((e) => e.type), ['redelivered', 'expired', 'dead-letter']);
  const [moved] = await b.claim(dlq);
  assert.equal(moved.body, 'a');
  await b.setNow(T0 + 1150);
  await b.fail(dlq, moved);
  assert.deepEqual(await b.claim(dlq), [], 'its TTL there counts from +150, when it expired, not from +200');
});

test('a dead-letter queue full only of expired messages takes the new dead letter', async () => {
  const b = await broker();
  const dlq = await b.declare('jobs.dlq', { maxLength: 1, ttl: 100 });
  await b.send(dlq, 'old');
  const q = await b.declare('jobs');
  await b.send(q, 'rejected');
  await b.setNow(T0 + 200);
  await b.nack(q, (await b.claim(q))[0], false);
  assert.deepEqual(bodies(await b.claim(dlq)), ['rejected']);
});

test('a dead-lettered request can no longer be replied to', async () => {
  const b = await broker();
  const q = await b.declare('rpc');
  await b.request(q, 'question', `${b.prefix}:inbox:p1`, 1);
  await b.nack(q, (await b.claim(q))[0], false);
  const dlq = await b.declare('rpc.dlq');
  const [d] = await b.claim(dlq);
  await assert.rejects(b.reply(dlq, d, 'late'), new RegExp(`INVALID_ARGUMENT delivery ${d.tag} is not a request`));
});

test('extendLease(0) returns the message at once and wakes a consumer', async () => {
  const { b, q, d } = await oneClaimed({});
  await redis.del(`${b.prefix}:q:${q}:wake`);
  await b.extend(q, d, 0);
  assert.equal(await redis.llen(`${b.prefix}:q:${q}:wake`), 1);
  const [again] = await b.claim(q);
  assert.equal(again.deliveryCount, 2);
});

test('a publish that lists a queue twice is refused', async () => {
  const b = await broker();
  const q = await b.declare('a');
  await b.bind(q, '#');
  await assert.rejects(b.publish(1, [q, q], 'x'), /INVALID_ARGUMENT queue \d+ listed twice/);
  assert.equal((await b.stats(q)).sent, 0);
});

test('every process learns the earliest deadline of any queue, whoever made it', async () => {
  const b = await broker();
  const a = await b.declare('a', { lease: 500 });
  const c = await b.declare('c');
  assert.deepEqual((await b.due()).slice(1), [-1, '']);
  await b.send(c, 'later', { delayMs: 300 });
  await b.send(a, 'now');
  await b.claim(a);
  assert.deepEqual((await b.due()).slice(1), [300, c], 'the delayed message first');
  await b.setNow(T0 + 300);
  await b.tick(c);
  assert.deepEqual((await b.due()).slice(1), [200, a], 'then the lease');
});

test('a deadline earlier than every other is announced on the deadline channel, a later one is not', async () => {
  const b = await broker();
  const q = await b.declare('q');
  const listener = redis.duplicate();
  const heard = [];
  listener.on('message', (_, at) => heard.push(Number(at)));
  await listener.subscribe(`${b.prefix}:deadline`);
  try {
    await b.send(q, 'in 300', { delayMs: 300 });
    await b.send(q, 'in 500', { delayMs: 500 });
    await b.send(q, 'in 100', { delayMs: 100 });
    // A round trip on the listener's connection: every message published before it has arrived.
    await listener.ping();
    assert.deepEqual(heard, [T0 + 300, T0 + 100]);
  } finally {
    listener.disconnect();
  }
});

test('the broker\'s clock never goes back, even if the server\'s does', async () => {
  const b = await broker();
  const q = await b.declare('jobs');
  await b.send(q, 'later', { delayMs: 100 });
  await b.setNow(T0 + 100);
  await b.tick(q);
  await b.setNow(T0 + 50);
  assert.deepEqual(bodies(await b.claim(q)), ['later'], 'due once, due for good');
});

test('publish catches every target up before admitting any: a dead letter may fill one first', async () => {
  const b = await broker();
  const a = await b.declare('a', { maxLength: 1 });
  const c = await b.declare('c', { ttl: 10, deadLetter: 'a' });
  await b.send(c, 'expiring');
  await b.bind(a, 'k');
  await b.bind(c, 'k');
  await b.setNow(T0 + 10);
  await assert.rejects(b.publish(2, [a, c], 'x'), /QUEUE_FULL queue "a" is full/);
  assert.deepEqual(bodies(await b.claim(a, 5)), ['expiring'], 'a holds the dead letter only');
  assert.equal((await b.stats(c)).sent, 1, 'c got no copy either');
});
