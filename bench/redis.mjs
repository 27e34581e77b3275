// Through Redis: N messages sent (in batches of 1,000), then consumed and
// acked by one consumer with 64 in flight, in one Node process; ferrymq
// (Broker.open({ storage: { redis } })) next to BullMQ (Queue.addBulk, a
// Worker with concurrency 64, jobs removed on completion), each on a
// redis-server of its own started the same way (AOF, fsync always).
import { Queue, Worker } from 'bullmq';
import { startRedis } from '../tests/redis/server.mjs';
import { Broker } from './ferrymq.mjs';
import { count } from './table.mjs';

const BATCH = 1_000;
const PREFETCH = 64;
const chunks = (n) => Array.from({ length: Math.ceil(n / BATCH) }, (_, c) => Math.min(BATCH, n - c * BATCH));

const ferrymq = {
  impl: 'ferrymq',
  setup: async () => {
    const server = await startRedis();
    return { server, broker: await Broker.open({ storage: { redis: server.url, prefix: 'bench' } }) };
  },
  run: async ({ broker }, n) => {
    const queue = broker.queue('jobs');
    let sent = 0;
    for (const size of chunks(n)) {
      await queue.sendBatch(Array.from({ length: size }, () => ({ payload: { i: sent++ } })));
    }
    let acked = 0;
    let consumer;
    await new Promise((resolve) => {
      consumer = queue.consume(() => {
        if (++acked === n) resolve();
      }, { prefetch: PREFETCH });
    });
    await consumer.cancel();
  },
  teardown: async ({ server, broker }) => {
    await broker.close();
    await server.stop();
  },
};

const bullmq = {
  impl: 'BullMQ',
  vs: 'ferrymq',
  setup: async () => {
    const server = await startRedis();
    const { port } = new URL(server.url);
    const connection = { host: '127.0.0.1', port: Number(port), maxRetriesPerRequest: null };
    return { server, connection, queue: new Queue('jobs', { connection }) };
  },
  run: async ({ connection, queue }, n) => {
    let sent = 0;
    for (const size of chunks(n)) {
      await queue.addBulk(Array.from({ length: size }, () => ({ name: 'job', data: { i: sent++ }, opts: { removeOnComplete: true } })));
    }
    let done = 0;
    let worker;
    await new Promise((resolve) => {
      worker = new Worker('jobs', async () => {}, { connection, concurrency: PREFETCH });
      worker.on('completed', () => {
        if (++done === n) resolve();
      });
    });
    await worker.close();
  },
  teardown: async ({ server, queue }) => {
    await queue.close();
    await server.stop();
  },
};

export function cases({ quick }) {
  const n = quick ? 500 : 10_000;
  const bench = `send then consume and ack, one process, ${PREFETCH} in flight, ${count(n)}`;
  return [ferrymq, bullmq].map((c) => ({ group: 'redis', bench, n, ...c }));
}
