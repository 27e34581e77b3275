// A worker_thread of worker-threads.test.mjs: opens the follower of the
// main thread's broker from the port in workerData and does what `task`
// says, telling the parent what each call resolved for.
import { parentPort, workerData } from 'node:worker_threads';
import { Broker } from 'ferrymq';

const { port, task, worker, count } = workerData;
const broker = await Broker.open({ storage: { port } });
const jobs = broker.queue('jobs');
parentPort.postMessage({ role: broker.role });

if (task === 'send and consume') {
  // Sends its share and consumes whatever comes, until told to stop.
  const consumer = jobs.consume((m) => {
    parentPort.postMessage({ consumed: m.id, deliveryCount: m.deliveryCount });
  }, { prefetch: 8 });
  for (let i = 0; i < count; i += 10) {
    const batch = Array.from({ length: 10 }, (_, k) => ({ payload: { worker, i: i + k }, id: `${worker}-${i + k}` }));
    await jobs.sendBatch(batch);
  }
  parentPort.postMessage({ sent: count });
  parentPort.once('message', async () => {
    await consumer.cancel();
    await broker.close();
    parentPort.postMessage({ closed: true });
  });
} else if (task === 'hold') {
  // Takes deliveries and never settles them: the parent ends this thread.
  let held = 0;
  jobs.consume(() => new Promise(() => {}), { prefetch: count });
  const poll = setInterval(async () => {
    held = (await jobs.fetchStats()).inFlight;
    if (held === count) {
      clearInterval(poll);
      parentPort.postMessage({ holding: held });
    }
  }, 5);
} else if (task === 'request') {
  const answer = await broker.request('rpc', { ask: worker }, { timeoutMs: 10_000 });
  parentPort.postMessage({ answer });
  await broker.close();
}
