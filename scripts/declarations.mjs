// Emits the published type declarations from the wrapper's TypeScript (never
// hand-written): tsc writes a .d.ts per module, and dist/types gets those
// the public entry points reach; dist/<entry>.d.ts and .d.cts re-export them.
// Fails when a published declaration says `any` or reaches into the
// wasm-bindgen glue: both would mean an internal type leaked out.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';

const emitted = '.artifacts/declarations';
const ENTRIES = { index: 'api.d.ts', 'p-queue': 'p-queue/index.d.ts' };

rmSync(emitted, { recursive: true, force: true });
execFileSync(
  'node_modules/.bin/tsc',
  ['-p', 'js/tsconfig.json', '--noEmit', 'false', '--declaration', '--emitDeclarationOnly', '--stripInternal', '--outDir', emitted],
  { stdio: 'inherit' },
);

/** The relative specifiers a declaration file imports or re-exports from. */
const specifiers = (text) => [...text.matchAll(/\bfrom\s+'([^']+)'|\bimport\('([^']+)'\)/g)].map((m) => m[1] ?? m[2]);

const reached = new Set();
const problems = [];
function visit(file) {
  if (reached.has(file)) return;
  reached.add(file);
  const text = readFileSync(join(emitted, file), 'utf8');
  const code = text.replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '');
  if (/\bany\b/.test(code)) problems.push(`${file} says \`any\``);
  for (const specifier of specifiers(text)) {
    if (!specifier.startsWith('.')) continue;
    const target = normalize(join(dirname(file), specifier)).replace(/\.js$/, '.d.ts');
    if (target.startsWith('..')) problems.push(`${file} reaches outside the wrapper: ${specifier}`);
    else visit(target);
  }
}
for (const entry of Object.values(ENTRIES)) visit(entry);
if (problems.length > 0) {
  console.error(`published declarations leak internals:\n  ${problems.join('\n  ')}`);
  process.exit(1);
}

for (const file of reached) {
  const out = join('dist/types', file);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, readFileSync(join(emitted, file), 'utf8'));
}
// One tree serves import and require: a .d.cts may re-export these types.
for (const [name, entry] of Object.entries(ENTRIES)) {
  const target = `./types/${entry.replace(/\.d\.ts$/, '.js')}`;
  const hasDefault = /export default|export\s*\{[^}]*\bdefault\b/.test(readFileSync(join(emitted, entry), 'utf8'));
  const body = `export * from '${target}';\n${hasDefault ? `export { default } from '${target}';\n` : ''}`;
  for (const extension of ['.d.ts', '.d.cts']) writeFileSync(join('dist', `${name}${extension}`), body);
}
