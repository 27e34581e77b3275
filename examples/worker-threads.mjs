// Node worker_threads sharing the main thread's broker: the main thread
// keeps the messages (here on a log file, a fresh one per run; reopen the
// same path and what was not acked is still there) and each worker
// consumes through a port from broker.share().
//
//   node worker-threads.mjs
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { Broker } from 'ferrymq';

const broker = await Broker.open({ storage: { file: join(mkdtempSync(join(tmpdir(), 'ferrymq-example-')), 'jobs.log') } });
const results = broker.queue('results');

const workers = Array.from({ length: 3 }, () => {
  const port = broker.share();
  return new Worker(new URL('./worker-threads-worker.mjs', import.meta.url), { workerData: { port }, transferList: [port] });
});

await broker.queue('squares').sendBatch(Array.from({ length: 12 }, (_, n) => ({ payload: n })));

let sum = 0;
for (let i = 0; i < 12; i++) {
  const result = await results.receive({ waitMs: 30_000 });
  sum += result.payload;
  await result.ack();
}
console.log(`sum of squares 0..11: ${sum}`);
await Promise.all(workers.map((worker) => worker.terminate()));
await broker.close();
