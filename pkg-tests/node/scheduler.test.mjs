import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Scheduler } from 'ferrymq';

/** A promise with its resolve function, to finish tasks in a chosen order. */
function gate() {
  let open;
  const promise = new Promise((resolve) => (open = resolve));
  return { promise, open };
}

test('add resolves with the task result and rejects with its error', async () => {
  const scheduler = new Scheduler();
  assert.equal(await scheduler.add(async () => 42), 42);
  assert.equal(await scheduler.add(() => 'sync'), 'sync');
  const boom = new Error('boom');
  await assert.rejects(scheduler.add(async () => { throw boom; }), (e) => e === boom);
  await assert.rejects(scheduler.add(() => { throw boom; }), (e) => e === boom);
});

test('concurrency limits how many tasks run at once, in FIFO order', async () => {
  const scheduler = new Scheduler({ concurrency: 2 });
  const gates = [gate(), gate(), gate(), gate()];
  const started = [];
  let running = 0;
  let peak = 0;
  const results = gates.map((g, i) =>
    scheduler.add(async () => {
      started.push(i);
      peak = Math.max(peak, ++running);
      await g.promise;
      running--;
      return i;
    }),
  );
  assert.deepEqual(started, [0, 1]);
  assert.equal(scheduler.pending, 2);
  assert.equal(scheduler.size, 2);
  gates[1].open();
  await results[1];
  assert.deepEqual(started, [0, 1, 2]);
  gates[0].open();
  gates[2].open();
  gates[3].open();
  assert.deepEqual(await Promise.all(results), [0, 1, 2, 3]);
  assert.equal(peak, 2);
});

test('onIdle resolves once everything has finished', async () => {
  const scheduler = new Scheduler({ concurrency: 1 });
  await scheduler.onIdle();
  const finished = [];
  for (const n of [1, 2, 3]) scheduler.add(async () => { finished.push(n); });
  await scheduler.onIdle();
  assert.deepEqual(finished, [1, 2, 3]);
  assert.equal(scheduler.size + scheduler.pending, 0);
});

test('bad arguments are rejected by name', async () => {
  assert.throws(() => new Scheduler({ concurrency: 0 }), /options.concurrency/);
  assert.throws(() => new Scheduler({ concurrency: 1.5 }), RangeError);
  assert.throws(() => new Scheduler({ nope: 1 }), /options.nope/);
  const scheduler = new Scheduler();
  await assert.rejects(scheduler.add('not a function'), TypeError);
  assert.equal(await scheduler.add(() => 'still works'), 'still works');
});
