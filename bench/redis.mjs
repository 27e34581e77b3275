// Through Redis: N messages sent (in batches of 1,000), then consumed and
// acked by one consumer with 64 in flight, in one Node process; ferrymq
// (Broker.open({ storage: { redis } })) next to BullMQ (Queue.addBulk, a
// Worker with concurrency 64, jobs removed on completion), each on a
// redis-server of its own started the same way (AOF, fsync always).
// Then the same messages consumed by four consumer processes at once
// (redis-consumer.mjs), 16 in flight each, started before the clock starts
// and consuming while this process sends.
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { Queue, Worker } from 'bullmq';
import { startRedis } from '../tests/redis/server.mjs';
import { Broker } from './ferrymq.mjs';
import { count } from './table.mjs';
import { chunks, PREFETCH, sendAll, work } from './work.mjs';

const bullmqSend = async (queue, n) => {
  let sent = 0;
  for (const size of chunks(n)) {
    await queue.addBulk(Array.from({ length: size }, () => ({ name: 'job', data: { i: sent++ }, opts: { removeOnComplete: true } })));
  }
};

const ferrymq = {
  impl: 'ferrymq',
  setup: async () => {
    const server = await startRedis();
    return { server, broker: await Broker.open({ storage: { redis: server.url, prefix: 'bench' } }) };
  },
  run: ({ broker }, n) => work(broker, n),
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
    await bullmqSend(queue, n);
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

const PROCESSES = 4;
const CONSUMER = new URL('./redis-consumer.mjs', import.meta.url);

/** Starts the consumer processes of `impl` on `server`; resolves once every one consumes. */
async function consumers(impl, server) {
  const children = Array.from({ length: PROCESSES }, () =>
    fork(CONSUMER, [impl, server.url, String(PREFETCH / PROCESSES)], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] }));
  await Promise.all(children.map((child) => once(child, 'message')));
  return children;
}

/** Resolves once the consumer processes have acked n messages in all. */
function allAcked(children, n) {
  return new Promise((resolve) => {
    let acked = 0;
    for (const child of children) {
      child.on('message', (m) => {
        if ((acked += m.acked) === n) resolve();
      });
    }
  });
}

async function stopConsumers(children) {
  await Promise.all(children.map((child) => {
    child.send('stop');
    return once(child, 'exit');
  }));
}

const ferrymqProcesses = {
  impl: 'ferrymq',
  setup: async () => {
    const server = await startRedis();
    const children = await consumers('ferrymq', server);
    return { server, children, broker: await Broker.open({ storage: { redis: server.url, prefix: 'bench' } }) };
  },
  run: async ({ broker, children }, n) => {
    const done = allAcked(children, n);
    await sendAll(broker, n);
    await done;
  },
  teardown: async ({ server, children, broker }) => {
    await stopConsumers(children);
    await broker.close();
    await server.stop();
  },
};

const bullmqProcesses = {
  impl: 'BullMQ',
  vs: 'ferrymq',
  setup: async () => {
    const server = await startRedis();
    const children = await consumers('bullmq', server);
    const { port } = new URL(server.url);
    const connection = { host: '127.0.0.1', port: Number(port), maxRetriesPerRequest: null };
    return { server, children, queue: new Queue('jobs', { connection }) };
  },
  run: async ({ queue, children }, n) => {
    const done = allAcked(children, n);
    await bullmqSend(queue, n);
    await done;
  },
  teardown: async ({ server, children, queue }) => {
    await stopConsumers(children);
    await queue.close();
    await server.stop();
  },
};

export function cases({ quick }) {
  const n = quick ? 500 : 10_000;
  const one = `send then consume and ack, one process, ${PREFETCH} in flight, ${count(n)}`;
  const four = `send while ${PROCESSES} consumer processes consume and ack, ${PREFETCH / PROCESSES} in flight each, ${count(n)}`;
  return [
    ...[ferrymq, bullmq].map((c) => ({ group: 'redis', bench: one, n, ...c })),
    ...[ferrymqProcesses, bullmqProcesses].map((c) => ({ group: 'redis', bench: four, n, ...c })),
  ];
}
