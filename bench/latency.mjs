// Latency at low load: one message in flight at a time, so the number is the
// path from send() to the handler and not time spent waiting in a backlog.
// And how late a delayed message arrives compared with a bare setTimeout of
// the same delay, the best any JS timer-driven delay can do.
import BetterQueue from 'better-queue';
import { Broker } from './ferrymq.mjs';
import { PlainQueue } from './plain-broker.mjs';
import { quantile } from './stats.mjs';

const FERRYMQ = 'ferrymq consume, prefetch 1';
const DELAY_MS = 50;

/** p50 and p99 of the samples, in µs. */
function percentiles(samplesMs) {
  const sorted = samplesMs.map((ms) => ms * 1000).sort((a, b) => a - b);
  return { p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99) };
}

/**
 * Sends n messages one after another, each once the previous one reached its
 * handler. `subscribe` wires the handler to the callback it is given, which
 * takes the time the message was due; `send` sends one stamped message.
 */
async function sequential(n, subscribe, send) {
  const gaps = [];
  let arrived;
  subscribe((sentAt) => {
    gaps.push(performance.now() - sentAt);
    arrived();
  });
  for (let i = 0; i < n; i++) {
    const next = new Promise((resolve) => { arrived = resolve; });
    send(performance.now());
    await next;
  }
  return percentiles(gaps);
}

/** A fresh broker per run; messages sent with delayMs and due that much later. */
function ferrymqSequential(delayMs) {
  return {
    setup: () => {
      const broker = new Broker();
      return { broker, queue: broker.queue('latency') };
    },
    run: ({ queue }, n) => sequential(
      n,
      (reached) => queue.consume((m) => {
        m.ack();
        reached(m.payload + delayMs);
      }, { prefetch: 1, autoAck: false }),
      (t) => queue.send(t, delayMs > 0 ? { delayMs } : undefined),
    ),
    teardown: ({ broker }) => broker.close(),
  };
}

function sendToHandler(samples) {
  return [
    { impl: FERRYMQ, ...ferrymqSequential(0) },
    {
      impl: 'better-queue (memory store)',
      vs: FERRYMQ,
      run: async (_, n) => {
        let reached;
        const queue = new BetterQueue((task, cb) => {
          reached(task.t);
          cb(null);
        }, { concurrent: 1, maxRetries: 9 });
        const result = await sequential(n, (r) => { reached = r; }, (t) => queue.push({ t }));
        queue.destroy();
        return result;
      },
    },
    {
      impl: 'floor: plain JS (array + Map in flight)',
      vs: FERRYMQ,
      setup: () => new PlainQueue(),
      run: (queue, n) => sequential(
        n,
        (reached) => queue.consume((m) => {
          m.ack();
          reached(m.payload);
        }, { prefetch: 1 }),
        (t) => queue.send(t),
      ),
    },
  ].map((c) => ({ bench: 'send→handler, one message at a time', unit: 'µs', n: samples, ...c }));
}

function delayed(samples) {
  return [
    { impl: `ferrymq send with delayMs ${DELAY_MS}`, ...ferrymqSequential(DELAY_MS) },
    {
      impl: `floor: setTimeout ${DELAY_MS} ms`,
      vs: `ferrymq send with delayMs ${DELAY_MS}`,
      run: (_, n) => {
        let reached;
        return sequential(
          n,
          (r) => { reached = r; },
          (t) => setTimeout(() => reached(t + DELAY_MS), DELAY_MS),
        );
      },
    },
  ].map((c) => ({ bench: `delayed message: lateness past ${DELAY_MS} ms`, unit: 'µs', n: samples, warmupN: 2, ...c }));
}

export function cases({ quick }) {
  return [...sendToHandler(quick ? 300 : 3000), ...delayed(quick ? 5 : 20)]
    .map((c) => ({ group: 'latency', warmupN: 50, ...c }));
}
