// Broker scenarios: each runs against the ferrymq module it is given, in
// Node (node/broker.test.mjs) and in Chromium (browser/scenarios.test.mjs).
import { deepEqual, equal, rejects, throws } from './assert.mjs';

export const scenarios = {
  'messages come out in the order they were sent': async ({ Broker }) => {
    const broker = new Broker();
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

  'payloads stay the same JS values, not copies': async ({ Broker }) => {
    const broker = new Broker();
    const queue = broker.queue('objects');
    const payload = { when: new Date(0), fn() {} };
    await queue.send(payload);
    const message = await queue.receive();
    equal(message.payload, payload);
    await broker.close();
  },

  'an acked message is gone; acking it again is a STALE_DELIVERY': async ({ Broker, FerryError }) => {
    const broker = new Broker();
    const queue = broker.queue('once');
    await queue.send('x');
    const message = await queue.receive();
    await message.ack();
    await rejects(message.ack(), (e) => e instanceof FerryError && e.code === 'STALE_DELIVERY');
    equal(await queue.receive(), null);
    await broker.close();
  },

  'an unacked message comes back after its lease, marked redelivered': async ({ Broker }) => {
    const broker = new Broker();
    const queue = broker.queue('leased', { leaseMs: 20 });
    await queue.send('work');
    const first = await queue.receive();
    equal(await queue.receive(), null, 'leased message is invisible');
    const again = await queue.receive({ waitMs: 5000 });
    equal(again.payload, 'work');
    equal(again.redelivered, true);
    equal(again.deliveryCount, 2);
    await rejects(first.ack(), { code: 'STALE_DELIVERY' });
    await again.ack();
    await broker.close();
  },

  'receive with waitMs resolves as soon as a message is sent': async ({ Broker }) => {
    const broker = new Broker();
    const queue = broker.queue('waiting');
    const pending = queue.receive({ waitMs: 60_000 });
    await queue.send('hello');
    const message = await pending;
    equal(message.payload, 'hello');
    await message.ack();
    await broker.close();
  },

  'a consumer gets every message and a handler may send re-entrantly': async ({ Broker }) => {
    const broker = new Broker();
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

  'bad arguments throw errors that name them, and the broker keeps working': async ({ Broker }) => {
    const broker = new Broker();
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

  'after close every call rejects with CLOSED': async ({ Broker, FerryError }) => {
    const broker = new Broker();
    const queue = broker.queue('q');
    const waiting = queue.receive({ waitMs: 60_000 });
    await broker.close();
    await rejects(waiting, { code: 'CLOSED' });
    await rejects(queue.send('x'), (e) => e instanceof FerryError && e.code === 'CLOSED');
    await rejects(queue.receive(), { code: 'CLOSED' });
    throws(() => broker.queue('other'), { code: 'CLOSED' });
  },
};
