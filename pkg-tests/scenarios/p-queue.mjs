// ferrymq/p-queue, one scenario per behaviour p-queue 9's README documents
// (section names in the test names). In Node every scenario in `scenarios`
// also runs against p-queue itself (node/p-queue.test.mjs), which shows the
// test asserts p-queue's behaviour, not ours; `differences` holds the cases
// where ferrymq/p-queue differs on purpose (README: "Coming from p-queue").
// Time is a fake clock: intervals and timeouts are decided by it, not by
// how fast the machine is.
import { deepEqual, equal, ok, rejects, throws } from './assert.mjs';
import { withFakeClock } from './fake-clock.mjs';

/** A task that finishes when its `open()` is called. */
function gate(value) {
  let open;
  const promise = new Promise((resolve) => (open = () => resolve(value)));
  return { run: () => promise, open };
}

const delay = (ms, value) => new Promise((resolve) => setTimeout(resolve, ms, value));

/** The rateLimit and rateLimitCleared events `queue` emits from now on, in order. */
function rateLimitEvents(queue) {
  const seen = [];
  queue.on('rateLimit', () => seen.push('rateLimit'));
  queue.on('rateLimitCleared', () => seen.push('rateLimitCleared'));
  return seen;
}

/** Lets every queued promise reaction and microtask run. */
const settle = () => delay(0);

export const scenarios = {
  'Usage: concurrency 1 runs one task at a time, and add() resolves when its task completes': async ({ PQueue }) => {
    const queue = new PQueue({ concurrency: 1 });
    const log = [];
    const a = gate('a');
    const first = queue.add(async () => { log.push('start a'); return a.run(); });
    const second = queue.add(async () => { log.push('start b'); return 'b'; });
    await settle();
    deepEqual(log, ['start a'], 'b waits for a');
    a.open();
    equal(await first, 'a');
    equal(await second, 'b');
    deepEqual(log, ['start a', 'start b']);
  },

  'concurrency: at most that many run; fewer than 1 is a TypeError; settable at runtime': async ({ PQueue }) => {
    const queue = new PQueue({ concurrency: 2 });
    const gates = [0, 1, 2, 3].map((n) => gate(n));
    const results = gates.map((g) => queue.add(g.run));
    await settle();
    equal(queue.pending, 2);
    equal(queue.size, 2);
    queue.concurrency = 3;
    equal(queue.concurrency, 3);
    await settle();
    equal(queue.pending, 3, 'raising it starts a waiting task');
    gates.forEach((g) => g.open());
    deepEqual(await Promise.all(results), [0, 1, 2, 3]);
    throws(() => new PQueue({ concurrency: 0 }), TypeError);
    throws(() => { queue.concurrency = 0; }, TypeError);
    equal(queue.concurrency, 3, 'a refused value changes nothing');
  },

  'concurrency: lowered at runtime, the running tasks finish and then at most the new limit run': async ({ PQueue }) => {
    await withFakeClock(async (clock) => {
      const queue = new PQueue({ concurrency: 3 });
      let running = 0;
      let most = 0;
      for (let i = 0; i < 6; i++) {
        queue.add(async () => {
          running += 1;
          most = Math.max(most, running);
          await delay(100);
          running -= 1;
        });
      }
      await clock.advance(10);
      queue.concurrency = 1;
      equal(queue.pending, 3, 'nothing running is stopped');
      most = 0;
      await clock.advance(1_000);
      equal(most, 1);
      await queue.onIdle();
    });
  },

  'timeout: a task running longer rejects with TimeoutError; the clock starts when it starts, not while it waits': async ({ PQueue, TimeoutError }) => {
    await withFakeClock(async (clock) => {
      const queue = new PQueue({ concurrency: 1, timeout: 100 });
      const first = queue.add(() => delay(80, 'first'));
      const second = queue.add(() => delay(80, 'second'));
      const slow = queue.add(() => delay(150, 'slow'));
      const caught = slow.catch((error) => error);
      await clock.advance(160);
      equal(await first, 'first');
      equal(await second, 'second', 'waited 80 ms, ran 80: within its 100');
      await clock.advance(100);
      const error = await caught;
      ok(error instanceof TimeoutError, 'a TimeoutError');
      equal(error.name, 'TimeoutError');
      throws(() => new PQueue({ timeout: 0 }), TypeError);
      throws(() => new PQueue({ timeout: -1 }), TypeError);
    });
  },

  'timeout: overridden per task, and `timeout: undefined` turns it off for one task': async ({ PQueue, TimeoutError }) => {
    await withFakeClock(async (clock) => {
      const queue = new PQueue({ timeout: 50 });
      const global = queue.add(() => delay(100)).catch((error) => error);
      const longer = queue.add(() => delay(100, 'fits in 200'), { timeout: 200 });
      const none = queue.add(() => delay(1_000, 'no timeout'), { timeout: undefined });
      await clock.advance(1_000);
      ok((await global) instanceof TimeoutError);
      equal(await longer, 'fits in 200');
      equal(await none, 'no timeout');
      await rejects(queue.add(() => 1, { timeout: Number.NaN }), TypeError);
    });
  },

  '.timeout: settable at runtime for tasks added later': async ({ PQueue, TimeoutError }) => {
    await withFakeClock(async (clock) => {
      const queue = new PQueue({ timeout: 5_000 });
      equal(queue.timeout, 5_000);
      queue.timeout = 10;
      const task = queue.add(() => delay(50)).catch((error) => error);
      await clock.advance(50);
      ok((await task) instanceof TimeoutError);
    });
  },

  'autoStart: false holds tasks until start(), which returns the queue': async ({ PQueue }) => {
    const queue = new PQueue({ autoStart: false });
    let ran = 0;
    const tasks = [queue.add(() => ++ran), queue.add(() => ++ran)];
    await settle();
    equal(ran, 0);
    equal(queue.isPaused, true);
    equal(queue.size, 2);
    equal(queue.start(), queue);
    await Promise.all(tasks);
    equal(ran, 2);
  },

  'intervalCap and interval: at most intervalCap starts per interval; both validated': async ({ PQueue }) => {
    await withFakeClock(async (clock) => {
      const queue = new PQueue({ intervalCap: 2, interval: 1_000 });
      const t0 = Date.now();
      const starts = [];
      const tasks = [0, 1, 2, 3, 4].map(() => queue.add(() => starts.push(Date.now() - t0)));
      await clock.advance(2_500);
      await Promise.all(tasks);
      deepEqual(starts, [0, 0, 1_000, 1_000, 2_000]);
      throws(() => new PQueue({ intervalCap: 0 }), TypeError);
      throws(() => new PQueue({ interval: -1 }), TypeError);
      throws(() => new PQueue({ interval: Infinity }), TypeError);
    });
  },

  'interval: an interval is remembered while the queue is idle, so awaiting each add() still spaces them': async ({ PQueue }) => {
    await withFakeClock(async (clock) => {
      const queue = new PQueue({ intervalCap: 1, interval: 100 });
      const t0 = Date.now();
      const starts = [];
      const run = () => starts.push(Date.now() - t0);
      const done = (async () => {
        await queue.add(run);
        await queue.add(run);
        await delay(250);
        await queue.add(run);
        await queue.add(run);
      })();
      await clock.advance(1_000);
      await done;
      deepEqual(starts, [0, 100, 350, 450], 'after a long idle the next starts at once, and a new interval with it');
    });
  },

  'isRateLimited: only while a task waits for the next interval; intervalCap tasks alone are not limited': async ({ PQueue }) => {
    await withFakeClock(async (clock) => {
      const queue = new PQueue({ intervalCap: 2, interval: 1_000 });
      const seen = [];
      queue.on('rateLimit', () => seen.push('rateLimit'));
      queue.add(() => delay(50));
      queue.add(() => delay(50));
      await clock.advance(10);
      equal(queue.isRateLimited, false, 'the interval is used up, but nothing waits');
      deepEqual(seen, []);
      queue.add(() => delay(50));
      await clock.advance(10);
      equal(queue.isRateLimited, true);
      deepEqual(seen, ['rateLimit']);
      await clock.advance(1_000);
      equal(queue.isRateLimited, false);
    });
  },

  'rateLimitCleared: also when the tasks that waited are aborted, before the interval ends': async ({ PQueue }) => {
    await withFakeClock(async (clock) => {
      const queue = new PQueue({ intervalCap: 1, interval: 1_000 });
      const seen = rateLimitEvents(queue);
      const controller = new AbortController();
      queue.add(() => delay(50));
      const waiting = [1, 2].map(() => queue.add(() => delay(50), { signal: controller.signal }).catch((error) => error.name));
      await clock.advance(10);
      deepEqual(seen, ['rateLimit']);
      controller.abort();
      deepEqual(await Promise.all(waiting), ['AbortError', 'AbortError']);
      await clock.advance(10);
      equal(queue.isRateLimited, false);
      deepEqual(seen, ['rateLimit', 'rateLimitCleared']);
    });
  },

  'signal: tasks aborted while they wait take no place in an interval': async ({ PQueue }) => {
    await withFakeClock(async (clock) => {
      const queue = new PQueue({ concurrency: 1, intervalCap: 1, interval: 100 });
      const t0 = Date.now();
      const controller = new AbortController();
      queue.add(() => {});
      for (let i = 0; i < 5; i++) queue.add(() => {}, { signal: controller.signal }).catch(() => {});
      const last = queue.add(() => Date.now() - t0);
      controller.abort();
      await clock.advance(150);
      equal(await last, 100, 'the next interval after the first task, not the sixth');
      equal(queue.size, 0);
    });
  },

  'pause(): a new interval starts nothing while paused; start() then runs what it allows': async ({ PQueue }) => {
    await withFakeClock(async (clock) => {
      const queue = new PQueue({ concurrency: 2, intervalCap: 2, interval: 1_000 });
      const t0 = Date.now();
      const starts = [];
      for (let i = 0; i < 4; i++) queue.add(() => starts.push(Date.now() - t0));
      await clock.advance(600);
      queue.pause();
      await clock.advance(900);
      deepEqual(starts, [0, 0], 'the interval at 1000 passed while paused');
      queue.start();
      await clock.advance(0);
      deepEqual(starts, [0, 0, 1_500, 1_500]);
    });
  },

  'strict: a sliding window allows no burst at a window edge': async ({ PQueue }) => {
    await withFakeClock(async (clock) => {
      const startsOf = async (options) => {
        const queue = new PQueue({ intervalCap: 2, interval: 1_000, ...options });
        const t0 = Date.now();
        const starts = [];
        const run = () => starts.push(Date.now() - t0);
        const first = queue.add(run);
        await clock.advance(999);
        const rest = [1, 2, 3].map(() => queue.add(run));
        await clock.advance(2_000);
        await Promise.all([first, ...rest]);
        return starts;
      };
      deepEqual(await startsOf({}), [0, 999, 1_000, 1_000], 'fixed window: two more right at the edge');
      deepEqual(await startsOf({ strict: true }), [0, 999, 1_000, 1_999], 'strict: never more than two in any 1000 ms');
      throws(() => new PQueue({ strict: true, interval: 0 }), TypeError);
      throws(() => new PQueue({ strict: true, interval: 10 }), TypeError, 'strict needs a finite intervalCap');
    });
  },

  'carryoverIntervalCount: tasks still running at the edge count against the next interval': async ({ PQueue }) => {
    await withFakeClock(async (clock) => {
      const startsOf = async (carryoverIntervalCount) => {
        const queue = new PQueue({ intervalCap: 1, interval: 100, carryoverIntervalCount });
        const t0 = Date.now();
        const starts = [];
        const tasks = [0, 1].map(() => queue.add(() => { starts.push(Date.now() - t0); return delay(150); }));
        await clock.advance(1_000);
        await Promise.all(tasks);
        return starts;
      };
      deepEqual(await startsOf(false), [0, 100]);
      deepEqual(await startsOf(true), [0, 200], 'the first still ran at 100, so that interval was full');
    });
  },

  'bad options: a TypeError naming the option and the value given, in p-queue\'s words': ({ PQueue }) => {
    const refused = (make, message) => throws(make, { name: 'TypeError', message }, message);
    refused(() => new PQueue({ concurrency: undefined }), 'Expected `concurrency` to be a number from 1 and up, got `undefined` (undefined)');
    refused(() => { new PQueue().concurrency = '2'; }, 'Expected `concurrency` to be a number from 1 and up, got `2` (string)');
    refused(() => new PQueue({ intervalCap: undefined }), 'Expected `intervalCap` to be a number from 1 and up, got `` (undefined)');
    refused(() => new PQueue({ interval: -1 }), 'Expected `interval` to be a finite number >= 0, got `-1` (number)');
    refused(() => new PQueue({ timeout: null }), 'Expected `timeout` to be a positive finite number, got `null` (object)');
    refused(() => new PQueue({ interval: 0, intervalCap: 5, strict: true }), 'The `strict` option requires a non-zero `interval`');
    refused(() => new PQueue({ interval: 1_000, strict: true }), 'The `strict` option requires a finite `intervalCap`');
    refused(() => new PQueue().setPriority('1', undefined), 'Expected `priority` to be a finite number, got `undefined` (undefined)');
  },

  '.add(fn): fn gets { signal }; sync and async functions; the promise rejects with the error thrown': async ({ PQueue }) => {
    const queue = new PQueue();
    let got;
    equal(await queue.add((arguments_) => { got = arguments_; return 'sync'; }), 'sync');
    ok(got !== null && typeof got === 'object' && 'signal' in got);
    equal(await queue.add(async () => 'async'), 'async');
    const boom = new Error('boom');
    await rejects(queue.add(() => { throw boom; }), (e) => e === boom);
    await rejects(queue.add(async () => { throw boom; }), (e) => e === boom);
  },

  '.add(): a synchronous task keeps its slot past add(), so the next one does not start inside add()': async ({ PQueue }) => {
    const queue = new PQueue({ concurrency: 1 });
    const started = [];
    const run = (name, outcome = () => name) => () => { started.push(name); return outcome(); };
    const tasks = [
      queue.add(run('sync')),
      queue.add(run('throws', () => { throw new Error('throws'); })).catch((error) => error.message),
      queue.add(run('async', async () => 'async')),
    ];
    deepEqual(started, ['sync'], 'the first started at once; the others wait for its slot');
    equal(queue.size, 2);
    equal(queue.pending, 1);
    deepEqual(await Promise.all(tasks), ['sync', 'throws', 'async']);
    deepEqual(started, ['sync', 'throws', 'async']);
  },

  '.addAll(): with free slots every task is running when it returns, synchronous ones too': async ({ PQueue }) => {
    const queue = new PQueue();
    const all = queue.addAll([() => 'sync 1', async () => 'async', () => 'sync 2']);
    equal(queue.size, 0);
    equal(queue.pending, 3);
    deepEqual(await all, ['sync 1', 'async', 'sync 2']);
  },

  'priority: greater priority runs first, equal priorities in the order added': async ({ PQueue }) => {
    const queue = new PQueue({ concurrency: 1, autoStart: false });
    const order = [];
    const tasks = [['low', 0], ['high', 2], ['mid', 1], ['high2', 2], ['neg', -1]]
      .map(([name, priority]) => queue.add(() => order.push(name), { priority }));
    queue.start();
    await Promise.all(tasks);
    deepEqual(order, ['high', 'high2', 'mid', 'low', 'neg']);
  },

  '.setPriority(id, priority): the README examples': async ({ PQueue }) => {
    const run = async (setUp) => {
      const queue = new PQueue({ concurrency: 1 });
      const order = [];
      const add = (name, options) => queue.add(async () => order.push(name), options);
      const tasks = setUp(add, queue);
      await Promise.all(tasks);
      return order;
    };
    deepEqual(await run((add, queue) => {
      const tasks = [add('u1', { priority: 1 }), add('crab', { priority: 0, id: '🦀' }), add('u2', { priority: 1 }), add('u3', { priority: 1 })];
      queue.setPriority('🦀', 2);
      return tasks;
    }), ['u1', 'crab', 'u2', 'u3'], '🦀 runs second');
    deepEqual(await run((add, queue) => {
      const tasks = [add('u1', { priority: 1 }), add('crab', { priority: 1, id: '🦀' }), add('u2'), add('u3', { priority: 0 })];
      queue.setPriority('🦀', -1);
      return tasks;
    }), ['u1', 'u2', 'u3', 'crab'], '🦀 runs last');
  },

  '.setPriority: an id not waiting is a ReferenceError, a non-finite priority a TypeError; ids default to "1", "2", …': async ({ PQueue }) => {
    const queue = new PQueue({ concurrency: 1, autoStart: false });
    const order = [];
    const tasks = ['a', 'b', 'c'].map((name) => queue.add(() => order.push(name)));
    queue.setPriority('3', 1);
    throws(() => queue.setPriority('nope', 1), ReferenceError);
    throws(() => queue.setPriority('1', Number.NaN), TypeError);
    queue.start();
    await Promise.all(tasks);
    deepEqual(order, ['c', 'a', 'b'], 'the third task got id "3"');
  },

  'signal: aborting a waiting task removes it and rejects add() with signal.reason': async ({ PQueue }) => {
    const queue = new PQueue({ concurrency: 1 });
    const running = gate('running');
    const first = queue.add(running.run);
    const controller = new AbortController();
    let ran = false;
    const waiting = queue.add(() => { ran = true; }, { signal: controller.signal });
    await settle();
    equal(queue.size, 1);
    controller.abort();
    await rejects(waiting, (e) => e === controller.signal.reason && e.name === 'AbortError');
    equal(queue.size, 0);
    running.open();
    equal(await first, 'running');
    await queue.onIdle();
    equal(ran, false);
    const reason = new Error('custom reason');
    await rejects(queue.add(() => 1, { signal: AbortSignal.abort(reason) }), (e) => e === reason, 'already aborted');
  },

  'signal: a running task sees its signal abort and add() rejects; the task must stop itself': async ({ PQueue }) => {
    const queue = new PQueue();
    const controller = new AbortController();
    let sawAbort = false;
    // It stops a moment after the abort, as real work does.
    const task = queue.add(({ signal }) => new Promise((resolve) => {
      signal.addEventListener('abort', () => { sawAbort = true; Promise.resolve().then(() => resolve('stopped')); });
    }), { signal: controller.signal });
    await settle();
    equal(queue.pending, 1);
    controller.abort();
    await rejects(task, (e) => e === controller.signal.reason);
    ok(sawAbort);
    await queue.onIdle();
  },

  'FAQ: one shared AbortController cancels every queued task, and none of them runs': async ({ PQueue }) => {
    const queue = new PQueue({ concurrency: 2 });
    const controller = new AbortController();
    let ran = 0;
    const work = ({ signal }) => new Promise((resolve, reject) => {
      ran += 1;
      signal.addEventListener('abort', () => reject(signal.reason));
    });
    const tasks = [0, 1, 2, 3, 4].map(() => queue.add(work, { signal: controller.signal }));
    await settle();
    equal(ran, 2);
    controller.abort();
    const outcomes = await Promise.allSettled(tasks);
    deepEqual(outcomes.map((o) => o.status), ['rejected', 'rejected', 'rejected', 'rejected', 'rejected']);
    await queue.onIdle();
    equal(ran, 2, 'the three waiting never started');
  },

  '.addAll(fns): resolves with every result, in order': async ({ PQueue }) => {
    const queue = new PQueue({ concurrency: 2 });
    deepEqual(await queue.addAll([async () => 1, () => 2, async () => 3]), [1, 2, 3]);
  },

  '.pause() and .start(): size and pending change as soon as they return': ({ PQueue }) => {
    const queue = new PQueue({ concurrency: 2 });
    const never = () => new Promise(() => {});
    queue.pause();
    for (let i = 0; i < 5; i++) queue.add(never).catch(() => {});
    deepEqual([queue.size, queue.pending, queue.isPaused], [5, 0, true]);
    queue.start();
    deepEqual([queue.size, queue.pending, queue.isPaused], [3, 2, false]);
    queue.add(never).catch(() => {});
    queue.pause();
    deepEqual([queue.size, queue.pending], [4, 2]);
    queue.start();
    deepEqual([queue.size, queue.pending], [4, 2], 'both slots are still taken');
    queue.clear();
    equal(queue.size, 0);
  },

  '.pause(): puts execution on hold; running tasks finish': async ({ PQueue }) => {
    const queue = new PQueue({ concurrency: 1 });
    const running = gate('a');
    const a = queue.add(running.run);
    let ran = false;
    const b = queue.add(() => { ran = true; });
    await settle();
    queue.pause();
    equal(queue.isPaused, true);
    running.open();
    equal(await a, 'a');
    await settle();
    equal(ran, false);
    equal(queue.size, 1);
    queue.start();
    await b;
    equal(ran, true);
  },

  '.onEmpty(): settles when the queue becomes empty, at once when it is': async ({ PQueue }) => {
    const queue = new PQueue({ concurrency: 1 });
    await queue.onEmpty();
    const a = gate();
    const b = gate();
    queue.add(a.run);
    queue.add(b.run);
    let empty = false;
    const whenEmpty = queue.onEmpty().then(() => { empty = true; });
    await settle();
    equal(empty, false, 'b waits');
    a.open();
    b.open();
    await whenEmpty;
    equal(queue.size, 0);
  },

  '.onIdle(): settles once size and pending are both 0': async ({ PQueue }) => {
    const queue = new PQueue({ concurrency: 2 });
    await queue.onIdle();
    const gates = [gate(), gate(), gate()];
    gates.forEach((g) => queue.add(g.run));
    let idle = false;
    const whenIdle = queue.onIdle().then(() => { idle = true; });
    gates[0].open();
    gates[1].open();
    await settle();
    equal(idle, false);
    gates[2].open();
    await whenIdle;
    equal(queue.size + queue.pending, 0);
  },

  '.onPendingZero(): after pause(), settles once the running tasks finish, though tasks wait': async ({ PQueue }) => {
    const queue = new PQueue({ concurrency: 2 });
    const gates = [gate(), gate(), gate()];
    const tasks = gates.map((g) => queue.add(g.run));
    await settle();
    queue.pause();
    const drained = queue.onPendingZero();
    gates[0].open();
    gates[1].open();
    await drained;
    equal(queue.pending, 0);
    equal(queue.size, 1);
    queue.start();
    gates[2].open();
    await Promise.all(tasks);
  },

  '.onRateLimit() and .onRateLimitCleared(): the README examples': async ({ PQueue }) => {
    await withFakeClock(async (clock) => {
      const queue = new PQueue({ intervalCap: 5, interval: 1_000 });
      await queue.onRateLimitCleared();
      const tasks = [];
      for (let index = 0; index < 10; index++) tasks.push(queue.add(() => delay(10)));
      await queue.onRateLimit();
      equal(queue.isRateLimited, true);
      await queue.onRateLimit();
      const cleared = queue.onRateLimitCleared();
      await clock.advance(2_100);
      await cleared;
      await Promise.all(tasks);
      equal(queue.isRateLimited, false);
    });
  },

  '.onError(): rejects with the first task error; raced with onIdle it fails fast': async ({ PQueue }) => {
    const queue = new PQueue({ concurrency: 2 });
    const boom = new Error('boom');
    queue.add(async () => 1).catch(() => {});
    queue.add(async () => { throw boom; }).catch(() => {});
    queue.add(async () => 3).catch(() => {});
    await rejects(Promise.race([queue.onError(), queue.onIdle()]), (e) => e === boom);
    await queue.onIdle();
    await Promise.race([queue.onError(), queue.onIdle()]);
  },

  '.onSizeLessThan(limit): settles once fewer than limit wait': async ({ PQueue }) => {
    const queue = new PQueue({ concurrency: 1 });
    const gates = [gate(), gate(), gate(), gate()];
    gates.forEach((g) => queue.add(g.run));
    await settle();
    equal(queue.size, 3);
    await queue.onSizeLessThan(4);
    let below = false;
    const whenBelow = queue.onSizeLessThan(2).then(() => { below = true; });
    gates[0].open();
    await settle();
    equal(below, false, 'still 2 waiting');
    gates[1].open();
    await whenBelow;
    equal(queue.size, 1);
    gates[2].open();
    gates[3].open();
    await queue.onIdle();
  },

  '.onSizeLessThan(): also settles when start(), a higher concurrency or a new interval lets tasks start': async ({ PQueue }) => {
    await withFakeClock(async (clock) => {
      const never = () => new Promise(() => {});
      const fill = (queue) => { for (let i = 0; i < 3; i++) queue.add(never); return queue; };
      const settled = (promise) => { const state = { done: false }; promise.then(() => { state.done = true; }); return state; };
      const paused = fill(new PQueue({ concurrency: 2, autoStart: false }));
      const started = settled(paused.onSizeLessThan(2));
      paused.start();
      const narrow = fill(new PQueue({ concurrency: 1 }));
      const raised = settled(narrow.onSizeLessThan(1));
      narrow.concurrency = 3;
      const limited = fill(new PQueue({ intervalCap: 1, interval: 100 }));
      const ticked = settled(limited.onSizeLessThan(2));
      await clock.advance(0);
      deepEqual([started.done, raised.done, ticked.done], [true, true, false]);
      await clock.advance(100);
      equal(ticked.done, true);
    });
  },

  '.clear(): empties the queue; running tasks go on': async ({ PQueue }) => {
    const queue = new PQueue({ concurrency: 1 });
    const running = gate('kept');
    const kept = queue.add(running.run);
    let ran = false;
    for (let i = 0; i < 3; i++) queue.add(() => { ran = true; }).catch(() => {});
    await settle();
    queue.clear();
    equal(queue.size, 0);
    equal(queue.pending, 1);
    running.open();
    equal(await kept, 'kept');
    await queue.onIdle();
    equal(ran, false);
  },

  '.size and .sizeBy({ priority }): the README example': async ({ PQueue }) => {
    const queue = new PQueue({ autoStart: false });
    queue.add(async () => '🦄', { priority: 1 });
    queue.add(async () => '🦄', { priority: 0 });
    queue.add(async () => '🦄', { priority: 1 });
    equal(queue.sizeBy({ priority: 1 }), 2);
    equal(queue.sizeBy({ priority: 0 }), 1);
    equal(queue.size, 3);
    queue.start();
    await queue.onIdle();
  },

  '.isSaturated: slots full with tasks waiting': async ({ PQueue }) => {
    const queue = new PQueue({ concurrency: 2 });
    const gates = [gate(), gate(), gate()];
    gates.slice(0, 2).forEach((g) => queue.add(g.run));
    await settle();
    equal(queue.isSaturated, false, 'full, but nothing waits');
    queue.add(gates[2].run);
    equal(queue.isSaturated, true);
    gates.forEach((g) => g.open());
    await queue.onIdle();
    equal(queue.isSaturated, false);
  },

  '.isSaturated: not while paused; yes while rate-limited with tasks waiting': async ({ PQueue }) => {
    await withFakeClock(async (clock) => {
      const paused = new PQueue({ concurrency: 1, autoStart: false });
      paused.add(() => delay(50));
      paused.add(() => delay(50));
      equal(paused.isSaturated, false);
      paused.start();
      equal(paused.isSaturated, true);
      const limited = new PQueue({ intervalCap: 1, interval: 100 });
      limited.add(() => delay(50));
      limited.add(() => delay(50));
      await clock.advance(10);
      equal(limited.isSaturated, true, 'slots free, but the interval is used up');
      await clock.advance(200);
      equal(limited.isSaturated, false);
    });
  },

  '.runningTasks: id, priority, startTime, timeout and timeoutRemaining of each running task': async ({ PQueue }) => {
    await withFakeClock(async (clock) => {
      const queue = new PQueue({ concurrency: 2, timeout: 10_000 });
      const start = Date.now();
      const a = gate();
      const b = gate();
      queue.add(a.run, { id: 'user-123' });
      queue.add(b.run, { id: 'posts-456', priority: 1 });
      await clock.advance(300);
      const byId = Object.fromEntries(queue.runningTasks.map((t) => [t.id, t]));
      deepEqual(byId['user-123'], { id: 'user-123', priority: 0, startTime: start, timeout: 10_000, timeoutRemaining: 9_700 });
      equal(byId['posts-456'].priority, 1);
      a.open();
      b.open();
      await queue.onIdle();
      deepEqual(queue.runningTasks, []);
    });
  },

  'events active and completed: active as each task starts, completed with its result': async ({ PQueue }) => {
    const queue = new PQueue({ concurrency: 2 });
    const seen = [];
    queue.on('active', () => seen.push(`active size=${queue.size}`));
    queue.on('completed', (result) => seen.push(`completed ${result}`));
    await Promise.all([queue.add(async () => 'a'), queue.add(async () => 'b'), queue.add(async () => 'c')]);
    deepEqual(seen.filter((s) => s.startsWith('active')), ['active size=0', 'active size=0', 'active size=0'], 'each left the queue as it started');
    deepEqual(seen.filter((s) => s.startsWith('completed')).sort(), ['completed a', 'completed b', 'completed c']);
  },

  'event error: emitted with the error, and the add() promise still rejects': async ({ PQueue }) => {
    const queue = new PQueue();
    const errors = [];
    queue.on('error', (error) => errors.push(error));
    const boom = new Error('error');
    await rejects(queue.add(() => Promise.reject(boom)), (e) => e === boom);
    deepEqual(errors, [boom]);
  },

  'events empty and idle: idle every time the queue goes idle, after the last completion; never if nothing was added': async ({ PQueue }) => {
    const queue = new PQueue();
    const seen = [];
    queue.on('empty', () => seen.push('empty'));
    queue.on('idle', () => seen.push(`idle ${queue.size} ${queue.pending}`));
    queue.on('completed', () => seen.push('completed'));
    await settle();
    deepEqual(seen, [], 'never without tasks');
    const job1 = queue.add(() => settle());
    const job2 = queue.add(() => settle());
    await job1;
    await job2;
    await settle();
    deepEqual(seen.filter((s) => s.startsWith('idle')), ['idle 0 0']);
    await queue.add(() => settle());
    await settle();
    deepEqual(seen.filter((s) => s.startsWith('idle')), ['idle 0 0', 'idle 0 0']);
    equal(seen.at(-1), 'idle 0 0');
    equal(seen.at(-2), 'empty');
    equal(seen.at(-3), 'completed', 'completed comes before empty and idle');
  },

  'event pendingZero: emitted when no task runs any more, though tasks may wait': async ({ PQueue }) => {
    const queue = new PQueue({ concurrency: 1 });
    let count = 0;
    queue.on('pendingZero', () => { count += 1; });
    const a = gate();
    queue.add(a.run);
    queue.add(() => 'b');
    await settle();
    queue.pause();
    a.open();
    await queue.onPendingZero();
    equal(count, 1);
    equal(queue.size, 1);
  },

  'events add and next: one add per add() call, one next per task finished': async ({ PQueue }) => {
    const queue = new PQueue();
    let added = 0;
    let next = 0;
    queue.on('add', () => { added += 1; });
    queue.on('next', () => { next += 1; });
    const job1 = queue.add(() => delay(20));
    const job2 = queue.add(() => delay(5));
    equal(added, 2);
    await job1;
    await job2;
    await settle();
    equal(next, 2);
    await queue.add(() => 1);
    await settle();
    deepEqual([added, next], [3, 3]);
    queue.add(() => Promise.reject(new Error('x'))).catch(() => {});
    await queue.onIdle();
    await settle();
    equal(next, 4, 'also for a task that failed');
  },

  'events rateLimit and rateLimitCleared: the README examples': async ({ PQueue }) => {
    await withFakeClock(async (clock) => {
      const queue = new PQueue({ intervalCap: 1, interval: 1_000 });
      const seen = rateLimitEvents(queue);
      const tasks = [queue.add(() => delay(100)), queue.add(() => delay(100))];
      await clock.advance(0);
      deepEqual(seen, ['rateLimit'], 'the second task triggers it');
      await clock.advance(1_200);
      await Promise.all(tasks);
      deepEqual(seen, ['rateLimit', 'rateLimitCleared']);
    });
  },

  'events rateLimit and rateLimitCleared: a limit that begins and ends in one synchronous step is not reported': async ({ PQueue }) => {
    await withFakeClock(async (clock) => {
      const queue = new PQueue({ intervalCap: 1, interval: 1_000 });
      const seen = rateLimitEvents(queue);
      queue.add(() => delay(50));
      queue.add(() => delay(50)).catch(() => {});
      queue.clear();
      queue.add(() => delay(50));
      await clock.advance(0);
      deepEqual(seen, ['rateLimit'], 'one episode: the third task waits as the second did');
      await clock.advance(1_000);
      deepEqual(seen, ['rateLimit', 'rateLimitCleared']);
    });
  },

  '.clear(): while rate-limited, isRateLimited is false and rateLimitCleared emitted before it returns': async ({ PQueue }) => {
    await withFakeClock(async (clock) => {
      const queue = new PQueue({ intervalCap: 1, interval: 1_000 });
      const seen = rateLimitEvents(queue);
      queue.add(() => delay(50));
      queue.add(() => delay(50)).catch(() => {});
      await clock.advance(10);
      equal(queue.isRateLimited, true);
      queue.clear();
      equal(queue.isRateLimited, false);
      deepEqual(seen, ['rateLimit', 'rateLimitCleared']);
      await clock.advance(1_000);
      deepEqual(seen, ['rateLimit', 'rateLimitCleared']);
    });
  },

  'Advanced example: the twelve steps print in the documented order': async ({ PQueue }) => {
    await withFakeClock(async (clock) => {
      const queue = new PQueue({ concurrency: 1 });
      const log = [];
      const done = (async () => {
        await delay(200);
        log.push(`8. Pending promises: ${queue.pending}`);
        (async () => {
          await queue.add(async () => '🐙');
          log.push('11. Resolved');
        })();
        log.push('9. Added 🐙');
        log.push(`10. Pending promises: ${queue.pending}`);
        await queue.onIdle();
        log.push('12. All work is done');
      })();
      (async () => {
        await queue.add(async () => '🦄');
        log.push('5. Resolved');
      })();
      log.push('1. Added 🦄');
      (async () => {
        await queue.add(async () => '🐴');
        log.push('6. Resolved');
      })();
      log.push('2. Added 🐴');
      (async () => {
        await queue.onEmpty();
        log.push('7. Queue is empty');
      })();
      log.push(`3. Queue size: ${queue.size}`);
      log.push(`4. Pending promises: ${queue.pending}`);
      await clock.advance(200);
      await done;
      deepEqual(log, [
        '1. Added 🦄',
        '2. Added 🐴',
        '3. Queue size: 1',
        '4. Pending promises: 1',
        '5. Resolved',
        '6. Resolved',
        '7. Queue is empty',
        '8. Pending promises: 0',
        '9. Added 🐙',
        '10. Pending promises: 1',
        '11. Resolved',
        '12. All work is done',
      ]);
    });
  },

  'FAQ: Promise.all over add() gives results in the order added, whatever order they finish in': async ({ PQueue }) => {
    await withFakeClock(async (clock) => {
      const queue = new PQueue({ concurrency: 4 });
      const results = Promise.all([30, 10, 20].map((ms, i) => queue.add(() => delay(ms, i + 1))));
      await clock.advance(30);
      deepEqual(await results, [1, 2, 3]);
    });
  },
};

/** Where ferrymq/p-queue differs from p-queue on purpose; each is in README's table. */
export const differences = {
  'clear(): the cleared tasks reject with CLEARED instead of staying pending forever, and nobody awaiting them crashes': async ({ PQueue, FerryError }) => {
    const queue = new PQueue({ concurrency: 1 });
    const running = gate();
    queue.add(running.run);
    const awaited = queue.add(() => 'never');
    queue.add(() => 'never, and nobody holds its promise');
    await settle();
    queue.clear();
    await rejects(awaited, (e) => e instanceof FerryError && e.code === 'CLEARED');
    running.open();
    await queue.onIdle();
  },

  'queueClass is refused with a TypeError that says why': ({ PQueue }) => {
    throws(() => new PQueue({ queueClass: class {} }), (e) => e instanceof TypeError && /queueClass/.test(e.message));
  },

  'the signal a task gets is its own, not the one given to add(), and aborts with it, with the same reason': async ({ PQueue }) => {
    const queue = new PQueue();
    const controller = new AbortController();
    let seen;
    const task = queue.add(({ signal }) => new Promise((resolve) => {
      seen = signal;
      signal.addEventListener('abort', () => resolve());
    }), { signal: controller.signal });
    await settle();
    ok(seen !== controller.signal, 'p-queue passes the given signal itself');
    controller.abort();
    await rejects(task, (e) => e === controller.signal.reason);
    equal(seen.reason, controller.signal.reason);
  },

  'the signal a task gets is always there, and also aborts when the task times out': async ({ PQueue, TimeoutError }) => {
    await withFakeClock(async (clock) => {
      const queue = new PQueue({ timeout: 50 });
      let reason;
      const task = queue.add(({ signal }) => new Promise((resolve) => {
        signal.addEventListener('abort', () => { reason = signal.reason; resolve(); });
      })).catch((error) => error);
      await clock.advance(50);
      ok((await task) instanceof TimeoutError);
      ok(reason instanceof TimeoutError, 'the running work was told to stop');
    });
  },

  'pendingZero fires when no task runs, not between one task ending and the next starting': async ({ PQueue }) => {
    const queue = new PQueue({ concurrency: 1 });
    let count = 0;
    queue.on('pendingZero', () => { count += 1; });
    await Promise.all([queue.add(async () => 1), queue.add(async () => 2), queue.add(async () => 3)]);
    await queue.onIdle();
    equal(count, 1);
  },
};
