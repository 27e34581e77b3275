import assert from 'node:assert/strict';
import { test } from 'node:test';
import { usePage } from './harness.mjs';

// Runs from the consumer project the package was installed into.
const fixture = usePage([['/', '.']], '/browser/slice.html', 'body[data-ready="function"]');

test('the package loads in a page with no bundler and no init()', async () => {
  const names = await fixture.page.evaluate(() => Object.keys(window.ferrymq).sort());
  for (const name of ['Broker', 'FerryError', 'Scheduler']) assert.ok(names.includes(name), name);
});

test('no console errors', () => {
  assert.deepEqual(fixture.errors, []);
});
