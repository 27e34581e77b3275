// The worker_thread of shared.mjs: follows the main thread's broker through
// the port in workerData; on each { n } it sends n messages in batches and
// consumes and acks them, then says 'done'.
import { parentPort, workerData } from 'node:worker_threads';
import { Broker } from './ferrymq.mjs';
import { work } from './work.mjs';

const broker = await Broker.open({ storage: { port: workerData.port } });
parentPort.on('message', async ({ n }) => {
  await work(broker, n);
  parentPort.postMessage('done');
});
parentPort.postMessage('ready');
