// The scenarios in Node, against the installed package (browser/scenarios.test.mjs
// runs them in Chromium). The broker scenarios run three times: in memory,
// on a log file, and on a follower whose calls go to a leader over a
// MessagePort (as a worker_thread's would).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import * as ferrymq from 'ferrymq';
import { environment } from '../scenarios/environment.mjs';
import { whenIdle } from '../scenarios/fake-clock.mjs';

// Durable scenarios store their logs as files here.
const folder = mkdtempSync(join(tmpdir(), 'ferrymq-test-'));
let logs = 0;
const newStorage = () => ({ file: join(folder, `log-${++logs}`) });

const memory = environment(ferrymq, newStorage, 'memory');
const follower = environment(ferrymq, newStorage, 'follower');
const RUNS = [
  ['broker', memory, ['scenarios', 'inMemory']],
  ['broker on file', environment(ferrymq, newStorage, 'durable'), ['scenarios']],
  ['broker on a follower', follower, ['scenarios']],
  ['bad-input', memory, ['scenarios']],
  ['bad-input on a follower', follower, ['scenarios']],
  ['scheduler', memory, ['scenarios']],
  ['durable', memory, ['scenarios']],
];

for (const [label, env, sets] of RUNS) {
  const module = await import(`../scenarios/${label.split(' ')[0]}.mjs`);
  for (const set of sets) {
    for (const [name, run] of Object.entries(module[set])) {
      test(`${label}: ${name}`, () => {
        whenIdle(env.idle);
        return run(ferrymq, env);
      });
    }
  }
}
