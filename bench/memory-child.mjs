// One memory measurement in a fresh process: `node --expose-gc
// memory-child.mjs <kind> <n>` prints bytes per queued message. A fresh
// process because wasm memory only grows: in the main process, earlier
// benchmarks would already have grown it and hide what a queue costs.
// Counted: heapUsed + external. Node's arrayBuffers is a part of external,
// and wasm linear memory shows up in external, so adding arrayBuffers again
// would count those bytes twice.
import BetterQueue from 'better-queue';
import { Broker } from './ferrymq.mjs';
import { PlainQueue } from './plain-broker.mjs';

const [kind, count] = process.argv.slice(2);
const n = Number(count);
const payload = (i) => ({ n: i });

function used() {
  gc();
  gc(); // a second pass collects what the first one's finalizers released
  const m = process.memoryUsage();
  return m.heapUsed + m.external;
}

const fill = {
  ferrymq() {
    const queue = new Broker().queue('memory');
    for (let i = 0; i < n; i++) queue.send(payload(i));
    return queue;
  },
  plain() {
    const queue = new PlainQueue();
    for (let i = 0; i < n; i++) queue.send(payload(i));
    return queue;
  },
  array() {
    const array = [];
    for (let i = 0; i < n; i++) array.push(payload(i));
    return array;
  },
  'better-queue'() {
    // Never started, so every task stays queued in its memory store.
    const queue = new BetterQueue((task, cb) => cb(null), { autoResume: false, maxRetries: 9 });
    queue.pause();
    for (let i = 0; i < n; i++) queue.push(payload(i));
    return queue;
  },
};

const before = used();
const held = fill[kind]();
// Let asynchronous writes (better-queue stores from setImmediate) land.
await new Promise((resolve) => setTimeout(resolve, 50));
const after = used();
process.stdout.write(JSON.stringify({ bytesPerMessage: (after - before) / n, held: held !== undefined }));
