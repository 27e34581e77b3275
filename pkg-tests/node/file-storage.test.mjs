// The Node log file driver against what a file system can do to it: one log
// reached through several paths, and every I/O step failing in turn.
import assert from 'node:assert/strict';
import { link, mkdir, mkdtemp, symlink } from 'node:fs/promises';
import fsp from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Broker, FerryError } from 'ferrymq';

const folder = await mkdtemp(join(tmpdir(), 'ferrymq-files-'));
let logs = 0;
const freshPath = () => join(folder, `case-${++logs}`, 'jobs.log');

const isStorage = (e) => e instanceof FerryError && e.code === 'STORAGE';

async function drainIds(broker) {
  const queue = broker.queue('jobs');
  const ids = [];
  for (let m = await queue.receive(); m !== null; m = await queue.receive()) {
    ids.push(m.id);
    await m.ack();
  }
  return ids;
}

test('one log reached through a symlink, a symlinked folder or .. is one storage: the second open is refused', async () => {
  const path = freshPath();
  const dir = join(path, '..');
  await mkdir(dir, { recursive: true });
  await symlink(path, join(dir, 'alias.log'));
  await symlink(dir, join(folder, `dir-alias-${logs}`));
  const aliases = [join(dir, 'alias.log'), join(folder, `dir-alias-${logs}`, 'jobs.log'), join(dir, '..', `case-${logs}`, 'jobs.log')];

  const first = await Broker.open({ storage: { file: path } });
  const id = await first.queue('jobs').send('kept');
  for (const alias of aliases) {
    await assert.rejects(Broker.open({ storage: { file: alias } }), isStorage, alias);
  }
  await first.close();

  // Closed: any of its names opens it, and it is the same log.
  const again = await Broker.open({ storage: { file: aliases[0] } });
  assert.deepEqual(await drainIds(again), [id]);
  await again.close();
  const plain = await Broker.open({ storage: { file: path } });
  assert.deepEqual(await drainIds(plain), [], 'the ack through the symlink reached the one log');
  await plain.close();
});

test('a log with a second hard link is refused with STORAGE, not opened twice', async () => {
  const path = freshPath();
  const first = await Broker.open({ storage: { file: path } });
  await first.queue('jobs').send('x');
  await link(path, join(path, '..', 'hard.log'));
  await assert.rejects(Broker.open({ storage: { file: join(path, '..', 'hard.log') } }), isStorage);
  await first.close();
});

test('two opens of one log at the same moment: exactly one gets it, also when they take over a stale lock', async () => {
  // A pid no process has (above Linux's pid_max): a lock left by a killed broker.
  const deadPid = 2 ** 22 + 7;
  for (let round = 0; round < 40; round++) {
    const path = freshPath();
    await mkdir(join(path, '..'), { recursive: true });
    if (round % 2 === 1) await fsp.writeFile(`${path}.lock`, String(deadPid));
    const outcomes = await Promise.allSettled([0, 1, 2].map(() => Broker.open({ storage: { file: path } })));
    const opened = outcomes.filter((o) => o.status === 'fulfilled');
    assert.equal(opened.length, 1, `round ${round}: ${outcomes.map((o) => o.status)}`);
    for (const o of outcomes) if (o.status === 'rejected') assert.ok(isStorage(o.reason), String(o.reason));
    await opened[0].value.close();
  }
});

// ---- injected I/O faults --------------------------------------------------------------

const sample = await fsp.open(join(folder, 'sample'), 'w');
const FileHandle = Object.getPrototypeOf(sample);
await sample.close();

/** The I/O step a fault hits: where the function lives and its name. */
const STEPS = {
  write: [FileHandle, 'write'],
  datasync: [FileHandle, 'datasync'],
  // The driver syncs only directories with sync(); files with datasync().
  'directory sync': [FileHandle, 'sync'],
  rename: [fsp, 'rename'],
  open: [fsp, 'open'],
};

/** Makes the next call of `step` fail with a Node-style error `code`; returns the function that undoes it. */
function inject(step, code) {
  const [owner, name] = STEPS[step];
  const original = owner[name];
  let armed = true;
  owner[name] = function faulty(...args) {
    if (!armed) return original.apply(this, args);
    armed = false;
    const error = new Error(`${code}: injected fault in ${name}`);
    error.code = code;
    return Promise.reject(error);
  };
  return () => {
    owner[name] = original;
  };
}

// 1 MiB payloads: the fifth crosses the 4 MiB at which the log is compacted,
// so the compaction's steps (write, sync, rename, directory sync) run too.
const BIG = 'x'.repeat(1 << 20);

for (const code of ['EIO', 'ENOSPC', 'EACCES']) {
  for (const step of Object.keys(STEPS)) {
    test(`${code} on ${step}: the affected call rejects with STORAGE, nothing accepted is lost, reopening works`, async () => {
      const path = freshPath();
      let broker = await Broker.open({ storage: { file: path } });
      const errors = [];
      broker.on('error', (e) => errors.push(e.error));
      const queue = broker.queue('jobs');
      const accepted = [await queue.send('before')];
      const uncertain = [];
      const undo = inject(step, code);
      let failure;
      try {
        for (let i = 0; i < 12 && failure === undefined; i++) {
          const sending = queue.send(BIG, { id: `big-${i}` });
          try {
            accepted.push(await sending);
          } catch (error) {
            failure = error;
            uncertain.push(`big-${i}`);
          }
        }
      } finally {
        undo();
      }
      assert.ok(isStorage(failure), `a send failed with STORAGE (${failure})`);
      assert.equal(failure.cause?.cause?.code ?? failure.cause?.code, code, 'the cause is the fault');
      assert.ok(errors.some(isStorage), "the broker reported it on 'error'");
      // Fail-stop: every later call says why the broker stopped, not merely that it is closed.
      await assert.rejects(queue.send('after'), (e) => isStorage(e) && errors.includes(e), 'the broker has stopped (fail-stop)');
      await broker.close();

      broker = await Broker.open({ storage: { file: path } });
      const found = await drainIds(broker);
      for (const id of accepted) assert.ok(found.includes(id), `accepted ${id} is there`);
      for (const id of found) assert.ok(accepted.includes(id) || uncertain.includes(id), `${id} was never sent`);
      await broker.queue('jobs').send('works');
      await broker.close();
    });
  }
}

test('a fault while opening rejects Broker.open with STORAGE and leaves no lock behind', async () => {
  for (const code of ['EIO', 'ENOSPC', 'EACCES']) {
    const path = freshPath();
    const undo = inject('open', code);
    try {
      await assert.rejects(Broker.open({ storage: { file: path } }), isStorage);
    } finally {
      undo();
    }
    const broker = await Broker.open({ storage: { file: path } });
    await broker.queue('jobs').send('works');
    await broker.close();
  }
});

// ---- a write that takes longer than a message's TTL -----------------------------------

/** Holds every datasync until `release()`; returns it and the function that undoes the hold. */
function holdSyncs() {
  const original = FileHandle.datasync;
  const waiting = [];
  let held = true;
  FileHandle.datasync = function heldSync(...args) {
    if (!held) return original.apply(this, args);
    return new Promise((resolve) => waiting.push(resolve)).then(() => original.apply(this, args));
  };
  return {
    started: () => waiting.length > 0,
    release() {
      held = false;
      FileHandle.datasync = original;
      for (const resolve of waiting.splice(0)) resolve();
    },
  };
}

test('a message whose TTL passes while its lease is being written is never handed out', async () => {
  const broker = await Broker.open({ storage: { file: freshPath() } });
  const queue = broker.queue('jobs');
  const handled = [];
  queue.consume((m) => handled.push(m.id));
  const expired = new Promise((resolve) => broker.on('expired', resolve));
  const hold = holdSyncs();
  let id;
  try {
    const sending = queue.send('short-lived', { ttlMs: 20 });
    // The send's commit (its enqueue and the consumer's lease) is held at its sync.
    while (!hold.started()) await new Promise((resolve) => setImmediate(resolve));
    const sentAt = Date.now();
    // Not a timing window: the TTL is surely past once the clock says so.
    while (Date.now() <= sentAt + 25) await new Promise((resolve) => setTimeout(resolve, 5));
    hold.release();
    id = await sending;
  } finally {
    hold.release();
  }
  assert.equal((await expired).id, id, 'it expired instead');
  assert.deepEqual(handled, [], 'the handler never saw it');
  assert.equal(queue.stats().expired, 1);
  await broker.close();
});

test('a receive whose message expires while its lease is being written goes on waiting for the next one', async () => {
  const broker = await Broker.open({ storage: { file: freshPath() } });
  const queue = broker.queue('jobs');
  await queue.send('short-lived', { ttlMs: 20 });
  const expired = new Promise((resolve) => broker.on('expired', resolve));
  const hold = holdSyncs();
  let receiving;
  try {
    // It takes the message at once; its lease's commit is held at its sync.
    receiving = queue.receive({ waitMs: 60_000 });
    while (!hold.started()) await new Promise((resolve) => setImmediate(resolve));
    const takenAt = Date.now();
    // Not a timing window: the TTL is surely past once the clock says so.
    while (Date.now() <= takenAt + 25) await new Promise((resolve) => setTimeout(resolve, 5));
  } finally {
    hold.release();
  }
  await expired;
  let settled = false;
  receiving.then(() => (settled = true), () => (settled = true));
  for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
  assert.equal(settled, false, 'its wait is not over: it did not get a message');
  await queue.send('next');
  const message = await receiving;
  assert.equal(message?.payload, 'next');
  await message.ack();
  await broker.close();
});

test('close() after a storage failure resolves only once the lock is gone, so the log reopens at once', async () => {
  const path = freshPath();
  const broker = await Broker.open({ storage: { file: path } });
  broker.on('error', () => {});
  await broker.queue('jobs').send('before');
  // The lock's removal takes a while; a close() that does not wait for it
  // lets the next open find the lock still there.
  const rm = fsp.rm;
  fsp.rm = async (...args) => {
    await new Promise((resolve) => setTimeout(resolve, 100));
    return rm(...args);
  };
  try {
    const undo = inject('datasync', 'EIO');
    try {
      await assert.rejects(broker.queue('jobs').send('fails'), isStorage);
    } finally {
      undo();
    }
    await broker.close();
    const again = await Broker.open({ storage: { file: path } });
    assert.ok((await drainIds(again)).length >= 1);
    await again.close();
  } finally {
    fsp.rm = rm;
  }
});
