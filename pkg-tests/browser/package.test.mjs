import assert from 'node:assert/strict';
import { test } from 'node:test';
import { usePage } from './harness.mjs';

// Runs from the consumer project the package was installed into.
const fixture = usePage([['/', '.']], '/browser/slice.html', 'body[data-ready="function"]');

test('the package loads in a page with no bundler and no init()', async () => {
  const names = await fixture.page.evaluate(() => Object.keys(window.ferrymq).sort());
  for (const name of ['Broker', 'FerryError', 'Scheduler']) assert.ok(names.includes(name), name);
});

test('a page downloads no Redis client, and asking for Redis says why it cannot', async () => {
  const { exports, ioredis, refused } = await fixture.page.evaluate(async () => {
    const wasm = await WebAssembly.compileStreaming(fetch('/node_modules/ferrymq/dist/ferrymq_bg.wasm'));
    const text = await (await fetch('/node_modules/ferrymq/dist/browser.js')).text();
    const error = await window.ferrymq.Broker.open({ storage: { redis: 'redis://127.0.0.1:1' } }).catch((e) => e);
    return {
      exports: WebAssembly.Module.exports(wasm).map((e) => e.name),
      ioredis: text.includes('ioredis'),
      refused: [error.name, error.message],
    };
  });
  assert.ok(exports.some((name) => name.startsWith('brokercore_')), 'the broker is there');
  assert.ok(exports.some((name) => name.startsWith('remotecore_')), "a shared broker's followers run RemoteCore");
  assert.equal(ioredis, false, 'the Redis client is never in the browser bundle');
  assert.equal(refused[0], 'TypeError');
  assert.match(refused[1], /is for Node/, 'asking for Redis in a page says why it cannot');
});

test('no console errors', () => {
  assert.deepEqual(fixture.errors, []);
});
