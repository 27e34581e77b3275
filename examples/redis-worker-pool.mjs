// A worker pool over Redis: jobs are retried with backoff, and the ones that
// keep failing end in a dead-letter queue instead of blocking the rest.
// Here one process is both the producer and the pool; the consume() part
// runs the same in any number of processes on any number of machines that
// open the same REDIS_URL and prefix: they share the queues.
//
//   npm install ferrymq ioredis
//   REDIS_URL=redis://127.0.0.1:6379/0 node redis-worker-pool.mjs
import { Broker } from 'ferrymq';

const broker = await Broker.open({ storage: { redis: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379/0', prefix: 'example-pool' } });

const thumbnails = broker.queue('thumbnails', {
  maxDeliveries: 3, // then to 'thumbnails.dlq'
  backoff: { type: 'exponential', baseMs: 50 },
  leaseMs: 10_000, // a worker that dies holding a job: another gets it after 10 s
});
const dead = broker.queue('thumbnails.dlq');

// An example's leftovers from an earlier run (one killed midway) go first.
await Promise.all([thumbnails.purge(), dead.purge()]);

// Producers: anywhere.
await thumbnails.sendBatch(['cat.png', 'dog.png', 'broken.png', 'bird.png'].map((file) => ({ payload: { file } })));

// Workers: a handler that returns acks; one that throws is retried.
const done = [];
let attempts = 0;
let allDone;
const finished = new Promise((resolve) => {
  allDone = resolve;
});
thumbnails.consume(async (message) => {
  attempts++;
  if (message.payload.file === 'broken.png') throw new Error('not an image');
  if (done.push(message.payload.file) === 3) allDone();
}, { prefetch: 4 });
broker.on('error', () => {}); // each failed attempt is reported here; quiet for the example

// The dead letters, for a person to look at.
const deadLetter = await dead.receive({ waitMs: 30_000 });
await deadLetter.ack();
await finished;

console.log(`thumbnails made: ${done.sort().join(', ')}`);
console.log(`dead-lettered: ${deadLetter.payload.file} after ${attempts - done.length} attempts`);
await broker.close();
