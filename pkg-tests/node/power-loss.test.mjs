// Durable brokers against power loss, in JS, on the real Node log driver.
// Random sequences of queue/bind/unbind/send/ack/nack/close/reopen run on a
// broker whose folder sits on a simulated disk: a shim over the driver's
// file operations (node:fs/promises and FileHandle methods) keeps, per
// inode, the bytes as of its last datasync, and, for the folder, the names
// as of its last directory sync. A crash makes every later operation fail
// (the broker stops and lets go of its lock), then leaves the folder as a
// power loss would: each name the folder had synced, each file with its
// synced bytes and a random part of what was appended after them. Reopened,
// the broker must hold everything a call resolved for, and nothing an
// acknowledged ack or nack removed; calls cut off by the crash may go either
// way. Without the driver's datasync this test fails: the page cache is
// not the disk.
import assert from 'node:assert/strict';
import fsp, { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Broker } from 'ferrymq';

const RUNS = Number(process.env.FERRYMQ_POWER_LOSS_RUNS ?? 40);
const OPS = 30;

/** A small seeded generator, so a failing run can be repeated from its seed. */
function random(seed) {
  let s = seed >>> 0;
  return (n) => {
    s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    return s % n;
  };
}

const sample = await fsp.open(join(tmpdir(), `ferrymq-sample-${process.pid}`), 'w');
const FileHandle = Object.getPrototypeOf(sample);
await sample.close();
const originals = {
  open: fsp.open,
  rename: fsp.rename,
  write: FileHandle.write,
  datasync: FileHandle.datasync,
  sync: FileHandle.sync,
};
const isLock = (name) => name.endsWith('.lock');

/** The simulated disk under one folder. */
class Disk {
  /** inode -> bytes as of its last datasync */
  synced = new Map();
  /** name -> inode, as of the folder's last sync */
  names = new Map();
  /** handle -> the path it was opened by */
  paths = new WeakMap();
  operations = 0;
  crashAt = Infinity;
  restoring = false;

  constructor(dir) {
    this.dir = dir;
  }

  /** Counts a data operation; from the crash on, each fails. */
  tick() {
    if (this.restoring) return;
    if (++this.operations > this.crashAt) {
      const error = new Error('EIO: the power is out');
      error.code = 'EIO';
      throw error;
    }
  }

  install() {
    const disk = this;
    fsp.open = async function open(path, ...rest) {
      if (!isLock(String(path))) disk.tick();
      const handle = await originals.open.call(this, path, ...rest);
      disk.paths.set(handle, String(path));
      return handle;
    };
    fsp.rename = async function rename(...args) {
      disk.tick();
      return originals.rename.apply(this, args);
    };
    FileHandle.write = async function write(...args) {
      disk.tick();
      return originals.write.apply(this, args);
    };
    FileHandle.datasync = async function datasync() {
      disk.tick();
      await originals.datasync.call(this);
      const { ino } = await this.stat();
      disk.synced.set(ino, await readFile(disk.paths.get(this)));
    };
    FileHandle.sync = async function sync() {
      disk.tick();
      await originals.sync.call(this);
      if (disk.paths.get(this) === disk.dir) disk.names = await disk.current();
    };
  }

  uninstall() {
    Object.assign(fsp, { open: originals.open, rename: originals.rename });
    Object.assign(FileHandle, { write: originals.write, datasync: originals.datasync, sync: originals.sync });
  }

  /** name -> inode of the folder's data files now. */
  async current() {
    const names = new Map();
    for (const name of await readdir(this.dir)) {
      if (!isLock(name)) names.set(name, (await stat(join(this.dir, name))).ino);
    }
    return names;
  }

  /** Every data operation after the next `after` fails, until `powerLoss`. */
  cut(after) {
    this.crashAt = Math.min(this.crashAt, this.operations + after);
  }

  get cutting() {
    return this.crashAt !== Infinity;
  }

  /** Leaves the folder as a power loss would, then lets operations through again. */
  async powerLoss(pick) {
    this.restoring = true;
    const now = new Map();
    for (const [name, ino] of await this.current()) now.set(ino, await readFile(join(this.dir, name)));
    for (const name of await readdir(this.dir)) if (!isLock(name)) await rm(join(this.dir, name));
    for (const [name, ino] of this.names) {
      const synced = this.synced.get(ino) ?? Buffer.alloc(0);
      const live = now.get(ino);
      // Appended after the last sync: some of it may have reached the disk.
      const extends_ = live !== undefined && live.length > synced.length && live.subarray(0, synced.length).equals(synced);
      const kept = extends_ ? live.subarray(0, synced.length + pick(live.length - synced.length + 1)) : synced;
      await writeFile(join(this.dir, name), kept);
    }
    // What was written back is on the disk now, under new inodes.
    this.synced.clear();
    this.names = await this.current();
    for (const [name, ino] of this.names) this.synced.set(ino, await readFile(join(this.dir, name)));
    this.crashAt = Infinity;
    this.restoring = false;
  }
}

/** What the broker must hold: ids by state, and the routing it must keep. */
class Model {
  /** id -> 'queued' | 'acked' | 'dead' | 'uncertain' (a call about it was cut off) */
  messages = new Map();
  /** pattern -> true (bound to jobs) | false (unbound) | 'uncertain' */
  bindings = new Map();
  /** queue names declared */
  declared = new Set();
  /** Declarations and (un)bindings made since the last resolved call: durable once one resolves. */
  pending = [];

  settled() {
    for (const apply of this.pending.splice(0)) apply();
  }
}

const PATTERNS = ['p0', 'p1', 'p2'];

async function open(path) {
  const broker = await Broker.open({ storage: { file: path } });
  // Errors of a broker stopped by the crash are expected here.
  broker.on('error', () => {});
  jobsOf(broker);
  deadLettersOf(broker);
  return broker;
}

// verify() looks at messages by receiving them and nacking them back, which
// counts as a delivery: both queues allow far more than a run makes.
const ENOUGH = { maxDeliveries: 1_000_000 };
const jobsOf = (broker) => broker.queue('jobs', ENOUGH);
const deadLettersOf = (broker) => broker.queue('jobs.dlq', ENOUGH);

/** Checks the reopened broker against the model; afterwards the model is certain again. */
async function verify(broker, model, label) {
  const held = async (queue) => {
    const messages = await queue.receiveBatch(100_000);
    for (const m of messages) await m.nack({ requeue: true });
    return new Set(messages.map((m) => m.id));
  };
  const jobs = await held(jobsOf(broker));
  const dead = await held(deadLettersOf(broker));
  for (const [id, state] of model.messages) {
    const where = jobs.has(id) ? 'queued' : dead.has(id) ? 'dead' : 'acked';
    if (state === 'uncertain') model.messages.set(id, where);
    else assert.equal(where, state, `${label}: ${id} should be ${state}, is ${where}`);
  }
  for (const id of [...jobs, ...dead]) assert.ok(model.messages.has(id), `${label}: ${id} was never sent`);
  const names = Object.keys(broker.stats().queues);
  for (const name of model.declared) assert.ok(names.includes(name), `${label}: queue ${name} was declared`);
  for (const [pattern, bound] of model.bindings) {
    const routed = (await broker.publish(pattern, 'probe', { id: `probe-${pattern}` })).length === 1;
    if (bound !== 'uncertain') assert.equal(routed, bound, `${label}: ${pattern} bound ${bound}`);
    if (routed) {
      // The probe is a message like any other; take it back out.
      const probe = await jobsOf(broker).receiveBatch(100_000);
      for (const m of probe) await (m.id === `probe-${pattern}` ? m.ack() : m.nack({ requeue: true }));
    }
    model.bindings.set(pattern, routed);
  }
}

/** Runs `body(session)` on a fresh simulated disk, then puts the real file functions back and closes what is left open. */
async function onSimulatedDisk(body) {
  const dir = await mkdtemp(join(tmpdir(), 'ferrymq-power-'));
  const session = { path: join(dir, 'jobs.log'), disk: new Disk(dir), model: new Model(), broker: undefined };
  session.disk.install();
  try {
    await body(session);
  } finally {
    session.disk.uninstall();
    await session.broker?.close().catch(() => {});
  }
}

const run = (seed) =>
  onSimulatedDisk(async (session) => {
    const { path, disk, model } = session;
    const pick = random(seed);
    let broker = (session.broker = await open(path));
    let sent = 0;
    for (let op = 0; op < OPS; op++) {
      const label = `seed ${seed}, op ${op}`;
      const choice = pick(12);
      if (choice < 4) {
        const id = `m${sent++}`;
        model.messages.set(id, 'uncertain');
        try {
          await jobsOf(broker).send(id, { id });
          model.messages.set(id, 'queued');
          model.settled();
        } catch {
          // Cut off by the crash: it may or may not be there.
        }
      } else if (choice < 6) {
        let message;
        try {
          message = await jobsOf(broker).receive();
        } catch {
          continue;
        }
        if (message === null) continue;
        const [call, done] = choice === 4 ? [() => message.ack(), 'acked'] : [() => message.nack({ requeue: false }), 'dead'];
        model.messages.set(message.id, 'uncertain');
        try {
          await call();
          model.messages.set(message.id, done);
          model.settled();
        } catch {
          // Cut off.
        }
      } else if (choice < 8) {
        const pattern = PATTERNS[pick(PATTERNS.length)];
        const bind = choice === 6;
        try {
          if (bind) broker.bind(pattern, 'jobs');
          else broker.unbind(pattern, 'jobs');
          model.bindings.set(pattern, 'uncertain');
          model.pending.push(() => model.bindings.set(pattern, bind));
        } catch {
          // The broker has stopped.
        }
      } else if (choice === 8) {
        const name = `q${pick(4)}`;
        try {
          broker.queue(name);
          model.pending.push(() => model.declared.add(name));
        } catch {
          // The broker has stopped.
        }
      } else if (choice === 10) {
        // Power loss within the next few data operations; the run goes on meanwhile.
        disk.cut(pick(8));
      } else if (choice === 9 && !disk.cutting) {
        // A clean close writes everything accepted before it.
        await broker.close();
        model.settled();
        broker = session.broker = await open(path);
        await verify(broker, model, `${label}, close`);
      } else {
        // The power goes out (now, if it has not yet); reopen from what the disk kept.
        disk.cut(0);
        await broker.close().catch(() => {});
        await disk.powerLoss(pick);
        model.pending.length = 0;
        broker = session.broker = await open(path);
        await verify(broker, model, `${label}, power loss`);
      }
    }
    disk.cut(0);
    await broker.close().catch(() => {});
    await disk.powerLoss(pick);
    model.pending.length = 0;
    broker = session.broker = await open(path);
    await verify(broker, model, `seed ${seed}, end`);
    await broker.close();
  });

test('fixed case: open, bind, close, reopen (nothing written after the binding) keeps the binding', () =>
  onSimulatedDisk(async (session) => {
    const { path, disk, model } = session;
    const broker = (session.broker = await open(path));
    broker.bind('p0', 'jobs');
    model.pending.push(() => model.bindings.set('p0', true));
    await broker.close();
    model.settled();
    // The power goes out right after the close: only what was synced counts.
    await disk.powerLoss(() => 0);
    session.broker = await open(path);
    await verify(session.broker, model, 'open, bind, close, reopen');
    assert.equal(model.bindings.get('p0'), true);
  }));

test(`acknowledged state survives power loss at random points (${RUNS} runs of ${OPS} operations)`, async () => {
  const base = Number(process.env.FERRYMQ_POWER_LOSS_SEED ?? Date.now() % 1e9);
  for (let i = 0; i < RUNS; i++) {
    try {
      await run(base + i);
    } catch (error) {
      error.message = `${error.message} (repeat with FERRYMQ_POWER_LOSS_SEED=${base + i} FERRYMQ_POWER_LOSS_RUNS=1)`;
      throw error;
    }
  }
});
