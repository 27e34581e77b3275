// The demo page in headless Chromium, driven as a visitor would. Every wait
// is for a DOM condition, never for time; every page must log no error.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { demoMounts } from '../../../scripts/serve.mjs';
import { collectErrors, open, screenshots, useBrowser } from './harness.mjs';

const repo = resolve(process.env.FERRYMQ_REPO ?? '../..');
const fixture = useBrowser(demoMounts(repo));

const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 375, height: 812 };

const openDemo = (viewport = DESKTOP, colorScheme = 'light') => open(fixture.browser, fixture.server.url, { viewport, colorScheme });
const text = (page, selector) => page.textContent(selector);
const number = async (page, selector) => Number(await text(page, selector));
/** A counter of queue 'orders' (or another queue) in the broker.stats() table. */
const stat = (row, queue = 'orders') => `#queues tr.${row} td[data-queue="${queue}"]`;

/** Waits until queue 'orders' holds nothing: none ready, in flight or delayed. */
const drained = (page) => page.waitForFunction(() => ['q-ready', 'q-in-flight', 'q-delayed']
  .every((id) => document.getElementById(id).textContent === '0'));

/** The steps of a log row, by class: ['sent', 'delivered', ...]. */
const stepsOf = (page, row) => page.$eval(row, (node) => [...node.querySelectorAll('.step')].map((s) => s.classList[1]));

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

  // Two uPlot charts with their series named in the legends: dead letters
  // and redeliveries have lines of their own.
  assert.equal(await page.locator('.uplot canvas').count(), 2);
  const legends = await page.$$eval('.u-legend', (nodes) => nodes.map((n) => [...n.querySelectorAll('.u-label')].map((l) => l.textContent)));
  assert.deepEqual(legends, [['sent', 'acked', 'nacked', 'redelivered', 'dead-lettered'], ['p50', 'p95', 'max']]);
  assert.deepEqual(errors, []);
});

test('the charts follow the system from light to dark, keeping their lines', async () => {
  const { page, errors } = await openDemo();
  const sentMarker = '#chart-throughput .u-legend .u-marker';
  const colour = () => page.$eval(sentMarker, (marker) => getComputedStyle(marker).borderColor);
  assert.equal(await colour(), 'rgb(29, 78, 216)', "light mode's --sent");
  await waitForNumber(page, stat('acked'), 'n >= 1');
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.waitForFunction((selector) => getComputedStyle(document.querySelector(selector)).borderColor === 'rgb(96, 165, 250)', sentMarker);
  assert.equal(await page.locator('.uplot').count(), 2, 'each chart made again, not added');
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
  assert.deepEqual(await stepsOf(page, '#log .msg.dead'), ['sent', 'delivered', 'nacked', 'retried', 'nacked', 'retried', 'nacked', 'dead']);
  assert.match(await text(page, '#log .msg.dead .step.dead'), /delivery-limit/);

  // "Only messages that failed" hides the rest.
  await page.check('#trouble-only');
  await page.waitForFunction(() =>
    [...document.querySelectorAll('#log .msg:not(.trouble)')].every((row) => row.offsetParent === null));
  await page.uncheck('#trouble-only');

  await page.fill('#consumers > li:first-child input[name=failure]', '0');
  const acked = await number(page, stat('acked'));
  await waitForNumber(page, stat('acked'), `n > ${acked}`);
  assert.deepEqual(errors, []);
});

test('a poison message walks nacked → retried → dead-lettered on screen, whatever the consumers\' failure rates', async () => {
  const { page, errors } = await openDemo();
  await waitForNumber(page, stat('acked'), 'n >= 1');
  const dead = await number(page, stat('ready', 'orders.dlq'));
  await page.click('#poison');
  const row = '#log .msg[data-id^="POISON-"]';
  await page.waitForSelector(`${row}.followed`);
  await page.waitForSelector(`${row} .step.dead`);
  assert.deepEqual(await stepsOf(page, row), ['sent', 'delivered', 'nacked', 'retried', 'nacked', 'retried', 'nacked', 'dead']);
  assert.match(await text(page, `${row} .step.dead`), /delivery-limit → orders\.dlq/);
  // The status line under the buttons tells the same walk in words.
  assert.match(await text(page, '#trouble-status'), new RegExp(['^POISON-\\d+: sent', 'delivered \\(C\\d\\)', 'nacked \\(C\\d: poison\\)',
    'retried \\(C\\d #2\\)', 'nacked \\(C\\d: poison\\)', 'retried \\(C\\d #3\\)', 'nacked \\(C\\d: poison\\)',
    'dead-lettered \\(delivery-limit → orders\\.dlq\\)$'].join(' → ')));
  await waitForNumber(page, stat('ready', 'orders.dlq'), `n >= ${dead + 1}`);
  await waitForNumber(page, '#q-dead', 'n >= 1');
  await page.screenshot({ path: join(screenshots, 'demo-desktop.png'), fullPage: true });
  assert.deepEqual(errors, []);
});

test('a stalled consumer loses its message when the lease expires: the broker delivers it again and refuses the late ack', async () => {
  const { page, errors } = await openDemo();
  await waitForNumber(page, stat('acked'), 'n >= 1');
  const redelivered = await number(page, stat('retried'));
  await page.click('#stall');
  const row = '#log .msg[data-id^="STALL-"]';
  // The first consumer hangs 2 s past the 5 s lease, then acks too late.
  await page.waitForSelector(`${row} .step.returned`, { timeout: 30_000 });
  const steps = await stepsOf(page, row);
  assert.deepEqual(steps.slice(0, 4), ['sent', 'delivered', 'lease', 'retried']);
  // The new delivery may still be nacked and retried around the late ack.
  assert.ok(steps.indexOf('returned') > 3, steps.join());
  assert.match(await text(page, `${row} .step.lease`), /lease expired\s*C\d held it 5 s/);
  assert.match(await text(page, `${row} .step.returned`), /late answer refused\s*C\d's ack/);
  await waitForNumber(page, stat('retried'), `n >= ${redelivered + 1}`);
  assert.deepEqual(errors, []);
});

/**
 * Runs axe-core's WCAG 2 A and AA rules on the page as it stands, with the
 * callback log unrolled so every row is on screen (axe cannot judge the
 * contrast of text scrolled out of its box).
 */
let axeSource;
async function accessibility(page) {
  await page.addStyleTag({ content: '#log { height: auto !important; }' });
  axeSource ??= readFileSync(join(repo, 'node_modules/axe-core/axe.min.js'), 'utf8');
  await page.addScriptTag({ content: axeSource });
  return page.evaluate(async () => {
    const result = await axe.run(document, { runOnly: ['wcag2a', 'wcag2aa'] });
    const nodes = (rules) => rules.flatMap((rule) => rule.nodes.map((node) => `${rule.id}: ${node.target.join(' ')} ${node.failureSummary ?? ''}`));
    return {
      violations: nodes(result.violations),
      undecidedContrast: nodes(result.incomplete.filter((rule) => rule.id === 'color-contrast')),
      checkedContrast: result.passes.find((rule) => rule.id === 'color-contrast')?.nodes.length ?? 0,
    };
  });
}

for (const [scheme, viewport] of [['light', DESKTOP], ['dark', DESKTOP], ['light', PHONE]]) {
  test(`no WCAG 2 AA failure (axe-core), contrast included: ${scheme} mode, ${viewport.width} px wide, after every kind of trouble`, async () => {
    const { page, errors } = await openDemo(viewport, scheme);
    // Every chip of the log on the page: sent to dead-lettered, lease expired and a refused late ack.
    await page.click('#poison');
    await page.click('#stall');
    await page.waitForSelector('#log .msg .step.dead');
    await page.waitForSelector('#log .msg .step.returned', { timeout: 30_000 });
    await page.waitForFunction(() => document.getElementById('persistence').dataset.state !== 'loading');
    // Paused and drained, so the page holds still while axe reads it.
    await page.click('#pause');
    await drained(page);
    await page.waitForFunction(() => document.querySelector('#tasks [data-state=running], #tasks [data-state=waiting]') === null);
    if (scheme === 'dark') await page.screenshot({ path: join(screenshots, 'demo-dark.png'), fullPage: true });
    const report = await accessibility(page);
    assert.deepEqual(report.violations, []);
    assert.deepEqual(report.undecidedContrast, []);
    assert.ok(report.checkedContrast > 100, `axe judged the contrast of ${report.checkedContrast} elements`);
    assert.deepEqual(errors, []);
  });
}

test('removing a busy consumer hands its messages back at once: they are delivered again and its late answers refused', async () => {
  const { page, errors } = await openDemo();
  await page.waitForSelector('#log .msg');
  await page.fill('#consumers > li:first-child input[name=work]', '4000');
  // A message sent after that, which C1 holds now: it works on it for 2 to 6 s.
  const newest = await page.$eval('#log .msg', (row) => Number(row.dataset.id.split('-').pop()));
  const held = await page.waitForFunction((after) => [...document.querySelectorAll('#log .msg')]
    .find((row) => Number(row.dataset.id.split('-').pop()) > after
      && row.querySelector('.path').lastElementChild.textContent === 'deliveredC1')?.dataset.id, newest);
  const id = await held.jsonValue();
  // Paused, so the one consumer left is not kept busy by P2's priority-5
  // messages while the handed-back one (priority 0) waits behind them.
  await page.click('#pause');
  await page.click('#consumers > li:first-child .remove');
  const row = `#log .msg[data-id="${id}"]`;
  await page.waitForSelector(`${row} .step.released`);
  assert.match(await text(page, `${row} .step.released`), /handed back\s*C1 removed/);
  await page.waitForSelector(`${row} .step.retried`);
  await page.waitForSelector(`${row} .step.returned`);
  assert.match(await text(page, `${row} .step.returned`), /late answer refused\s*C1's (ack|nack)/);
  assert.deepEqual(await stepsOf(page, `${row}`).then((steps) => steps.slice(0, 3)), ['sent', 'delivered', 'released']);
  assert.deepEqual(errors, []);
});

test('pause stops the producers, the consumers drain the queue, and a burst sends 50 at once', async () => {
  const { page, errors } = await openDemo();
  await waitForNumber(page, stat('sent'), 'n >= 2');
  await page.click('#pause');
  assert.equal(await text(page, '#pause'), 'Resume producers');
  assert.equal(await text(page, '#live'), 'paused');
  // Only empties for good once nothing more is sent.
  await drained(page);
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
    collectErrors(page, errors);
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
  // The live counts are on the first screen, without scrolling.
  for (const id of ['#q-ready', '#q-in-flight', '#q-delayed', '#q-dead']) {
    const box = await page.locator(id).boundingBox();
    assert.ok(box.y + box.height <= PHONE.height, `${id} ends at ${box.y + box.height} px, within the first ${PHONE.height} px`);
  }
  await page.screenshot({ path: join(screenshots, 'demo-phone-first-screen.png') });
  await page.screenshot({ path: join(screenshots, 'demo-phone.png'), fullPage: true });
  assert.deepEqual(errors, []);
});
