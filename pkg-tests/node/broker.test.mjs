import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Broker, FerryError } from 'ferrymq';

test('messages come out in the order they were sent', async () => {
  const broker = new Broker();
  const queue = broker.queue('orders');
  const ids = [];
  for (const n of [1, 2, 3]) ids.push(await queue.send({ n }));
  assert.equal(new Set(ids).size, 3, 'each send gets its own id');
  for (const [i, n] of [1, 2, 3].entries()) {
    const message = await queue.receive();
    assert.deepEqual(message.payload, { n });
    assert.equal(message.id, ids[i]);
    assert.equal(message.deliveryCount, 1);
    assert.equal(message.redelivered, false);
    await message.ack();
  }
  assert.equal(await queue.receive(), null);
  await broker.close();
});

test('payloads stay the same JS values, not copies', async () => {
  const broker = new Broker();
  const queue = broker.queue('objects');
  const payload = { when: new Date(0), fn() {} };
  await queue.send(payload);
  const message = await queue.receive();
  assert.equal(message.payload, payload);
  await broker.close();
});

test('an acked message is gone; acking it again is a STALE_DELIVERY', async () => {
  const broker = new Broker();
  const queue = broker.queue('once');
  await queue.send('x');
  const message = await queue.receive();
  await message.ack();
  await assert.rejects(message.ack(), (e) => e instanceof FerryError && e.code === 'STALE_DELIVERY');
  assert.equal(await queue.receive(), null);
  await broker.close();
});

test('an unacked message comes back after its lease, marked redelivered', async () => {
  const broker = new Broker();
  const queue = broker.queue('leased', { leaseMs: 20 });
  await queue.send('work');
  const first = await queue.receive();
  assert.equal(await queue.receive(), null, 'leased message is invisible');
  const again = await queue.receive({ waitMs: 5000 });
  assert.equal(again.payload, 'work');
  assert.equal(again.redelivered, true);
  assert.equal(again.deliveryCount, 2);
  await assert.rejects(first.ack(), { code: 'STALE_DELIVERY' });
  await again.ack();
  await broker.close();
});

test('receive with waitMs resolves as soon as a message is sent', async () => {
  const broker = new Broker();
  const queue = broker.queue('waiting');
  const pending = queue.receive({ waitMs: 60_000 });
  await queue.send('hello');
  const message = await pending;
  assert.equal(message.payload, 'hello');
  await message.ack();
  await broker.close();
});

test('a consumer gets every message and a handler may send re-entrantly', async () => {
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
  assert.deepEqual(seen, [1, 2, 3, 4, 5]);
  await broker.close();
});

test('bad arguments throw errors that name them, and the broker keeps working', async () => {
  const broker = new Broker();
  const queue = broker.queue('strict');
  assert.throws(() => broker.queue(''), RangeError);
  assert.throws(() => broker.queue(42), /name must be a string/);
  await assert.rejects(queue.send('x', { priority: 10 }), /options.priority/);
  await assert.rejects(queue.send('x', { delayMs: -1 }), RangeError);
  await assert.rejects(queue.send('x', { delayMs: NaN }), RangeError);
  await assert.rejects(queue.send('x', { colour: 'red' }), /options.colour/);
  await assert.rejects(queue.receive({ waitMs: Infinity }), RangeError);
  assert.equal(await queue.receive(), null, 'nothing was enqueued by the bad calls');
  await queue.send('ok');
  const message = await queue.receive();
  assert.equal(message.payload, 'ok');
  await message.ack();
  await broker.close();
});

test('after close every call rejects with CLOSED', async () => {
  const broker = new Broker();
  const queue = broker.queue('q');
  const waiting = queue.receive({ waitMs: 60_000 });
  await broker.close();
  await assert.rejects(waiting, { code: 'CLOSED' });
  await assert.rejects(queue.send('x'), (e) => e instanceof FerryError && e.code === 'CLOSED');
  await assert.rejects(queue.receive(), { code: 'CLOSED' });
  assert.throws(() => broker.queue('other'), { code: 'CLOSED' });
});
