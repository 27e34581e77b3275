// The demo page in headless Chromium, driven as a visitor would. Every wait
// is for a DOM condition, never for time; every page must log no error.
import assert from 'node:assert/strict';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { open, screenshots, useBrowser } from './harness.mjs';

const repo = resolve(process.env.FERRYMQ_REPO ?? '../..');
const fixture = useBrowser([
  ['/dist/', join(repo, 'dist')],
  ['/vendor/uplot/', join(repo, 'node_modules/uplot/dist')],
  ['/', join(repo, 'www')],
]);

const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 375, height: 812 };

const openDemo = (viewport = DESKTOP) => open(fixture.browser, fixture.server.url, viewport);
const text = (page, selector) => page.textContent(selector);
const number = async (page, selector) => Number(await text(page, selector));
/** A counter of queue 'orders' (or another queue) in the broker.stats() table. */
const stat = (row, queue = 'orders') => `#queues tr.${row} td[data-queue="${queue}"]`;

/** Waits until the number in `selector` satisfies `predicate` (a string, evaluated with n). */
function waitForNumber(page, selector, predicate) {
  return page.waitForFunction(([s, p]) => {
    const node = document.querySelector(s);
    return node !== null && new Function('n', `return ${p}`)(Number(node.textContent));
  }, [selector, predicate]);
}

test('messages flow from producers to consumers, with counts, charts and a callback log', async () => {
  const { page, errors } = await openDemo();
  await waitForNumber(page, stat('acked'), 'n >= 3');
  assert.ok((await number(page, stat('sent'))) >= (await number(page, stat('acked'))));

  await page.click('#add-producer');
  await page.click('#add-consumer');
  assert.equal(await page.locator('#producers > li').count(), 3);
  assert.equal(await page.locator('#consumers > li').count(), 3);
  await page.click('#producers > li:first-child .remove');
  assert.equal(await page.locator('#producers > li').count(), 2);

  const paths = await page.$$eval('#log .msg', (rows) => rows.map((row) => [...row.querySelectorAll('.step')].map((s) => s.classList[1])));
  assert.ok(paths.every((path) => path[0] === 'sent'), 'every path starts with sent');
  assert.ok(paths.some((path) => path.join() === 'sent,delivered,acked'), 'some message was sent, delivered, acked');

  // Two uPlot charts with their series named in the legends.
  assert.equal(await page.locator('.uplot canvas').count(), 2);
  const legends = await page.$$eval('.u-legend', (nodes) => nodes.map((n) => n.textContent));
  for (const name of ['sent', 'acked', 'nacked']) assert.match(legends[0], new RegExp(name));
  for (const name of ['p50', 'p95', 'p99']) assert.match(legends[1], new RegExp(name));
  assert.deepEqual(errors, []);
});

test('a failing consumer shows nacks, retries and dead letters; fixing it brings acks back', async () => {
  const { page, errors } = await openDemo();
  for (const input of await page.$$('#consumers input[name=failure]')) await input.fill('100');
  await page.waitForSelector('#log .step.retried');
  await page.waitForSelector('#log .msg.dead');
  await waitForNumber(page, '#q-dead', 'n >= 1');
  await waitForNumber(page, stat('ready', 'orders.dlq'), 'n >= 1');
  await waitForNumber(page, stat('nacked'), 'n >= 3');

  // A dead letter's path is one a person can follow: three deliveries, three nacks.
  const path = await page.$eval('#log .msg.dead', (row) => [...row.querySelectorAll('.step')].map((s) => s.classList[1]));
  assert.deepEqual(path, ['sent', 'delivered', 'nacked', 'retried', 'nacked', 'retried', 'nacked', 'dead']);
  assert.match(await text(page, '#log .msg.dead .step.dead'), /delivery-limit/);

  // "Only messages that failed" hides the rest.
  await page.check('#trouble-only');
  await page.waitForFunction(() =>
    [...document.querySelectorAll('#log .msg:not(.trouble)')].every((row) => row.offsetParent === null));
  await page.uncheck('#trouble-only');

  await page.fill('#consumers > li:first-child input[name=failure]', '0');
  const acked = await number(page, stat('acked'));
  await waitForNumber(page, stat('acked'), `n > ${acked}`);
  await page.screenshot({ path: join(screenshots, 'demo-desktop.png'), fullPage: true });
  assert.deepEqual(errors, []);
});

test('pause stops the producers, the consumers drain the queue, and a burst sends 50 at once', async () => {
  const { page, errors } = await openDemo();
  await waitForNumber(page, stat('sent'), 'n >= 2');
  await page.click('#pause');
  assert.equal(await text(page, '#pause'), 'Resume producers');
  assert.equal(await text(page, '#live'), 'paused');
  // Only empties for good once nothing more is sent.
  await page.waitForFunction(() => ['q-ready', 'q-in-flight', 'q-delayed']
    .every((id) => document.getElementById(id).textContent === '0'));
  const sent = await number(page, stat('sent'));
  await page.click('#burst');
  await waitForNumber(page, stat('sent'), `n === ${sent + 50}`);
  await page.waitForSelector('#log .step.sent >> text=burst');
  await page.click('#pause');
  assert.equal(await text(page, '#pause'), 'Pause producers');
  assert.deepEqual(errors, []);
});

test('the scheduler panel runs tasks, times one out, cancels one and clears the waiting ones', async () => {
  const { page, errors } = await openDemo();
  const state = (id) => page.getAttribute(`#tasks [data-id="${id}"]`, 'data-state');
  const settled = (ids) => page.waitForFunction((list) => list.every((id) =>
    ['done', 'timeout', 'cancelled', 'failed'].includes(document.querySelector(`#tasks [data-id="${id}"]`)?.dataset.state)), ids);
  // The page starts four tasks; T4 needs twice the timeout, so it times out whatever the machine's speed.
  await settled(['T1', 'T2', 'T3', 'T4']);
  assert.equal(await state('T4'), 'timeout');
  // Relative: under load T1-T3 may time out too; T5 must add exactly one.
  const timedOut = await number(page, '#s-timedout');
  await page.click('#s-add-slow');
  await page.waitForSelector('#tasks [data-id="T5"][data-state=timeout]');
  assert.equal(await number(page, '#s-timedout'), timedOut + 1);
  const done = await number(page, '#s-done');

  // A generous timeout from here on: these tasks must finish, however slow the machine.
  await page.fill('#s-timeout', '60000');
  await page.click('#s-pause');
  assert.equal(await text(page, '#s-pause'), 'Resume');
  await page.click('#s-add');
  await waitForNumber(page, '#s-waiting', 'n === 5');
  assert.equal(await state('T6'), 'waiting');
  await page.click('#tasks [data-id="T6"] .cancel');
  await page.waitForSelector('#tasks [data-id="T6"][data-state=cancelled]');
  await waitForNumber(page, '#s-cancelled', 'n === 1');

  await page.click('#s-pause');
  await settled(['T7', 'T8', 'T9', 'T10']);
  for (const id of ['T7', 'T8', 'T9', 'T10']) assert.equal(await state(id), 'done');
  await waitForNumber(page, '#s-done', `n === ${done + 4}`);

  await page.click('#s-pause');
  await page.click('#s-add');
  await waitForNumber(page, '#s-waiting', 'n === 5');
  await page.click('#s-clear');
  await waitForNumber(page, '#s-cancelled', 'n === 6');
  assert.equal(await number(page, '#s-waiting'), 0);
  assert.deepEqual(errors, []);
});

test('the persistence panel: durable messages survive a reload', async () => {
  const { page, errors } = await openDemo();
  await page.waitForFunction(() => document.getElementById('persistence').dataset.state !== 'loading');
  assert.equal(await page.getAttribute('#persistence', 'data-state'), 'ready');
  const before = await number(page, '#p-count');
  await page.click('#p-send');
  await waitForNumber(page, '#p-count', `n === ${before + 5}`);
  await Promise.all([page.waitForEvent('load'), page.click('#p-reload')]);
  await page.waitForFunction(() => document.getElementById('persistence').dataset.state === 'ready');
  assert.equal(await number(page, '#p-count'), before + 5, 'the messages survived the reload');
  await page.click('#p-consume');
  await waitForNumber(page, '#p-count', `n === ${before + 4}`);
  assert.match(await text(page, '#p-status'), /Consumed and acked/);
  assert.deepEqual(errors, []);
});

test('the persistence panel in two tabs: the second follows, sees what the first stored, and takes over when it closes', async () => {
  // Tabs of one browser profile: pages of one context share IndexedDB and Web Locks.
  const context = await fixture.browser.newContext({ viewport: DESKTOP });
  const errors = [];
  const tab = async () => {
    const page = await context.newPage();
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(fixture.server.url);
    await page.waitForFunction(() => document.getElementById('persistence').dataset.state === 'ready');
    return page;
  };
  const first = await tab();
  assert.equal(await first.getAttribute('#persistence', 'data-role'), 'leader');
  assert.match(await text(first, '#p-recovery'), /^Recovered \d+ log records/);
  const before = await number(first, '#p-count');
  await first.click('#p-send');
  await waitForNumber(first, '#p-count', `n === ${before + 5}`);
  const second = await tab();
  assert.equal(await second.getAttribute('#persistence', 'data-role'), 'follower');
  assert.match(await text(second, '#p-role'), /follows/);
  assert.equal(await number(second, '#p-count'), before + 5, "the follower shows the leader's count");
  await first.close();
  await second.waitForFunction(() => document.getElementById('persistence').dataset.role === 'leader', undefined, { polling: 50 });
  assert.match(await text(second, '#p-role'), /leads/);
  await second.click('#p-consume');
  await waitForNumber(second, '#p-count', `n === ${before + 4}`);
  assert.deepEqual(errors, []);
  await context.close();
});

test('on a phone (375 px) the page fits the width and everything is there', async () => {
  const { page, errors } = await openDemo(PHONE);
  await waitForNumber(page, stat('acked'), 'n >= 1');
  await waitForNumber(page, '#s-done', 'n >= 1');
  await page.waitForFunction(() => document.getElementById('persistence').dataset.state !== 'loading');
  assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), 'no sideways scrolling');
  for (const id of ['#chart-throughput canvas', '#log .msg', '#tasks .task', '#p-send']) assert.ok(await page.isVisible(id), `${id} is visible`);
  await page.screenshot({ path: join(screenshots, 'demo-phone.png'), fullPage: true });
  assert.deepEqual(errors, []);
});
