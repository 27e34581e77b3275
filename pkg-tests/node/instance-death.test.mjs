// A trapped wasm instance (a Rust panic, which aborts it) marks itself dead
// and says so. No input through the package's API can make the core panic
// (that is the point of checking every argument first), so this test builds
// the wrapper from the source tree (js/, and the pkg/ the build made) with
// its internals exported, and reports a panic the way Rust's panic hook
// does, through instanceDied.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';

const repo = process.env.FERRYMQ_REPO;
const { build } = await import(pathToFileURL(join(repo, 'node_modules/esbuild/lib/main.js')).href);
const { outputFiles } = await build({
  stdin: {
    contents: `export { initSync } from './pkg/ferrymq.js';
      export { boot } from './js/boot.js';
      export { Broker, Scheduler } from './js/api.js';
      export { instanceDied } from './js/instance.js';`,
    resolveDir: repo,
    loader: 'ts',
  },
  bundle: true,
  format: 'esm',
  platform: 'node',
  write: false,
  logLevel: 'error',
});
const bundle = join(mkdtempSync(join(tmpdir(), 'ferrymq-death-')), 'wrapper.mjs');
writeFileSync(bundle, outputFiles[0].text);
const { initSync, boot, Broker, Scheduler, instanceDied } = await import(pathToFileURL(bundle).href);
boot(initSync({ module: readFileSync(join(repo, 'pkg/ferrymq_bg.wasm')) }));

const isDeath = (e) => e?.name === 'FerryError' && e.code === 'CLOSED' && e.message.includes('trapped (index out of bounds)');

test('after a panic every broker and scheduler stops with one CLOSED error that names it', async () => {
  const broker = new Broker();
  const queue = broker.queue('jobs');
  await queue.send('held');
  const held = await queue.receive();
  const waiting = queue.receive({ waitMs: 60_000 });
  const errors = [];
  broker.on('error', (e) => errors.push(e.error));
  const scheduler = new Scheduler({ concurrency: 1 });
  let runningSignal;
  const running = scheduler.add(({ signal }) => {
    runningSignal = signal;
    return new Promise(() => {});
  });
  const queued = scheduler.add(() => 'never');
  const idle = scheduler.onIdle();

  instanceDied('index out of bounds');
  await assert.rejects(waiting, isDeath, 'a pending receive ends with it');
  await assert.rejects(running, isDeath, 'a running task rejects with it');
  await assert.rejects(queued, isDeath, 'a waiting task too');
  assert.ok(runningSignal.aborted && isDeath(runningSignal.reason), "the running task's signal tells it to stop");
  await assert.rejects(idle, isDeath, 'a wait for the scheduler to go idle ends with it');
  assert.ok(errors.length === 1 && isDeath(errors[0]), "the broker says so on 'error'");

  await assert.rejects(queue.send('after'), isDeath, 'later calls say why');
  await assert.rejects(held.ack(), isDeath);
  assert.throws(() => broker.stats(), isDeath);
  await assert.rejects(scheduler.add(() => 1), isDeath);
  assert.throws(() => scheduler.pause(), isDeath);
  await assert.rejects(scheduler.onIdle(), isDeath, 'a later wait rejects (it does not throw)');
  await broker.close();
  assert.throws(() => new Broker().queue('new'), isDeath, 'a broker made afterwards is dead too');
});
