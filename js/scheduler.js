// Scheduler: runs JS functions under the limits the scheduler core enforces.
// The core decides what starts when; this file calls the functions, watches
// their results and reports each settle back by task id.
import { SchedulerCore } from '../pkg/ferrymq.js';
import * as check from './validate.js';

const SCHEDULER_OPTIONS = ['concurrency'];
const TASK_OPTIONS = [];

// Must match src/bindings/scheduler.rs: records of [kind, id, attempt].
const STRIDE = 3;
const START = 1;
const IDLE = 2;

export class Scheduler {
  #core;
  /** task id -> { fn, resolve, reject } */
  #tasks = new Map();
  #idleWaiters = [];

  constructor(options) {
    const o = check.options('options', options, SCHEDULER_OPTIONS);
    const concurrency = o.concurrency === undefined
      ? Infinity
      : check.count('options.concurrency', o.concurrency, 1, 2 ** 32 - 1, true);
    this.#core = new SchedulerCore(concurrency);
  }

  /** Runs `task` when the limits allow; resolves or rejects with its result. */
  add(task, options) {
    try {
      check.fn('task', task);
      check.options('options', options, TASK_OPTIONS);
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise((resolve, reject) => {
      const id = this.#core.add();
      this.#tasks.set(id, { fn: task, resolve, reject });
      this.#pump();
    });
  }

  /** Resolves once nothing is waiting and nothing is running. */
  onIdle() {
    if (this.#core.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  get size() {
    return this.#core.size();
  }

  get pending() {
    return this.#core.pending();
  }

  #pump() {
    const effects = this.#core.drain();
    for (let i = 0; i < effects.length; i += STRIDE) {
      switch (effects[i]) {
        case START:
          this.#start(effects[i + 1], effects[i + 2]);
          break;
        case IDLE: {
          const waiters = this.#idleWaiters;
          this.#idleWaiters = [];
          for (const resolve of waiters) resolve();
          break;
        }
      }
    }
  }

  #start(id, attempt) {
    const task = this.#tasks.get(id);
    let result;
    try {
      result = task.fn({ id: String(id), attempt });
    } catch (error) {
      this.#fail(id, attempt, error);
      return;
    }
    if (result !== null && typeof result?.then === 'function') {
      result.then(
        (value) => this.#complete(id, attempt, value),
        (error) => this.#fail(id, attempt, error),
      );
    } else {
      this.#complete(id, attempt, result);
    }
  }

  #complete(id, attempt, value) {
    if (this.#core.complete(id, attempt)) {
      const task = this.#tasks.get(id);
      this.#tasks.delete(id);
      task.resolve(value);
    }
    this.#pump();
  }

  #fail(id, attempt, error) {
    if (this.#core.fail(id, attempt)) {
      const task = this.#tasks.get(id);
      this.#tasks.delete(id);
      task.reject(error);
    }
    this.#pump();
  }
}
