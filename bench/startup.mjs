// Import to ready, in Node: how long a fresh process takes from the start of
// `import` to a queue that has run its first task (ferrymq compiles and
// instantiates its wasm here). Timed inside the child, so Node's own start
// is not counted; each run is a new process, since a module loads once.
import { execFileSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { repoRoot } from './ferrymq.mjs';

const FERRYMQ = 'ferrymq (import, new Scheduler, first task)';

/** Milliseconds from import to the first task's result, in a fresh process. */
function importToReady(specifier, make) {
  const script = `const t = performance.now();
const m = await import(${JSON.stringify(specifier)});
const q = ${make};
await q.add(() => 1);
process.stdout.write(String(performance.now() - t));`;
  return Number(execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: repoRoot, encoding: 'utf8' }));
}

const dist = (file) => pathToFileURL(fileURLToPath(new URL(`../dist/${file}`, import.meta.url))).href;

export function cases() {
  return [
    { impl: FERRYMQ, specifier: dist('ferrymq.mjs'), make: 'new m.Scheduler()' },
    { impl: 'ferrymq/p-queue (import, new PQueue, first task)', specifier: dist('p-queue.mjs'), make: 'new m.default()', vs: FERRYMQ },
    { impl: 'p-queue (import, new PQueue, first task)', specifier: 'p-queue', make: 'new m.default()', vs: FERRYMQ },
  ].map(({ specifier, make, ...c }) => ({
    group: 'startup',
    bench: 'import to ready, Node',
    unit: 'ms',
    warmup: false,
    run: () => ({ ready: importToReady(specifier, make) }),
    ...c,
  }));
}
