// The Redis library against the core it restates: the same seeded random
// operations (send, sendBatch, purge, receive, ack, nack, extendLease, time
// passing) run on
// an in-memory ferrymq broker (the built package, the core in wasm) and on
// the Redis functions, and every outcome must agree: what each receive
// delivers, which calls fail and with which code, the queues' counters at
// the end, and the events. The events are compared as a set: when several
// messages expire in the same millisecond, the core may dead-letter a
// queue's due heads by priority as it next looks at the queue, where the
// server takes them in the order they were sent.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Redis } from 'ioredis';
import { withLibrary } from './server.mjs';

const { Broker } = await import(new URL('../../dist/ferrymq.mjs', import.meta.url).href);

const SEEDS = Number(process.env.FERRYMQ_DIFF_SEEDS ?? 40);
const STEPS = 120;
const T0 = 1_700_000_000_000;

/** A small deterministic PRNG (mulberry32), so a failing seed replays. */
function random(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

let redis;
withLibrary((_, r) => {
  redis = r;
});

const COUNTERS = ['ready', 'delayed', 'inFlight', 'sent', 'acked', 'nacked', 'expired', 'redelivered', 'deadLettered'];
const codeOf = (error) => (error.code ?? /^(?:ReplyError: )?([A-Z_]+) /.exec(String(error.message ?? error))?.[1] ?? String(error));

/** The queue options each seed draws from: both sides get the same ones. */
function queueOptions(rand) {
  const pick = (xs) => xs[Math.floor(rand() * xs.length)];
  return {
    leaseMs: pick([50, 100, 300]),
    maxDeliveries: pick([1, 2, 3]),
    maxLength: pick([undefined, 3, 6]),
    overflow: pick(['reject', 'drop-oldest']),
    ttlMs: pick([undefined, 80, 250]),
    dedupWindowMs: pick([undefined, 100]),
  };
}

/** The broker in memory, its clock the test's. */
function memorySide(options) {
  const broker = new Broker();
  const events = [];
  for (const type of ['redelivered', 'expired', 'dead-letter']) {
    broker.on(type, (e) => events.push({ type, queue: e.queue, id: e.id, ...(type === 'redelivered' ? { deliveryCount: e.deliveryCount } : {}), ...(type === 'dead-letter' ? { reason: e.reason } : {}) }));
  }
  const { maxLength, overflow, ...rest } = options;
  const queue = broker.queue('q', { ...rest, ...(maxLength === undefined ? {} : { maxLength, overflow }) });
  const held = new Map();
  return {
    send: (body, o) => queue.send(body, o).then(() => 'ok'),
    sendBatch: (items) => queue.sendBatch(items).then(() => 'ok'),
    purge: () => queue.purge(),
    receive: async () => {
      const m = await queue.receive();
      if (m === null) return null;
      const key = m.deliveryCount + ':' + m.payload + ':' + held.size;
      held.set(key, m);
      return { key, body: m.payload, deliveryCount: m.deliveryCount };
    },
    ack: (key) => held.get(key).ack().then(() => 'ok'),
    nack: (key, requeue, delayMs) => held.get(key).nack(requeue ? (delayMs ? { delayMs } : {}) : { requeue: false }).then(() => 'ok'),
    extend: async (key, ms) => {
      held.get(key).extendLease(ms);
      return 'ok';
    },
    counters: async () => {
      // The Redis side catches up when asked for stats; here the host timer
      // would, in real time: a publish that routes nowhere catches up now.
      await broker.publish('differential.catch-up', null);
      return ['q', 'q.dlq'].map((name) => {
        const s = broker.stats().queues[name];
        return s === undefined ? undefined : COUNTERS.map((c) => s[c]);
      });
    },
    events,
    close: () => broker.close(),
  };
}

/** The same broker through the Redis functions, on prefix `prefix`. */
async function redisSide(options, prefix) {
  const meta = `{${prefix}}:meta`;
  const call = (fn, ...args) => redis.call('FCALL', `ferrymq_1_${fn}`, 1, meta, ...args.map(String));
  const fields = {
    canon: 'x', lease: options.leaseMs, maxDeliveries: options.maxDeliveries,
    ...(options.maxLength === undefined ? {} : { maxLength: options.maxLength, overflow: options.overflow }),
    ...(options.ttlMs === undefined ? {} : { ttl: options.ttlMs }),
    ...(options.dedupWindowMs === undefined ? {} : { dedup: options.dedupWindowMs }),
  };
  await redis.set(`{${prefix}}:clock`, String(T0));
  await call('open');
  const q = await call('declare', 'q', 1, ...Object.entries(fields).flat());
  const held = new Map();
  return {
    setNow: (ms) => redis.set(`{${prefix}}:clock`, String(ms)),
    send: (body, o) => call('send', q, o.id ?? '', o.priority ?? 0, o.delayMs ?? 0, o.ttlMs ?? '', body).then(() => 'ok'),
    sendBatch: (items) => call('send_batch', q, ...items.flatMap(({ payload, id, priority, delayMs, ttlMs }) => [
      id ?? '', priority ?? 0, delayMs ?? 0, ttlMs ?? '', payload,
    ])).then(() => 'ok'),
    purge: () => call('purge', q),
    receive: async () => {
      const [, , , ...flat] = await call('claim', q, 1);
      if (flat.length === 0) return null;
      const [seq, tag, , deliveryCount, , , body] = flat;
      const key = deliveryCount + ':' + body + ':' + held.size;
      held.set(key, { seq, tag });
      return { key, body, deliveryCount };
    },
    ack: (key) => call('ack', q, held.get(key).seq, held.get(key).tag).then(([answer]) => {
      if (answer instanceof Error) throw answer;
      return 'ok';
    }),
    nack: (key, requeue, delayMs) => call('nack', q, held.get(key).seq, held.get(key).tag, requeue ? 1 : 0, requeue && delayMs ? delayMs : '').then(() => 'ok'),
    extend: (key, ms) => call('extend', q, held.get(key).seq, held.get(key).tag, ms).then(() => 'ok'),
    counters: async () => {
      const out = [];
      for (const name of ['q', 'q.dlq']) {
        const id = await redis.hget(`{${prefix}}:queues`, name);
        if (id === null) out.push(undefined);
        else out.push((await call('stats', id)).slice(0, COUNTERS.length));
      }
      return out;
    },
    events: async () => (await redis.xrange(`{${prefix}}:events`, '-', '+')).map(([, f]) => {
      const e = Object.fromEntries(f.flatMap((v, i) => (i % 2 === 0 ? [[v, f[i + 1]]] : [])));
      return {
        type: e.type, queue: e.queue, id: e.id,
        ...(e.type === 'redelivered' ? { deliveryCount: Number(e.deliveryCount) } : {}),
        ...(e.type === 'dead-letter' ? { reason: e.reason } : {}),
      };
    }),
  };
}

/** Runs `promise` to an outcome both sides can be compared by. */
const outcome = (promise) => promise.then((value) => value, (error) => `error ${codeOf(error)}`);

test(`the Redis functions agree with the core on ${SEEDS} seeded runs of ${STEPS} operations`, async () => {
  const realNow = Date.now;
  try {
    for (let seed = 1; seed <= SEEDS; seed++) {
      const rand = random(seed);
      const options = queueOptions(rand);
      let now = T0;
      Date.now = () => now;
      const mem = memorySide(options);
      const red = await redisSide(options, `d${seed}`);
      const keys = [];
      const log = [];
      for (let step = 0; step < STEPS; step++) {
        const r = rand();
        let op;
        const draw = () => ({
          priority: Math.floor(rand() * 3) * 4,
          ...(rand() < 0.3 ? { delayMs: Math.floor(rand() * 150) } : {}),
          ...(rand() < 0.3 ? { ttlMs: 1 + Math.floor(rand() * 200) } : {}),
          ...(rand() < 0.3 ? { id: `k${Math.floor(rand() * 4)}` } : {}),
        });
        if (r < 0.3) {
          const o = draw();
          const body = `m${step}`;
          op = ['send', body, o, () => mem.send(body, o), () => red.send(body, o)];
        } else if (r < 0.35) {
          const items = Array.from({ length: 1 + Math.floor(rand() * 4) }, (_, i) => ({ payload: `b${step}.${i}`, ...draw() }));
          op = ['sendBatch', items, () => mem.sendBatch(items), () => red.sendBatch(items)];
        } else if (r < 0.36) {
          op = ['purge', () => mem.purge(), () => red.purge()];
        } else if (r < 0.6) {
          op = ['receive', () => mem.receive(), () => red.receive()];
        } else if (r < 0.85 && keys.length > 0) {
          const key = keys[Math.floor(rand() * keys.length)];
          const kind = rand();
          if (kind < 0.5) op = ['ack', key, () => mem.ack(key), () => red.ack(key)];
          else if (kind < 0.85) {
            const requeue = rand() < 0.7;
            const delayMs = rand() < 0.5 ? Math.floor(rand() * 100) : 0;
            op = ['nack', key, requeue, delayMs, () => mem.nack(key, requeue, delayMs), () => red.nack(key, requeue, delayMs)];
          } else {
            const ms = Math.floor(rand() * 200);
            op = ['extend', key, ms, () => mem.extend(key, ms), () => red.extend(key, ms)];
          }
        } else {
          const ms = Math.floor(rand() * 120);
          now += ms;
          await red.setNow(now);
          log.push(`+${ms} ms`);
          continue;
        }
        const [a, b] = [await outcome(op.at(-2)()), await outcome(op.at(-1)())];
        log.push(`${op.slice(0, -2).map((x) => JSON.stringify(x)).join(' ')} -> ${JSON.stringify(a)}`);
        assert.deepEqual(b, a, `seed ${seed}, step ${step}, options ${JSON.stringify(options)}:\n${log.join('\n')}`);
        if (a?.key !== undefined) keys.push(a.key);
      }
      const where = `seed ${seed}, options ${JSON.stringify(options)}:\n${log.join('\n')}`;
      assert.deepEqual(await red.counters(), await mem.counters(), `counters, ${where}`);
      // After the counters: their catch-up's events too.
      const sorted = (events) => events.map((e) => JSON.stringify(e)).sort();
      assert.deepEqual(sorted(await red.events()), sorted(mem.events), `events, ${where}`);
      await mem.close();
    }
  } finally {
    Date.now = realNow;
  }
});
