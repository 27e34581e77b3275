// Durable brokers on IndexedDB across what ends a page: a reload in the
// middle of a stream of sends, and a tab closed with deliveries unacked.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { packagePage, useBrowser } from './harness.mjs';

// Runs from the consumer project the package was installed into.
const fixture = useBrowser([['/', '.']]);

/** In the page: opens the broker on `name`, receives and acks everything in `queue`; returns [id, redelivered, deliveryCount] each. */
const drainIn = (page, name, queue) =>
  page.evaluate(
    async ([name, queue]) => {
      const broker = await window.ferrymq.Broker.open({ storage: { indexedDb: name } });
      const q = broker.queue(queue);
      const seen = [];
      for (let m = await q.receive(); m !== null; m = await q.receive()) {
        seen.push([m.id, m.redelivered, m.deliveryCount]);
        await m.ack();
      }
      await broker.close();
      return seen;
    },
    [name, queue],
  );

test('every message accepted before a reload mid-stream is there after it', async () => {
  const context = await fixture.browser.newContext();
  const errors = [];
  const page = await packagePage(fixture, context, errors);
  const name = `reload-${Date.now()}`;
  const accepted = [];
  let enough;
  const twenty = new Promise((resolve) => (enough = resolve));
  await page.exposeFunction('reportAccepted', (id) => {
    accepted.push(id);
    if (accepted.length === 20) enough();
  });
  await page.evaluate(async (name) => {
    const broker = await window.ferrymq.Broker.open({ storage: { indexedDb: name } });
    const queue = broker.queue('stream');
    // Not awaited: it is still sending when the page reloads.
    (async () => {
      for (let i = 0; ; i++) window.reportAccepted(await queue.send({ i }, { id: `m${i}` }));
    })();
  }, name);
  await twenty;
  await page.reload();
  await page.waitForSelector('body[data-ready="function"]', { state: 'attached' });
  const reported = [...accepted];
  const found = new Set((await drainIn(page, name, 'stream')).map(([id]) => id));
  for (const id of reported) assert.ok(found.has(id), `accepted ${id} survived the reload`);
  assert.deepEqual(errors, []);
  await context.close();
});

test('closing a tab with unacked deliveries redelivers them in the next one', async () => {
  const context = await fixture.browser.newContext();
  const errors = [];
  const name = `tabs-${Date.now()}`;
  const first = await packagePage(fixture, context, errors);
  const held = await first.evaluate(async (name) => {
    const broker = await window.ferrymq.Broker.open({ storage: { indexedDb: name } });
    const queue = broker.queue('work', { leaseMs: 600_000 });
    for (const n of [1, 2, 3]) await queue.send(n, { id: `w${n}` });
    const a = await queue.receive();
    const b = await queue.receive();
    return [a.id, b.id];
  }, name);
  assert.deepEqual(held, ['w1', 'w2']);
  await first.close();

  const second = await packagePage(fixture, context, errors);
  assert.deepEqual(await drainIn(second, name, 'work'), [
    ['w1', true, 2],
    ['w2', true, 2],
    ['w3', false, 1],
  ]);
  assert.deepEqual(errors, []);
  await context.close();
});

/** Opens a broker on `name` under a 200 kB quota; sends a small message, then 1 MiB and another together, then one more. */
async function overQuota(name, exclusive) {
  const context = await fixture.browser.newContext();
  const errors = [];
  const page = await packagePage(fixture, context, errors);
  // A real QuotaExceededError: room for the log and a small message, not for 1 MiB.
  // Chromium applies it to IndexedDB connections opened after it.
  const cdp = await context.newCDPSession(page);
  const origin = fixture.server.url;
  await cdp.send('Storage.overrideQuotaForOrigin', { origin, quotaSize: 200_000 });
  const outcome = await page.evaluate(
    async ([name, exclusive]) => {
      const broker = await window.ferrymq.Broker.open({ storage: { indexedDb: name }, exclusive });
      const events = [];
      broker.on('error', (e) => events.push(e.error.code));
      const queue = broker.queue('q');
      const settle = (send) => send.then(() => 'accepted', (e) => e.code);
      const small = await settle(queue.send('stored', { id: 'ok' }));
      // Sent together, so they share one commit, which fails.
      const together = await Promise.all([settle(queue.send('x'.repeat(1 << 20), { id: 'big' })), settle(queue.send('b', { id: 'b' }))]);
      const later = await settle(queue.send('later', { id: 'later' }));
      return { small, together, later, events };
    },
    [name, exclusive],
  );
  await cdp.send('Storage.overrideQuotaForOrigin', { origin });
  const second = await packagePage(fixture, context, errors);
  const kept = (await drainIn(second, name, 'q')).map(([id]) => id);
  await context.close();
  return { outcome, kept, errors };
}

test('a write over the storage quota rejects with STORAGE, stops an exclusive broker and loses nothing accepted', async () => {
  const { outcome, kept, errors } = await overQuota(`quota-${Date.now()}`, true);
  assert.deepEqual(outcome, { small: 'accepted', together: ['STORAGE', 'STORAGE'], later: 'STORAGE', events: ['STORAGE'] });
  assert.deepEqual(kept, ['ok'], 'nothing unaccepted was stored');
  assert.deepEqual(errors, []);
});

test('a shared broker whose write went over the quota rejects those sends with STORAGE and goes on under a new leader', async () => {
  const { outcome, kept, errors } = await overQuota(`quota-shared-${Date.now()}`, false);
  assert.deepEqual(outcome, { small: 'accepted', together: ['STORAGE', 'STORAGE'], later: 'accepted', events: ['STORAGE'] });
  assert.deepEqual(kept, ['ok', 'later'], 'nothing unaccepted was stored');
  assert.deepEqual(errors, []);
});
