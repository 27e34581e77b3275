// examples/offline-outbox in Chromium: orders placed while the server is
// unreachable are kept across a reload and all arrive, once each, when it
// is back. The server is a route of this test: down (the request fails as
// offline) or up (it records the order and answers 201).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { useBrowser } from './harness.mjs';

const fixture = useBrowser([['/', '.']]);

test('offline outbox: orders placed offline survive a reload and arrive once each when the server is back', async () => {
  const page = await fixture.browser.newPage();
  const errors = [];
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  page.on('pageerror', (e) => errors.push(String(e)));
  let up = false;
  const received = [];
  await page.route('**/api/orders', async (route) => {
    if (!up) return route.abort('internetdisconnected');
    received.push({ order: JSON.parse(route.request().postData()), key: route.request().headers()['idempotency-key'] });
    return route.fulfill({ status: 201, body: '' });
  });
  const ready = () => page.waitForSelector('body[data-ready="true"]', { state: 'attached' });
  await page.goto(`${fixture.server.url}/examples/offline-outbox/`);
  await ready();
  for (const item of ['teapot', 'kettle', 'cups']) await page.evaluate((i) => window.outbox.placeOrder({ item: i }), item);
  await page.waitForFunction(() => document.querySelector('#failure').textContent !== 'none');
  assert.equal(received.length, 0);

  await page.reload();
  await ready();
  up = true;
  await page.waitForFunction(() => document.querySelector('#pending').textContent === '0', undefined, { timeout: 30_000 });
  assert.deepEqual(received.map((r) => r.order.item).sort(), ['cups', 'kettle', 'teapot']);
  assert.equal(new Set(received.map((r) => r.key)).size, 3, 'each with its own idempotency key');
  // Only the browser's own report of each failed request reaches the console.
  assert.deepEqual(errors.filter((e) => !e.includes('ERR_INTERNET_DISCONNECTED')), []);
  await page.close();
});
