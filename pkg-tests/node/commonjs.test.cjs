// The same package through require(), and one class shared with import.
const assert = require('node:assert/strict');
const { test } = require('node:test');
const ferrymq = require('ferrymq');

test('require gives a working Broker and Scheduler', async () => {
  const broker = new ferrymq.Broker();
  const queue = broker.queue('cjs');
  await queue.send('from cjs');
  const message = await queue.receive();
  assert.equal(message.payload, 'from cjs');
  await message.ack();
  await broker.close();
  assert.equal(await new ferrymq.Scheduler({ concurrency: 1 }).add(() => 7), 7);
});

test('require and import load one instance', async () => {
  const esm = await import('ferrymq');
  assert.equal(esm.FerryError, ferrymq.FerryError);
  assert.equal(esm.Broker, ferrymq.Broker);
});

test('require("ferrymq/p-queue").default is the PQueue that import gives, on the same instance', async () => {
  const { default: PQueue, TimeoutError } = require('ferrymq/p-queue');
  const esm = await import('ferrymq/p-queue');
  assert.equal(esm.default, PQueue);
  assert.equal(esm.TimeoutError, TimeoutError);
  const queue = new PQueue({ concurrency: 1 });
  assert.equal(await queue.add(() => 'from cjs'), 'from cjs');
  // Its cleared tasks reject with the FerryError class the main entry exports.
  const held = queue.add(() => new Promise(() => {}));
  const cleared = queue.add(() => 'never');
  queue.clear();
  await assert.rejects(cleared, (e) => e instanceof ferrymq.FerryError && e.code === 'CLEARED');
  void held;
});
