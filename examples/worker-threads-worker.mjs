// The worker of worker-threads.mjs: a follower of the main thread's broker.
import { workerData } from 'node:worker_threads';
import { Broker } from 'ferrymq';

const broker = await Broker.open({ storage: { port: workerData.port } });
const results = broker.queue('results');
broker.queue('squares').consume(async (message) => {
  await results.send(message.payload ** 2);
}, { prefetch: 2 });
