// The demo page: one in-memory broker with a queue 'orders' (and its dead
// letter queue 'orders.dlq') fed by producers and drained by consumers the
// visitor adds and tunes, plus a scheduler panel and a durable-queue panel.
import { Broker } from 'ferrymq';
import { createCharts } from './charts.js';
import { Consumers } from './consumers.js';
import { $ } from './dom.js';
import { CallbackLog } from './log.js';
import { persistencePanel } from './persistence-panel.js';
import { Producers } from './producers.js';
import { Latencies, Rates, renderQueues } from './queue-view.js';
import { schedulerPanel } from './scheduler-panel.js';

const QUEUE = 'orders';
const SAMPLE_MS = 500;
const LEASE_MS = 5_000;

const broker = new Broker();
const orders = broker.queue(QUEUE, {
  leaseMs: LEASE_MS,
  maxDeliveries: 3,
  backoff: { type: 'fixed', baseMs: 400 },
});
// Declared up front so the table lists it before the first dead letter.
broker.queue(`${QUEUE}.dlq`);

const log = new CallbackLog();
const latencies = new Latencies();
const producers = new Producers(orders, log);
const consumers = new Consumers(orders, log, { leaseMs: LEASE_MS, latencies });
broker.on('dead-letter', (event) => consumers.deadLettered(event));
broker.on('redelivered', (event) => consumers.redelivered(event));
// A lively start: two producers, a quick reliable consumer and a slower flaky one.
producers.add({ rate: 4 });
producers.add({ rate: 2, priority: 5, delayMs: 1000 });
consumers.add({ workMs: 250, failurePercent: 0, prefetch: 2 });
consumers.add({ workMs: 500, failurePercent: 30, prefetch: 1 });

$('add-producer').addEventListener('click', () => producers.add());
$('add-consumer').addEventListener('click', () => consumers.add());
$('burst').addEventListener('click', () => producers.burst(50));
// A message that makes trouble, followed step by step in the status line.
for (const kind of ['poison', 'stall']) {
  $(kind).addEventListener('click', () => {
    const id = producers.trouble(kind);
    const status = $('trouble-status');
    status.textContent = `${id}: sent`;
    log.follow(id, (step) => { status.textContent += ` → ${step}`; });
  });
}
$('pause').addEventListener('click', (event) => {
  producers.paused = !producers.paused;
  event.currentTarget.textContent = producers.paused ? 'Resume producers' : 'Pause producers';
  event.currentTarget.setAttribute('aria-pressed', String(producers.paused));
  $('live').textContent = producers.paused ? 'paused' : 'live';
  $('live').classList.toggle('paused', producers.paused);
});

const charts = createCharts();
const rates = new Rates();
function sample() {
  const stats = broker.stats();
  const now = Date.now();
  renderQueues(stats, QUEUE);
  charts.push(now, rates.push(now, stats.queues[QUEUE]), latencies.push(now));
}
sample();
setInterval(sample, SAMPLE_MS);
$('live').textContent = 'live';

// Some tasks at once, so the scheduler panel shows its states on arrival.
const tasks = schedulerPanel();
// The last needs twice the 2 s timeout, so one times out.
for (const ms of [500, 800, 1100, 4000]) tasks.add(ms);
persistencePanel();
