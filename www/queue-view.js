// The numbers of the queue view: the four tiles of the main queue and one
// table row per queue, all from broker.stats() — the same call an app would
// use for its own dashboard.
import { $, el } from './dom.js';

// Rows of the table: [label, class, value of one queue's stats].
const ms = (v) => (v ? (v < 10 ? v.toFixed(1) : Math.round(v).toLocaleString('en')) : '–');
const ROWS = [
  ['ready', 'ready', (s) => s.ready],
  ['in flight', 'in-flight', (s) => s.inFlight],
  ['delayed', 'delayed', (s) => s.delayed],
  ['dead-lettered', 'dead', (s) => s.deadLettered],
  ['sent', 'sent', (s) => s.sent],
  ['acked', 'acked', (s) => s.acked],
  ['nacked', 'nacked', (s) => s.nacked],
  ['redelivered', 'retried', (s) => s.redelivered],
  ['acks / s (10 s)', '', (s) => s.throughputPerSec.toFixed(1)],
  ['send → ack p50 / p95 / p99 ms, delays included', '', (s) => `${ms(s.latencyMs.p50)} / ${ms(s.latencyMs.p95)} / ${ms(s.latencyMs.p99)}`],
];

export function renderQueues(stats, main) {
  const q = stats.queues[main];
  $('q-ready').textContent = q.ready;
  $('q-in-flight').textContent = q.inFlight;
  $('q-delayed').textContent = q.delayed;
  $('q-dead').textContent = q.deadLettered;

  // Transposed (a column per queue) so it stays narrow enough for a phone.
  // Rebuilt only when the queues change; otherwise the cells' text is set
  // in place, so a screen reader or a selection is not reset twice a second.
  const names = Object.keys(stats.queues).sort();
  const table = $('queues');
  const key = names.join();
  if (table.dataset.queues !== key) {
    table.dataset.queues = key;
    table.tHead.rows[0].replaceChildren(el('th', {}, ''), ...names.map((name) => el('th', { scope: 'col' }, name)));
    table.tBodies[0].replaceChildren(...ROWS.map(([label, kind]) => el('tr', { class: kind },
      el('th', { scope: 'row' }, label), ...names.map((name) => el('td', { dataset: { queue: name } })))));
  }
  ROWS.forEach(([, , value], row) => names.forEach((name, column) => {
    const cell = table.tBodies[0].rows[row].cells[column + 1];
    const text = String(value(stats.queues[name]));
    if (cell.textContent !== text) cell.textContent = text;
  }));
}

/** The series of the throughput chart: a counter of broker.stats() each, drawn as a per-second rate. */
export const RATE_SERIES = [
  { counter: 'sent', label: 'sent', color: '--sent' },
  { counter: 'acked', label: 'acked', color: '--acked' },
  { counter: 'nacked', label: 'nacked', color: '--nacked' },
  { counter: 'redelivered', label: 'redelivered', color: '--retried', dash: [6, 3] },
  { counter: 'deadLettered', label: 'dead-lettered', color: '--dead', dash: [2, 2] },
];

/**
 * Per-second rates of the queue's counters over the last two seconds, so a
 * burst shows as a spike rather than being smoothed away.
 */
export class Rates {
  #history = [];

  push(time, stats) {
    const counts = RATE_SERIES.map(({ counter }) => stats[counter]);
    this.#history.push({ time, counts });
    // The oldest sample kept is two seconds old or a little more: a 2-2.5 s window, never 1.5.
    while (this.#history.length > 2 && time - this.#history[1].time >= 2000) this.#history.shift();
    const first = this.#history[0];
    const seconds = Math.max((time - first.time) / 1000, 0.001);
    return counts.map((count, i) => (this.#history.length < 2 ? 0 : (count - first.counts[i]) / seconds));
  }
}

/**
 * How long acked messages took from the moment they were due (sent, or
 * their deliberate delay over) to their ack: p50, p95 and max over the last
 * five seconds. The broker's own send -> ack figure counts the delay a
 * producer asked for, which says nothing about the queue.
 */
export class Latencies {
  #window = [];

  record(time, ms) {
    this.#window.push({ time, ms });
  }

  push(time) {
    while (this.#window.length > 0 && time - this.#window[0].time > 5000) this.#window.shift();
    if (this.#window.length === 0) return [null, null, null];
    const sorted = this.#window.map((entry) => entry.ms).sort((a, b) => a - b);
    const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
    return [at(0.5), at(0.95), sorted.at(-1)];
  }
}
