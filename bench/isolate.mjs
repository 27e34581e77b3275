// Each benchmark runs in a fresh Node process: wasm memory only grows and
// heaps keep what earlier benchmarks left, so sharing one process would make
// later rows pay for earlier ones. It also bounds a run that never finishes:
// when the child exits, whatever it left running goes with it.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const CHILD = fileURLToPath(new URL('./child.mjs', import.meta.url));

/**
 * Measures `cases` (all of one benchmark, from group module `module`) in a
 * child process; resolves with its result rows, or a failed row per case if
 * the child died.
 */
export function measureIsolated(module, cases, { quick, rounds }) {
  const job = JSON.stringify({ module, bench: cases[0].bench, impls: cases.map((c) => c.impl), quick, rounds });
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--expose-gc', CHILD, job], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk) => { out += chunk; });
    child.on('close', (code, signal) => {
      try {
        if (code !== 0) throw new Error(`benchmark process exited with ${signal ?? code}`);
        resolve(JSON.parse(out));
      } catch (error) {
        resolve(cases.map((c) => ({
          group: c.group, bench: c.bench, impl: c.impl, vs: c.vs, metric: 'ms', unit: 'ms',
          n: c.n, rounds: [], median: NaN, min: NaN, max: NaN, error: String(error.message),
        })));
      }
    });
  });
}
