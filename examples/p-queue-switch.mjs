// Coming from p-queue: change the import, keep the code.
//
//   - import PQueue from 'p-queue';
//   + import PQueue from 'ferrymq/p-queue';
//
//   node p-queue-switch.mjs
import PQueue from 'ferrymq/p-queue';

const queue = new PQueue({ concurrency: 2 });
let running = 0;
let most = 0;
const task = (n) => async () => {
  most = Math.max(most, ++running);
  await new Promise((resolve) => setTimeout(resolve, 5));
  running--;
  return n * 2;
};

const results = await Promise.all([1, 2, 3, 4, 5].map((n) => queue.add(task(n))));
await queue.onIdle();
console.log(`results: ${results.join(', ')}; at most ${most} at once`);
