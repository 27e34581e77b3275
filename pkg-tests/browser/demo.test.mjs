import assert from 'node:assert/strict';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { open, screenshots, useBrowser } from './harness.mjs';

const repo = resolve(process.env.FERRYMQ_REPO ?? '../..');
const fixture = useBrowser([['/dist/', join(repo, 'dist')], ['/', join(repo, 'www')]]);

const number = async (page, id) => Number(await page.textContent(`#${id}`));

test('the demo shows messages flowing from producer to consumer', async () => {
  const { page, errors } = await open(fixture.browser, fixture.server.url);
  await page.fill('#interval', '50');
  await page.fill('#work', '10');
  await page.waitForFunction(() => Number(document.getElementById('acked').textContent) >= 3);
  assert.ok((await number(page, 'sent')) >= (await number(page, 'acked')));
  const log = await page.$$eval('#log li', (items) => items.map((li) => li.className));
  for (const kind of ['sent', 'delivered', 'acked']) assert.ok(log.includes(kind), `log shows ${kind}`);
  await page.screenshot({ path: join(screenshots, 'demo-desktop.png') });
  assert.deepEqual(errors, []);
});

test('pausing the producer stops new sends', async () => {
  const { page, errors } = await open(fixture.browser, fixture.server.url);
  await page.fill('#interval', '50');
  await page.waitForFunction(() => Number(document.getElementById('sent').textContent) >= 2);
  await page.click('#toggle-producer');
  await page.waitForFunction(() => {
    const n = (id) => Number(document.getElementById(id).textContent);
    return n('acked') === n('sent');
  });
  const sent = await number(page, 'sent');
  // Still no new send after several producer intervals have passed.
  await page.waitForTimeout(300);
  assert.equal(await number(page, 'sent'), sent);
  assert.equal(await page.textContent('#toggle-producer'), 'Resume producer');
  assert.deepEqual(errors, []);
});
