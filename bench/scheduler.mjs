// Scheduler throughput: N no-op async tasks under a concurrency limit, until
// all are done. Every implementation runs the same task (an async function
// that returns at once) and waits for its promise, so what differs is only
// the queueing machinery. Peers are paired with the ferrymq mode that does
// the same work: one promise per task (fastq.promise, p-queue add, async
// push without callback) vs ferrymq awaiting every add; no per-task promise
// (fastq and async callbacks) vs ferrymq push() + onIdle(), which makes none
// either; ferrymq fire-and-forget add() + onIdle() is shown too.
import async from 'async';
import fastq from 'fastq';
import PQueue from 'p-queue';
import { FerryPQueue, Scheduler } from './ferrymq.mjs';

const noop = async () => {};
// Callback-style workers run the same async no-op and report through cb.
const callbackWorker = (task, cb) => {
  task().then(() => cb(null), cb);
};
const promiseWorker = (task) => task();

// One promise per task, all awaited: `add` or `push` under each library's name.
const eachAwaited = (method) => (q, n) => Promise.all(Array.from({ length: n }, () => q[method](noop)));
// Tasks added without keeping their promises, then one wait for the end.
const thenIdle = (method, idle) => (q, n) => {
  for (let i = 0; i < n; i++) q[method](noop);
  return q[idle]();
};

const PROMISE = 'ferrymq promise per task';
const FIRE = 'ferrymq fire-and-forget + onIdle';
// push(): no promise at all, the outcome goes to events; the pair of the
// callback APIs (fastq, async.queue), which make no promise per task either.
const PUSH = 'ferrymq push + onIdle';
// The drop-in: p-queue's own calls, on ferrymq.
const DROP_IN = 'ferrymq/p-queue add, Promise.all';
const DROP_IN_IDLE = 'ferrymq/p-queue add + onIdle';

function implementations(concurrency) {
  return [
    {
      impl: PROMISE,
      setup: () => new Scheduler({ concurrency }),
      run: eachAwaited('add'),
    },
    {
      impl: FIRE,
      setup: () => new Scheduler({ concurrency }),
      run: thenIdle('add', 'onIdle'),
    },
    {
      impl: PUSH,
      setup: () => new Scheduler({ concurrency }),
      run: thenIdle('push', 'onIdle'),
    },
    {
      impl: DROP_IN,
      vs: PROMISE,
      setup: () => new FerryPQueue({ concurrency }),
      run: eachAwaited('add'),
    },
    {
      impl: DROP_IN_IDLE,
      vs: FIRE,
      setup: () => new FerryPQueue({ concurrency }),
      run: thenIdle('add', 'onIdle'),
    },
    {
      impl: 'p-queue add, Promise.all',
      vs: PROMISE,
      setup: () => new PQueue({ concurrency }),
      run: eachAwaited('add'),
    },
    {
      impl: 'p-queue add + onIdle',
      vs: FIRE,
      setup: () => new PQueue({ concurrency }),
      run: thenIdle('add', 'onIdle'),
    },
    {
      impl: 'fastq.promise push, Promise.all',
      vs: PROMISE,
      setup: () => fastq.promise(promiseWorker, concurrency),
      run: eachAwaited('push'),
    },
    {
      impl: 'fastq callback push + drain',
      vs: PUSH,
      setup: () => fastq(callbackWorker, concurrency),
      run: (q, n) => new Promise((resolve) => {
        q.drain = resolve;
        for (let i = 0; i < n; i++) q.push(noop);
      }),
    },
    {
      impl: 'async.queue push, Promise.all',
      vs: PROMISE,
      setup: () => async.queue(callbackWorker, concurrency),
      run: eachAwaited('push'),
    },
    {
      impl: 'async.queue callback push + drain',
      vs: PUSH,
      setup: () => async.queue(callbackWorker, concurrency),
      run: (q, n) => {
        const done = q.drain();
        for (let i = 0; i < n; i++) q.push(noop, () => {});
        return done;
      },
    },
    {
      // What any scheduler costs above: C loops awaiting the task directly.
      impl: 'floor: C lanes awaiting in a loop',
      vs: PUSH,
      run: async (_, n) => {
        let next = 0;
        const lane = async () => {
          while (next < n) {
            next++;
            await noop();
          }
        };
        await Promise.all(Array.from({ length: Math.min(concurrency, n) }, lane));
      },
    },
  ];
}

export function cases({ quick }) {
  const n = quick ? 10_000 : 100_000;
  return [1, 16, 256].flatMap((concurrency) =>
    implementations(concurrency).map((c) => ({
      group: 'scheduler',
      bench: `${label(n)} no-op tasks, concurrency ${concurrency}`,
      n,
      ...c,
    })),
  );
}

export const label = (n) => (n >= 1e6 ? `${n / 1e6}M` : `${n / 1e3}k`);
