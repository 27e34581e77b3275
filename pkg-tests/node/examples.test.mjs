// Every program in examples/ runs as a user would run it, against the
// installed package, and prints what its comments promise: none can rot.
// The Redis one gets a redis-server of its own (tests/redis/server.mjs).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const examples = fileURLToPath(new URL('../examples/', import.meta.url));

/** Runs example `file` with `env`; resolves with what it printed. */
async function example(file, env = {}) {
  const { stdout } = await run(process.execPath, [file], { cwd: examples, env: { ...process.env, ...env }, timeout: 60_000 });
  return stdout.trim().split('\n');
}

test('request-reply.mjs: an answer, then a timeout', async () => {
  assert.deepEqual(await example('request-reply.mjs'), ['teapot costs 600 cents', 'unknown: no reply within 50 ms']);
});

test('p-queue-switch.mjs: p-queue code on ferrymq/p-queue', async () => {
  assert.deepEqual(await example('p-queue-switch.mjs'), ['results: 2, 4, 6, 8, 10; at most 2 at once']);
});

test('worker-threads.mjs: three workers follow the main thread\'s broker', async () => {
  assert.deepEqual(await example('worker-threads.mjs'), ['sum of squares 0..11: 506']);
});

test('redis-worker-pool.mjs: retries, then the dead-letter queue', async () => {
  const { startRedis } = await import(`${process.env.FERRYMQ_REPO}/tests/redis/server.mjs`);
  const server = await startRedis();
  try {
    assert.deepEqual(await example('redis-worker-pool.mjs', { REDIS_URL: server.url }), [
      'thumbnails made: bird.png, cat.png, dog.png',
      'dead-lettered: broken.png after 3 attempts',
    ]);
  } finally {
    await server.stop();
  }
});
