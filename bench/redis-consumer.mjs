// One consumer process of the "four consumer processes" Redis benchmark
// (redis.mjs): consumes queue 'jobs' on the server at argv[3] with argv[4]
// in flight, for ferrymq or BullMQ (argv[2]); says 'ready' once consuming,
// then how many it acked since it last said (one message per turn at most),
// and leaves when told 'stop'.
import { Worker } from 'bullmq';
import { Broker } from './ferrymq.mjs';

const [impl, url, inFlight] = process.argv.slice(2);
const prefetch = Number(inFlight);

let unreported = 0;
let reporting = false;
function acked() {
  unreported++;
  if (reporting) return;
  reporting = true;
  setImmediate(() => {
    process.send({ acked: unreported });
    unreported = 0;
    reporting = false;
  });
}

let stop;
if (impl === 'ferrymq') {
  const broker = await Broker.open({ storage: { redis: url, prefix: 'bench' } });
  broker.queue('jobs').consume(acked, { prefetch });
  stop = () => broker.close();
} else {
  const { port } = new URL(url);
  const connection = { host: '127.0.0.1', port: Number(port), maxRetriesPerRequest: null };
  const worker = new Worker('jobs', async () => {}, { connection, concurrency: prefetch });
  worker.on('completed', acked);
  await worker.waitUntilReady();
  stop = () => worker.close();
}
process.on('message', async (message) => {
  if (message !== 'stop') return;
  await stop();
  process.disconnect();
});
process.send('ready');
