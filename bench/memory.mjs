// Memory per queued message with n messages queued and none consumed, each
// round in a fresh child process (see memory-child.mjs for why and what is
// counted). The payloads are in every number: a plain JS array holding the
// same payloads shows their share, the rest is what the queue adds.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { count } from './table.mjs';

const child = fileURLToPath(new URL('./memory-child.mjs', import.meta.url));
const FERRYMQ = 'ferrymq (heap + wasm memory)';

async function measureIn(kind, n) {
  const { stdout } = await promisify(execFile)(process.execPath, ['--expose-gc', child, kind, String(n)], {
    maxBuffer: 1 << 20,
  });
  return { 'bytes per message': JSON.parse(stdout).bytesPerMessage };
}

export function cases({ quick }) {
  const n = quick ? 100_000 : 1_000_000;
  return [
    { impl: FERRYMQ, kind: 'ferrymq' },
    { impl: 'better-queue (memory store)', kind: 'better-queue', vs: FERRYMQ },
    { impl: 'floor: plain JS (array + Map in flight)', kind: 'plain', vs: FERRYMQ },
    { impl: 'JS array of the same payloads', kind: 'array', vs: FERRYMQ },
  ].map(({ kind, ...c }) => ({
    group: 'memory',
    bench: `${count(n)} queued small messages`,
    unit: 'B/msg',
    n,
    // Each run is a fresh process: there is no JIT state to warm.
    warmup: false,
    run: (_, size) => measureIn(kind, size),
    ...c,
  }));
}
