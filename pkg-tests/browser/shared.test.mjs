// One IndexedDB broker shared by the tabs and dedicated workers of an
// origin: one leads, the others follow, and a follower takes over when the
// leader is closed, crashed or superseded. Pages of one browser context
// share IndexedDB, Web Locks and BroadcastChannel, as tabs of one profile do.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { packagePage, useBrowser } from './harness.mjs';

const fixture = useBrowser([['/', '.']]);

// A page in the background gets no animation frames, waitForFunction's default polling.
const POLL = { polling: 20 };

let databases = 0;
const newName = (what) => `shared-${what}-${Date.now()}-${++databases}`;

/** Runs `body` in a fresh browser context (a profile of its own) on a new database name; then no page may have logged an error. */
async function inContext(what, body) {
  const context = await fixture.browser.newContext();
  const errors = [];
  try {
    const result = await body({ context, errors, name: newName(what) });
    assert.deepEqual(errors, []);
    return result;
  } finally {
    await context.close();
  }
}

/** A new tab of `context` with the broker on `name` open as `window.broker`; resolves with its role. */
async function tab(context, errors, name) {
  const page = await packagePage(fixture, context, errors);
  await openIn(page, name);
  return page;
}

/** Opens the broker on `name` in `page` as `window.broker`; `window.roles` records its 'role' events. */
const openIn = (page, name) =>
  page.evaluate(async (name) => {
    window.broker = await window.ferrymq.Broker.open({ storage: { indexedDb: name } });
    window.roles = [];
    window.errors = [];
    window.broker.on('role', (e) => {
      window.roles.push(e.role);
      window.roleAt = Date.now();
    });
    window.broker.on('error', (e) => window.errors.push(e.error.code));
    return window.broker.role;
  }, name);

const roleOf = (page) => page.evaluate(() => window.broker.role);
const becomesLeader = (page) => page.waitForFunction(() => window.broker.role === 'leader', undefined, { ...POLL, timeout: 10_000 });

/** Crashes `page` through the DevTools protocol (the reply is not awaited: awaiting it can disconnect the browser). */
async function crash(context, page) {
  const crashed = new Promise((resolve) => page.once('crash', resolve));
  const cdp = await context.newCDPSession(page);
  cdp.send('Page.crash').catch(() => {});
  await crashed;
}

/** In `page`: receives and acks everything in `queue` until nothing comes within `waitMs`; returns the ids. */
const drain = (page, queue, waitMs = 0) =>
  page.evaluate(
    async ([queue, waitMs]) => {
      const q = window.broker.queue(queue);
      const seen = [];
      for (let m = await q.receive({ waitMs }); m !== null; m = await q.receive({ waitMs })) {
        seen.push(m.id);
        await m.ack();
      }
      return seen;
    },
    [queue, waitMs],
  );

test('three tabs: one leads, the others follow, and what followers send the leader consumes, each once', () =>
  inContext('three', async ({ context, errors, name }) => {
    const [a, b, c] = [await tab(context, errors, name), await tab(context, errors, name), await tab(context, errors, name)];
    assert.deepEqual(await Promise.all([a, b, c].map(roleOf)), ['leader', 'follower', 'follower']);
    const sendFrom = (page, prefix) =>
      page.evaluate(async (prefix) => {
        const q = window.broker.queue('jobs');
        await Promise.all(Array.from({ length: 50 }, (_, i) => q.send({ i }, { id: `${prefix}${i}` })));
      }, prefix);
    await Promise.all([sendFrom(b, 'b'), sendFrom(c, 'c')]);
    const consumed = await drain(a, 'jobs');
    assert.equal(consumed.length, 100);
    assert.deepEqual(new Set(consumed).size, 100, 'each message once');
    const stats = await c.evaluate(() => window.broker.queue('jobs').fetchStats());
    assert.deepEqual([stats.sent, stats.acked, stats.ready, stats.inFlight], [100, 100, 0, 0], "a follower reads the leader's numbers");
  }));

/**
 * A follower sends continuously while the leader is ended by `end(context,
 * page)`; returns how long the follower took to lead, and checks that every
 * send that resolved is there exactly once.
 */
const takeOverMidStream = (end) =>
  inContext('stream', async ({ context, errors, name }) => {
    const leader = await tab(context, errors, name);
    const follower = await tab(context, errors, name);
    assert.deepEqual([await roleOf(leader), await roleOf(follower)], ['leader', 'follower']);
    await follower.evaluate(() => {
      window.accepted = [];
      const q = window.broker.queue('stream');
      window.sending = (async () => {
        for (let i = 0; !window.halt; i++) window.accepted.push(await q.send({ i }, { id: `s${i}` }));
      })();
    });
    await follower.waitForFunction(() => window.accepted.length >= 20, undefined, POLL);
    const endedAt = await follower.evaluate(() => Date.now());
    await end(context, leader);
    await becomesLeader(follower);
    const tookOverAt = await follower.evaluate(() => window.roleAt);
    const before = await follower.evaluate(() => window.accepted.length);
    await follower.waitForFunction((n) => window.accepted.length >= n + 20, before, POLL);
    const accepted = await follower.evaluate(async () => {
      window.halt = true;
      await window.sending;
      return window.accepted;
    });
    const found = await drain(follower, 'stream');
    assert.deepEqual([...found].sort(), [...accepted].sort(), 'every resolved send there, exactly once, and nothing else');
    assert.deepEqual(await follower.evaluate(() => window.roles), ['leader']);
    return tookOverAt - endedAt;
  });

test('the leader tab closed mid-stream: the follower takes over, every resolved send is there exactly once', async (t) => {
  const ms = await takeOverMidStream((_, page) => page.close());
  t.diagnostic(`takeover after close: ${ms} ms`);
});

test('the leader tab crashed mid-stream: the follower takes over, every resolved send is there exactly once', async (t) => {
  const ms = await takeOverMidStream(crash);
  t.diagnostic(`takeover after crash: ${ms} ms`);
});

test("a follower's ack of a delivery it received before the hand-over still counts", () =>
  inContext('ack', async ({ context, errors, name }) => {
    const leader = await tab(context, errors, name);
    // Opened second: next in the lock's queue, so it takes over and the holder stays a follower.
    const next = await tab(context, errors, name);
    const holder = await tab(context, errors, name);
    await leader.evaluate(() => window.broker.queue('work', { leaseMs: 600_000 }).send('job', { id: 'held' }));
    const received = await holder.evaluate(async () => {
      window.held = await window.broker.queue('work').receive();
      return [window.held.id, window.held.deliveryCount];
    });
    assert.deepEqual(received, ['held', 1]);
    await crash(context, leader);
    await becomesLeader(next);
    assert.equal(await roleOf(holder), 'follower');
    assert.equal(await holder.evaluate(() => window.held.ack().then(() => 'acked', (e) => e.code)), 'acked');
    const stats = await next.evaluate(() => window.broker.queue('work').fetchStats());
    assert.deepEqual([stats.acked, stats.ready, stats.inFlight, stats.redelivered], [1, 0, 0, 0], 'counted once, never redelivered');
  }));

test('after a crash the new leader fires the dead tab’s timers: delay, TTL and lease, none early', () =>
  inContext('timers', async ({ context, errors, name }) => {
    const leader = await tab(context, errors, name);
    const follower = await tab(context, errors, name);
    const sentAt = await leader.evaluate(async () => {
      const b = window.broker;
      const at = Date.now();
      await b.queue('later').send('delayed', { id: 'delayed', delayMs: 1_500 });
      b.queue('dead');
      await b.queue('short', { ttlMs: 1_000, deadLetter: 'dead' }).send('expires', { id: 'ttl' });
      const leased = b.queue('leased', { leaseMs: 1_500 });
      await leased.send('held by the tab that dies', { id: 'leased' });
      // Held by this tab's own consumer when it dies: back after its lease, counted.
      window.held = await leased.receive();
      return at;
    });
    await crash(context, leader);
    await becomesLeader(follower);
    const seen = await follower.evaluate(async () => {
      const b = window.broker;
      const at = async (queue) => {
        const m = await b.queue(queue).receive({ waitMs: 10_000 });
        await m?.ack();
        return m && [m.id, m.deliveryCount, m.redelivered, Date.now()];
      };
      return Promise.all([at('later'), at('dead'), at('leased')]);
    });
    const [[delayed, , , delayedAt], [expired, , , expiredAt], [leased, count, redelivered, leasedAt]] = seen;
    assert.deepEqual([delayed, expired, leased, count, redelivered], ['delayed', 'ttl', 'leased', 2, true]);
    assert.ok(delayedAt >= sentAt + 1_500, 'the delay ran its course');
    assert.ok(expiredAt >= sentAt + 1_000, 'dead-lettered once its TTL ended');
    assert.ok(leasedAt >= sentAt + 1_500, 'redelivered once its lease ended');
  }));

test('a stolen lock: the old leader steps down, the next waiter leads, and calls go on', () =>
  inContext('stolen', async ({ context, errors, name }) => {
    const old = await tab(context, errors, name);
    const waiter = await tab(context, errors, name);
    await old.evaluate((name) => navigator.locks.request(`ferrymq:${name}`, { steal: true }, () => {}), name);
    await becomesLeader(waiter);
    await old.waitForFunction(() => window.roles.includes('follower'), undefined, POLL);
    const sent = await old.evaluate(() => window.broker.queue('q').send('after', { id: 'after' }));
    assert.equal(sent, 'after');
    assert.deepEqual(await drain(waiter, 'q'), ['after']);
    assert.deepEqual(await old.evaluate(() => [window.broker.role, window.roles]), ['follower', ['follower']]);
  }));

test('back from the back/forward cache, a tab queues for the lock once, however often it comes back', () =>
  inContext('pageshow', async ({ context, errors, name }) => {
    const leader = await tab(context, errors, name);
    const follower = await tab(context, errors, name);
    const waiting = () => follower.evaluate(async (name) =>
      (await navigator.locks.query()).pending.filter((request) => request.name === `ferrymq:${name}`).length, name);
    assert.equal(await waiting(), 1, "the follower's request");
    await follower.evaluate(() => {
      for (let i = 0; i < 3; i++) dispatchEvent(new PageTransitionEvent('pageshow', { persisted: true }));
    });
    assert.equal(await waiting(), 1, 'still one request');
    await leader.close();
    await becomesLeader(follower);
    assert.equal(await waiting(), 0, 'granted, and no other left queued');
  }));

test("a follower says nothing on the channel before it holds its member lock, so the leader's watch on it cannot come first", () =>
  inContext('member-first', async ({ context, errors, name }) => {
    await tab(context, errors, name);
    const follower = await packagePage(fixture, context, errors);
    // For each of the follower's envelopes: whether its member lock was held when it was posted.
    const held = await follower.evaluate(async (name) => {
      const locks = navigator.locks;
      const request = locks.request.bind(locks);
      let open;
      const gate = new Promise((resolve) => (open = resolve));
      let member = false;
      locks.request = (lock, ...rest) => {
        if (!lock.includes(':member:')) return request(lock, ...rest);
        const granted = rest.pop();
        return gate.then(() => request(lock, ...rest, (...args) => {
          member = true;
          return granted(...args);
        }));
      };
      const posts = [];
      const post = BroadcastChannel.prototype.postMessage;
      BroadcastChannel.prototype.postMessage = function (envelope) {
        if (envelope?.from !== undefined) posts.push(member);
        return post.call(this, envelope);
      };
      const opening = window.ferrymq.Broker.open({ storage: { indexedDb: name } });
      // The member lock is granted only after the turn in which a follower's first messages would cross.
      setTimeout(open, 0);
      const broker = await opening;
      await broker.queue('q').send('x');
      await broker.close();
      return posts;
    }, name);
    assert.ok(held.length > 0, 'the follower called its leader');
    assert.deepEqual(held.filter((h) => !h), [], 'never before its member lock was held');
  }));

test('the answers noted for a tab that died with no leader watching it are dropped by the next leader', () =>
  inContext('dead-notes', async ({ context, errors, name }) => {
    // The leader's own calls are noted like a follower's; it dies leading, so nobody watched it.
    const first = await tab(context, errors, name);
    await first.evaluate(() => window.broker.queue('q').send('kept', { id: 'kept' }));
    await crash(context, first);
    const next = await tab(context, errors, name);
    await becomesLeader(next);
    assert.deepEqual(await drain(next, 'q'), ['kept']);
    // Its last commit (close) writes whatever the broker noted meanwhile.
    await next.evaluate(() => window.broker.close());
    const notes = await next.evaluate((name) => new Promise((resolve, reject) => {
      const request = indexedDB.open(name);
      request.onerror = () => reject(request.error);
      request.onsuccess = () => {
        const count = request.result.transaction('calls').objectStore('calls').count();
        count.onsuccess = () => {
          resolve(count.result);
          request.result.close();
        };
      };
    }), name);
    assert.equal(notes, 0, 'no note is left for either tab');
  }));

// A tab of another ferrymq build speaks another protocol on the same channel
// (a page left open across a deploy): it is told so, never left waiting.
const OTHER_BUILD = 99;
/** `promise`, or a failure after 30 s: a regression here would otherwise wait for ever. */
function noHang(promise) {
  let timer;
  const hung = new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('no answer within 30 s')), 30_000)));
  return Promise.race([promise, hung]).finally(() => clearTimeout(timer));
}

test('a call from a tab of another ferrymq build is answered with STORAGE, and the broker goes on', () =>
  inContext('other-build-follower', async ({ context, errors, name }) => {
    const leader = await tab(context, errors, name);
    const other = await packagePage(fixture, context, errors);
    const answer = await noHang(other.evaluate(([name, v]) => new Promise((resolve) => {
      const channel = new BroadcastChannel(`ferrymq:${name}`);
      channel.onmessage = ({ data }) => {
        if (data?.to !== 'other-build') return;
        for (const m of data.ms) if (m.answer === 1) resolve(m.error);
      };
      channel.postMessage({ v, from: 'other-build', ms: [{ v, call: 1, fn: 'hello', args: [] }] });
    }), [name, OTHER_BUILD]));
    assert.equal(answer.code, 'STORAGE');
    assert.match(answer.message, /protocol/);
    await leader.evaluate(() => window.broker.queue('q').send('still', { id: 'still' }));
    assert.deepEqual(await drain(leader, 'q'), ['still']);
  }));

test('a broker whose leading tab is of another ferrymq build ends its calls with STORAGE instead of waiting for ever', () =>
  inContext('other-build-leader', async ({ context, errors, name }) => {
    const follower = await tab(context, errors, name);
    const leader = await packagePage(fixture, context, errors);
    // The other build takes the lock and answers every call in its own protocol.
    await leader.evaluate(([name, v]) => {
      navigator.locks.request(`ferrymq:${name}`, { steal: true }, () => new Promise(() => {}));
      const channel = new BroadcastChannel(`ferrymq:${name}`);
      channel.onmessage = ({ data }) => {
        if (typeof data?.from !== 'string') return;
        const ms = data.ms.filter((m) => typeof m.call === 'number').map((m) => ({ v, answer: m.call, value: null }));
        if (ms.length > 0) channel.postMessage({ v, to: data.from, ms });
      };
    }, [name, OTHER_BUILD]);
    await follower.waitForFunction(() => window.roles.includes('follower'), undefined, POLL);
    const outcome = await noHang(follower.evaluate(() => window.broker.queue('q').send('lost?').then(() => 'sent', (e) => [e.code, e.message])));
    assert.equal(outcome[0], 'STORAGE');
    assert.match(outcome[1], /another protocol/);
    // The stolen lock made this tab step down: its 'error' says so, and nothing else went wrong.
    await follower.evaluate(() => window.broker.close());
  }));

test("a leader superseded while it still runs: its write is refused, and the call resolves through the next leader, once", () =>
  inContext('fenced', async ({ context, errors, name }) => {
    const page = await tab(context, errors, name);
    await page.evaluate(() => window.broker.queue('q').send('before', { id: 'before' }));
    // What a leader that took the lock over does first: raise the term stored with the data.
    await page.evaluate(
      (name) =>
        new Promise((resolve, reject) => {
          const open = indexedDB.open(name);
          open.onsuccess = () => {
            const tx = open.result.transaction('meta', 'readwrite');
            const meta = tx.objectStore('meta');
            const read = meta.get('term');
            read.onsuccess = () => meta.put(read.result + 1, 'term');
            tx.oncomplete = () => (open.result.close(), resolve());
            tx.onerror = () => reject(tx.error);
          };
        }),
      name,
    );
    const outcome = await page.evaluate(async () => {
      const id = await window.broker.queue('q').send('after', { id: 'after' });
      return { id, roles: window.roles, errors: window.errors };
    });
    assert.deepEqual(outcome, { id: 'after', roles: ['follower', 'leader'], errors: ['STORAGE'] }, 'refused, stepped down, led again');
    assert.deepEqual(await drain(page, 'q'), ['before', 'after']);
  }));

test('a dedicated worker leads for a page, then follows it', () =>
  inContext('worker', async ({ context, errors, name }) => {
    const page = await packagePage(fixture, context, errors);
    // The worker opens first: it leads; the page follows and sends, the worker consumes.
    const first = await page.evaluate(async (name) => {
      // A worker of tab-worker.js on `name`, and the way to ask it something, once it is ready.
      window.startWorker = async () => {
        const worker = new Worker(`/browser/tab-worker.js?db=${name}`, { type: 'module' });
        await new Promise((resolve) => (worker.onmessage = resolve));
        const ask = (message) =>
          new Promise((resolve) => {
            worker.onmessage = (e) => resolve(e.data);
            worker.postMessage(message);
          });
        return { worker, ask };
      };
      window.worker = await window.startWorker();
      const { ask } = window.worker;
      const role = await ask({ op: 'open' });
      window.broker = await window.ferrymq.Broker.open({ storage: { indexedDb: name } });
      window.roles = [];
      window.broker.on('role', (e) => window.roles.push(e.role));
      const q = window.broker.queue('jobs');
      for (let i = 0; i < 20; i++) await q.send(i, { id: `p${i}` });
      return { worker: role, page: window.broker.role, consumed: await ask({ op: 'drain', queue: 'jobs' }) };
    }, name);
    assert.deepEqual(first.worker, 'leader');
    assert.equal(first.page, 'follower');
    assert.deepEqual(first.consumed, Array.from({ length: 20 }, (_, i) => `p${i}`));
    // The worker ends: the page takes over; a new worker follows, sends, and the page consumes.
    const second = await page.evaluate(async () => {
      window.worker.worker.terminate();
      while (window.broker.role !== 'leader') await new Promise((resolve) => window.broker.on('role', resolve));
      const { worker, ask } = await window.startWorker();
      const role = await ask({ op: 'open' });
      await ask({ op: 'send', queue: 'back', count: 20 });
      const q = window.broker.queue('back');
      const seen = [];
      for (let m = await q.receive(); m !== null; m = await q.receive()) {
        seen.push(m.id);
        await m.ack();
      }
      worker.terminate();
      return { worker: role, roles: window.roles, seen };
    });
    assert.deepEqual(second, { worker: 'follower', roles: ['leader'], seen: Array.from({ length: 20 }, (_, i) => `w${i}`) });
  }));

test('exclusive: refused while the database is shared, a bad value is a TypeError, the shared broker goes on, and opens once it closed', () =>
  inContext('exclusive', async ({ context, errors, name }) => {
    const page = await tab(context, errors, name);
    const refused = await page.evaluate(
      (name) =>
        window.ferrymq.Broker.open({ storage: { indexedDb: name }, exclusive: true }).then(
          () => 'opened',
          (e) => [e.code, e.message],
        ),
      name,
    );
    assert.equal(refused[0], 'STORAGE');
    assert.match(refused[1], /open in another broker/);
    const bad = await page.evaluate(
      (name) => window.ferrymq.Broker.open({ storage: { indexedDb: name }, exclusive: 'yes' }).catch((e) => [e.name, e.message]),
      name,
    );
    assert.equal(bad[0], 'TypeError');
    assert.match(bad[1], /options\.exclusive/);
    // Neither refusal disturbed the shared broker.
    assert.equal(await page.evaluate(() => window.broker.queue('q').send('still', { id: 'still' })), 'still');
    // Once close() resolved, the database is free: the leader let go of it.
    const reopened = await page.evaluate(async (name) => {
      await window.broker.close();
      const alone = await window.ferrymq.Broker.open({ storage: { indexedDb: name }, exclusive: true });
      const ids = [];
      for (let m = await alone.queue('q').receive(); m !== null; m = await alone.queue('q').receive()) ids.push(m.id);
      await alone.close();
      return ids;
    }, name);
    assert.deepEqual(reopened, ['still']);
  }));

/** In a tab: opens the broker on `name` and sends and consumes on 'churn' until `window.halt`, reporting each step. */
const churnIn = (page, name) =>
  page.evaluate(async (name) => {
    const tabId = Math.random().toString(36).slice(2, 8);
    const broker = await window.ferrymq.Broker.open({ storage: { indexedDb: name } });
    window.broker = broker;
    broker.on('role', (e) => window.report('role', e.role));
    window.report('role', broker.role);
    const q = broker.queue('churn', { leaseMs: 2_000 });
    window.halt = false;
    window.loops = Promise.all([
      (async () => {
        for (let i = 0; !window.halt; i++) {
          const id = `${tabId}-${i}`;
          await q.send(i, { id }).then(() => window.report('sent', id), (e) => window.report('send-error', `${id} ${e.code}`));
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
      })(),
      (async () => {
        while (!window.halt) {
          const m = await q.receive({ waitMs: 200 });
          // An ack after the lease ran out (a slow hand-over) is refused: the message comes back, as it should.
          await m?.ack().then(() => window.report('acked', m.id), (e) => window.report('ack-refused', e.code));
        }
      })(),
    ]);
  }, name);

test('a minute of tab churn (open, close, crash, reload): every resolved send is acked or still there, once', (t) =>
  inContext('churn', async ({ context, errors, name }) => {
    const sent = new Set();
    const acked = [];
    const refused = [];
    const roles = new Map();
    const takeovers = [];
    let leaderGoneAt;
    await context.exposeBinding('report', ({ page }, kind, value) => {
      if (kind === 'sent') sent.add(value);
      else if (kind === 'acked') acked.push(value);
      else if (kind === 'role') {
        roles.set(page, value);
        if (value === 'leader' && leaderGoneAt !== undefined) {
          takeovers.push(Date.now() - leaderGoneAt);
          leaderGoneAt = undefined;
        }
      } else refused.push([kind, value]);
    });
    const pages = [];
    const start = async () => {
      const page = await packagePage(fixture, context, errors);
      await churnIn(page, name);
      pages.push(page);
    };
    for (let i = 0; i < 3; i++) await start();
    // Seeded, so a failure can be replayed: the same actions in the same order.
    let seed = 0x5eed;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const pick = (list) => list[Math.floor(random() * list.length)];
    const actions = { open: 0, close: 0, crash: 0, reload: 0 };
    const until = Date.now() + 60_000;
    while (Date.now() < until) {
      // Pacing, not ordering: how long the tabs work between two events.
      await new Promise((resolve) => setTimeout(resolve, 1_000 + random() * 1_500));
      let action = pick(['open', 'close', 'crash', 'reload']);
      if (pages.length <= 1 && action !== 'reload') action = 'open';
      if (pages.length >= 4 && action === 'open') action = 'close';
      actions[action]++;
      if (action === 'open') {
        await start();
        continue;
      }
      const victim = pick(pages);
      if (roles.get(victim) === 'leader') leaderGoneAt = Date.now();
      roles.delete(victim);
      if (action === 'reload') {
        await victim.reload();
        await victim.waitForSelector('body[data-ready="function"]', { state: 'attached' });
        await churnIn(victim, name);
        continue;
      }
      pages.splice(pages.indexOf(victim), 1);
      if (action === 'crash') await crash(context, victim);
      await victim.close();
    }
    for (const page of pages) {
      await page.evaluate(async () => {
        window.halt = true;
        await window.loops;
      });
    }
    // What dead tabs held comes back after its lease (2 s): wait longer than that for each next one.
    const rest = await drain(pages[0], 'churn', 3_000);
    const stats = await pages[0].evaluate(() => window.broker.queue('churn').fetchStats());

    assert.deepEqual(refused.filter(([kind]) => kind === 'send-error'), [], 'no send failed');
    const present = [...acked, ...rest];
    assert.equal(new Set(present).size, present.length, 'no message acked twice, none acked and still there');
    assert.equal(stats.sent, stats.acked + stats.ready + stats.inFlight + stats.delayed + stats.deadLettered);
    assert.deepEqual([stats.ready, stats.inFlight, stats.delayed, stats.deadLettered], [0, 0, 0, 0], 'everything stored was consumed');
    // A tab that died right after its ack was written never reported it (a
    // crashed page's last reports are lost too): the broker counted those
    // acks. Every other resolved send was acked by a tab that said so, or is
    // still there; a resolved send lost would leave more missing than that.
    const unheard = stats.acked - present.length;
    const missing = [...sent].filter((id) => !present.includes(id));
    assert.ok(missing.length <= unheard, `${missing.length} resolved sends unaccounted for, ${unheard} acks no tab reported`);
    assert.ok(takeovers.length > 0, 'leaders were ended during the churn');
    const sorted = [...takeovers].sort((a, b) => a - b);
    t.diagnostic(
      `churn: ${JSON.stringify(actions)}; ${sent.size} sends resolved, ${stats.sent} stored, ${acked.length} acks heard by tabs, ${unheard} not; ` +
        `${refused.length} acks refused after their lease; takeovers (${sorted.length}) min ${sorted[0]} ms, ` +
        `median ${sorted[Math.floor(sorted.length / 2)]} ms, max ${sorted[sorted.length - 1]} ms`,
    );
  }));
