// Runs a wasm32-wasip1 test binary (cargo calls it as the target's runner:
// the program, then its arguments) under Node's WASI: the core's own tests
// on a 32-bit target, where usize is 32 bits, as in the browser.
//
// Each test runs in a fresh instance of the compiled module, with one
// summary line per binary at the end. One instance for all of them crashed
// Node 20 (SIGSEGV) once the frame-limit tests had grown its memory; so
// did its baseline compiler, hence `node --no-liftoff` in test.sh.
import { closeSync, mkdtempSync, openSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { WASI } from 'node:wasi';

const [program, ...args] = process.argv.slice(2);
const module = await WebAssembly.compile(readFileSync(program));
const scratch = mkdtempSync(join(tmpdir(), 'ferrymq-wasi-'));

/** Runs the program with `argv` (its output to `stdout`, a file descriptor); resolves with its exit code. */
async function run(argv, stdout = 1) {
  const wasi = new WASI({
    version: 'preview1',
    args: [program, ...argv],
    env: process.env,
    // The crate folder: proptest keeps its regression seeds there.
    preopens: { '.': process.cwd() },
    returnOnExit: true,
    stdout,
  });
  return wasi.start(await WebAssembly.instantiate(module, wasi.getImportObject()));
}

const listing = join(scratch, 'list');
const fd = openSync(listing, 'w');
const listed = await run([...args, '--list', '--format', 'terse'], fd);
closeSync(fd);
const list = readFileSync(listing, 'utf8');
if (listed !== 0) {
  process.stdout.write(list);
  process.exit(listed);
}
const names = list.split('\n').filter((line) => line.endsWith(': test')).map((line) => line.slice(0, -': test'.length));
let failed = 0;
for (const name of names) {
  // A failing assertion panics, and a panic aborts: the instance traps.
  const code = await run(['--exact', name, '--quiet']).catch((error) => error);
  if (code !== 0) {
    failed += 1;
    console.log(`---- ${name} failed on wasm32: ${code instanceof Error ? code.message : `exit ${code}`}`);
  }
}
console.log(`wasm32 ${basename(program).replace(/-[0-9a-f]+\.wasm$/, '')}: ${names.length - failed} passed, ${failed} failed`);
process.exitCode = failed === 0 ? 0 : 101;
