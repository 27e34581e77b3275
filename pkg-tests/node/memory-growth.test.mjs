// The wasm instance's memory grows while a handler runs: every view of the
// old memory is detached then, so the broker must not read the batch of
// effects it is dispatching through one. In a process of its own, so the
// instance starts small and the growth is certain.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Broker } from 'ferrymq';

test('a handler that grows the wasm memory mid-batch leaves the rest of the batch intact', async () => {
  const broker = new Broker();
  const queue = broker.queue('batch');
  const side = broker.queue('side');
  for (let i = 0; i < 8; i++) queue.send({ i });
  const seen = [];
  await new Promise((resolve) => {
    queue.consume((m) => {
      if (m.payload.i === 0) {
        // Tens of megabytes of ids: far more than a fresh instance holds.
        const pad = 'x'.repeat(240);
        for (let k = 0; k < 100_000; k++) side.send(k, { id: `${pad}${k}` });
      }
      seen.push(m.payload.i);
      if (seen.length === 8) resolve();
    }, { prefetch: 8 });
  });
  assert.deepEqual(seen, [0, 1, 2, 3, 4, 5, 6, 7]);
  assert.equal(side.stats().ready, 100_000);
  await broker.close();
});
