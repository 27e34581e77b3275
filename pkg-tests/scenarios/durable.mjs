// Durable-broker scenarios, run in Node (files) and in Chromium (IndexedDB):
// `env.newStorage()` gives a fresh storage option each time.
import { deepEqual, equal, ok, rejects, throws } from './assert.mjs';

const isCode = (FerryError, code) => (e) => e instanceof FerryError && e.code === code;

/** Receives everything ready on `queue` and acks it; resolves with the messages. */
async function drain(queue) {
  const messages = [];
  for (let m = await queue.receive(); m !== null; m = await queue.receive()) {
    messages.push(m);
    await m.ack();
  }
  return messages;
}

export const scenarios = {
  'accepted messages survive closing and reopening, in order, with headers and binary payloads': async (
    { Broker },
    { newStorage },
  ) => {
    const storage = newStorage();
    let broker = await Broker.open({ storage });
    const jobs = broker.queue('jobs');
    await jobs.send({ n: 1 }, { headers: { trace: 't-1' } });
    await jobs.send({ n: 2 }, { priority: 7 });
    await jobs.send(new Uint8Array([1, 2, 3]), { id: 'bytes' });
    await jobs.sendBatch([{ payload: 'a' }, { payload: ['b', { c: null }] }]);
    await broker.close();

    broker = await Broker.open({ storage });
    equal(broker.recovery.corrupt, undefined);
    const messages = await drain(broker.queue('jobs'));
    deepEqual(messages.map((m) => m.payload), [{ n: 2 }, { n: 1 }, new Uint8Array([1, 2, 3]), 'a', ['b', { c: null }]]);
    equal(messages[2].id, 'bytes');
    deepEqual(messages[1].headers, { trace: 't-1' });
    await broker.close();
  },

  'acked messages never come back; unacked deliveries return as redeliveries': async ({ Broker }, { newStorage }) => {
    const storage = newStorage();
    let broker = await Broker.open({ storage });
    const work = broker.queue('work', { leaseMs: 60_000 });
    for (const n of [1, 2, 3]) await work.send(n);
    await (await work.receive()).ack();
    const held = await work.receive();
    equal(held.payload, 2);
    await broker.close();

    broker = await Broker.open({ storage });
    const messages = await drain(broker.queue('work'));
    deepEqual(messages.map((m) => [m.payload, m.deliveryCount, m.redelivered]), [[2, 2, true], [3, 1, false]]);
    await broker.close();
    broker = await Broker.open({ storage });
    deepEqual(await drain(broker.queue('work')), [], 'the acks were persisted too');
    await broker.close();
  },

  'queue options, delays, dedup windows, dead letters and bindings are restored': async (
    { Broker, FerryError },
    { newStorage },
  ) => {
    const storage = newStorage();
    let broker = await Broker.open({ storage });
    const orders = broker.queue('orders', { maxDeliveries: 2, dedupWindowMs: 60_000 });
    await orders.send('later', { delayMs: 60_000 });
    await orders.send('once', { id: 'o-1' });
    await orders.send('reject me');
    broker.bind('orders.#', 'orders');
    const [first] = await orders.receiveBatch(1);
    equal(first.payload, 'once');
    await first.ack();
    await (await orders.receive()).nack({ requeue: false });
    await broker.close();

    broker = await Broker.open({ storage });
    const reopened = broker.queue('orders');
    equal(reopened.stats().delayed, 1, 'still delayed');
    equal(await reopened.receive(), null);
    equal(await reopened.send('once', { id: 'o-1' }), 'o-1');
    equal(reopened.stats().ready, 0, 'the dedup window survived: not enqueued again');
    deepEqual((await drain(broker.queue('orders.dlq'))).map((m) => m.payload), ['reject me']);
    equal((await broker.publish('orders.new', 'routed')).length, 1, 'the binding survived');
    throws(() => broker.queue('orders', { maxDeliveries: 3 }), isCode(FerryError, 'INVALID_ARGUMENT'));
    await broker.close();
  },

  'declarations, bindings and unbindings reach the log with no later write': async (
    { Broker, FerryError },
    { newStorage },
  ) => {
    const storage = newStorage();
    let broker = await Broker.open({ storage });
    broker.queue('orders', { maxDeliveries: 4 });
    broker.bind('orders.#', 'orders');
    broker.bind('old.#', 'orders');
    await broker.close();

    broker = await Broker.open({ storage });
    ok('orders' in broker.stats().queues, 'the queue was declared');
    throws(() => broker.queue('orders', { maxDeliveries: 5 }), isCode(FerryError, 'INVALID_ARGUMENT'), 'its options were kept');
    equal((await broker.publish('orders.new', 'routed')).length, 1, 'the binding was kept');
    broker.unbind('old.#', 'orders');
    await broker.close();

    broker = await Broker.open({ storage });
    deepEqual(await broker.publish('old.x', 'nowhere'), [], 'the unbinding was kept');
    equal(broker.queue('orders').stats().ready, 1);
    await broker.close();
  },

  'payloads that would not come back equal are refused, and the broker carries on': async (
    { Broker, FerryError },
    { newStorage },
  ) => {
    const storage = newStorage();
    let broker = await Broker.open({ storage });
    const queue = broker.queue('exact');
    const extra = [1, 2];
    extra.note = 'dropped by JSON';
    class Bytes extends Uint8Array {}
    const bad = [-0, { n: -0 }, extra, [1, , 3], { [Symbol('s')]: 1 }, new Bytes([1]), Object.assign(Object.create(Array.prototype), { length: 0 })];
    if (typeof Buffer === 'function') bad.push(Buffer.from([1, 2]));
    for (const payload of bad) {
      await rejects(queue.send(payload), isCode(FerryError, 'NOT_SERIALIZABLE'), `refused: ${String(payload)}`);
    }
    await queue.send({ n: 0, list: [1, 2], text: 'lone \uD800 surrogate kept' });
    await broker.close();
    broker = await Broker.open({ storage });
    deepEqual((await drain(broker.queue('exact'))).map((m) => m.payload), [{ n: 0, list: [1, 2], text: 'lone \uD800 surrogate kept' }]);
    await broker.close();
  },

  'a payload too large for one log record is refused up front; a send in the same tick is unaffected': async (
    { Broker },
    { newStorage },
  ) => {
    const storage = newStorage();
    let broker = await Broker.open({ storage });
    const queue = broker.queue('big');
    const huge = new Uint8Array(64 * 1024 * 1024);
    const refused = queue.send(huge);
    const innocent = queue.send('small');
    await rejects(refused, (e) => e instanceof RangeError && e.code === 'INVALID_ARGUMENT' && e.message.includes('payload'));
    ok(typeof (await innocent) === 'string');
    await queue.send('after');
    await broker.close();
    broker = await Broker.open({ storage });
    deepEqual((await drain(broker.queue('big'))).map((m) => m.payload), ['small', 'after']);
    await broker.close();
  },

  'options spelled out as their defaults re-declare the same queue': async ({ Broker }, { newStorage }) => {
    const broker = await Broker.open({ storage: newStorage() });
    const first = broker.queue('p', { durable: true });
    equal(broker.queue('p', {}), first);
    equal(broker.queue('p'), first);
    equal(broker.queue('q', {}), broker.queue('q', { durable: true }));
    await broker.close();
  },

  'a durable: false queue keeps its messages in memory only; dead letters cross both ways': async (
    { Broker },
    { newStorage },
  ) => {
    const storage = newStorage();
    let broker = await Broker.open({ storage });
    const keep = broker.queue('keep', { deadLetter: 'scratch' });
    const scratch = broker.queue('scratch', { durable: false, deadLetter: 'archive' });
    broker.queue('archive');
    await scratch.send('to archive');
    await scratch.send('stays in memory');
    await (await scratch.receive()).nack({ requeue: false });
    await keep.send('to scratch');
    await (await keep.receive()).nack({ requeue: false });
    await keep.send('kept');
    equal(scratch.stats().ready, 2, 'in memory: its own message and the dead letter from keep');
    await broker.close();

    broker = await Broker.open({ storage });
    equal(broker.queue('scratch').stats().ready, 0, 'memory-only: gone after a restart, the queue itself is still there');
    deepEqual((await drain(broker.queue('keep'))).map((m) => m.payload), ['kept']);
    deepEqual((await drain(broker.queue('archive'))).map((m) => m.payload), ['to archive'], 'arrived whole in a durable queue');
    equal(broker.queue('scratch', { durable: false, deadLetter: 'archive' }), broker.queue('scratch'));
    await broker.close();
  },

  'payloads that cannot be stored are refused with NOT_SERIALIZABLE and nothing is lost': async (
    { Broker, FerryError },
    { newStorage },
  ) => {
    const storage = newStorage();
    const broker = await Broker.open({ storage });
    const queue = broker.queue('strict');
    await queue.send({ kept: true });
    const cyclic = {};
    cyclic.self = cyclic;
    const bad = [() => 1, undefined, Symbol('s'), 10n, NaN, Infinity, new Date(0), new Map(), cyclic, { nested: [1, undefined] }, { f() {} }];
    for (const payload of bad) await rejects(queue.send(payload), isCode(FerryError, 'NOT_SERIALIZABLE'), String(payload));
    await rejects(queue.sendBatch([{ payload: 'fine' }, { payload: new Set() }]), isCode(FerryError, 'NOT_SERIALIZABLE'));
    await rejects(broker.publish('x', () => 0), isCode(FerryError, 'NOT_SERIALIZABLE'));
    deepEqual((await drain(queue)).map((m) => m.payload), [{ kept: true }]);
    await broker.close();
  },

  'an exclusive broker cannot open the same storage until the first closes': async ({ Broker, FerryError }, { newStorage }) => {
    const storage = newStorage();
    const first = await Broker.open({ storage });
    // (Files are always exclusive; IndexedDB is shared unless asked.)
    await rejects(Broker.open({ storage, exclusive: true }), isCode(FerryError, 'STORAGE'));
    await first.queue('q').send('still fine');
    await first.close();
    const second = await Broker.open({ storage });
    deepEqual((await drain(second.queue('q'))).map((m) => m.payload), ['still fine']);
    await second.close();
  },

  'storage options are checked': async ({ Broker }, { newStorage }) => {
    const kind = newStorage();
    await rejects(Broker.open({ storage: { nowhere: 'x' } }), TypeError);
    await rejects(Broker.open({ storage: { ...kind, extra: 'x' } }), TypeError);
    await rejects(Broker.open({ storage: 42 }), TypeError);
    let threw = false;
    try {
      new Broker({ storage: kind });
    } catch (error) {
      threw = error instanceof TypeError;
    }
    ok(threw, 'the constructor points durable storage to Broker.open');
    const memory = await Broker.open({ storage: 'memory' });
    await memory.queue('m').send(() => 'functions are fine in memory');
    await memory.close();
  },

  'a consumer cancelled while its deliveries are being written gives them back uncounted': async (
    { Broker },
    { newStorage },
  ) => {
    const broker = await Broker.open({ storage: newStorage() });
    const queue = broker.queue('q', { maxDeliveries: 1, deadLetter: null });
    const seen = [];
    const consumer = queue.consume((m) => seen.push(m.payload), { prefetch: 4, autoAck: false });
    const sent = queue.send('a');
    // Let the flush drain the delivery into a commit; its write takes longer
    // than these microtasks, so the consumer has not been handed it yet.
    await null;
    await null;
    await consumer.cancel();
    await sent;
    deepEqual(seen, [], 'never reached the handler');
    const back = await queue.receive({ waitMs: 10_000 });
    deepEqual([back?.payload, back?.deliveryCount, back?.redelivered], ['a', 1, false]);
    await back.ack();
    await broker.close();
  },

  'a handler timeout on a durable broker redelivers the message, and the redelivery is kept': async (
    { Broker, FerryError },
    { newStorage },
  ) => {
    const storage = newStorage();
    let broker = await Broker.open({ storage });
    broker.on('error', () => {});
    const work = broker.queue('work');
    const signals = [];
    const second = new Promise((resolve) => {
      work.consume((message, { signal }) => {
        signals.push(signal);
        // The first delivery hangs until its timeout; the second succeeds.
        if (message.deliveryCount === 1) return new Promise(() => {});
        resolve(message);
        return undefined;
      }, { timeoutMs: 20 });
    });
    await work.send('job');
    const again = await second;
    deepEqual([again.payload, again.deliveryCount, again.redelivered], ['job', 2, true]);
    ok(isCode(FerryError, 'TIMEOUT')(signals[0].reason), 'the first handler was told it timed out');
    await broker.close();
    broker = await Broker.open({ storage });
    const stats = broker.queue('work').stats();
    deepEqual([stats.ready, stats.inFlight, stats.acked, stats.nacked], [0, 0, 1, 1], 'the timeout and the ack were logged');
    await broker.close();
  },
};
