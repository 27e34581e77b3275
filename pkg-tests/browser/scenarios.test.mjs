// The Node scenarios again, in a page of headless Chromium.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { usePage } from './harness.mjs';

const SUITES = ['broker', 'bad-input', 'scheduler', 'durable', 'p-queue'];

const fixture = usePage([['/', '.']], '/browser/scenarios.html', 'body[data-ready]');

for (const suite of SUITES) {
  const { scenarios, differences } = await import(`../scenarios/${suite}.mjs`);
  for (const name of [...Object.keys(scenarios), ...Object.keys(differences ?? {})]) {
    test(`${suite} in Chromium: ${name}`, () =>
      fixture.page.evaluate(([s, n]) => window.runScenario(s, n), [suite, name]));
  }
}

test('no console errors while the scenarios ran', () => {
  assert.deepEqual(fixture.errors, []);
});
