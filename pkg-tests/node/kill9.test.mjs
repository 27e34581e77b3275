// kill -9 while writing: a child process sends, receives and acks on a
// durable broker and reports what each call resolved for; the parent kills
// it after a random number of reports (so mid-write, whatever the disk's
// speed), reopens the log and checks, for each id of that run:
// - accepted and never received: there, not marked redelivered;
// - received and held (never acked): there, redelivered, delivered twice;
// - acked: never there again;
// - received with its ack in flight at the kill: may be either, as an
//   unconfirmed publish may.
// The same log is reused, so recovery also runs on logs that earlier
// crashes and recoveries wrote.
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

/** Runs the child until it has reported `events` calls, then SIGKILLs it; resolves with its complete lines. */
function runAndKill(path, prefix, events) {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [child, path, prefix], { stdio: ['ignore', 'pipe', 'inherit'] });
    let output = '';
    let killed = false;
    proc.stdout.setEncoding('utf8');
    proc.stdout.on('data', (chunk) => {
      output += chunk;
      if (!killed && output.split('\n').length - 2 >= events) {
        killed = true;
        proc.kill('SIGKILL');
      }
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
  for (let i = 0; i < ITERATIONS; i++) {
    const lines = await runAndKill(path, `k${i}`, 1 + Math.floor(Math.random() * 60));
    const ids = (tag) => new Set(lines.filter((l) => l.startsWith(`${tag} `)).map((l) => l.slice(2)));
    const [sent, held, acking, acked] = [ids('S'), ids('R'), ids('K'), ids('A')];

    const broker = await Broker.open({ storage: { file: path } });
    assert.equal(broker.recovery.corrupt, undefined, 'a kill leaves at most a torn tail');
    const queue = broker.queue('jobs');
    const found = new Map();
    for (let m = await queue.receive(); m !== null; m = await queue.receive()) {
      assert.ok(!found.has(m.id), `${m.id} delivered twice in one drain`);
      found.set(m.id, m);
      await m.ack();
    }
    // The kill may land after a receive resolved and before the child said
    // so: at most one message, the one being received, is a redelivery
    // nobody reported.
    let unreported = 0;
    for (const id of sent) {
      if (acking.has(id)) continue;
      const m = found.get(id);
      assert.ok(m, `kill ${i}: accepted ${id} was lost`);
      const delivery = [m.redelivered, m.deliveryCount];
      if (held.has(id)) {
        assert.deepEqual(delivery, [true, 2], `kill ${i}: held ${id} comes back as a redelivery`);
      } else if (m.redelivered) {
        unreported += 1;
        assert.deepEqual(delivery, [true, 2], `kill ${i}: ${id} was delivered once before`);
      } else {
        assert.equal(m.deliveryCount, 1, `kill ${i}: ${id} was never delivered`);
      }
    }
    assert.ok(unreported <= 1, `kill ${i}: ${unreported} unreported deliveries`);
    for (const id of acked) assert.ok(!found.has(id), `kill ${i}: acked ${id} came back`);
    for (const id of found.keys()) assert.ok(id.startsWith(`k${i}-`), `kill ${i}: ${id} is from an earlier run`);
    await broker.close();
  }
});
