import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { serve } from '../../../scripts/serve.mjs';
import { launch, open } from './harness.mjs';

// Runs from the consumer project the package was installed into.
let server;
let browser;
let page;
let errors;

before(async () => {
  server = await serve([['/', '.']]);
  browser = await launch();
  ({ page, errors } = await open(browser, `${server.url}/browser/slice.html`));
  await page.waitForSelector('body[data-ready="function"]', { state: 'attached' });
});

after(async () => {
  await browser?.close();
  await server?.close();
});

test('the package loads in a page with no bundler and no init()', async () => {
  const names = await page.evaluate(() => Object.keys(window.ferrymq).sort());
  for (const name of ['Broker', 'FerryError', 'Scheduler']) assert.ok(names.includes(name), name);
});

test('send, receive and ack work in the page', async () => {
  const result = await page.evaluate(async () => {
    const { Broker } = window.ferrymq;
    const broker = new Broker();
    const queue = broker.queue('in-browser');
    await queue.send({ n: 1 });
    await queue.send({ n: 2 });
    const first = await queue.receive();
    await first.ack();
    const second = await queue.receive();
    await second.ack();
    const empty = await queue.receive();
    await broker.close();
    return { first: first.payload.n, second: second.payload.n, empty };
  });
  assert.deepEqual(result, { first: 1, second: 2, empty: null });
});

test('an unacked message returns after its lease in the page', async () => {
  const redelivered = await page.evaluate(async () => {
    const broker = new window.ferrymq.Broker();
    const queue = broker.queue('leased', { leaseMs: 20 });
    await queue.send('work');
    await queue.receive();
    const again = await queue.receive({ waitMs: 5000 });
    await again.ack();
    await broker.close();
    return { payload: again.payload, redelivered: again.redelivered };
  });
  assert.deepEqual(redelivered, { payload: 'work', redelivered: true });
});

test('errors are FerryErrors with codes in the page', async () => {
  const code = await page.evaluate(async () => {
    const { Broker, FerryError } = window.ferrymq;
    const broker = new Broker();
    const queue = broker.queue('q');
    await queue.send('x');
    const message = await queue.receive();
    await message.ack();
    try {
      await message.ack();
      return 'no error';
    } catch (e) {
      return e instanceof FerryError ? e.code : String(e);
    }
  });
  assert.equal(code, 'STALE_DELIVERY');
});

test('the scheduler runs tasks under its limit in the page', async () => {
  const result = await page.evaluate(async () => {
    const scheduler = new window.ferrymq.Scheduler({ concurrency: 2 });
    let running = 0;
    let peak = 0;
    const tasks = Array.from({ length: 10 }, (_, i) =>
      scheduler.add(async () => {
        peak = Math.max(peak, ++running);
        await new Promise((r) => setTimeout(r, 1));
        running--;
        return i;
      }),
    );
    const values = await Promise.all(tasks);
    await scheduler.onIdle();
    return { values, peak };
  });
  assert.deepEqual(result, { values: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], peak: 2 });
});

test('no console errors', () => {
  assert.deepEqual(errors, []);
});
