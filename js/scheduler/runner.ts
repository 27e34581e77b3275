// The scheduler's engine, out of reach of the objects users hold: it calls
// the tasks' functions, reports each settle back to the core by task id,
// acts on the effects the core answers with and settles the callers'
// promises. The core decides what starts when, what times out and what is
// retried after which delay.
//
// Built so that a task costs one crossing in and one out, and a queued task
// no object of its own: tasks live in the slots of a TaskTable, which the
// core knows them by; every call's effects are read in place from the
// header the core updates (src/bindings/outbox.rs). An attempt's promise
// reports back through long-lived callbacks (Completions); what an attempt
// allocates, its context, lives only while it runs, and at most
// `concurrency` run.
import type { SchedulerCore, SchedulerEffect } from '../../pkg/ferrymq.js';
import { Completions } from '../completions.js';
import { FerryError } from '../errors.js';
import * as hooks from '../hooks.js';
import { DIED, deadCore, whenDead } from '../instance.js';
import { Listeners } from '../listeners.js';
import { f64 } from '../memory.js';
import { isThenable, noop } from '../promises.js';
import { HostTimer } from '../timer.js';
import * as wire from '../wire.js';
import { abortAttempt, TaskContext, TaskTable, type ProgressSink, type TaskArguments } from './task.js';
import type { Task, TaskEvent, TaskEventType } from '../types.js';
import { SignalWatch } from './signals.js';
import { Waiters } from './waiters.js';

const EVENTS: readonly TaskEventType[] = [
  'active', 'completed', 'failed', 'retry', 'idle', 'empty', 'progress', 'aborted', 'rateLimit', 'rateLimitCleared',
];

export class Runner implements ProgressSink {
  /** Replaced by one that throws once the instance dies. */
  core: SchedulerCore;
  readonly #hooks: hooks.Hooks;
  /** The default attempt timeout (ms), or undefined. */
  readonly #timeoutMs: number | undefined;
  readonly #timer = new HostTimer(() => this.#onTimer());
  readonly tasks = new TaskTable();
  /** Where running attempts' promises report, by task slot. */
  readonly #completions = new Completions((slot, ok, value) => (ok ? this.#complete(slot, value) : this.#fail(slot, value)));
  /** Caller ids of unfinished tasks -> slots, for setPriority. */
  readonly byId = new Map<string, number>();
  readonly #signals = new SignalWatch<number>((slots) => this.#aborted(slots));
  readonly listeners = new Listeners<TaskEventType>(EVENTS);
  // Released by the core's effects.
  readonly idle = new Waiters();
  readonly empty = new Waiters();
  readonly rateLimited = new Waiters();
  readonly rateLimitCleared = new Waiters();
  // Checked after each pump.
  readonly sizeBelow = new Waiters();
  readonly pendingZero = new Waiters();
  /** Index in f64s of the core's outbox header: [first record, count, next deadline]. */
  readonly #header: number;
  #pumping = false;
  #dead = false;
  /**
   * [reason, tasks left] for each clear() whose CLEARED effects are not all
   * handled yet, oldest first: a clear() from inside a running task leaves
   * its effects to the pump already running, so the reason must wait too.
   */
  readonly #clearReasons: Array<[reason: unknown, left: number]> = [];

  constructor(owner: hooks.Hooks, core: SchedulerCore, timeoutMs: number | undefined) {
    this.#hooks = owner;
    this.core = core;
    this.#timeoutMs = timeoutMs;
    this.#header = core.header() / 8;
    whenDead(this);
  }

  /**
   * The wasm instance trapped: every task, waiting or running, rejects with
   * why (a running one's signal aborts with it), and so does every wait.
   */
  [DIED](error: FerryError): void {
    this.#dead = true;
    this.#timer.cancel();
    this.core = deadCore(error);
    for (const slot of this.tasks.slots()) {
      if (this.tasks.running[slot]) abortAttempt(this.tasks.context[slot]!, error);
      this.#reject(slot, error);
    }
    for (const waiters of [this.idle, this.empty, this.rateLimited, this.rateLimitCleared, this.sizeBelow, this.pendingZero]) {
      waiters.fail(error);
    }
  }

  /**
   * Queues a task with the core; it starts at the pump this ends with, once
   * the owner has heard of it. `promise`: the caller's, undefined for a
   * pushed task.
   */
  add(
    fn: Task<unknown>,
    o: TaskArguments,
    resolve: (value: unknown) => void,
    reject: (error: unknown) => void,
    promise: Promise<unknown> | undefined,
  ): void {
    const tasks = this.tasks;
    const slot = tasks.take();
    let coreId;
    try {
      coreId = this.core.add(slot, o.priority, o.timeoutMs, o.retries);
    } catch (error) {
      tasks.free(slot);
      throw error;
    }
    // The core may have started it already; its START is acted on at the pump below.
    tasks.fill(slot, coreId, fn, o, resolve, reject);
    tasks.promise[slot] = promise;
    this.#watch(slot, o);
    try {
      this.#hooks[hooks.added]();
    } finally {
      this.pump();
    }
  }

  /**
   * Queues `fns` with consecutive ids, each with the callbacks `settle(i)`
   * gives, all sharing `promise`; they start at the next pump.
   */
  addMany(
    fns: ReadonlyArray<Task<unknown>>,
    o: TaskArguments,
    settle: (i: number) => [resolve: (value: unknown) => void, reject: (error: unknown) => void],
    promise: () => Promise<unknown>,
  ): void {
    const tasks = this.tasks;
    const slots = Uint32Array.from(fns, () => tasks.take());
    let first;
    try {
      first = this.core.addMany(slots, o.priority, o.timeoutMs, o.retries);
    } catch (error) {
      for (const slot of slots) tasks.free(slot);
      throw error;
    }
    slots.forEach((slot, i) => {
      tasks.fill(slot, first + i, fns[i]!, o, ...settle(i));
      this.#watch(slot, o);
    });
    const all = promise();
    for (const slot of slots) tasks.promise[slot] = all;
  }

  #watch(slot: number, o: TaskArguments): void {
    if (o.id !== undefined) this.byId.set(o.id, slot);
    if (o.signal !== undefined) this.#signals.watch(o.signal, slot);
  }

  /** Has the core drop every waiting task; each rejects with CLEARED, `reason` its cause. Returns how many. */
  clear(reason: unknown): number {
    const cleared = this.core.clear();
    if (cleared > 0) this.#clearReasons.push([reason, cleared]);
    this.pump();
    return cleared;
  }

  /** The attempt timeout in ms of the task in `slot`, or undefined. */
  timeoutOf(slot: number): number | undefined {
    const timeoutMs = this.tasks.args[slot]!.timeoutMs;
    return timeoutMs === wire.NONE ? this.#timeoutMs : timeoutMs;
  }

  /**
   * Acts on the records the core published, then re-arms the timer. A call
   * made while pumping (a task that settled synchronously) returns at once:
   * the core appended its records behind the ones being read, and the loop
   * below reaches them, so effects keep their order and a long run of
   * synchronous tasks iterates instead of growing the stack.
   */
  pump(): void {
    if (this.#pumping || this.#dead) return;
    this.#pumping = true;
    const h = this.#header;
    let m = f64();
    try {
      // Header fields are read afresh each time: each record may lead to
      // calls that append records, move them or grow memory.
      for (let read = 0; read < m[h + 1]!; read += wire.SCHEDULER_STRIDE) {
        const i = m[h]! + read;
        this.#act(m[i]!, m[i + 1]!, m[i + 2]!, m[i + 3]!);
        m = f64();
      }
    } finally {
      // All read: the core's next call starts a new batch.
      m = f64();
      m[h + 1] = 0;
      this.#pumping = false;
    }
    this.#timer.arm(m[h + 2]!);
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
  #aborted(slots: Set<number>): void {
    const { running, coreId } = this.tasks;
    const started = [];
    for (const slot of slots) {
      if (!running[slot]) this.core.abort(coreId[slot]!);
      else started.push(slot);
    }
    for (const slot of started) this.core.abort(coreId[slot]!);
    this.pump();
  }

  /** `slot`: the task the effect names; meaningless for the kinds that name none. */
  #act(kind: SchedulerEffect, slot: number, attempt: number, extra: number): void {
    const listeners = this.listeners;
    const tasks = this.tasks;
    switch (kind) {
      case wire.START:
        this.#start(slot, attempt);
        break;
      case wire.TIMED_OUT:
        tasks.running[slot] = false;
        this.#completions.forget(slot);
        abortAttempt(tasks.context[slot]!, this.#hooks[hooks.timeoutError](this.timeoutOf(slot)));
        break;
      case wire.RETRY:
        tasks.running[slot] = false;
        if (listeners.wants('retry')) {
          const delayMs = Math.max(0, extra - Date.now());
          this.#emit('retry', { id: tasks.idOf(slot), attempt, error: tasks.error[slot], delayMs });
        }
        break;
      case wire.FAILED:
        this.#failed(slot, tasks.error[slot]);
        break;
      case wire.GAVE_UP:
        this.#failed(slot, this.#hooks[hooks.timeoutError](this.timeoutOf(slot)));
        break;
      case wire.ABORTED: {
        // A FerryError but in ferrymq/p-queue, which rejects with the signal's reason.
        const error = this.#hooks[hooks.abortError](tasks.args[slot]!.signal) as Extract<TaskEvent, { type: 'aborted' }>['error'];
        const running = extra === 1;
        if (running) abortAttempt(tasks.context[slot]!, error);
        if (listeners.wants('aborted')) this.#emit('aborted', { id: tasks.idOf(slot), running, error });
        this.#reject(slot, error);
        break;
      }
      case wire.CLEARED: {
        const pending = this.#clearReasons[0]!;
        if (--pending[1] === 0) this.#clearReasons.shift();
        // A fire-and-forget add must not crash Node when cleared; whoever
        // awaits the promise still sees the rejection.
        tasks.promise[slot]?.catch(noop);
        this.#reject(slot, new FerryError('CLEARED', 'the task was cleared before it started', { cause: pending[0] }));
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
  #failed(slot: number, error: unknown): void {
    const tasks = this.tasks;
    if (this.listeners.wants('failed')) {
      this.#emit('failed', { id: tasks.idOf(slot), attempt: tasks.context[slot]!.attempt, error });
    } else if (tasks.promise[slot] === undefined) {
      // Pushed: no promise carries it, and it is never silent.
      console.error(`ferrymq: pushed task ${tasks.idOf(slot)} failed:`, error);
    }
    this.#reject(slot, error);
  }

  #onTimer(): void {
    this.core.advance();
    this.pump();
  }

  #start(slot: number, attempt: number): void {
    const tasks = this.tasks;
    const o = tasks.args[slot]!;
    const coreId = tasks.coreId[slot]!;
    // Its signal aborted, and its own abort not acted on yet: it never starts.
    if (o.signal?.aborted) {
      this.core.abort(coreId);
      return;
    }
    const context = new TaskContext(this, slot, coreId, o.id, attempt);
    tasks.context[slot] = context;
    tasks.running[slot] = true;
    tasks.startedAt[slot] = Date.now();
    if (this.listeners.wants('active')) this.#emit('active', { id: tasks.idOf(slot), attempt });
    let result;
    try {
      result = tasks.fn[slot]!(context);
    } catch (error) {
      this.#fail(slot, error);
      return;
    }
    if (isThenable(result)) this.#completions.wait(slot, result);
    else this.#complete(slot, result);
  }

  /** ProgressSink: `progress` called on a context of task `coreId`, while it has not ended. */
  progress(slot: number, coreId: number, value: unknown): void {
    const tasks = this.tasks;
    if (!tasks.live(slot) || tasks.coreId[slot] !== coreId) return;
    tasks.args[slot]!.onProgress?.(value);
    if (this.listeners.wants('progress')) this.#emit('progress', { id: tasks.idOf(slot), progress: value });
  }

  /**
   * The running attempt in `slot` fulfilled. Only ever the current attempt
   * of the task there: the promise of one that ended before it settled is
   * forgotten (Completions.forget).
   */
  #complete(slot: number, value: unknown): void {
    const tasks = this.tasks;
    const context = tasks.context[slot]!;
    if (this.core.complete(tasks.coreId[slot]!, context.attempt)) {
      if (this.listeners.wants('completed')) {
        this.#emit('completed', { id: tasks.idOf(slot), attempt: context.attempt, result: value });
      }
      const resolve = tasks.resolve[slot]!;
      this.#finish(slot);
      resolve(value);
    }
    this.pump();
  }

  #fail(slot: number, error: unknown): void {
    const tasks = this.tasks;
    // Kept for the FAILED or RETRY effect this report leads to; the core says
    // whether the attempt was still running.
    if (this.core.fail(tasks.coreId[slot]!, tasks.context[slot]!.attempt)) tasks.error[slot] = error;
    this.pump();
  }

  #reject(slot: number, error: unknown): void {
    const reject = this.tasks.reject[slot]!;
    this.#finish(slot);
    reject(error);
  }

  /** The task in `slot` ended: forgotten, its slot free for another. */
  #finish(slot: number): void {
    const o = this.tasks.args[slot]!;
    // Ids need not be unique: only the task the id leads to forgets it.
    if (o.id !== undefined && this.byId.get(o.id) === slot) this.byId.delete(o.id);
    if (o.signal !== undefined) this.#signals.forget(o.signal, slot);
    this.#completions.forget(slot);
    this.tasks.free(slot);
  }
}
