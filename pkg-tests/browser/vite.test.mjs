import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { build } from 'vite';
import { serve } from '../../../scripts/serve.mjs';
import { launch, open } from './harness.mjs';

// Runs from the consumer project: Vite bundles vite/main.js, which imports
// the installed package by name.
let server;
let browser;

before(async () => {
  await build({ root: 'vite', logLevel: 'warn', build: { outDir: 'dist', emptyOutDir: true } });
  server = await serve([['/', 'vite/dist']]);
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await server?.close();
});

test('a Vite build of a page importing ferrymq works', async () => {
  const { page, errors } = await open(browser, server.url);
  await page.waitForSelector('body[data-result]', { state: 'attached' });
  assert.equal(await page.getAttribute('body', 'data-result'), 'through vite');
  assert.deepEqual(errors, []);
});
