import assert from 'node:assert/strict';
import { test } from 'node:test';
import { usePage } from './harness.mjs';

// Runs from the consumer project the package was installed into.
const fixture = usePage([['/', '.']], '/browser/slice.html', 'body[data-ready="function"]');

test('the package works in a module Web Worker, durable storage included', async () => {
  const outcome = await fixture.page.evaluate(
    (name) =>
      new Promise((resolve) => {
        const worker = new Worker(`/browser/worker.js?db=${name}`, { type: 'module' });
        worker.onmessage = (event) => resolve(event.data);
        worker.onerror = (event) => resolve({ error: event.message });
      }),
    `worker-${Date.now()}`,
  );
  assert.deepEqual(outcome, { result: { payload: { from: 'worker' }, results: [10, 20, 30], kept: 'across opens' } });
  assert.deepEqual(fixture.errors, []);
});
