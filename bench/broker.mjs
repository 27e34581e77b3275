// Broker throughput, in memory: a consumer is attached, then N small messages
// are sent without awaiting each send (a backlog, as a producer burst makes),
// and the run ends when the last one is acked. Every implementation does the
// same work per message: enqueue, deliver to a handler (at most `prefetch`
// unacked at a time), ack. Plus the raw enqueue/dequeue cost against denque,
// to show what the JS<->wasm boundary costs on its own.
import BetterQueue from 'better-queue';
import Denque from 'denque';
import { Broker } from './ferrymq.mjs';
import { PlainQueue } from './plain-broker.mjs';
import { count } from './table.mjs';

const SEND = 'ferrymq send';
const BATCH = 'ferrymq sendBatch (1000 per call)';
const BATCH_SIZE = 1000;
// better-queue's run time grows faster than N (measured here at prefetch 64:
// 100k 8.6 s, 200k 43 s, 400k 121 s), so 1M would take many minutes a round.
const BETTER_QUEUE_MAX_N = 100_000;
// ferrymq delivers a message at most 10 times (maxDeliveries); better-queue
// with 9 retries makes the same 10 attempts, so both keep the same state.
const BETTER_QUEUE_RETRIES = 9;

const payload = (i) => ({ n: i });

/** Sends n payloads without awaiting each: ferrymq and the plain floor alike. */
function fill(queue, n) {
  for (let i = 0; i < n; i++) queue.send(payload(i));
}

/** Resolves once `ack` has been called n times; `ack` is what handlers call. */
function countdown(n) {
  let left = n;
  let done;
  const finished = new Promise((resolve) => { done = resolve; });
  return { finished, ack: () => { if (--left === 0) done(); } };
}

function ferrymqQueue() {
  const broker = new Broker();
  return { broker, queue: broker.queue('bench') };
}

// Feature-detected at run time: the batch API is being added in parallel.
const noSendBatch = () => (typeof new Broker().queue('probe').sendBatch === 'function'
  ? undefined
  : 'n/a: Queue.sendBatch not in this build');

function throughput(n, prefetch) {
  const consume = (queue, ack) => queue.consume(
    (message) => message.ack().then(ack),
    { prefetch, autoAck: false },
  );
  return [
    {
      impl: SEND,
      setup: ferrymqQueue,
      run: ({ queue }, n) => {
        const { finished, ack } = countdown(n);
        consume(queue, ack);
        fill(queue, n);
        return finished;
      },
      teardown: ({ broker }) => broker.close(),
    },
    {
      impl: BATCH,
      unavailable: noSendBatch,
      setup: ferrymqQueue,
      run: ({ queue }, n) => {
        const { finished, ack } = countdown(n);
        consume(queue, ack);
        for (let i = 0; i < n; i += BATCH_SIZE) {
          const items = [];
          for (let j = i; j < Math.min(n, i + BATCH_SIZE); j++) items.push({ payload: payload(j) });
          queue.sendBatch(items);
        }
        return finished;
      },
      teardown: ({ broker }) => broker.close(),
    },
    {
      impl: 'better-queue (memory store)',
      vs: SEND,
      unavailable: () => (n > BETTER_QUEUE_MAX_N
        ? 'not run: superlinear in N here (200k took 43 s, 400k 121 s)'
        : undefined),
      run: (_, n) => {
        const { finished, ack } = countdown(n);
        // The process callback is better-queue's ack.
        const queue = new BetterQueue((task, cb) => cb(null), {
          concurrent: prefetch,
          maxRetries: BETTER_QUEUE_RETRIES,
          retryDelay: 0,
        });
        queue.on('task_finish', ack);
        for (let i = 0; i < n; i++) queue.push(payload(i));
        return finished.then(() => queue.destroy());
      },
    },
    {
      impl: 'floor: plain JS (array + Map in flight)',
      vs: SEND,
      setup: () => new PlainQueue(),
      run: (queue, n) => {
        const { finished, ack } = countdown(n);
        consume(queue, ack);
        fill(queue, n);
        return finished;
      },
    },
  ].map((c) => ({ group: 'broker', bench: `send→consume→ack ${count(n)}, prefetch ${prefetch}`, n, ...c }));
}

function raw(n) {
  const enqueue = [
    {
      impl: SEND,
      setup: ferrymqQueue,
      run: ({ queue }, n) => fill(queue, n),
      teardown: ({ broker }) => broker.close(),
    },
    {
      impl: 'denque push',
      vs: SEND,
      setup: () => new Denque(),
      run: (d, n) => {
        for (let i = 0; i < n; i++) d.push(payload(i));
      },
    },
    {
      impl: 'floor: plain JS send',
      vs: SEND,
      setup: () => new PlainQueue(),
      run: fill,
    },
  ];
  // receive() is async in both ferrymq and the plain floor, so each dequeue
  // pays an await; denque's shift() is synchronous and pays none.
  const dequeue = [
    {
      impl: 'ferrymq receive + ack',
      setup: (n) => {
        const q = ferrymqQueue();
        fill(q.queue, n);
        return q;
      },
      run: async ({ queue }, n) => {
        for (let i = 0; i < n; i++) (await queue.receive()).ack();
      },
      teardown: ({ broker }) => broker.close(),
    },
    {
      impl: 'denque shift',
      vs: 'ferrymq receive + ack',
      setup: (n) => {
        const d = new Denque();
        for (let i = 0; i < n; i++) d.push(payload(i));
        return d;
      },
      run: (d, n) => {
        for (let i = 0; i < n; i++) d.shift();
      },
    },
    {
      impl: 'floor: plain JS receive + ack',
      vs: 'ferrymq receive + ack',
      setup: (n) => {
        const queue = new PlainQueue();
        fill(queue, n);
        return queue;
      },
      run: async (queue, n) => {
        for (let i = 0; i < n; i++) (await queue.receive()).ack();
      },
    },
  ];
  return [
    ...enqueue.map((c) => ({ bench: `raw enqueue ${count(n)}`, ...c })),
    ...dequeue.map((c) => ({ bench: `raw dequeue+ack ${count(n)}`, ...c })),
  ].map((c) => ({ group: 'broker', n, ...c }));
}

export function cases({ quick }) {
  const sizes = quick ? [10_000] : [100_000, 1_000_000];
  return [
    ...sizes.flatMap((n) => [1, 64].flatMap((prefetch) => throughput(n, prefetch))),
    ...raw(quick ? 20_000 : 1_000_000),
  ];
}
