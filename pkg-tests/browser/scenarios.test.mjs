// The Node scenarios again, in a page of headless Chromium.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { usePage } from './harness.mjs';

const SUITES = ['broker', 'bad-input', 'scheduler', 'durable'];

const fixture = usePage([['/', '.']], '/browser/scenarios.html', 'body[data-ready]');

for (const suite of SUITES) {
  const { scenarios } = await import(`../scenarios/${suite}.mjs`);
  for (const name of Object.keys(scenarios)) {
    test(`${suite} in Chromium: ${name}`, () =>
      fixture.page.evaluate(([s, n]) => window.runScenario(s, n), [suite, name]));
  }
}

test('no console errors while the scenarios ran', () => {
  assert.deepEqual(fixture.errors, []);
});
