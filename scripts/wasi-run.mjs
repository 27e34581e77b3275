// Runs a wasm32-wasip1 test binary (cargo calls it as the target's runner:
// the program, then its arguments) under Node's WASI: the core's own tests
// on a 32-bit target, where usize is 32 bits, as in the browser.
//
// Each test runs in a process of its own, one at a time (two heavy ones side
// by side crashed more), and one summary line is printed per binary. Node 20 crashes (SIGSEGV) on wasm memories
// grown to hundreds of MiB (the frame-limit test): always with its
// baseline compiler, in about half the runs with lazy optimizing
// compilation, in about 1 of 30 with eager (measured here), which costs
// about 0.5 s more per process. So each test runs under --no-liftoff, and a
// test whose process Node itself killed by a signal runs again with eager
// compilation (at most twelve tries, said in the output). A test that fails
// by a panic or an exit code never runs again: wasm cannot crash its host.
import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WASI } from 'node:wasi';

const NODE_FLAGS = ['--no-warnings', '--no-liftoff'];
const AFTER_A_CRASH = [...NODE_FLAGS, '--no-wasm-lazy-compilation'];
const PARALLEL = 1;

/** Runs `program` once with `argv` in this process, its output to `stdout` (a file descriptor); resolves with its exit code. */
async function run(program, argv, stdout = 1) {
  const wasi = new WASI({
    version: 'preview1',
    args: [program, ...argv],
    env: process.env,
    // The crate folder: proptest keeps its regression seeds there.
    preopens: { '.': process.cwd() },
    returnOnExit: true,
    stdout,
  });
  const module = await WebAssembly.compile(readFileSync(program));
  return wasi.start(await WebAssembly.instantiate(module, wasi.getImportObject()));
}

/** The names of the tests `program` holds (with cargo's filters in `args`). */
async function list(program, args) {
  const file = join(mkdtempSync(join(tmpdir(), 'ferrymq-wasi-')), 'list');
  const fd = openSync(file, 'w');
  const code = await run(program, [...args, '--list', '--format', 'terse'], fd);
  closeSync(fd);
  const text = readFileSync(file, 'utf8');
  if (code !== 0) throw new Error(`listing the tests of ${program} failed:\n${text}`);
  return text.split('\n').filter((line) => line.endsWith(': test')).map((line) => line.slice(0, -': test'.length));
}

const TRIES = 12;

/** Runs test `name` of `program` in a child process, again if Node crashed; resolves with whether it passed. */
async function runAlone(program, name) {
  for (let tryNumber = 1; ; tryNumber++) {
    const [code, signal, output] = await runChild(program, name, tryNumber === 1 ? NODE_FLAGS : AFTER_A_CRASH);
    if (code === 0) return true;
    if (signal !== null && tryNumber < TRIES) {
      console.log(`(${name}: Node crashed with ${signal}, running it again, compiled eagerly)`);
      continue;
    }
    console.log(`---- ${name} failed on wasm32 (${signal ?? `exit ${code}`}):\n${output}`);
    return false;
  }
}

/** Resolves with [exit code, signal, output] of one child process running test `name`. */
function runChild(program, name, flags) {
  return new Promise((resolve) => {
    const self = fileURLToPath(import.meta.url);
    const child = spawn(process.execPath, [...flags, self, '--one', program, name], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.on('close', (code, signal) => resolve([code, signal, output]));
  });
}

if (process.argv[2] === '--one') {
  // A child: one test. A failing assertion panics, and a panic aborts: the instance traps.
  const [program, name] = process.argv.slice(3);
  process.exitCode = await run(program, ['--exact', name, '--quiet']).catch((error) => {
    console.error(error.message);
    return 101;
  });
} else {
  const [program, ...args] = process.argv.slice(2);
  const names = await list(program, args);
  let failed = 0;
  let next = 0;
  const worker = async () => {
    while (next < names.length) {
      if (!(await runAlone(program, names[next++]))) failed += 1;
    }
  };
  await Promise.all(Array.from({ length: PARALLEL }, worker));
  console.log(`wasm32 ${basename(program).replace(/-[0-9a-f]+\.wasm$/, '')}: ${names.length - failed} passed, ${failed} failed`);
  process.exitCode = failed === 0 ? 0 : 101;
}
