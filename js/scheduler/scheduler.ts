// Scheduler: runs JS functions under the limits the scheduler core
// enforces. This class is what users hold: it checks arguments and answers
// questions; its Runner (runner.ts) does the work.
import { SchedulerCore } from '../../pkg/ferrymq.js';
import { abortedError, FerryError, rangeError, typeError } from '../errors.js';
import { noop } from '../promises.js';
import * as hooks from '../hooks.js';
import * as check from '../validate.js';
import * as wire from '../wire.js';
import { Runner } from './runner.js';
import { generatedCoreId, taskArguments, type TaskArguments } from './task.js';

// One executor for every task's promise, so add() makes no closure for it:
// it leaves the promise's functions here, for add() to take at once.
const captured: { resolve: (value: unknown) => void; reject: (error: unknown) => void } = { resolve: noop, reject: noop };
const capture = (resolve: (value: never) => void, reject: (error: unknown) => void): void => {
  captured.resolve = resolve as (value: unknown) => void;
  captured.reject = reject;
};
import type { RunningTask, SchedulerOptions, Task, TaskEvent, TaskEventType, TaskOptions } from '../types.js';

const SCHEDULER_OPTIONS = ['concurrency', 'rateLimit', 'timeoutMs', 'retries', 'backoff', 'autoStart'] as const;

export class Scheduler {
  readonly #run: Runner;

  constructor(options?: SchedulerOptions) {
    // Shapes here; SchedulerCore decodes the object and checks the ranges.
    const o = check.options('options', options, SCHEDULER_OPTIONS);
    for (const key of ['concurrency', 'timeoutMs', 'retries'] as const) {
      if (o[key] !== undefined) check.number(`options.${key}`, o[key]);
    }
    check.rateLimit('options.rateLimit', o.rateLimit);
    check.backoff('options.backoff', o.backoff);
    if (o.autoStart !== undefined) check.boolean('options.autoStart', o.autoStart);
    const core = new SchedulerCore(o, wire.randomSeed());
    this.#run = new Runner(this, core, o.timeoutMs as number | undefined);
  }

  /** @internal */
  [hooks.timeoutError](_timeoutMs: number | undefined): unknown {
    return new FerryError('TIMEOUT', 'the task timed out');
  }

  /** @internal */
  [hooks.abortError](signal: AbortSignal | undefined): unknown {
    return abortedError('the task', signal);
  }

  /** @internal */
  [hooks.added](): void {}

  /** Runs `task` when the limits allow; resolves with its result or rejects with its error. */
  add<T>(task: Task<T>, options?: TaskOptions): Promise<Awaited<T>> {
    let o: TaskArguments;
    try {
      check.fn('task', task);
      o = taskArguments(options);
    } catch (error) {
      return Promise.reject(error);
    }
    if (o.signal?.aborted) return Promise.reject(this[hooks.abortError](o.signal));
    const promise = new Promise<Awaited<T>>(capture);
    try {
      this.#run.add(task, o, captured.resolve, captured.reject, promise);
    } catch (error) {
      // The instance died: the promise given is a rejected one.
      return Promise.reject(error);
    }
    return promise;
  }

  /**
   * `add` without a promise: nothing to await and nothing to leave
   * unhandled; the outcome goes to the events ('completed', 'failed', ...).
   * A failure nobody listens for is reported with console.error.
   */
  push(task: Task<unknown>, options?: TaskOptions): void {
    check.fn('task', task);
    const o = taskArguments(options);
    if (o.signal?.aborted) return;
    this.#run.add(task, o, noop, noop, undefined);
  }

  /**
   * `add` for each function, in one call to the core; resolves with all
   * results in order, or rejects with the first error.
   */
  addAll<T>(tasks: ReadonlyArray<Task<T>>, options?: Omit<TaskOptions, 'id'>): Promise<Awaited<T>[]> {
    let o: TaskArguments;
    try {
      if (!Array.isArray(tasks)) throw typeError('tasks', 'an array of functions', tasks);
      tasks.forEach((task, i) => check.fn(`tasks[${i}]`, task));
      const id = (options as TaskOptions | undefined)?.id;
      if (id !== undefined) throw typeError('options.id', 'unset in addAll (ids must be unique)', id);
      o = taskArguments(options);
    } catch (error) {
      return Promise.reject(error);
    }
    if (o.signal?.aborted) return Promise.reject(this[hooks.abortError](o.signal));
    const run = this.#run;
    // The tasks get consecutive ids; they start only at the pump, once all are registered.
    const results: Promise<Awaited<T>>[] = [];
    let all: Promise<Awaited<T>[]> | undefined;
    try {
      run.addMany(tasks, o, () => {
        results.push(new Promise<Awaited<T>>(capture));
        return [captured.resolve, captured.reject];
      }, () => (all = Promise.all(results)));
    } catch (error) {
      // The instance died: the promise given is a rejected one.
      return Promise.reject(error);
    }
    run.pump();
    return all!;
  }

  /** Resolves once nothing is waiting and nothing is running. */
  onIdle(): Promise<void> {
    return this.#run.idle.wait(() => this.#run.core.isIdle());
  }

  /** Resolves once nothing is waiting (tasks may still be running). */
  onEmpty(): Promise<void> {
    return this.#run.empty.wait(() => this.#run.core.isEmpty());
  }

  /** Resolves when the queue becomes rate-limited (at once if it is). */
  onRateLimit(): Promise<void> {
    return this.#run.rateLimited.wait(() => this.isRateLimited);
  }

  /** Resolves when the queue is no longer rate-limited (at once if it is not). */
  onRateLimitCleared(): Promise<void> {
    return this.#run.rateLimitCleared.wait(() => !this.isRateLimited);
  }

  /** Resolves once fewer than `limit` tasks wait. */
  onSizeLessThan(limit: number): Promise<void> {
    check.count('limit', limit, 0);
    return this.#run.sizeBelow.wait(() => this.size < limit, limit);
  }

  /** Resolves once nothing is running (tasks may still wait). */
  onPendingZero(): Promise<void> {
    return this.#run.pendingZero.wait(() => this.pending === 0);
  }

  pause(): void {
    this.#run.core.pause();
  }

  resume(): void {
    this.#run.core.resume();
    this.#run.pump();
  }

  /** Removes every waiting task; their promises reject with code CLEARED. Running tasks go on. */
  clear(reason?: unknown): number {
    return this.#run.clear(reason);
  }

  /** Tasks waiting to start, including ones waiting to be retried. */
  get size(): number {
    return this.#run.core.size();
  }

  /** Tasks running now. */
  get pending(): number {
    return this.#run.core.pending();
  }

  get isPaused(): boolean {
    return this.#run.core.isPaused();
  }

  /** A task waits and the rate limit's window is full. */
  get isRateLimited(): boolean {
    return this.#run.core.isRateLimited();
  }

  /** The attempts running now, oldest first. */
  get runningTasks(): ReadonlyArray<RunningTask> {
    const run = this.#run;
    const tasks = run.tasks;
    const running: RunningTask[] = [];
    for (const slot of tasks.slots(true)) {
      running.push({
        id: tasks.idOf(slot),
        attempt: tasks.context[slot]!.attempt,
        startedAt: tasks.startedAt[slot]!,
        priority: tasks.args[slot]!.priority,
        timeoutMs: run.timeoutOf(slot),
      });
    }
    return running;
  }

  /** Tasks waiting to start (or to be retried), those of one priority when `filter.priority` is given. */
  sizeBy(filter?: { priority?: number }): number {
    const o = check.options('filter', filter, ['priority']);
    const priority = o.priority === undefined ? undefined : check.finite('filter.priority', o.priority);
    const tasks = this.#run.tasks;
    let n = 0;
    for (let slot = 0; slot < tasks.fn.length; slot++) {
      const waits = tasks.live(slot) && !tasks.running[slot];
      if (waits && (priority === undefined || Object.is(tasks.args[slot]!.priority + 0, priority + 0))) n += 1;
    }
    return n;
  }

  /** Moves a waiting task to `priority`; it keeps its place among tasks of that priority. */
  setPriority(id: string, priority: number): void {
    check.string('id', id);
    check.finite('priority', priority);
    const run = this.#run;
    const tasks = run.tasks;
    const coreId = generatedCoreId(id);
    // A generated id names only a task that was given none.
    const generated = (i: number): boolean => tasks.live(i) && tasks.args[i]!.id === undefined && tasks.coreId[i] === coreId;
    const slot = run.byId.get(id) ?? (coreId === undefined ? -1 : tasks.fn.findIndex((_, i) => generated(i)));
    if (slot === -1 || tasks.running[slot] || !run.core.setPriority(tasks.coreId[slot]!, priority)) {
      throw rangeError('id', 'the id of a waiting task', id);
    }
    tasks.args[slot] = { ...tasks.args[slot]!, priority };
    run.pump();
  }

  get concurrency(): number {
    return this.#run.core.concurrency();
  }

  set concurrency(value: number) {
    this.#run.core.setConcurrency(check.number('concurrency', value));
    this.#run.pump();
  }

  /** Subscribes to an event; returns the function that unsubscribes. */
  on<E extends TaskEventType>(event: E, listener: (event: Extract<TaskEvent, { type: E }>) => void): () => void {
    return this.#run.listeners.add(event, listener);
  }
}
