// Assembles dist/ from the wasm-bindgen output in pkg/ and the wrapper in js/:
//   ferrymq.cjs  Node (require and, through ferrymq.mjs, import): loads
//                ferrymq_bg.wasm synchronously
//   browser.js   browsers, workers and bundlers: one ES module, top-level
//                await instantiation of the same ferrymq_bg.wasm
//   p-queue.*    ferrymq/p-queue, the same three ways; it imports the main entry
//                next to it, so it shares its wasm instance instead of loading another
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

rmSync('dist', { recursive: true, force: true });
mkdirSync('dist');
// Types first: tsc checks the wrapper and emits the published declarations
// (never written by hand); a type error stops the build before bundling.
execFileSync('node', ['scripts/declarations.mjs'], { stdio: 'inherit' });

// Minified: browsers download it. keepNames: class and function names stay
// what users see in stack traces and `constructor.name`. FERRYMQ_NO_MINIFY=1
// keeps the bundles readable, for profiling.
const common = { bundle: true, legalComments: 'none', logLevel: 'warning', minify: process.env.FERRYMQ_NO_MINIFY === undefined, keepNames: true };
await build({
  ...common,
  entryPoints: ['js/entry-node.ts'],
  outfile: 'dist/ferrymq.cjs',
  format: 'cjs',
  platform: 'node',
  target: 'node18',
  // The Redis client is the user's optional peer dependency, loaded when a
  // Redis broker opens; the function library ships inside the bundle.
  external: ['ioredis'],
  loader: { '.lua': 'text' },
  // The web glue's default init() mentions import.meta.url; Node never calls it.
  logOverride: { 'empty-import-meta': 'silent' },
});
await build({
  ...common,
  entryPoints: ['js/entry-browser.ts'],
  outfile: 'dist/browser.js',
  format: 'esm',
  platform: 'neutral',
  target: 'es2022',
});
// ferrymq/p-queue's `../api.js` is the main entry built above, not a copy of it.
const mainEntry = (file) => ({
  name: 'main-entry',
  setup(b) {
    b.onResolve({ filter: /^\.\.\/api\.js$/ }, () => ({ path: file, external: true }));
  },
});
await build({
  ...common,
  entryPoints: ['js/p-queue/index.ts'],
  outfile: 'dist/p-queue.cjs',
  format: 'cjs',
  platform: 'node',
  target: 'node18',
  plugins: [mainEntry('./ferrymq.cjs')],
});
await build({
  ...common,
  entryPoints: ['js/p-queue/index.ts'],
  outfile: 'dist/p-queue.js',
  format: 'esm',
  platform: 'neutral',
  target: 'es2022',
  plugins: [mainEntry('./browser.js')],
});
writeFileSync(
  'dist/p-queue.mjs',
  "import pQueue from './p-queue.cjs';\nexport default pQueue.default;\nexport const { PQueue, TimeoutError } = pQueue;\n",
);
// One instance for import and require in Node, so `instanceof FerryError` holds across both.
writeFileSync('dist/ferrymq.mjs', "export * from './ferrymq.cjs';\n");
copyFileSync('pkg/ferrymq_bg.wasm', 'dist/ferrymq_bg.wasm');
