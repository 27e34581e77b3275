// What users download: the built package's wasm and JS glue, raw and gzipped
// (each file on its own, as a server would send it), against what installing
// p-queue puts in node_modules: its files and its dependencies' files.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { repoRoot } from './ferrymq.mjs';

const DIST = join(repoRoot, 'dist');
const MODULES = join(repoRoot, 'node_modules');
const TOTAL = 'ferrymq dist/ (everything published)';

function filesUnder(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? filesUnder(path) : [path];
  });
}

function measureFiles(paths) {
  let raw = 0;
  let gzip = 0;
  for (const path of paths) {
    const bytes = readFileSync(path);
    raw += bytes.length;
    gzip += gzipSync(bytes, { level: 9 }).length;
  }
  return { raw, gzip };
}

/** A package and the packages it depends on, transitively, as installed (flat). */
function withDependencies(name, seen = new Set()) {
  if (seen.has(name)) return seen;
  seen.add(name);
  const manifest = JSON.parse(readFileSync(join(MODULES, name, 'package.json'), 'utf8'));
  for (const dependency of Object.keys(manifest.dependencies ?? {})) withDependencies(dependency, seen);
  return seen;
}

const pQueueFiles = () => [...withDependencies('p-queue')].flatMap((name) => filesUnder(join(MODULES, name)));
const dist = (...names) => () => names.map((name) => join(DIST, name));

export function cases() {
  return [
    { impl: 'ferrymq wasm (ferrymq_bg.wasm)', files: dist('ferrymq_bg.wasm') },
    { impl: 'ferrymq browser glue (browser.js)', files: dist('browser.js') },
    { impl: 'ferrymq Node glue (ferrymq.cjs + .mjs)', files: dist('ferrymq.cjs', 'ferrymq.mjs') },
    { impl: 'ferrymq browser load (wasm + browser.js)', files: dist('ferrymq_bg.wasm', 'browser.js') },
    { impl: TOTAL, files: () => filesUnder(DIST) },
    {
      impl: `p-queue install (${[...withDependencies('p-queue')].join(' + ')})`,
      files: pQueueFiles,
      vs: TOTAL,
    },
    {
      impl: 'p-queue install, .js files only',
      files: () => pQueueFiles().filter((path) => /\.[cm]?js$/.test(path)),
      vs: 'ferrymq browser load (wasm + browser.js)',
    },
  ].map(({ files, ...c }) => ({
    group: 'size',
    bench: 'package size',
    unit: 'KiB',
    // Sizes are deterministic: one round, nothing to warm.
    rounds: 1,
    warmup: false,
    run: () => {
      const { raw, gzip } = measureFiles(files());
      return { raw, gzip };
    },
    ...c,
  }));
}
