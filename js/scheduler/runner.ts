// The scheduler's engine, out of reach of the objects users hold: it calls
// the tasks' functions, reports each settle back to the core by task id,
// acts on the effects the core answers with and settles the callers'
// promises. The core decides what starts when, what times out and what is
// retried after which delay.
import type { SchedulerCore, SchedulerEffect } from '../../pkg/ferrymq.js';
import { FerryError } from '../errors.js';
import * as hooks from '../hooks.js';
import { DIED, deadCore, whenDead } from '../instance.js';
import { Listeners } from '../listeners.js';
import { f64 } from '../memory.js';
import { isThenable, noop } from '../promises.js';
import { HostTimer } from '../timer.js';
import * as wire from '../wire.js';
import { abortAttempt, TaskContext, taskId, taskRecord, type TaskArguments, type TaskRecord } from './task.js';
import type { Task, TaskEvent, TaskEventType } from '../types.js';
import { SignalWatch } from './signals.js';
import { Waiters } from './waiters.js';

const EVENTS: readonly TaskEventType[] = [
  'active', 'completed', 'failed', 'retry', 'idle', 'empty', 'progress', 'aborted', 'rateLimit', 'rateLimitCleared',
];

export class Runner {
  /** Replaced by one that throws once the instance dies. */
  core: SchedulerCore;
  readonly #hooks: hooks.Hooks;
  /** The default attempt timeout (ms), or undefined. */
  readonly #timeoutMs: number | undefined;
  readonly #timer = new HostTimer(() => this.#onTimer());
  /** core task id -> task record */
  readonly tasks = new Map<number, TaskRecord>();
  /** Caller ids of unfinished tasks -> core ids, for setPriority. */
  readonly byId = new Map<string, number>();
  readonly #signals = new SignalWatch((ids) => this.#aborted(ids));
  readonly listeners = new Listeners<TaskEventType>(EVENTS);
  // Released by the core's effects.
  readonly idle = new Waiters();
  readonly empty = new Waiters();
  readonly rateLimited = new Waiters();
  readonly rateLimitCleared = new Waiters();
  // Checked after each pump.
  readonly sizeBelow = new Waiters();
  readonly pendingZero = new Waiters();
  #pumping = false;
  /**
   * [reason, tasks left] for each clear() whose CLEARED effects are not all
   * handled yet, oldest first: a clear() from inside a running task leaves
   * its effects to the pump already running, so the reason must wait too.
   */
  readonly #clearReasons: Array<[reason: unknown, left: number]> = [];
  /** Shared by all tasks, so a task costs no closure for it. */
  readonly #reportProgress = (task: TaskRecord, value: unknown): void => {
    if (!this.tasks.has(task.coreId)) return;
    task.onProgress?.(value);
    if (this.listeners.wants('progress')) this.#emit('progress', { id: taskId(task), progress: value });
  };

  constructor(owner: hooks.Hooks, core: SchedulerCore, timeoutMs: number | undefined) {
    this.#hooks = owner;
    this.core = core;
    this.#timeoutMs = timeoutMs;
    whenDead(this);
  }

  /**
   * The wasm instance trapped: every task, waiting or running, rejects with
   * why (a running one's signal aborts with it), and so does every wait.
   */
  [DIED](error: FerryError): void {
    this.#timer.cancel();
    this.core = deadCore(error);
    for (const task of [...this.tasks.values()]) {
      if (task.running) abortAttempt(task.context!, error);
      this.#settle(task).reject(error);
    }
    for (const waiters of [this.idle, this.empty, this.rateLimited, this.rateLimitCleared, this.sizeBelow, this.pendingZero]) {
      waiters.fail(error);
    }
  }

  /** Queues a task with the core; it starts at the pump this ends with, once the owner has heard of it. */
  add(fn: Task<unknown>, o: TaskArguments, resolve: TaskRecord['resolve'], reject: TaskRecord['reject'], pushed: boolean): TaskRecord {
    const task = this.register(this.core.add(o.priority, o.timeoutMs, o.retries), fn, o, resolve, reject);
    // Marked before the pump: a synchronous task may end inside it.
    task.pushed = pushed;
    try {
      this.#hooks[hooks.added]();
    } finally {
      this.pump();
    }
    return task;
  }

  /** Keeps what JS needs of task `id` (which the core has) until it settles. */
  register(id: number, fn: Task<unknown>, o: TaskArguments, resolve: TaskRecord['resolve'], reject: TaskRecord['reject']): TaskRecord {
    const task = taskRecord(this.#reportProgress, id, fn, o, resolve, reject);
    if (o.id !== undefined) this.byId.set(o.id, id);
    if (o.signal !== undefined) this.#signals.watch(o.signal, id);
    this.tasks.set(id, task);
    return task;
  }

  /** Has the core drop every waiting task; each rejects with CLEARED, `reason` its cause. Returns how many. */
  clear(reason: unknown): number {
    const cleared = this.core.clear();
    if (cleared > 0) this.#clearReasons.push([reason, cleared]);
    this.pump();
    return cleared;
  }

  /** The task's attempt timeout in ms, or undefined. */
  timeoutOf(task: TaskRecord): number | undefined {
    return task.timeoutMs === wire.NONE ? this.#timeoutMs : task.timeoutMs;
  }

  /**
   * Acts on everything the core asked for, then re-arms the timer. A call
   * made while pumping (a task that settled synchronously) returns at once and
   * leaves its effects to the loop below: effects keep their order, and a long
   * run of synchronous tasks iterates instead of growing the stack.
   */
  pump(): void {
    if (this.#pumping) return;
    this.#pumping = true;
    const core = this.core;
    try {
      for (let n = core.drain(); n > 0; n = core.drain()) {
        const base = core.outPtr() / 8;
        for (let i = 0; i < n; i += wire.SCHEDULER_STRIDE) {
          // Read afresh each time: a task run by the previous record may have grown memory.
          const m = f64();
          this.#act(m[base + i], m[base + i + 1], m[base + i + 2], m[base + i + 3]);
        }
      }
    } finally {
      this.#pumping = false;
    }
    this.#timer.arm(core.nextDeadline());
    if (this.sizeBelow.waiting) this.sizeBelow.release(this.core.size());
    if (this.pendingZero.waiting && this.core.pending() === 0) this.pendingZero.release();
  }

  #emit<E extends TaskEventType>(event: E, payload: Omit<Extract<TaskEvent, { type: E }>, 'type'>): void {
    this.listeners.emit(event, payload);
  }

  /**
   * Aborts the tasks of a signal that aborted: the waiting ones first, so none of them
   * can start in the slot a running one frees, then the running ones; the
   * scheduler acts on it all in one pump.
   */
  #aborted(ids: Set<number>): void {
    const running = [];
    for (const id of ids) {
      if (!this.tasks.get(id)?.running) this.core.abort(id);
      else running.push(id);
    }
    for (const id of running) this.core.abort(id);
    this.pump();
  }

  #act(kind: SchedulerEffect, id: number, attempt: number, extra: number): void {
    const listeners = this.listeners;
    switch (kind) {
      case wire.START:
        this.#start(this.tasks.get(id)!, attempt);
        break;
      case wire.TIMED_OUT: {
        const task = this.tasks.get(id)!;
        task.running = false;
        abortAttempt(task.context!, this.#hooks[hooks.timeoutError](this.timeoutOf(task)));
        break;
      }
      case wire.RETRY: {
        const task = this.tasks.get(id)!;
        task.running = false;
        if (listeners.wants('retry')) {
          const delayMs = Math.max(0, extra - Date.now());
          this.#emit('retry', { id: taskId(task), attempt, error: task.error, delayMs });
        }
        break;
      }
      case wire.FAILED: {
        const task = this.tasks.get(id)!;
        this.#failed(task, task.error);
        break;
      }
      case wire.GAVE_UP: {
        const task = this.tasks.get(id)!;
        this.#failed(task, this.#hooks[hooks.timeoutError](this.timeoutOf(task)));
        break;
      }
      case wire.ABORTED: {
        const task = this.tasks.get(id)!;
        // A FerryError but in ferrymq/p-queue, which rejects with the signal's reason.
        const error = this.#hooks[hooks.abortError](task.signal) as Extract<TaskEvent, { type: 'aborted' }>['error'];
        const running = extra === 1;
        if (running) abortAttempt(task.context!, error);
        if (listeners.wants('aborted')) this.#emit('aborted', { id: taskId(task), running, error });
        this.#settle(task).reject(error);
        break;
      }
      case wire.CLEARED: {
        const pending = this.#clearReasons[0];
        if (--pending[1] === 0) this.#clearReasons.shift();
        const task = this.tasks.get(id)!;
        // A fire-and-forget add must not crash Node when cleared; whoever
        // awaits the promise still sees the rejection.
        task.promise?.catch(noop);
        this.#settle(task).reject(
          new FerryError('CLEARED', 'the task was cleared before it started', { cause: pending[0] }),
        );
        break;
      }
      case wire.EMPTY:
        this.#reached(this.empty, 'empty');
        break;
      case wire.IDLE:
        this.#reached(this.idle, 'idle');
        break;
      case wire.RATE_LIMITED:
        this.#reached(this.rateLimited, 'rateLimit');
        break;
      case wire.RATE_LIMIT_CLEARED:
        this.#reached(this.rateLimitCleared, 'rateLimitCleared');
        break;
      default:
        kind satisfies never;
    }
  }

  /** The queue reached a state: whoever waits for it goes on, then its event. */
  #reached(waiters: Waiters, event: 'empty' | 'idle' | 'rateLimit' | 'rateLimitCleared'): void {
    waiters.release();
    if (this.listeners.wants(event)) this.#emit(event, {});
  }

  /** A final failure: reported on 'failed', then the task's promise rejects. */
  #failed(task: TaskRecord, error: unknown): void {
    if (this.listeners.wants('failed')) {
      this.#emit('failed', { id: taskId(task), attempt: task.context!.attempt, error });
    } else if (task.pushed) {
      // No promise carries it: never silent.
      console.error(`ferrymq: pushed task ${taskId(task)} failed:`, error);
    }
    this.#settle(task).reject(error);
  }

  #onTimer(): void {
    this.core.advance();
    this.pump();
  }

  #start(task: TaskRecord, attempt: number): void {
    // Its signal aborted, and its own abort not acted on yet: it never starts.
    if (task.signal?.aborted) {
      this.core.abort(task.coreId);
      return;
    }
    const context = new TaskContext(task, attempt);
    task.context = context;
    task.running = true;
    task.startedAt = Date.now();
    if (this.listeners.wants('active')) this.#emit('active', { id: taskId(task), attempt });
    let result;
    try {
      result = task.fn(context);
    } catch (error) {
      this.#fail(task, attempt, error);
      return;
    }
    if (isThenable(result)) {
      result.then(
        (value) => this.#complete(task, attempt, value),
        (error: unknown) => this.#fail(task, attempt, error),
      );
    } else {
      this.#complete(task, attempt, result);
    }
  }

  #complete(task: TaskRecord, attempt: number, value: unknown): void {
    if (this.core.complete(task.coreId, attempt)) {
      if (this.listeners.wants('completed')) this.#emit('completed', { id: taskId(task), attempt, result: value });
      this.#settle(task).resolve(value);
    }
    this.pump();
  }

  #fail(task: TaskRecord, attempt: number, error: unknown): void {
    // Kept for the FAILED or RETRY effect this report leads to; the core says
    // whether the attempt was still running.
    if (this.core.fail(task.coreId, attempt)) task.error = error;
    this.pump();
  }

  /** Forgets a finished task and returns it, for its promise to be settled. */
  #settle(task: TaskRecord): TaskRecord {
    this.tasks.delete(task.coreId);
    task.running = false;
    // Ids need not be unique: only the task the id leads to forgets it.
    if (task.id !== undefined && this.byId.get(task.id) === task.coreId) this.byId.delete(task.id);
    if (task.signal !== undefined) this.#signals.forget(task.signal, task.coreId);
    return task;
  }
}

