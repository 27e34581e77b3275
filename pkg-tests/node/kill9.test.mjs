// kill -9 while writing: a child process sends and acks on a durable broker
// and reports each accepted id; the parent kills it at a random moment,
// reopens the log, and checks that every accepted, unacked message is there
// and no acked one comes back. A message the child received but whose ack
// it had not reported is uncertain (its ack may or may not have been
// persisted, as with an unconfirmed publish): it may be there or not. The same log is reused, so recovery is also
// tested on logs that earlier crashes and recoveries wrote.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Broker } from 'ferrymq';

const ITERATIONS = Number(process.env.FERRYMQ_KILL9_ITERATIONS ?? 100);
const child = fileURLToPath(new URL('./kill9-child.mjs', import.meta.url));

/** Runs the child until it has been writing for `ms`, then SIGKILLs it; resolves with its complete output lines. */
function runAndKill(path, prefix, ms) {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [child, path, prefix], { stdio: ['ignore', 'pipe', 'inherit'] });
    let output = '';
    proc.stdout.setEncoding('utf8');
    proc.stdout.on('data', (chunk) => {
      if (!output.includes('READY') && (output + chunk).includes('READY')) setTimeout(() => proc.kill('SIGKILL'), ms);
      output += chunk;
    });
    proc.on('error', reject);
    proc.on('exit', (code, signal) => {
      if (signal !== 'SIGKILL') reject(new Error(`child exited with ${code ?? signal} before it was killed`));
      // A line cut off by the kill was never reported: drop it.
      else resolve(output.split('\n').slice(0, -1));
    });
  });
}

test(`every accepted, unacked message survives kill -9 (${ITERATIONS} kills)`, async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'ferrymq-kill9-')), 'jobs.log');
  let accepted = 0;
  for (let i = 0; i < ITERATIONS; i++) {
    const lines = await runAndKill(path, `k${i}`, 5 + Math.floor(Math.random() * 60));
    const sent = new Set(lines.filter((l) => l.startsWith('S ')).map((l) => l.slice(2)));
    const received = new Set(lines.filter((l) => l.startsWith('R ')).map((l) => l.slice(2)));
    const acked = new Set(lines.filter((l) => l.startsWith('A ')).map((l) => l.slice(2)));
    accepted += sent.size;

    const broker = await Broker.open({ storage: { file: path } });
    assert.equal(broker.recovery.corrupt, undefined, 'a kill leaves at most a torn tail');
    const queue = broker.queue('jobs');
    const found = new Map();
    for (let m = await queue.receive(); m !== null; m = await queue.receive()) {
      assert.ok(!found.has(m.id), `${m.id} delivered twice in one drain`);
      found.set(m.id, m);
      await m.ack();
    }
    for (const id of sent) {
      if (!received.has(id)) assert.ok(found.has(id), `kill ${i}: accepted ${id} was lost`);
    }
    for (const id of acked) assert.ok(!found.has(id), `kill ${i}: acked ${id} came back`);
    for (const id of found.keys()) assert.ok(id.startsWith(`k${i}-`), `kill ${i}: ${id} is from an earlier run`);
    await broker.close();
  }
  assert.ok(accepted > ITERATIONS, `the children got sends accepted (${accepted})`);
});
