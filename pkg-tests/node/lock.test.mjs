// One log, one broker, across processes: processes opening one log at the
// same moment, on a fresh log or over the lock a killed broker left, get
// exactly one broker between them; the others are refused with STORAGE.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

const CHILD = new URL('./lock-child.mjs', import.meta.url).pathname;
const PROCESSES = 6;
// A pid no process has (above Linux's pid_max): the lock of a killed broker.
const DEAD_PID = 2 ** 22 + 7;

/** Starts the children; resolves with each one's first line once all have said it. */
function openAll(path) {
  const at = Date.now() + 800;
  const children = Array.from({ length: PROCESSES }, () => spawn(process.execPath, [CHILD, path, String(at)]));
  const lines = children.map(
    (child) =>
      new Promise((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (data) => {
          out += data;
          if (out.includes('\n')) resolve(out.split('\n')[0]);
        });
        child.on('exit', () => resolve(out.trim() || 'exited silently'));
        child.on('error', reject);
      }),
  );
  const done = () => Promise.all(children.map((child) => new Promise((resolve) => {
    if (child.exitCode !== null) resolve();
    else { child.on('exit', resolve); child.stdin.end(); }
  })));
  return { lines: Promise.all(lines), done };
}

test('processes opening one log at the same moment get exactly one broker, also over a stale lock', async () => {
  const folder = await mkdtemp(join(tmpdir(), 'ferrymq-lock-'));
  for (let round = 0; round < 8; round++) {
    const path = join(folder, `case-${round}`, 'jobs.log');
    await mkdir(join(path, '..'), { recursive: true });
    if (round % 2 === 1) await writeFile(`${path}.lock`, String(DEAD_PID));
    const { lines, done } = openAll(path);
    const outcomes = await lines;
    await done();
    assert.equal(outcomes.filter((line) => line === 'opened').length, 1, `round ${round}: ${outcomes.join(', ')}`);
    assert.ok(outcomes.every((line) => line === 'opened' || line === 'refused STORAGE'), outcomes.join(', '));
  }
});
