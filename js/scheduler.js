// Scheduler: runs JS functions under the limits the scheduler core enforces.
// The core decides what starts when, what times out and what is retried
// after which delay; this file calls the functions, watches their results,
// reports each settle back by task id and settles the caller's promise.
import { SchedulerCore } from '../pkg/ferrymq.js';
import { FerryError, rangeError, typeError } from './errors.js';
import { Listeners } from './listeners.js';
import { f64 } from './memory.js';
import { DIED, deadCore, whenDead } from './instance.js';
import { hooks } from './hooks.js';
import { HostTimer } from './timer.js';
import * as check from './validate.js';
import * as wire from './wire.js';

const SCHEDULER_OPTIONS = ['concurrency', 'rateLimit', 'timeoutMs', 'retries', 'backoff', 'autoStart'];
const TASK_OPTIONS = ['priority', 'timeoutMs', 'retries', 'signal', 'id', 'onProgress'];
const EVENTS = ['active', 'completed', 'failed', 'retry', 'idle', 'empty', 'progress', 'aborted', 'rateLimit', 'rateLimitCleared'];
const noop = () => {};

// Must match src/bindings/scheduler.rs: records of [kind, id, attempt, extra].
const STRIDE = 4;
const START = 1;
const TIMED_OUT = 2;
const RETRY = 3;
const FAILED = 4;
const GAVE_UP = 5;
const ABORTED = 6;
const CLEARED = 7;
const EMPTY = 8;
const IDLE = 9;
const RATE_LIMITED = 10;
const RATE_LIMIT_CLEARED = 11;

const concurrencyOf = (argument, value) => check.count(argument, value, 1, 2 ** 32 - 1, true);

// Shared by every task added without options, so those cost no allocation here.
const DEFAULT_TASK = Object.freeze({
  priority: 0, timeoutMs: wire.NONE, retries: wire.NONE, signal: undefined, id: undefined, onProgress: undefined,
});

function taskArguments(options) {
  if (options === undefined) return DEFAULT_TASK;
  const o = check.options('options', options, TASK_OPTIONS);
  return {
    priority: o.priority === undefined ? 0 : check.finite('options.priority', o.priority),
    timeoutMs: o.timeoutMs === undefined ? wire.NONE : check.duration('options.timeoutMs', o.timeoutMs),
    retries: o.retries === undefined ? wire.NONE : check.count('options.retries', o.retries, 0, 2 ** 32 - 1),
    signal: o.signal === undefined ? undefined : check.signal('options.signal', o.signal),
    id: o.id === undefined ? undefined : check.string('options.id', o.id),
    onProgress: o.onProgress === undefined ? undefined : check.fn('options.onProgress', o.onProgress),
  };
}

/** What a running attempt sees: its id, attempt number, abort signal and a progress reporter. */
class TaskContext {
  #task;
  #controller = undefined;

  constructor(task, attempt) {
    this.#task = task;
    this.attempt = attempt;
  }

  get id() {
    return taskId(this.#task);
  }

  // Created on first use: most tasks never look at their signal.
  get signal() {
    this.#controller ??= new AbortController();
    return this.#controller.signal;
  }

  // A getter returning a bound function, so `({ progress }) => progress(1)`
  // works; made only for tasks that ask for it.
  get progress() {
    const task = this.#task;
    return (value) => task.reportProgress(task, value);
  }

  /** Ends this attempt for the running code: its signal aborts with `reason`. */
  abort(reason) {
    this.#controller ??= new AbortController();
    this.#controller.abort(reason);
  }
}

export class Scheduler {
  #core;
  /** The default attempt timeout (ms), or undefined. */
  #timeoutMs;
  #timer = new HostTimer(() => this.#onTimer());
  /** core task id -> task record */
  #tasks = new Map();
  /**
   * signal -> the core ids of its unfinished tasks. One abort listener per
   * signal for its whole life, not one per task: it aborts all of them
   * before anything starts in their place, and a task finishing forgets its
   * id in O(1). Weak, so a signal nobody holds is not kept.
   */
  #signals = new WeakMap();
  #listeners = new Listeners(EVENTS);
  #idleWaiters = [];
  #emptyWaiters = [];
  #rateLimitWaiters = [];
  #rateLimitClearedWaiters = [];
  /** [limit, resolve] of onSizeLessThan calls, and resolves of onPendingZero: checked after each pump. */
  #sizeWaiters = [];
  #pendingZeroWaiters = [];
  /** Caller ids of unfinished tasks -> core ids, for setPriority. */
  #byId = new Map();
  #pumping = false;
  /**
   * [reason, tasks left] for each clear() whose CLEARED effects are not all
   * handled yet, oldest first: a clear() from inside a running task leaves
   * its effects to the pump already running, so the reason must wait too.
   */
  #clearReasons = [];
  /** Shared by all tasks' contexts, so a task costs no closure for it. */
  #reportProgress = (task, value) => {
    if (!this.#tasks.has(task.coreId)) return;
    task.onProgress?.(value);
    if (this.#listeners.wants('progress')) this.#listeners.emit('progress', { id: taskId(task), progress: value });
  };

  constructor(options) {
    const o = check.options('options', options, SCHEDULER_OPTIONS);
    const concurrency = o.concurrency === undefined ? Infinity : concurrencyOf('options.concurrency', o.concurrency);
    const [rateMax, rateInterval, rateWindow] = check.rateLimit('options.rateLimit', o.rateLimit);
    const timeoutMs = o.timeoutMs === undefined ? wire.NONE : check.duration('options.timeoutMs', o.timeoutMs);
    this.#timeoutMs = o.timeoutMs;
    const retries = o.retries === undefined ? 0 : check.count('options.retries', o.retries, 0, 2 ** 32 - 1);
    const [kind, base, max, jitter] = check.backoff('options.backoff', o.backoff);
    const autoStart = o.autoStart === undefined ? true : check.boolean('options.autoStart', o.autoStart);
    this.#core = new SchedulerCore(
      concurrency, rateMax, rateInterval, rateWindow, timeoutMs, retries, kind, base, max, jitter, autoStart, wire.randomSeed(),
    );
    whenDead(this);
  }

  [hooks.timeoutError]() {
    return new FerryError('TIMEOUT', 'the task timed out');
  }

  [hooks.abortError](signal) {
    return new FerryError('ABORTED', 'the task was aborted', { cause: signal?.reason });
  }

  [hooks.added]() {}

  /** The wasm instance trapped: every task, waiting or running, rejects with why. */
  [DIED](error) {
    this.#timer.cancel();
    this.#core = deadCore(error);
    for (const task of [...this.#tasks.values()]) this.#settle(task).reject(error);
  }

  /** Runs `task` when the limits allow; resolves with its result or rejects with its error. */
  add(task, options) {
    let o;
    try {
      check.fn('task', task);
      o = taskArguments(options);
    } catch (error) {
      return Promise.reject(error);
    }
    if (o.signal?.aborted) return Promise.reject(this[hooks.abortError](o.signal));
    let record;
    const promise = new Promise((resolve, reject) => {
      record = this.#enqueue(task, o, resolve, reject);
    });
    if (record !== undefined) record.promise = promise;
    return promise;
  }

  /**
   * `add` without a promise: nothing to await and nothing to leave
   * unhandled; the outcome goes to the events ('completed', 'failed', ...).
   * A failure nobody listens for is reported with console.error.
   */
  push(task, options) {
    check.fn('task', task);
    const o = taskArguments(options);
    if (o.signal?.aborted) return;
    // Marked before the pump: a synchronous task may end inside it.
    this.#register(this.#core.add(o.priority, o.timeoutMs, o.retries), task, o, noop, noop).pushed = true;
    this.#added();
  }

  /**
   * `add` for each function, in one call to the core; resolves with all
   * results in order, or rejects with the first error.
   */
  addAll(tasks, options) {
    let o;
    try {
      if (!Array.isArray(tasks)) throw typeError('tasks', 'an array of functions', tasks);
      tasks.forEach((task, i) => check.fn(`tasks[${i}]`, task));
      if (options?.id !== undefined) throw typeError('options.id', 'unset in addAll (ids must be unique)', options.id);
      o = taskArguments(options);
    } catch (error) {
      return Promise.reject(error);
    }
    if (o.signal?.aborted) return Promise.reject(this[hooks.abortError](o.signal));
    // The tasks get consecutive ids; they start only at the pump, once all are registered.
    const first = this.#core.addMany(tasks.length, o.priority, o.timeoutMs, o.retries);
    const records = [];
    const results = tasks.map((task, i) => new Promise((resolve, reject) => records.push(this.#register(first + i, task, o, resolve, reject))));
    const all = Promise.all(results);
    for (const record of records) record.promise = all;
    this.#pump();
    return all;
  }

  /** Resolves once nothing is waiting and nothing is running. */
  onIdle() {
    if (this.#core.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** Resolves once nothing is waiting (tasks may still be running). */
  onEmpty() {
    if (this.#core.isEmpty()) return Promise.resolve();
    return new Promise((resolve) => this.#emptyWaiters.push(resolve));
  }

  pause() {
    this.#core.pause();
  }

  resume() {
    this.#core.resume();
    this.#pump();
  }

  /** Removes every waiting task; their promises reject with code CLEARED. Running tasks go on. */
  clear(reason) {
    const cleared = this.#core.clear();
    if (cleared > 0) this.#clearReasons.push([reason, cleared]);
    this.#pump();
    return cleared;
  }

  /** Tasks waiting to start, including ones waiting to be retried. */
  get size() {
    return this.#core.size();
  }

  /** Tasks running now. */
  get pending() {
    return this.#core.pending();
  }

  get isPaused() {
    return this.#core.isPaused();
  }

  /** A task waits and the rate limit's window is full. */
  get isRateLimited() {
    return this.#core.isRateLimited();
  }

  /** The attempts running now, oldest first. */
  get runningTasks() {
    const running = [];
    for (const task of this.#tasks.values()) {
      if (!task.running) continue;
      const { attempt } = task.context;
      running.push({ id: taskId(task), attempt, startedAt: task.startedAt, priority: task.priority, timeoutMs: this.#timeoutOf(task) });
    }
    return running;
  }

  /** Tasks waiting to start (or to be retried), those of one priority when `filter.priority` is given. */
  sizeBy(filter) {
    const o = check.options('filter', filter, ['priority']);
    const priority = o.priority === undefined ? undefined : check.finite('filter.priority', o.priority);
    let n = 0;
    for (const task of this.#tasks.values()) {
      if (!task.running && (priority === undefined || Object.is(task.priority + 0, priority + 0))) n += 1;
    }
    return n;
  }

  /** Moves a waiting task to `priority`; it keeps its place among tasks of that priority. */
  setPriority(id, priority) {
    check.string('id', id);
    check.finite('priority', priority);
    const coreId = this.#byId.get(id) ?? generatedCoreId(id);
    const task = coreId === undefined ? undefined : this.#tasks.get(coreId);
    // A generated id names only a task that was given none.
    if (task === undefined || (task.id !== undefined && task.id !== id) || task.running || !this.#core.setPriority(coreId, priority)) {
      throw rangeError('id', 'the id of a waiting task', id);
    }
    task.priority = priority;
    this.#pump();
  }

  /** Resolves when the queue becomes rate-limited (at once if it is). */
  onRateLimit() {
    if (this.isRateLimited) return Promise.resolve();
    return new Promise((resolve) => this.#rateLimitWaiters.push(resolve));
  }

  /** Resolves when the queue is no longer rate-limited (at once if it is not). */
  onRateLimitCleared() {
    if (!this.isRateLimited) return Promise.resolve();
    return new Promise((resolve) => this.#rateLimitClearedWaiters.push(resolve));
  }

  /** Resolves once fewer than `limit` tasks wait. */
  onSizeLessThan(limit) {
    check.count('limit', limit, 0);
    if (this.size < limit) return Promise.resolve();
    return new Promise((resolve) => this.#sizeWaiters.push([limit, resolve]));
  }

  /** Resolves once nothing is running (tasks may still wait). */
  onPendingZero() {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.#pendingZeroWaiters.push(resolve));
  }

  get concurrency() {
    return this.#core.concurrency();
  }

  set concurrency(value) {
    this.#core.setConcurrency(concurrencyOf('concurrency', value));
    this.#pump();
  }

  /** Subscribes to an event; returns the function that unsubscribes. */
  on(event, listener) {
    return this.#listeners.add(event, listener);
  }

  #enqueue(fn, o, resolve, reject) {
    const record = this.#register(this.#core.add(o.priority, o.timeoutMs, o.retries), fn, o, resolve, reject);
    this.#added();
    return record;
  }

  #added() {
    try {
      this[hooks.added]();
    } finally {
      this.#pump();
    }
  }

  /** The task's attempt timeout in ms, or undefined. */
  #timeoutOf(task) {
    return task.timeoutMs === wire.NONE ? this.#timeoutMs : task.timeoutMs;
  }

  /** Keeps what JS needs of task `id` until it settles. */
  #register(id, fn, o, resolve, reject) {
    const task = {
      reportProgress: this.#reportProgress,
      coreId: id,
      // The caller's id; a generated one is made from coreId when asked for.
      id: o.id,
      fn,
      resolve,
      reject,
      onProgress: o.onProgress,
      signal: o.signal,
      context: undefined,
      error: undefined,
      /** The promise the caller got, so a CLEARED nobody awaits is not an unhandled rejection. */
      promise: undefined,
      priority: o.priority,
      /** NONE: the scheduler's default. */
      timeoutMs: o.timeoutMs,
      /** An attempt is running (set at its start, cleared when it ends or is retried). */
      running: false,
      startedAt: undefined,
      /** Added by push(): no promise; a failure nobody listens for goes to the console. */
      pushed: false,
    };
    if (o.id !== undefined) this.#byId.set(o.id, id);
    if (o.signal !== undefined) this.#watch(o.signal, id);
    this.#tasks.set(id, task);
    return task;
  }

  #watch(signal, id) {
    let ids = this.#signals.get(signal);
    if (ids === undefined) {
      ids = new Set();
      this.#signals.set(signal, ids);
      signal.addEventListener('abort', () => this.#aborted(signal), { once: true });
    }
    ids.add(id);
  }

  /**
   * Aborts every task given `signal`: the waiting ones first, so none of them
   * can start in the slot a running one frees, then the running ones; the
   * scheduler acts on it all in one pump.
   */
  #aborted(signal) {
    const ids = this.#signals.get(signal);
    this.#signals.delete(signal);
    if (ids === undefined) return;
    const running = [];
    for (const id of ids) {
      if (this.#tasks.get(id)?.context === undefined) this.#core.abort(id);
      else running.push(id);
    }
    for (const id of running) this.#core.abort(id);
    this.#pump();
  }

  /**
   * Acts on everything the core asked for, then re-arms the timer. A call
   * made while pumping (a task that settled synchronously) returns at once and
   * leaves its effects to the loop below: effects keep their order, and a long
   * run of synchronous tasks iterates instead of growing the stack.
   */
  #pump() {
    if (this.#pumping) return;
    this.#pumping = true;
    const core = this.#core;
    try {
      for (let n = core.drain(); n > 0; n = core.drain()) {
        const base = core.outPtr() / 8;
        for (let i = 0; i < n; i += STRIDE) {
          // Read afresh each time: a task run by the previous record may have grown memory.
          const m = f64();
          this.#act(m[base + i], m[base + i + 1], m[base + i + 2], m[base + i + 3]);
        }
      }
    } finally {
      this.#pumping = false;
    }
    this.#timer.arm(core.nextDeadline());
    this.#checkWaiters();
  }

  #checkWaiters() {
    if (this.#sizeWaiters.length > 0) {
      const size = this.size;
      this.#sizeWaiters = this.#sizeWaiters.filter(([limit, resolve]) => size >= limit || resolve());
    }
    if (this.#pendingZeroWaiters.length > 0 && this.pending === 0) this.#pendingZeroWaiters = release(this.#pendingZeroWaiters);
  }

  #act(kind, id, attempt, extra) {
    const listeners = this.#listeners;
    switch (kind) {
      case START:
        this.#start(this.#tasks.get(id), attempt);
        break;
      case TIMED_OUT: {
        const task = this.#tasks.get(id);
        task.running = false;
        task.context.abort(this[hooks.timeoutError](this.#timeoutOf(task)));
        break;
      }
      case RETRY: {
        const task = this.#tasks.get(id);
        task.running = false;
        if (listeners.wants('retry')) {
          const delayMs = Math.max(0, extra - Date.now());
          listeners.emit('retry', { id: taskId(task), attempt, error: task.error, delayMs });
        }
        break;
      }
      case FAILED: {
        const task = this.#tasks.get(id);
        this.#failed(task, task.error);
        break;
      }
      case GAVE_UP: {
        const task = this.#tasks.get(id);
        this.#failed(task, this[hooks.timeoutError](this.#timeoutOf(task)));
        break;
      }
      case ABORTED: {
        const task = this.#tasks.get(id);
        const error = this[hooks.abortError](task.signal);
        const running = extra === 1;
        if (running) task.context.abort(error);
        if (listeners.wants('aborted')) listeners.emit('aborted', { id: taskId(task), running, error });
        this.#settle(task).reject(error);
        break;
      }
      case CLEARED: {
        const pending = this.#clearReasons[0];
        if (--pending[1] === 0) this.#clearReasons.shift();
        const task = this.#tasks.get(id);
        // A fire-and-forget add must not crash Node when cleared; whoever
        // awaits the promise still sees the rejection.
        task.promise?.catch(noop);
        this.#settle(task).reject(
          new FerryError('CLEARED', 'the task was cleared before it started', { cause: pending[0] }),
        );
        break;
      }
      case EMPTY:
        this.#emptyWaiters = release(this.#emptyWaiters);
        if (listeners.wants('empty')) listeners.emit('empty', {});
        break;
      case IDLE:
        this.#idleWaiters = release(this.#idleWaiters);
        if (listeners.wants('idle')) listeners.emit('idle', {});
        break;
      case RATE_LIMITED:
        this.#rateLimitWaiters = release(this.#rateLimitWaiters);
        if (listeners.wants('rateLimit')) listeners.emit('rateLimit', {});
        break;
      case RATE_LIMIT_CLEARED:
        this.#rateLimitClearedWaiters = release(this.#rateLimitClearedWaiters);
        if (listeners.wants('rateLimitCleared')) listeners.emit('rateLimitCleared', {});
        break;
    }
  }

  /** A final failure: reported on 'failed', then the task's promise rejects. */
  #failed(task, error) {
    if (this.#listeners.wants('failed')) {
      this.#listeners.emit('failed', { id: taskId(task), attempt: task.context.attempt, error });
    } else if (task.pushed) {
      // No promise carries it: never silent.
      console.error(`ferrymq: pushed task ${taskId(task)} failed:`, error);
    }
    this.#settle(task).reject(error);
  }

  #onTimer() {
    this.#core.advance();
    this.#pump();
  }

  #start(task, attempt) {
    // Its signal aborted, and its own abort not acted on yet: it never starts.
    if (task.signal?.aborted) {
      this.#core.abort(task.coreId);
      return;
    }
    const context = new TaskContext(task, attempt);
    task.context = context;
    task.running = true;
    task.startedAt = Date.now();
    if (this.#listeners.wants('active')) this.#listeners.emit('active', { id: taskId(task), attempt });
    let result;
    try {
      result = task.fn(context);
    } catch (error) {
      this.#fail(task, attempt, error);
      return;
    }
    if (result !== null && typeof result?.then === 'function') {
      result.then(
        (value) => this.#complete(task, attempt, value),
        (error) => this.#fail(task, attempt, error),
      );
    } else {
      this.#complete(task, attempt, result);
    }
  }

  #complete(task, attempt, value) {
    if (this.#core.complete(task.coreId, attempt)) {
      if (this.#listeners.wants('completed')) {
        this.#listeners.emit('completed', { id: taskId(task), attempt, result: value });
      }
      this.#settle(task).resolve(value);
    }
    this.#pump();
  }

  #fail(task, attempt, error) {
    // Kept for the FAILED or RETRY effect this report leads to; the core says
    // whether the attempt was still running.
    if (this.#core.fail(task.coreId, attempt)) task.error = error;
    this.#pump();
  }

  /** Forgets a finished task and returns it, for its promise to be settled. */
  #settle(task) {
    this.#tasks.delete(task.coreId);
    task.running = false;
    // Ids need not be unique: only the task the id leads to forgets it.
    if (task.id !== undefined && this.#byId.get(task.id) === task.coreId) this.#byId.delete(task.id);
    if (task.signal !== undefined) this.#signals.get(task.signal)?.delete(task.coreId);
    return task;
  }
}

/** The caller's id, or the generated one: "1", "2", … in the order added, as p-queue numbers them. */
const taskId = (task) => task.id ?? String(task.coreId + 1);

/** The core id behind generated id `id`, if it looks like one. */
const generatedCoreId = (id) => (/^[1-9]\d*$/.test(id) ? Number(id) - 1 : undefined);

function release(waiters) {
  for (const resolve of waiters) resolve();
  return [];
}
