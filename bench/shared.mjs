// Sharing a broker with worker_threads: what a follower's calls cost next
// to the leader's own. The same work (N messages sent in batches of 1,000,
// then consumed and acked with 64 in flight) on an in-memory broker in the
// main thread, and in a worker_thread whose broker follows it
// (broker.share()): every call crosses to the main thread and back. The
// ratio column compares the follower with the leader's own calls.
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import { Broker } from './ferrymq.mjs';
import { count } from './table.mjs';
import { PREFETCH, work } from './work.mjs';

const leader = {
  impl: "ferrymq in the main thread (the leader's own calls)",
  setup: () => ({ broker: new Broker() }),
  run: ({ broker }, n) => work(broker, n),
  teardown: ({ broker }) => broker.close(),
};

const follower = {
  impl: 'ferrymq in a worker_thread (a follower)',
  vs: leader.impl,
  setup: async () => {
    const broker = new Broker();
    const port = broker.share();
    const worker = new Worker(new URL('./shared-worker.mjs', import.meta.url), { workerData: { port }, transferList: [port] });
    await once(worker, 'message');
    return { broker, worker };
  },
  run: async ({ worker }, n) => {
    worker.postMessage({ n });
    await once(worker, 'message');
  },
  teardown: async ({ broker, worker }) => {
    await worker.terminate();
    await broker.close();
  },
};

export function cases({ quick }) {
  const n = quick ? 2_000 : 20_000;
  const bench = `send then consume and ack, ${PREFETCH} in flight, ${count(n)}`;
  return [leader, follower].map((c) => ({ group: 'shared', bench, n, ...c }));
}
