// Broker scenarios: each runs against the ferrymq module it is given, in
// Node (node/scenarios.test.mjs) and in Chromium (browser/scenarios.test.mjs),
// on every storage: the environment's newBroker() makes a broker in memory
// or on a durable store, and settled() waits until everything queued so far
// (microtasks, and the writes of a durable broker) has run. `inMemory` holds
// the few that only hold in memory.
import { deepEqual, equal, ok, rejects, throws } from './assert.mjs';
import { withFakeClock } from './fake-clock.mjs';

/** The first `event` from `broker` that satisfies `match`. */
const next = (broker, event, match = () => true) =>
  new Promise((resolve) => {
    const off = broker.on(event, (e) => {
      if (!match(e)) return;
      off();
      resolve(e);
    });
  });

/** Receives everything ready on `queue` and acks it; resolves with the payloads. */
async function drain(queue) {
  const payloads = [];
  for (let m = await queue.receive(); m !== null; m = await queue.receive()) {
    payloads.push(m.payload);
    await m.ack();
  }
  return payloads;
}

const isCode = (FerryError, code) => (e) => e instanceof FerryError && e.code === code;

export const scenarios = {
  'messages come out in the order they were sent': async ({ Broker }, { newBroker }) => {
    const broker = await newBroker();
    const queue = broker.queue('orders');
    const ids = [];
    for (const n of [1, 2, 3]) ids.push(await queue.send({ n }));
    equal(new Set(ids).size, 3, 'each send gets its own id');
    for (const [i, n] of [1, 2, 3].entries()) {
      const message = await queue.receive();
      deepEqual(message.payload, { n });
      equal(message.id, ids[i]);
      equal(message.deliveryCount, 1);
      equal(message.redelivered, false);
      await message.ack();
    }
    equal(await queue.receive(), null);
    await broker.close();
  },

  'a payload stays with its message while the broker reuses the places of finished ones': async ({ Broker }, { newBroker }) => {
    const broker = await newBroker();
    const [a, b, churn] = ['a', 'b', 'churn'].map((name) => broker.queue(name));
    const dedup = broker.queue('dedup', { dedupWindowMs: 60_000 });
    broker.bind('fan.out', 'a');
    broker.bind('fan.out', 'b');
    const shared = { p: 'shared' };
    await broker.publish('fan.out', shared, { headers: { h: 'shared' } });
    await dedup.send({ p: 'first' }, { id: 'once' });
    await dedup.send({ p: 'duplicate' }, { id: 'once' });
    await (await a.receive()).ack();
    // Many messages come and go: each finished one's place is taken again.
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 50; i++) await churn.send({ round, i }, { headers: { round: String(round) } });
      for (let i = 0; i < 50; i++) {
        const m = await churn.receive();
        deepEqual([m.payload, m.headers], [{ round, i }, { round: String(round) }]);
        await m.ack();
      }
    }
    const fromB = await b.receive();
    // Equal, not the same value: a broker kept on a server hands out copies (in memory: 'payloads stay the same JS values').
    deepEqual(fromB.payload, shared, 'the copy the other queue holds is the published value');
    deepEqual(fromB.headers, { h: 'shared' });
    deepEqual((await dedup.receive()).payload, { p: 'first' });
    equal(await dedup.receive(), null, 'the duplicate was never queued');
    await broker.close();
  },

  'an acked message is gone; acking it again is a STALE_DELIVERY': async ({ Broker, FerryError }, { newBroker }) => {
    const broker = await newBroker();
    const queue = broker.queue('once');
    await queue.send('x');
    const message = await queue.receive();
    await message.ack();
    await rejects(message.ack(), (e) => e instanceof FerryError && e.code === 'STALE_DELIVERY');
    equal(await queue.receive(), null);
    await broker.close();
  },

  'an unacked message comes back after its lease, marked redelivered': async ({ Broker }, { newBroker }) => {
    await withFakeClock(async (clock) => {
      const broker = await newBroker();
      const queue = broker.queue('leased', { leaseMs: 300 });
      await queue.send('work');
      const first = await queue.receive();
      const again = queue.receive({ waitMs: 10_000 });
      await clock.advance(299);
      equal(await queue.receive(), null, 'invisible for the whole lease');
      await clock.advance(1);
      const message = await again;
      equal(message.payload, 'work');
      equal(message.redelivered, true);
      equal(message.deliveryCount, 2);
      await rejects(first.ack(), { code: 'STALE_DELIVERY' });
      await broker.close();
    });
  },

  'acks made together are answered each on its own: one whose lease ran out is stale, the others count': async ({ Broker }, { newBroker }) => {
    await withFakeClock(async (clock) => {
      const broker = await newBroker();
      const queue = broker.queue('together', { leaseMs: 100 });
      await queue.sendBatch([{ payload: 'a' }, { payload: 'b' }, { payload: 'c' }]);
      const a = await queue.receive();
      await clock.advance(60);
      const [b, c] = await queue.receiveBatch(2);
      await clock.advance(40);
      const answers = await Promise.allSettled([b.ack(), a.ack(), c.ack()]);
      deepEqual(answers.map((x) => x.status), ['fulfilled', 'rejected', 'fulfilled']);
      equal(answers[1].reason.code, 'STALE_DELIVERY');
      const stats = await queue.fetchStats();
      deepEqual([stats.acked, stats.redelivered], [2, 1]);
      const again = await queue.receive();
      deepEqual([again.payload, again.deliveryCount], ['a', 2]);
      await again.ack();
      await broker.close();
    });
  },

  'receive with waitMs resolves as soon as a message is sent': async ({ Broker }, { newBroker }) => {
    const broker = await newBroker();
    const queue = broker.queue('waiting');
    const pending = queue.receive({ waitMs: 60_000 });
    await queue.send('hello');
    const message = await pending;
    equal(message.payload, 'hello');
    await message.ack();
    await broker.close();
  },

  'a consumer gets every message and a handler may send re-entrantly': async ({ Broker }, { newBroker }) => {
    const broker = await newBroker();
    const queue = broker.queue('chain');
    const seen = [];
    const done = new Promise((resolve) => {
      queue.consume(async (message) => {
        seen.push(message.payload);
        if (message.payload < 5) await queue.send(message.payload + 1);
        else resolve();
      });
    });
    await queue.send(1);
    await done;
    deepEqual(seen, [1, 2, 3, 4, 5]);
    await broker.close();
  },

  'bad arguments throw errors that name them, and the broker keeps working': async ({ Broker }, { newBroker }) => {
    const broker = await newBroker();
    const queue = broker.queue('strict');
    throws(() => broker.queue(''), RangeError);
    throws(() => broker.queue(42), /name must be a string/);
    await rejects(queue.send('x', { priority: 10 }), /options.priority/);
    await rejects(queue.send('x', { delayMs: -1 }), RangeError);
    await rejects(queue.send('x', { delayMs: NaN }), RangeError);
    await rejects(queue.send('x', { colour: 'red' }), /options.colour/);
    await rejects(queue.receive({ waitMs: Infinity }), RangeError);
    equal(await queue.receive(), null, 'nothing was enqueued by the bad calls');
    await queue.send('ok');
    const message = await queue.receive();
    equal(message.payload, 'ok');
    await message.ack();
    await broker.close();
  },

  'after close every call rejects with CLOSED': async ({ Broker, FerryError }, { newBroker }) => {
    const broker = await newBroker();
    const queue = broker.queue('q');
    const waiting = rejects(queue.receive({ waitMs: 60_000 }), { code: 'CLOSED' });
    await broker.close();
    await waiting;
    await rejects(queue.send('x'), (e) => e instanceof FerryError && e.code === 'CLOSED');
    await rejects(queue.receive(), { code: 'CLOSED' });
    throws(() => broker.queue('other'), { code: 'CLOSED' });
  },

  'higher priority is delivered first, FIFO within a priority': async ({ Broker }, { newBroker }) => {
    const broker = await newBroker();
    const queue = broker.queue('jobs');
    for (const [payload, priority] of [['low-1', 0], ['high-1', 9], ['mid', 5], ['low-2', 0], ['high-2', 9]]) {
      await queue.send(payload, { priority });
    }
    deepEqual(await drain(queue), ['high-1', 'high-2', 'mid', 'low-1', 'low-2']);
    await broker.close();
  },

  'a delayed message is not delivered before its time': async ({ Broker }, { newBroker }) => {
    await withFakeClock(async (clock) => {
      const broker = await newBroker();
      const queue = broker.queue('later');
      await queue.send('soon', { delayMs: 30 });
      equal((await queue.fetchStats()).delayed, 1);
      const waiting = queue.receive({ waitMs: 10_000 });
      await clock.advance(29);
      equal(await queue.receive(), null, 'not ready a millisecond before');
      equal((await queue.fetchStats()).delayed, 1);
      await clock.advance(1);
      const message = await waiting;
      equal(message.payload, 'soon');
      await message.ack();
      await broker.close();
    });
  },

  'an expired message is never delivered; it is counted and dead-lettered': async ({ Broker }, { newBroker }) => {
    const broker = await newBroker();
    const queue = broker.queue('fresh');
    const expired = next(broker, 'expired');
    const deadLetter = next(broker, 'dead-letter');
    await queue.send('stale', { ttlMs: 10, id: 'm-1' });
    await queue.send('kept');
    deepEqual(await expired, { type: 'expired', queue: 'fresh', id: 'm-1' });
    deepEqual(await deadLetter, { type: 'dead-letter', queue: 'fresh', id: 'm-1', reason: 'expired', deadLetterQueue: 'fresh.dlq' });
    deepEqual(await drain(queue), ['kept']);
    equal((await queue.fetchStats()).expired, 1);
    deepEqual(await drain(broker.queue('fresh.dlq')), ['stale']);
    await broker.close();
  },

  'a queue TTL applies to every message': async ({ Broker }, { newBroker }) => {
    const broker = await newBroker();
    const queue = broker.queue('short-lived', { ttlMs: 10 });
    const expired = next(broker, 'expired');
    await queue.send('gone');
    await expired;
    equal(await queue.receive(), null);
    await broker.close();
  },

  'a failing handler is retried with backoff, then dead-lettered with its reason': async ({ Broker }, { newBroker }) => {
    const broker = await newBroker();
    const queue = broker.queue('flaky', { maxDeliveries: 3, backoff: { type: 'fixed', baseMs: 5 } });
    const deliveries = [];
    const errors = [];
    broker.on('error', (e) => errors.push(e.error.message));
    const deadLetter = next(broker, 'dead-letter');
    queue.consume((message) => {
      deliveries.push([message.deliveryCount, message.redelivered, Date.now()]);
      throw new Error(`failure ${message.deliveryCount}`);
    });
    await queue.send('poison', { id: 'p-1' });
    deepEqual(await deadLetter, { type: 'dead-letter', queue: 'flaky', id: 'p-1', reason: 'delivery-limit', deadLetterQueue: 'flaky.dlq' });
    deepEqual(deliveries.map(([count, redelivered]) => [count, redelivered]), [[1, false], [2, true], [3, true]]);
    for (let i = 1; i < deliveries.length; i++) ok(deliveries[i][2] - deliveries[i - 1][2] >= 5, 'waits out the backoff');
    deepEqual(errors, ['failure 1', 'failure 2', 'failure 3']);
    const dead = await broker.queue('flaky.dlq').receive();
    equal(dead.payload, 'poison');
    equal(dead.id, 'p-1');
    await broker.close();
  },

  'nack without requeue dead-letters with reason rejected; nack with delay redelivers later': async ({ Broker }, { newBroker }) => {
    await withFakeClock(async (clock) => {
      const broker = await newBroker();
      const queue = broker.queue('review', { deadLetter: 'rejected-items' });
      await queue.send('bad');
      await queue.send('retry-me');
      const deadLetter = next(broker, 'dead-letter');
      await (await queue.receive()).nack({ requeue: false });
      const dead = await deadLetter;
      deepEqual([dead.queue, dead.reason, dead.deadLetterQueue], ['review', 'rejected', 'rejected-items']);
      await (await queue.receive()).nack({ delayMs: 20 });
      const waiting = queue.receive({ waitMs: 10_000 });
      await clock.advance(19);
      equal(await queue.receive(), null, 'invisible during its delay');
      await clock.advance(1);
      const again = await waiting;
      equal(again.payload, 'retry-me');
      equal(again.deliveryCount, 2);
      await again.ack();
      deepEqual(await drain(broker.queue('rejected-items')), ['bad']);
      await broker.close();
    });
  },

  'an expired lease is reported as redelivered': async ({ Broker }, { newBroker }) => {
    const broker = await newBroker();
    const queue = broker.queue('slow', { leaseMs: 10 });
    const redelivered = next(broker, 'redelivered');
    await queue.send('x', { id: 'r-1' });
    await queue.receive();
    deepEqual(await redelivered, { type: 'redelivered', queue: 'slow', id: 'r-1', deliveryCount: 1 });
    await broker.close();
  },

  'extendLease keeps a message invisible past its first lease': async ({ Broker }, { newBroker }) => {
    await withFakeClock(async (clock) => {
      const broker = await newBroker();
      const queue = broker.queue('long-job', { leaseMs: 300 });
      await queue.send('work');
      const message = await queue.receive();
      await clock.advance(299);
      message.extendLease(60_000);
      await clock.advance(1_000);
      equal(await queue.receive(), null, 'still leased');
      await message.ack();
      await broker.close();
    });
  },

  'maxLength with reject refuses sends with QUEUE_FULL and keeps what it has': async ({ Broker, FerryError }, { newBroker }) => {
    const broker = await newBroker();
    const queue = broker.queue('bounded', { maxLength: 2 });
    await queue.send(1);
    await queue.send(2);
    await rejects(queue.send(3), isCode(FerryError, 'QUEUE_FULL'));
    await rejects(queue.sendBatch([{ payload: 3 }]), isCode(FerryError, 'QUEUE_FULL'));
    deepEqual(await drain(queue), [1, 2]);
    await broker.close();
  },

  'maxLength with drop-oldest dead-letters the oldest with reason maxlen': async ({ Broker }, { newBroker }) => {
    const broker = await newBroker();
    const queue = broker.queue('latest', { maxLength: 2, overflow: 'drop-oldest' });
    const deadLetter = next(broker, 'dead-letter');
    for (const n of [1, 2, 3]) await queue.send(n);
    equal((await deadLetter).reason, 'maxlen');
    deepEqual(await drain(queue), [2, 3]);
    deepEqual(await drain(broker.queue('latest.dlq')), [1]);
    await broker.close();
  },

  'a repeated id inside the dedup window is accepted but enqueued once': async ({ Broker }, { newBroker }) => {
    const broker = await newBroker();
    const queue = broker.queue('payments', { dedupWindowMs: 60_000 });
    equal(await queue.send({ amount: 5 }, { id: 'pay-1' }), 'pay-1');
    equal(await queue.send({ amount: 5 }, { id: 'pay-1' }), 'pay-1');
    deepEqual(await drain(queue), [{ amount: 5 }]);
    equal(await queue.send({ amount: 5 }, { id: 'pay-1' }), 'pay-1', 'acked, still inside the window');
    deepEqual(await drain(queue), []);
    await broker.close();
  },

  'topic routing follows RabbitMQ rules and delivers once per queue': async ({ Broker }, { newBroker }) => {
    const broker = await newBroker();
    broker.bind('*.orange.*', 'orange');
    broker.bind('*.*.rabbit', 'rabbits');
    broker.bind('lazy.#', 'rabbits');
    broker.bind('#', 'everything');
    const table = [
      ['quick.orange.rabbit', ['orange', 'rabbits', 'everything']],
      ['lazy.orange.elephant', ['orange', 'rabbits', 'everything']],
      ['quick.orange.fox', ['orange', 'everything']],
      ['lazy.brown.fox', ['rabbits', 'everything']],
      ['lazy.pink.rabbit', ['rabbits', 'everything']],
      ['quick.brown.fox', ['everything']],
      ['orange', ['everything']],
      ['quick.orange.male.rabbit', ['everything']],
      ['lazy.orange.male.rabbit', ['rabbits', 'everything']],
      ['lazy', ['rabbits', 'everything']],
    ];
    for (const [key, queues] of table) {
      const ids = await broker.publish(key, key);
      equal(ids.length, queues.length, `${key} reaches ${queues}`);
      for (const name of ['orange', 'rabbits', 'everything']) {
        deepEqual(await drain(broker.queue(name)), queues.includes(name) ? [key] : [], `${key} in ${name}`);
      }
    }
    broker.unbind('#', 'everything');
    deepEqual(await broker.publish('quick.brown.fox', 'unrouted'), [], 'nothing matches any more');
    await broker.close();
  },

  'request resolves with the reply; with no reply it times out': async ({ Broker, FerryError }, { newBroker }) => {
    const broker = await newBroker();
    broker.queue('double').consume((message) => message.reply(message.payload * 2));
    equal(await broker.request('double', 21), 42);
    await rejects(broker.request('nobody-listens', 1, { timeoutMs: 10 }), isCode(FerryError, 'TIMEOUT'));
    const controller = new AbortController();
    const pending = broker.request('nobody-listens', 2, { signal: controller.signal });
    controller.abort();
    await rejects(pending, isCode(FerryError, 'ABORTED'));
    await broker.close();
  },

  'an AbortSignal ends a waiting receive without losing the next message': async ({ Broker, FerryError }, { newBroker }) => {
    const broker = await newBroker();
    const queue = broker.queue('q');
    const controller = new AbortController();
    const waiting = queue.receive({ waitMs: 60_000, signal: controller.signal });
    controller.abort();
    await rejects(waiting, isCode(FerryError, 'ABORTED'));
    await queue.send('after');
    deepEqual(await drain(queue), ['after']);
    await broker.close();
  },

  'an AbortSignal cancels a consumer; the messages it held go to the other one': async ({ Broker }, { newBroker, settled }) => {
    const broker = await newBroker();
    const queue = broker.queue('shared', { leaseMs: 600_000 });
    const controller = new AbortController();
    const heldByFirst = [];
    const first = queue.consume((m) => { heldByFirst.push(m.payload); }, { signal: controller.signal, prefetch: 2, autoAck: false });
    await queue.send('a');
    await queue.send('b');
    await settled();
    deepEqual(heldByFirst, ['a', 'b'], 'the first consumer holds both, unacked');
    equal((await queue.fetchStats()).inFlight, 2);
    controller.abort();
    equal(first.active, false);
    const got = [];
    const done = new Promise((resolve) => queue.consume((m) => { got.push([m.payload, m.redelivered]); if (got.length === 2) resolve(); }));
    await done;
    deepEqual(got, [['a', true], ['b', true]], 'back at once, not after the lease, in their order');
    await broker.close();
  },

  'consumers share a queue round-robin; prefetch caps unacked deliveries': async ({ Broker }, { newBroker, settled }) => {
    const broker = await newBroker();
    const queue = broker.queue('work');
    const held = { a: [], b: [] };
    queue.consume((m) => { held.a.push(m); }, { prefetch: 2, autoAck: false });
    queue.consume((m) => { held.b.push(m); }, { prefetch: 2, autoAck: false });
    for (const n of [1, 2, 3, 4, 5, 6]) await queue.send(n);
    await settled();
    deepEqual(held.a.map((m) => m.payload), [1, 3]);
    deepEqual(held.b.map((m) => m.payload), [2, 4]);
    equal((await queue.fetchStats()).ready, 2, 'two wait for a free slot');
    await held.a[0].ack();
    await settled();
    deepEqual(held.a.map((m) => m.payload), [1, 3, 5]);
    await broker.close();
  },

  'sendBatch sends all or nothing; receiveBatch takes up to max': async ({ Broker }, { newBroker }) => {
    const broker = await newBroker();
    const queue = broker.queue('bulk');
    await rejects(queue.sendBatch([{ payload: 'ok' }, { payload: 'bad', priority: 12 }]), /items\[1\]\.priority/);
    equal((await queue.fetchStats()).ready, 0, 'the valid item was not sent either');
    const ids = await queue.sendBatch([{ payload: 'a' }, { payload: 'b', id: 'b-id', headers: { k: 'v' } }, { payload: 'c' }]);
    equal(ids.length, 3);
    equal(ids[1], 'b-id');
    const batch = await queue.receiveBatch(2);
    deepEqual(batch.map((m) => m.payload), ['a', 'b']);
    deepEqual(batch[1].headers, { k: 'v' });
    for (const m of batch) await m.ack();
    deepEqual((await queue.receiveBatch(10)).map((m) => m.payload), ['c']);
    const later = queue.receiveBatch(5, { waitMs: 10_000 });
    await queue.send('late');
    deepEqual((await later).map((m) => m.payload), ['late']);
    deepEqual(await queue.receiveBatch(5), []);
    await broker.close();
  },

  'receiveBatch takes every ready message up to max, in order, however many': async ({ Broker }, { newBroker }) => {
    const broker = await newBroker();
    const queue = broker.queue('many');
    await queue.sendBatch(Array.from({ length: 50 }, (_, i) => ({ payload: i })));
    const first = await queue.receiveBatch(20);
    deepEqual(first.map((m) => m.payload), Array.from({ length: 20 }, (_, i) => i));
    const rest = await queue.receiveBatch(50, { waitMs: 1_000 });
    deepEqual(rest.map((m) => m.payload), Array.from({ length: 30 }, (_, i) => 20 + i));
    await Promise.all([...first, ...rest].map((m) => m.ack()));
    deepEqual(await queue.receiveBatch(5), []);
    await broker.close();
  },

  'for await yields messages until the loop breaks, then the rest stay queued': async ({ Broker }, { newBroker, settled }) => {
    const broker = await newBroker();
    const queue = broker.queue('stream');
    for (const n of [1, 2, 3, 4]) await queue.send(n);
    const seen = [];
    for await (const message of queue) {
      seen.push(message.payload);
      await message.ack();
      if (seen.length === 3) break;
    }
    deepEqual(seen, [1, 2, 3]);
    deepEqual(await drain(queue), [4]);
    const loop = (async () => {
      const got = [];
      for await (const message of queue) {
        got.push(message.payload);
        await message.ack();
      }
      return got;
    })();
    await queue.send('last');
    await settled();
    await broker.close();
    deepEqual(await loop, ['last'], 'closing the broker ends the loop');
  },

  'a for await loop that breaks or throws hands its unsettled message back at once': async ({ Broker }, { newBroker }) => {
    const broker = await newBroker();
    const queue = broker.queue('loop', { leaseMs: 600_000 });
    await queue.send('first');
    for await (const message of queue) {
      equal(message.payload, 'first');
      break;
    }
    equal((await queue.fetchStats()).inFlight, 0, 'not held for the lease');
    const stop = new Error('stop');
    try {
      for await (const message of queue) {
        equal(message.payload, 'first');
        throw stop;
      }
    } catch (error) {
      equal(error, stop);
    }
    const again = await queue.receive();
    equal(again.payload, 'first', 'back in its place, ready now');
    await again.ack();
    await broker.close();
  },

  'counts above 2^32 are taken as they are, never truncated': async ({ Broker }, { newBroker }) => {
    const broker = await newBroker();
    for (const maxLength of [2 ** 32, 2 ** 32 + 1, Number.MAX_SAFE_INTEGER]) {
      const queue = broker.queue(`big-${maxLength}`, { maxLength });
      await queue.send(1);
      await queue.send(2);
      equal((await queue.fetchStats()).ready, 2, `maxLength ${maxLength} holds more than one message`);
    }
    await broker.close();
  },

  'drop-oldest dead-letters the message enqueued earliest, whatever its priority': async ({ Broker }, { newBroker }) => {
    const broker = await newBroker();
    const dropped = [];
    broker.on('dead-letter', (e) => dropped.push([e.id, e.reason]));
    const queue = broker.queue('bounded', { maxLength: 2, overflow: 'drop-oldest' });
    const low = await queue.send('low, first', { priority: 0 });
    await queue.send('high', { priority: 9 });
    await queue.send('middle', { priority: 5 });
    deepEqual(dropped, [[low, 'maxlen']]);
    deepEqual((await drain(queue)), ['high', 'middle']);
    await broker.close();
  },

  'Symbol.asyncDispose closes the broker, as await using does': async ({ Broker, FerryError }, { newBroker }) => {
    const broker = await newBroker();
    const queue = broker.queue('disposed');
    const waiting = rejects(queue.receive({ waitMs: 60_000 }), isCode(FerryError, 'CLOSED'));
    await broker[Symbol.asyncDispose]();
    await waiting;
    await rejects(queue.send(1), isCode(FerryError, 'CLOSED'));
  },

  'stats count dead letters on the queue they left and on the broker': async ({ Broker }, { newBroker }) => {
    const broker = await newBroker();
    const queue = broker.queue('counted');
    for (const n of [1, 2, 3]) await queue.send(n);
    await (await queue.receive()).nack({ requeue: false });
    await (await queue.receive()).nack({ requeue: false });
    await (await queue.receive()).ack();
    const s = await queue.fetchStats();
    deepEqual([s.deadLettered, s.nacked, s.acked, s.sent, s.ready], [2, 2, 1, 3, 0]);
    equal((await broker.fetchStats()).queues.counted.deadLettered, 2);
    equal((await broker.fetchStats()).queues['counted.dlq'].ready, 2);
    await broker.close();
  },

  'exponential backoff doubles from baseMs up to maxMs; with jitter it never waits longer': async ({ Broker }, { newBroker }) => {
    await withFakeClock(async (clock) => {
      const broker = await newBroker();
      const queue = broker.queue('backing-off', { maxDeliveries: 10, backoff: { type: 'exponential', baseMs: 100, maxMs: 250 } });
      await queue.send('x');
      let message = await queue.receive();
      for (const wait of [100, 200, 250, 250]) {
        await message.nack();
        const again = queue.receive({ waitMs: 10_000 });
        await clock.advance(wait - 1);
        equal(await queue.receive(), null, `not before ${wait} ms`);
        await clock.advance(1);
        message = await again;
        equal(message.payload, 'x', `redelivered at ${wait} ms`);
      }
      const jittery = broker.queue('jittery', { maxDeliveries: 10, backoff: { type: 'exponential', baseMs: 100, maxMs: 250, jitter: true } });
      await jittery.send('y');
      let held = await jittery.receive();
      for (const cap of [100, 200, 250, 250]) {
        await held.nack();
        const again = jittery.receive({ waitMs: 10_000 });
        await clock.advance(cap);
        held = await again;
        equal(held.payload, 'y', `back within ${cap} ms`);
      }
      await broker.close();
    });
  },

  'a caller id is a duplicate inside dedupWindowMs and new again after it': async ({ Broker }, { newBroker }) => {
    await withFakeClock(async (clock) => {
      const broker = await newBroker();
      const queue = broker.queue('once', { dedupWindowMs: 1_000 });
      equal(await queue.send('first', { id: 'order-1' }), 'order-1');
      equal(await queue.send('again', { id: 'order-1' }), 'order-1');
      equal((await queue.fetchStats()).ready, 1, 'the duplicate was accepted, not enqueued');
      await clock.advance(999);
      await queue.send('still inside', { id: 'order-1' });
      equal((await queue.fetchStats()).ready, 1);
      await clock.advance(1);
      await queue.send('after the window', { id: 'order-1' });
      deepEqual(await drain(queue), ['first', 'after the window']);
      await broker.close();
    });
  },

  'a queue may be named __proto__: stats().queues has no prototype': async ({ Broker }, { newBroker }) => {
    const broker = await newBroker();
    await broker.queue('__proto__').send(1);
    await broker.queue('toString').send(2);
    const { queues } = await broker.fetchStats();
    equal(Object.getPrototypeOf(queues), null);
    equal(queues.__proto__.ready, 1);
    equal(queues.toString.ready, 1);
    await broker.close();
  },

  'a failing handler with no error listener is reported on console.error, never silent': async ({ Broker }, { newBroker }) => {
    const broker = await newBroker();
    const queue = broker.queue('loud', { maxDeliveries: 1, deadLetter: null });
    const logged = [];
    const original = console.error;
    console.error = (...args) => logged.push(args);
    try {
      const failure = new Error('boom');
      const done = new Promise((resolve) => broker.on('dead-letter', resolve));
      queue.consume(() => {
        throw failure;
      });
      const id = await queue.send('x');
      await done;
      equal(logged.length, 1);
      ok(String(logged[0][0]).includes('loud') && String(logged[0][0]).includes(id), 'names the queue and message');
      equal(logged[0][1], failure);
    } finally {
      console.error = original;
    }
    // With a listener, the listener gets it instead.
    const seen = [];
    broker.on('error', (e) => seen.push(e.error.message));
    const other = broker.queue('quiet', { maxDeliveries: 1, deadLetter: null });
    const gone = new Promise((resolve) => broker.on('dead-letter', (e) => e.queue === 'quiet' && resolve()));
    other.consume(() => Promise.reject(new Error('listened')));
    await other.send('y');
    await gone;
    deepEqual(seen, ['listened']);
    await broker.close();
  },

  'queue names, ids and routing keys come back exactly as sent, up to 255 UTF-8 bytes': async ({ Broker }, { newBroker }) => {
    const broker = await newBroker();
    const names = ['é'.repeat(127), '😀'.repeat(63), 'a'.repeat(255)];
    for (const name of names) {
      const queue = broker.queue(name);
      await queue.send('x', { id: name });
      const m = await queue.receive();
      equal(m.id, name);
      await m.ack();
    }
    deepEqual(Object.keys((await broker.fetchStats()).queues).sort(), [...names].sort());
    broker.bind('é'.repeat(127), names[0]);
    equal((await broker.publish('é'.repeat(127), 1)).length, 1);
    await broker.close();
  },

  'purge removes ready and delayed messages, not in-flight ones': async ({ Broker }, { newBroker }) => {
    const broker = await newBroker();
    const queue = broker.queue('trash');
    await queue.send('held');
    const held = await queue.receive();
    await queue.send('ready');
    await queue.send('delayed', { delayMs: 60_000 });
    equal(await queue.purge(), 2);
    equal((await queue.fetchStats()).inFlight, 1);
    await held.ack();
    equal(await queue.receive(), null);
    await broker.close();
  },

  'stats count what happened and measure send-to-ack latency': async ({ Broker }, { newBroker }) => {
    const broker = await newBroker();
    const queue = broker.queue('measured');
    for (const n of [1, 2, 3]) await queue.send(n);
    await (await queue.receive()).ack();
    await (await queue.receive()).nack();
    const s = await queue.fetchStats();
    deepEqual([s.ready, s.inFlight, s.sent, s.acked, s.nacked, s.redelivered], [2, 0, 3, 1, 1, 1]);
    ok(s.throughputPerSec > 0, 'an ack in the last 10 s');
    ok(s.latencyMs.p50 >= 0 && s.latencyMs.p99 >= s.latencyMs.p50, 'percentiles are ordered');
    deepEqual(Object.keys((await broker.fetchStats()).queues), ['measured']);
    await broker.close();
  },

  'headers travel with the message; re-declaring with other options throws': async ({ Broker, FerryError }, { newBroker }) => {
    const broker = await newBroker();
    const queue = broker.queue('typed', { leaseMs: 5_000 });
    equal(broker.queue('typed', { leaseMs: 5_000 }), queue, 'same options: the same queue');
    equal(broker.queue('typed'), queue, 'no options: the declared queue');
    throws(() => broker.queue('typed', { leaseMs: 6_000 }), isCode(FerryError, 'INVALID_ARGUMENT'));
    await queue.send('x', { headers: { trace: 'abc' } });
    const message = await queue.receive();
    deepEqual(message.headers, { trace: 'abc' });
    await message.ack();
    await broker.close();
  },

  'a handler that throws is reported on error and the broker keeps working': async ({ Broker }, { newBroker }) => {
    const broker = await newBroker();
    const queue = broker.queue('careful', { maxDeliveries: 1, deadLetter: null });
    const error = next(broker, 'error');
    queue.consume(async (message) => {
      if (message.payload === 'bad') throw new TypeError('cannot handle');
    });
    await queue.send('bad', { id: 'b-1' });
    const e = await error;
    equal(e.error.message, 'cannot handle');
    equal(e.queue, 'careful');
    equal(e.id, 'b-1');
    const other = broker.queue('other');
    await other.send('fine');
    deepEqual(await drain(other), ['fine']);
    await broker.close();
  },

  'closing one broker leaves another untouched': async ({ Broker, FerryError }, { newBroker }) => {
    const a = await newBroker();
    const b = await newBroker();
    await a.queue('q').send('from a');
    await b.queue('q').send('from b');
    const fromA = await a.queue('q').receive();
    await a.close();
    await rejects(fromA.ack(), isCode(FerryError, 'CLOSED'));
    throws(() => a.stats(), isCode(FerryError, 'CLOSED'));
    deepEqual(await drain(b.queue('q')), ['from b']);
    await b.close();
  },

  'a handler may close the broker it runs in': async ({ Broker, FerryError }, { newBroker }) => {
    const broker = await newBroker();
    const queue = broker.queue('q');
    const closed = new Promise((resolve) => queue.consume(() => resolve(broker.close())));
    await queue.send('last');
    await closed;
    await rejects(queue.send('after'), isCode(FerryError, 'CLOSED'));
  },

  'a wait aborted or a consumer cancelled before delivery gives the message back uncounted': async ({ Broker }, { newBroker }) => {
    const broker = await newBroker();
    // One delivery allowed: counting an undelivered message would dead-letter it unseen.
    const queue = broker.queue('q', { maxDeliveries: 1, deadLetter: null });
    const controller = new AbortController();
    const waiting = rejects(queue.receive({ waitMs: 60_000, signal: controller.signal }), /aborted/);
    // In the same turn as the send: the core has delivered, the waiter not yet.
    const sentA = queue.send('a');
    controller.abort();
    await sentA;
    await waiting;
    const consumer = queue.consume(() => {}, { prefetch: 4, autoAck: false });
    const sentB = queue.send('b');
    const cancelled = consumer.cancel();
    await Promise.all([sentB, cancelled]);
    const back = [await queue.receive(), await queue.receive()];
    deepEqual(back.map((m) => [m.payload, m.deliveryCount, m.redelivered]), [['a', 1, false], ['b', 1, false]]);
    equal((await queue.fetchStats()).redelivered, 0);
    await broker.close();
  },

  'a consumer with a rate limit never gets more than max deliveries in any window': async ({ Broker }, { newBroker }) => {
    await withFakeClock(async (clock) => {
      const broker = await newBroker();
      const queue = broker.queue('metered');
      const limited = [];
      const other = [];
      queue.consume(() => { limited.push(Date.now()); }, { prefetch: 50, rateLimit: { max: 3, intervalMs: 1_000 } });
      await queue.sendBatch(Array.from({ length: 20 }, (_, n) => ({ payload: n })));
      await clock.advance(0);
      equal(limited.length, 3, 'a full window at once');
      for (let step = 0; step < 28; step++) await clock.advance(250);
      equal(limited.length, 20, 'all of them within 7 windows: the window reopens on time');
      for (let i = 3; i < limited.length; i++) ok(limited[i] - limited[i - 3] >= 1_000, `4 deliveries within a window: ${limited}`);
      // A second consumer on the queue is not held back by the first one's window.
      queue.consume(() => { other.push(Date.now()); }, { prefetch: 50 });
      const sentAt = Date.now();
      await queue.sendBatch(Array.from({ length: 10 }, (_, n) => ({ payload: n })));
      await clock.advance(0);
      ok(other.length >= 7, `the unlimited consumer takes what the limited one may not: ${other.length}`);
      ok(other.every((t) => t === sentAt), 'at once');
      await broker.close();
    });
  },

  'a handler past timeoutMs sees its signal abort with TIMEOUT; the message is redelivered and the late ack is harmless': async ({ Broker, FerryError }, { newBroker }) => {
    await withFakeClock(async (clock) => {
      const broker = await newBroker();
      const queue = broker.queue('slow', { backoff: { type: 'fixed', baseMs: 100 } });
      const errors = [];
      broker.on('error', (e) => errors.push(e));
      const seen = [];
      let finishFirst;
      queue.consume((message, { signal }) => {
        seen.push({ count: message.deliveryCount, signal, at: Date.now() });
        if (message.deliveryCount === 1) return new Promise((resolve) => { finishFirst = resolve; });
        return undefined;
      }, { timeoutMs: 500 });
      const id = await queue.send('work');
      await clock.advance(0);
      equal(seen.length, 1);
      await clock.advance(499);
      equal(seen[0].signal.aborted, false, 'in time so far');
      await clock.advance(1);
      equal(seen[0].signal.aborted, true);
      ok(isCode(FerryError, 'TIMEOUT')(seen[0].signal.reason), `aborted with TIMEOUT: ${seen[0].signal.reason}`);
      equal(errors.length, 1, 'reported once, as a failed handler');
      equal(errors[0].error, seen[0].signal.reason);
      deepEqual([errors[0].queue, errors[0].id], ['slow', id]);
      await clock.advance(99);
      equal(seen.length, 1, 'waits out the backoff');
      await clock.advance(1);
      deepEqual(seen.map((s) => s.count), [1, 2]);
      equal(seen[1].signal.aborted, false, 'each delivery has its own signal');
      // The first handler finishes late: its auto-ack finds the delivery gone, quietly.
      finishFirst();
      await clock.advance(0);
      equal(errors.length, 1, 'nothing more reported');
      const stats = await queue.fetchStats();
      deepEqual([stats.acked, stats.nacked, stats.ready, stats.inFlight], [1, 1, 0, 0]);
      await broker.close();
    });
  },

  'a handler that finishes after its timeout does not settle the delivery running in its place': async ({ Broker }, { newBroker }) => {
    await withFakeClock(async (clock) => {
      const broker = await newBroker();
      broker.on('error', () => {});
      const queue = broker.queue('slow', { backoff: { type: 'fixed', baseMs: 100 } });
      const finish = [];
      queue.consume(() => new Promise((resolve) => { finish.push(resolve); }), { timeoutMs: 500 });
      await queue.send('work');
      await clock.advance(500);
      await clock.advance(100);
      equal(finish.length, 2, 'timed out, then delivered again');
      finish[0]();
      await clock.advance(0);
      let stats = await queue.fetchStats();
      deepEqual([stats.acked, stats.inFlight], [0, 1], 'the late first run acks nothing');
      finish[1]();
      await clock.advance(0);
      stats = await queue.fetchStats();
      deepEqual([stats.acked, stats.inFlight], [1, 0], 'the second run acks its own delivery');
      await broker.close();
    });
  },

  'a late manual ack after a timeout rejects STALE_DELIVERY; a handler in time is not aborted': async ({ Broker, FerryError }, { newBroker }) => {
    await withFakeClock(async (clock) => {
      const broker = await newBroker();
      broker.on('error', () => {});
      const queue = broker.queue('manual');
      const held = [];
      queue.consume((message, context) => { held.push([message, context]); }, { timeoutMs: 50, autoAck: false, prefetch: 2 });
      await queue.send('late');
      await queue.send('prompt');
      await clock.advance(0);
      await held[1][0].ack();
      await clock.advance(50);
      equal(held[1][1].signal.aborted, false, 'settled in time');
      await rejects(held[0][0].ack(), isCode(FerryError, 'STALE_DELIVERY'));
      equal(held.at(-1)[0].deliveryCount, 2, 'redelivered');
      await broker.close();
    });
  },

  'a handler that cancels its own consumer is aborted, and its later success acks nothing': async ({ Broker, FerryError }, { newBroker, settled }) => {
    const broker = await newBroker();
    const errors = [];
    broker.on('error', (e) => errors.push(e));
    const queue = broker.queue('jobs');
    let signal;
    const consumer = queue.consume((m, context) => {
      signal = context.signal;
      void consumer.cancel();
      return Promise.resolve('done');
    });
    await queue.send('a');
    await settled();
    ok(isCode(FerryError, 'ABORTED')(signal?.reason), 'its signal aborted');
    const stats = await queue.fetchStats();
    deepEqual([stats.ready, stats.inFlight, stats.acked], [1, 0, 0], 'the message went back, unacked');
    deepEqual(errors, []);
    equal((await queue.receive()).payload, 'a');
    await broker.close();
  },

  'cancelling a consumer aborts the signals of the handlers it is running': async ({ Broker, FerryError }, { newBroker, settled }) => {
    const broker = await newBroker();
    const queue = broker.queue('jobs');
    const signals = [];
    const consumer = queue.consume((m, { signal }) => {
      signals.push(signal);
      return new Promise(() => {});
    });
    await queue.send('a');
    await settled();
    await consumer.cancel();
    ok(isCode(FerryError, 'ABORTED')(signals[0].reason), 'aborted by cancel()');
    const controller = new AbortController();
    queue.consume((m, { signal }) => {
      signals.push(signal);
      return new Promise(() => {});
    }, { signal: controller.signal });
    await settled();
    equal(signals.length, 2, 'the message came back to the second consumer');
    controller.abort('shutting down');
    ok(isCode(FerryError, 'ABORTED')(signals[1].reason), 'aborted by the consumer\'s signal');
    equal(signals[1].reason.cause, 'shutting down');
    queue.consume((m, { signal }) => {
      signals.push(signal);
      return new Promise(() => {});
    });
    await settled();
    await broker.close();
    ok(isCode(FerryError, 'CLOSED')(signals[2].reason), 'aborted by close()');
  },
};

/** Only in memory: a durable broker stores JSON values, so it keeps neither a Date nor a function. */
export const inMemory = {
  'payloads stay the same JS values, not copies': async ({ Broker }) => {
    const broker = new Broker();
    const queue = broker.queue('objects');
    const payload = { when: new Date(0), fn() {} };
    await queue.send(payload);
    const message = await queue.receive();
    equal(message.payload, payload);
    await broker.close();
  },
};
