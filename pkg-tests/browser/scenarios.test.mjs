// The Node scenarios again, in a page of headless Chromium.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { usePage } from './harness.mjs';

// [label, suite, its sets of scenarios, storage]: the broker scenarios run
// twice, in memory and on IndexedDB.
const RUNS = [
  ['broker', 'broker', ['scenarios', 'inMemory'], 'memory'],
  ['broker on IndexedDB', 'broker', ['scenarios'], 'durable'],
  ['bad-input', 'bad-input', ['scenarios'], 'memory'],
  ['scheduler', 'scheduler', ['scenarios'], 'memory'],
  ['durable', 'durable', ['scenarios'], 'memory'],
  ['p-queue', 'p-queue', ['scenarios', 'differences'], 'memory'],
];

const fixture = usePage([['/', '.']], '/browser/scenarios.html', 'body[data-ready]');

for (const [label, suite, sets, storage] of RUNS) {
  const module = await import(`../scenarios/${suite}.mjs`);
  for (const set of sets) {
    for (const name of Object.keys(module[set])) {
      test(`${label} in Chromium: ${name}`, () =>
        fixture.page.evaluate((args) => window.runScenario(...args), [suite, set, name, storage]));
    }
  }
}

test('no console errors while the scenarios ran', () => {
  assert.deepEqual(fixture.errors, []);
});
