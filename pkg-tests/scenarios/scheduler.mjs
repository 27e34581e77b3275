// Scheduler scenarios: each runs against the ferrymq module it is given, in
// Node (node/scheduler.test.mjs) and in Chromium (browser/scenarios.test.mjs).
import { deepEqual, equal, ok, rejects, throws } from './assert.mjs';
import { withFakeClock } from './fake-clock.mjs';

/** A promise with its resolve function, to finish tasks in a chosen order. */
function gate() {
  let open;
  const promise = new Promise((resolve) => (open = resolve));
  return { promise, open };
}

/** Resolves when `signal` aborts. */
const aborted = (signal) => new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));

const isCode = (FerryError, code) => (e) => e instanceof FerryError && e.code === code;

export const scenarios = {
  'add resolves with the task result and rejects with its error': async ({ Scheduler }) => {
    const scheduler = new Scheduler();
    equal(await scheduler.add(async () => 42), 42);
    equal(await scheduler.add(() => 'sync'), 'sync');
    const boom = new Error('boom');
    await rejects(scheduler.add(async () => { throw boom; }), (e) => e === boom);
    await rejects(scheduler.add(() => { throw boom; }), (e) => e === boom);
  },

  'rejections with non-Error values pass through and do not wedge the scheduler': async ({ Scheduler }) => {
    const scheduler = new Scheduler({ concurrency: 1 });
    await rejects(scheduler.add(() => Promise.reject('a string')), (e) => e === 'a string');
    await rejects(scheduler.add(() => { throw undefined; }), (e) => e === undefined);
    equal(await scheduler.add(() => ({ then: (resolve) => resolve('thenable') })), 'thenable');
    equal(await scheduler.add(() => null), null);
    equal(scheduler.pending, 0);
  },

  'concurrency limits how many tasks run at once, in FIFO order': async ({ Scheduler }) => {
    const scheduler = new Scheduler({ concurrency: 2 });
    const gates = [gate(), gate(), gate(), gate()];
    const started = [];
    let running = 0;
    let peak = 0;
    const results = gates.map((g, i) =>
      scheduler.add(async () => {
        started.push(i);
        peak = Math.max(peak, ++running);
        await g.promise;
        running--;
        return i;
      }),
    );
    deepEqual(started, [0, 1]);
    equal(scheduler.pending, 2);
    equal(scheduler.size, 2);
    gates[1].open();
    await results[1];
    deepEqual(started, [0, 1, 2]);
    for (const g of gates) g.open();
    deepEqual(await Promise.all(results), [0, 1, 2, 3]);
    equal(peak, 2);
  },

  'a long run of synchronous tasks neither overflows the stack nor reorders results': async ({ Scheduler }) => {
    const scheduler = new Scheduler({ concurrency: 1 });
    const n = 200_000;
    const results = [];
    for (let i = 0; i < n; i++) results.push(scheduler.add(() => i));
    const values = await Promise.all(results);
    equal(values.length, n);
    ok(values.every((v, i) => v === i));
  },

  'concurrency can change at runtime; Infinity is allowed': async ({ Scheduler }) => {
    const scheduler = new Scheduler({ concurrency: 1 });
    const g = gate();
    const started = [];
    const all = [1, 2, 3].map((n) => scheduler.add(async () => { started.push(n); await g.promise; }));
    deepEqual(started, [1]);
    scheduler.concurrency = Infinity;
    equal(scheduler.concurrency, Infinity);
    deepEqual(started, [1, 2, 3], 'raising the limit starts waiting tasks at once');
    g.open();
    await Promise.all(all);
    throws(() => { scheduler.concurrency = 0; }, RangeError);
    equal(scheduler.concurrency, Infinity, 'a rejected value changes nothing');
  },

  'higher priority runs first, FIFO within a priority': async ({ Scheduler }) => {
    const scheduler = new Scheduler({ concurrency: 1, autoStart: false });
    const order = [];
    const add = (name, priority) => scheduler.add(() => { order.push(name); }, { priority });
    const all = [add('low-1', 0), add('high-1', 5), add('low-2', 0), add('high-2', 5), add('negative', -3)];
    scheduler.resume();
    await Promise.all(all);
    deepEqual(order, ['high-1', 'high-2', 'low-1', 'low-2', 'negative']);
  },

  'pause stops starting tasks; resume starts them; autoStart: false starts paused': async ({ Scheduler }) => {
    const scheduler = new Scheduler({ autoStart: false });
    equal(scheduler.isPaused, true);
    let ran = false;
    const result = scheduler.add(() => { ran = true; return 'ran'; });
    equal(ran, false);
    equal(scheduler.size, 1);
    scheduler.resume();
    equal(await result, 'ran');
    scheduler.pause();
    const later = scheduler.add(() => 'later');
    equal(scheduler.size, 1);
    scheduler.resume();
    equal(await later, 'later');
  },

  'a timeout rejects with TIMEOUT and aborts ctx.signal so the work can stop': async ({ Scheduler, FerryError }) => {
    const scheduler = new Scheduler();
    let signalAborted;
    const result = scheduler.add(async ({ signal }) => {
      await aborted(signal);
      signalAborted = signal.aborted;
      return 'too late';
    }, { timeoutMs: 10 });
    await rejects(result, isCode(FerryError, 'TIMEOUT'));
    equal(signalAborted, true);
    equal(scheduler.pending, 0, 'a timed-out task no longer counts as running');
  },

  'the scheduler default timeout applies, and a per-task one overrides it': async ({ Scheduler, FerryError }) => {
    const scheduler = new Scheduler({ timeoutMs: 10 });
    await rejects(scheduler.add(({ signal }) => aborted(signal)), isCode(FerryError, 'TIMEOUT'));
    const g = gate();
    const slow = scheduler.add(async () => { await g.promise; return 'done'; }, { timeoutMs: 60_000 });
    setTimeout(g.open, 30);
    equal(await slow, 'done');
  },

  'failed attempts are retried with the attempt number, then the last error rejects': async ({ Scheduler }) => {
    const scheduler = new Scheduler({ retries: 2, backoff: { type: 'fixed', baseMs: 1 } });
    const attempts = [];
    const retries = [];
    scheduler.on('retry', (e) => retries.push(e.attempt));
    await rejects(
      scheduler.add(({ attempt }) => {
        attempts.push(attempt);
        throw new Error(`attempt ${attempt}`);
      }),
      /attempt 3/,
    );
    deepEqual(attempts, [1, 2, 3]);
    deepEqual(retries, [2, 3]);
    equal(await scheduler.add(({ attempt }) => (attempt < 2 ? Promise.reject(new Error('flaky')) : attempt)), 2);
  },

  'a timed-out attempt is retried when retries remain': async ({ Scheduler }) => {
    const scheduler = new Scheduler({ timeoutMs: 5, retries: 1 });
    const result = scheduler.add(async ({ attempt, signal }) => {
      if (attempt === 1) await aborted(signal);
      return attempt;
    });
    equal(await result, 2);
  },

  'a task whose promise calls back twice settles once; the next task keeps its own result': async ({ Scheduler }) => {
    // A Promise subclass whose then() runs its callbacks twice.
    class Twice extends Promise {
      then(onFulfilled, onRejected) {
        super.then(onFulfilled, onRejected);
        return super.then(onFulfilled, onRejected);
      }
    }
    const scheduler = new Scheduler({ concurrency: 1 });
    const completed = [];
    scheduler.on('completed', (e) => completed.push(e.result));
    const first = scheduler.add(() => new Twice((resolve) => resolve(1)));
    const second = scheduler.add(async () => {
      await null;
      return 2;
    });
    deepEqual(await Promise.all([first, second]), [1, 2]);
    await scheduler.onIdle();
    deepEqual(completed, [1, 2], 'each completed once');
  },

  'an attempt that settles after its task ended touches no later task': async ({ Scheduler, FerryError }) => {
    await withFakeClock(async (clock) => {
      const scheduler = new Scheduler({ concurrency: 1 });
      const timesOut = async (fn) => {
        const outcome = rejects(scheduler.add(fn, { timeoutMs: 10 }), isCode(FerryError, 'TIMEOUT'));
        await clock.advance(10);
        await outcome;
      };
      // Each later task may reuse what the scheduler kept of the ended one.
      const late = gate();
      let progressOfEnded;
      await timesOut(({ progress }) => {
        progressOfEnded = progress;
        return late.promise;
      });
      const progress = [];
      const g = gate();
      const next = scheduler.add(async () => { await g.promise; return 'next'; }, { onProgress: (p) => progress.push(p) });
      late.open('too late');
      progressOfEnded('from the ended task');
      await clock.advance(0);
      equal(scheduler.pending, 1, 'a late result settles nothing: the next task still runs');
      deepEqual(progress, [], "the ended task's progress is not the next one's");
      g.open();
      equal(await next, 'next');

      const failsLate = gate();
      await timesOut(() => failsLate.promise.then(() => { throw new Error('too late'); }));
      const g2 = gate();
      const after = scheduler.add(async () => { await g2.promise; return 'after'; });
      failsLate.open();
      await clock.advance(0);
      equal(scheduler.pending, 1, 'a late failure fails nothing: the next task still runs');
      g2.open();
      equal(await after, 'after');
    });
  },

  'a retry after a timeout is settled by its own attempt, not the timed-out one': async ({ Scheduler }) => {
    await withFakeClock(async (clock) => {
      const scheduler = new Scheduler({ timeoutMs: 10, retries: 1 });
      const attempts = [gate(), gate()];
      const result = scheduler.add(({ attempt }) => attempts[attempt - 1].promise);
      await clock.advance(10);
      attempts[0].open('from attempt 1, too late');
      await clock.advance(0);
      attempts[1].open('from attempt 2');
      equal(await result, 'from attempt 2');
    });
  },

  'an AbortSignal cancels a waiting task and a running one': async ({ Scheduler, FerryError }) => {
    const scheduler = new Scheduler({ concurrency: 1 });
    const running = new AbortController();
    const waiting = new AbortController();
    let runningSignal;
    const first = scheduler.add(async ({ signal }) => {
      runningSignal = signal;
      await aborted(signal);
    }, { signal: running.signal });
    let secondRan = false;
    const second = scheduler.add(() => { secondRan = true; }, { signal: waiting.signal });
    waiting.abort(new Error('not needed'));
    await rejects(second, (e) => isCode(FerryError, 'ABORTED')(e) && e.cause.message === 'not needed');
    equal(secondRan, false);
    running.abort();
    await rejects(first, isCode(FerryError, 'ABORTED'));
    equal(runningSignal.aborted, true);
    await scheduler.onIdle();
    const dead = new AbortController();
    dead.abort();
    await rejects(scheduler.add(() => 'never', { signal: dead.signal }), isCode(FerryError, 'ABORTED'));
  },

  'clear rejects every waiting task with CLEARED; running tasks finish': async ({ Scheduler, FerryError }) => {
    const scheduler = new Scheduler({ concurrency: 1 });
    const g = gate();
    const running = scheduler.add(async () => { await g.promise; return 'finished'; });
    const waiting = [scheduler.add(() => 'a'), scheduler.add(() => 'b')];
    equal(scheduler.clear('shutting down'), 2);
    for (const p of waiting) await rejects(p, (e) => isCode(FerryError, 'CLEARED')(e) && e.cause === 'shutting down');
    equal(scheduler.size, 0);
    g.open();
    equal(await running, 'finished');
  },

  'onEmpty resolves when nothing waits, onIdle when nothing runs either': async ({ Scheduler }) => {
    const scheduler = new Scheduler({ concurrency: 1 });
    await scheduler.onIdle();
    await scheduler.onEmpty();
    const g = gate();
    const events = [];
    scheduler.on('empty', () => events.push('empty'));
    scheduler.on('idle', () => events.push('idle'));
    scheduler.add(() => g.promise);
    scheduler.add(() => 'second');
    const empty = scheduler.onEmpty().then(() => events.push('onEmpty'));
    const idle = scheduler.onIdle().then(() => events.push('onIdle'));
    g.open();
    await Promise.all([empty, idle]);
    deepEqual(events.filter((e) => e === 'empty' || e === 'idle'), ['empty', 'idle']);
    ok(events.indexOf('onEmpty') < events.indexOf('onIdle'));
  },

  'addAll resolves with every result in order': async ({ Scheduler }) => {
    const scheduler = new Scheduler({ concurrency: 2 });
    deepEqual(await scheduler.addAll([() => 1, async () => 2, () => 3]), [1, 2, 3]);
    await rejects(scheduler.addAll([() => 1, 'nope']), /tasks\[1\]/);
  },

  'progress reaches onProgress and progress listeners': async ({ Scheduler }) => {
    const scheduler = new Scheduler();
    const seen = [];
    const events = [];
    scheduler.on('progress', (e) => events.push([e.id, e.progress]));
    await scheduler.add(({ progress }) => { progress(0.5); progress(1); }, { id: 'upload', onProgress: (p) => seen.push(p) });
    deepEqual(seen, [0.5, 1]);
    deepEqual(events, [['upload', 0.5], ['upload', 1]]);
  },

  'events report active, completed and failed tasks; unsubscribe stops them': async ({ Scheduler }) => {
    const scheduler = new Scheduler();
    const events = [];
    const off = scheduler.on('active', (e) => events.push(['active', e.id, e.attempt]));
    scheduler.on('completed', (e) => events.push(['completed', e.id, e.result]));
    scheduler.on('failed', (e) => events.push(['failed', e.id, e.error.message]));
    await scheduler.add(() => 'ok', { id: 'one' });
    await scheduler.add(() => { throw new Error('bad'); }, { id: 'two' }).catch(() => {});
    off();
    await scheduler.add(() => 'quiet', { id: 'three' });
    deepEqual(events, [
      ['active', 'one', 1], ['completed', 'one', 'ok'],
      ['active', 'two', 1], ['failed', 'two', 'bad'],
      ['completed', 'three', 'quiet'],
    ]);
    throws(() => scheduler.on('nope', () => {}), /event/);
  },

  'the rate limit starts at most max per window; the rest wait, then start': async ({ Scheduler, FerryError }) => {
    // The exact sliding-window bound is proven in the core's tests with a
    // fake clock; here a window far longer than the test makes the wiring
    // visible without timing deciding anything.
    const scheduler = new Scheduler({ rateLimit: { max: 2, intervalMs: 60_000 } });
    const started = [];
    const results = [1, 2, 3, 4, 5].map((n) => scheduler.add(() => { started.push(n); return n; }));
    equal(await results[0], 1);
    equal(await results[1], 2);
    deepEqual(started, [1, 2], 'the third waits for the window although nothing runs');
    equal(scheduler.size, 3);
    equal(scheduler.pending, 0);
    equal(scheduler.clear(), 3);
    for (const r of results.slice(2)) await rejects(r, isCode(FerryError, 'CLEARED'));
    const quick = new Scheduler({ rateLimit: { max: 1, intervalMs: 20 } });
    deepEqual(await Promise.all([quick.add(() => 'a'), quick.add(() => 'b')]), ['a', 'b'], 'a window reopens');
  },

  'any finite number is a priority: fractions, negatives and timestamps, higher first': async ({ Scheduler }) => {
    const scheduler = new Scheduler({ concurrency: 1, autoStart: false });
    const order = [];
    const stamp = 1_733_000_000_000;
    const add = (name, priority) => scheduler.add(() => order.push(name), { priority });
    const all = [add('a', 1.5), add('b', -2.25), add('c', stamp), add('d', 1.25), add('e', stamp + 0.5), add('f', -0), add('g', 0)];
    scheduler.resume();
    await Promise.all(all);
    deepEqual(order, ['e', 'c', 'a', 'd', 'f', 'g', 'b'], '-0 and 0 are one priority, FIFO within it');
  },

  'one AbortSignal shared by a running task and waiting ones: none of the waiting ones starts': async ({ Scheduler, FerryError }) => {
    const scheduler = new Scheduler({ concurrency: 1 });
    const controller = new AbortController();
    const started = [];
    const events = [];
    scheduler.on('aborted', (e) => events.push([e.id, e.running]));
    const running = scheduler.add(async ({ signal }) => { started.push('running'); await aborted(signal); }, { signal: controller.signal, id: 'r' });
    const waiting = [
      scheduler.add(() => started.push('sync'), { signal: controller.signal, id: 's' }),
      scheduler.add(async () => started.push('async'), { signal: controller.signal, id: 'a' }),
    ];
    await Promise.resolve();
    controller.abort(new Error('stop'));
    for (const p of [running, ...waiting]) await rejects(p, isCode(FerryError, 'ABORTED'));
    deepEqual(started, ['running'], 'the waiting tasks never ran');
    deepEqual(events, [['s', false], ['a', false], ['r', true]], 'waiting ones first, then the running one');
    equal(scheduler.size + scheduler.pending, 0);
    equal(await scheduler.add(() => 'next'), 'next', 'the scheduler goes on');
  },

  'a running task without the signal: the waiting ones with it never start': async ({ Scheduler, FerryError }) => {
    const scheduler = new Scheduler({ concurrency: 1 });
    const controller = new AbortController();
    const g = gate();
    const started = [];
    const first = scheduler.add(async () => { started.push('free'); await g.promise; return 'done'; });
    const waiting = [1, 2, 3].map((n) => scheduler.add(() => started.push(n), { signal: controller.signal }));
    controller.abort();
    for (const p of waiting) await rejects(p, isCode(FerryError, 'ABORTED'));
    g.open();
    equal(await first, 'done');
    await scheduler.onIdle();
    deepEqual(started, ['free']);
  },

  'forty thousand tasks on one signal abort together, each exactly once': async ({ Scheduler, FerryError }) => {
    const scheduler = new Scheduler({ concurrency: 1 });
    const controller = new AbortController();
    let ran = 0;
    const g = gate();
    const tasks = Array.from({ length: 40_000 }, () => scheduler.add(async () => { ran += 1; await g.promise; }, { signal: controller.signal }));
    controller.abort();
    const outcomes = await Promise.allSettled(tasks);
    equal(outcomes.filter((o) => o.status === 'rejected' && isCode(FerryError, 'ABORTED')(o.reason)).length, 40_000);
    equal(ran, 1, 'only the first had started');
    equal(scheduler.size + scheduler.pending, 0);
  },

  'clear() after fire-and-forget adds rejects nobody loudly; an awaiting caller still sees CLEARED': async ({ Scheduler, FerryError }) => {
    const unhandled = [];
    const onNode = (reason) => unhandled.push(reason);
    const onPage = (event) => unhandled.push(event.reason);
    globalThis.process?.on('unhandledRejection', onNode);
    globalThis.addEventListener?.('unhandledrejection', onPage);
    try {
      const scheduler = new Scheduler({ autoStart: false });
      scheduler.add(() => 1);
      scheduler.add(() => 2);
      scheduler.addAll([() => 3, () => 4]);
      const kept = scheduler.add(() => 5);
      equal(scheduler.clear(), 5);
      await rejects(kept, isCode(FerryError, 'CLEARED'));
      // Unhandled rejections are reported after a macrotask.
      await new Promise((resolve) => setTimeout(resolve, 0));
      deepEqual(unhandled, []);
    } finally {
      globalThis.process?.off('unhandledRejection', onNode);
      globalThis.removeEventListener?.('unhandledrejection', onPage);
    }
  },

  'push adds without a promise; the outcome goes to the events, a failure nobody hears to console.error': async ({ Scheduler }) => {
    const scheduler = new Scheduler();
    const completed = [];
    const off = scheduler.on('completed', (e) => completed.push([e.id, e.result]));
    equal(scheduler.push(() => 'done', { id: 'p1' }), undefined, 'no promise');
    await scheduler.onIdle();
    deepEqual(completed, [['p1', 'done']]);
    off();
    const logged = [];
    const original = console.error;
    console.error = (...args) => logged.push(args);
    try {
      const failure = new Error('lost?');
      scheduler.push(() => { throw failure; }, { id: 'p2' });
      await scheduler.onIdle();
      equal(logged.length, 1);
      ok(String(logged[0][0]).includes('p2'));
      equal(logged[0][1], failure);
    } finally {
      console.error = original;
    }
    const failed = [];
    scheduler.on('failed', (e) => failed.push(e.id));
    scheduler.push(() => Promise.reject(new Error('heard')), { id: 'p3' });
    await scheduler.onIdle();
    deepEqual(failed, ['p3']);
  },

  'setPriority moves a waiting task; sizeBy counts by priority; unknown or running ids are a RangeError': async ({ Scheduler }) => {
    const scheduler = new Scheduler({ concurrency: 1, autoStart: false });
    const order = [];
    const all = ['a', 'b', 'c', 'd'].map((id) => scheduler.add(() => order.push(id), { id, priority: id === 'd' ? 1 : 0 }));
    equal(scheduler.sizeBy({ priority: 0 }), 3);
    equal(scheduler.sizeBy({ priority: 1 }), 1);
    equal(scheduler.sizeBy(), 4);
    scheduler.setPriority('c', 5);
    scheduler.setPriority('d', 0);
    deepEqual([scheduler.sizeBy({ priority: 5 }), scheduler.sizeBy({ priority: 0 })], [1, 3]);
    throws(() => scheduler.setPriority('nope', 1), (e) => e instanceof RangeError && /\bid\b/.test(e.message));
    throws(() => scheduler.setPriority('a', NaN), RangeError);
    scheduler.resume();
    await Promise.all(all);
    deepEqual(order, ['c', 'a', 'b', 'd'], 'c first; d keeps its place among priority 0');
    const g = [];
    const slow = scheduler.add(() => new Promise((resolve) => g.push(resolve)), { id: 'slow', priority: 2.5, timeoutMs: 60_000 });
    await Promise.resolve();
    throws(() => scheduler.setPriority('slow', 9), RangeError, 'a running task is not waiting');
    deepEqual(scheduler.runningTasks.map((t) => [t.id, t.attempt, typeof t.startedAt, t.priority, t.timeoutMs]), [['slow', 1, 'number', 2.5, 60_000]]);
    g[0]();
    await slow;
    deepEqual(scheduler.runningTasks, []);
  },

  'generated ids are "1", "2", … in the order added, and setPriority takes them': async ({ Scheduler }) => {
    const scheduler = new Scheduler({ concurrency: 1, autoStart: false });
    const ids = [];
    const tasks = [0, 1, 2].map((n) => scheduler.add(({ id }) => ids.push(id), n === 1 ? { id: 'named' } : undefined));
    scheduler.setPriority('3', 1);
    throws(() => scheduler.setPriority('2', 1), RangeError, 'task 2 was given an id of its own');
    throws(() => scheduler.setPriority('0', 1), RangeError);
    scheduler.resume();
    await Promise.all(tasks);
    deepEqual(ids, ['3', '1', 'named']);
  },

  'an id given to two tasks still leads to the waiting one after the other ends': async ({ Scheduler }) => {
    const scheduler = new Scheduler({ concurrency: 1 });
    const order = [];
    const first = scheduler.add(() => order.push('first'), { id: 'same' });
    scheduler.add(() => new Promise((resolve) => setTimeout(resolve, 0)));
    const second = scheduler.add(() => order.push('second'), { id: 'same' });
    const other = scheduler.add(() => order.push('other'));
    await first;
    scheduler.setPriority('same', 1);
    await Promise.all([second, other]);
    deepEqual(order, ['first', 'second', 'other']);
  },

  'isRateLimited, onRateLimit and onRateLimitCleared follow the window, with their events': async ({ Scheduler }) => {
    await withFakeClock(async (clock) => {
      const scheduler = new Scheduler({ rateLimit: { max: 1, intervalMs: 100 } });
      const events = [];
      scheduler.on('rateLimit', () => events.push(['limited', clock.now()]));
      scheduler.on('rateLimitCleared', () => events.push(['cleared', clock.now()]));
      const start = clock.now();
      equal(scheduler.isRateLimited, false);
      const limited = scheduler.onRateLimit();
      const tasks = [scheduler.add(() => 1), scheduler.add(() => 2)];
      await limited;
      equal(scheduler.isRateLimited, true, 'the second waits for the window');
      equal(await tasks[0], 1);
      const cleared = scheduler.onRateLimitCleared();
      await clock.advance(99);
      equal(scheduler.isRateLimited, true);
      await clock.advance(1);
      await cleared;
      equal(await tasks[1], 2);
      equal(scheduler.isRateLimited, false);
      deepEqual(events, [['limited', start], ['cleared', start + 100]]);
    });
  },

  "rateLimit window 'fixed' resets at each edge (p-queue's default); carryover counts what still runs": async ({ Scheduler }) => {
    await withFakeClock(async (clock) => {
      const startsOf = async (rateLimit, durationMs) => {
        const scheduler = new Scheduler({ rateLimit });
        const t0 = clock.now();
        const starts = [];
        const run = () => { starts.push(clock.now() - t0); return new Promise((resolve) => setTimeout(resolve, durationMs)); };
        scheduler.add(run);
        await clock.advance(90);
        const rest = [1, 2, 3].map(() => scheduler.add(run));
        await clock.advance(500);
        await Promise.all(rest);
        return starts;
      };
      const rate = { max: 2, intervalMs: 100 };
      deepEqual(await startsOf(rate, 10), [0, 90, 100, 190], 'sliding: each start waits for one to leave the window');
      deepEqual(await startsOf({ ...rate, window: 'fixed' }, 10), [0, 90, 100, 100], 'fixed: two more at the edge');
      deepEqual(await startsOf({ ...rate, window: 'fixed', carryover: true }, 150), [0, 90, 200, 300],
        'carryover: the two running at 100 fill that window; one left at 200, and at 300');
    });
    throws(() => new Scheduler({ rateLimit: { max: 1, intervalMs: 10, window: 'rolling' } }), /options.rateLimit.window/);
    throws(() => new Scheduler({ rateLimit: { max: 1, intervalMs: 10, carryover: true } }), /options.rateLimit.carryover/);
    throws(() => new Scheduler({ rateLimit: { max: 1, intervalMs: 10, window: 'fixed', carryover: 1 } }), /options.rateLimit.carryover/);
  },

  'onSizeLessThan and onPendingZero resolve when the counts get there': async ({ Scheduler }) => {
    const scheduler = new Scheduler({ concurrency: 1 });
    const gates = [];
    const tasks = [1, 2, 3, 4].map((n) => scheduler.add(() => new Promise((resolve) => gates.push(() => resolve(n)))));
    await Promise.resolve();
    equal(scheduler.size, 3);
    let belowTwo = false;
    const sizeBelowTwo = scheduler.onSizeLessThan(2).then(() => (belowTwo = true));
    let noneRunning = false;
    const pendingZero = scheduler.onPendingZero().then(() => (noneRunning = true));
    gates[0]();
    await tasks[0];
    equal(belowTwo, false, 'two still wait');
    gates[1]();
    await tasks[1];
    await sizeBelowTwo;
    equal(scheduler.size, 1);
    equal(noneRunning, false, 'a task still runs');
    gates[2]();
    await tasks[2];
    gates[3]();
    await tasks[3];
    await pendingZero;
    equal(await scheduler.onSizeLessThan(1), undefined, 'at once when already true');
  },

  'bad arguments are rejected by name and change nothing': async ({ Scheduler }) => {
    throws(() => new Scheduler({ concurrency: 0 }), /options.concurrency/);
    throws(() => new Scheduler({ concurrency: 1.5 }), RangeError);
    // The value is spelled as JS spells it.
    throws(() => new Scheduler({ concurrency: 1e21 }), (e) => e instanceof RangeError && e.message.endsWith('got 1e+21'));
    throws(() => new Scheduler({ concurrency: 2.5 }), (e) => e instanceof RangeError && e.message.endsWith('got 2.5'));
    throws(() => new Scheduler({ nope: 1 }), /options.nope/);
    throws(() => new Scheduler({ rateLimit: { max: 0, intervalMs: 10 } }), /options.rateLimit.max/);
    throws(() => new Scheduler({ rateLimit: { max: 1 } }), /options.rateLimit.intervalMs/);
    throws(() => new Scheduler({ timeoutMs: -5 }), /options.timeoutMs/);
    throws(() => new Scheduler({ backoff: { type: 'linear', baseMs: 1 } }), /options.backoff.type/);
    const scheduler = new Scheduler();
    await rejects(scheduler.add('not a function'), TypeError);
    await rejects(scheduler.add(() => 1, { priority: NaN }), (e) => e instanceof RangeError && /options.priority/.test(e.message));
    await rejects(scheduler.add(() => 1, { priority: Infinity }), (e) => e instanceof RangeError && /options.priority/.test(e.message));
    await rejects(scheduler.add(() => 1, { priority: '1' }), (e) => e instanceof TypeError && /options.priority/.test(e.message));
    await rejects(scheduler.add(() => 1, { timeoutMs: NaN }), RangeError);
    await rejects(scheduler.add(() => 1, { signal: {} }), /options.signal/);
    await rejects(scheduler.add(() => 1, { retries: -1 }), /options.retries/);
    equal(scheduler.size + scheduler.pending, 0);
    equal(await scheduler.add(() => 'still works'), 'still works');
  },

  'clear from inside a running task keeps its reason': async ({ Scheduler, FerryError }) => {
    const scheduler = new Scheduler({ concurrency: 1, autoStart: false });
    const first = scheduler.add(() => scheduler.clear('stop'));
    const second = scheduler.add(() => 'never');
    scheduler.resume();
    equal(await first, 1);
    await rejects(second, (e) => isCode(FerryError, 'CLEARED')(e) && e.cause === 'stop');
  },
};
