import assert from 'node:assert/strict';
import { test } from 'node:test';
import { build } from 'vite';
import { open, useBrowser } from './harness.mjs';

// Runs from the consumer project: Vite bundles vite/main.js, which imports
// the installed package by name.
const fixture = useBrowser([['/', 'vite/dist']], {
  setup: () => build({ root: 'vite', logLevel: 'warn', build: { outDir: 'dist', emptyOutDir: true } }),
});

test('a Vite build of a page importing ferrymq works', async () => {
  const { page, errors } = await open(fixture.browser, fixture.server.url);
  await page.waitForSelector('body[data-result]', { state: 'attached' });
  assert.equal(await page.getAttribute('body', 'data-result'), 'through vite');
  assert.deepEqual(errors, []);
});
