// The tasks as the scheduler keeps them from add() until they settle, the
// context each attempt gets, and the parsing of a task's options.
import { noop } from '../promises.js';
import * as check from '../validate.js';
import * as wire from '../wire.js';
import type { TaskContext as Contract } from '../types.js';
import type { Task, TaskOptions } from '../types.js';

const TASK_OPTIONS = ['priority', 'timeoutMs', 'retries', 'signal', 'id', 'onProgress'] as const;

/** A task's options, checked; timeoutMs and retries NONE take the scheduler's defaults. */
export interface TaskArguments {
  readonly priority: number;
  readonly timeoutMs: number;
  readonly retries: number;
  readonly signal: AbortSignal | undefined;
  readonly id: string | undefined;
  readonly onProgress: ((progress: unknown) => void) | undefined;
}

// Shared by every task added without options, so those cost no allocation here.
const DEFAULT_TASK: TaskArguments = Object.freeze({
  priority: 0, timeoutMs: wire.NONE, retries: wire.NONE, signal: undefined, id: undefined, onProgress: undefined,
});

export function taskArguments(options: TaskOptions | undefined): TaskArguments {
  if (options === undefined) return DEFAULT_TASK;
  const o = check.options('options', options, TASK_OPTIONS);
  return {
    priority: o.priority === undefined ? 0 : check.finite('options.priority', o.priority),
    timeoutMs: o.timeoutMs === undefined ? wire.NONE : check.duration('options.timeoutMs', o.timeoutMs),
    retries: o.retries === undefined ? wire.NONE : check.count('options.retries', o.retries, 0, 2 ** 32 - 1),
    signal: o.signal === undefined ? undefined : check.signal('options.signal', o.signal),
    id: o.id === undefined ? undefined : check.string('options.id', o.id),
    onProgress: o.onProgress === undefined ? undefined : check.fn<(progress: unknown) => void>('options.onProgress', o.onProgress),
  };
}

/**
 * The unfinished tasks, one slot each, field by field: a slot's number is
 * what the core carries as the task and what its effects name. A queued task
 * costs entries in these arrays and no object of its own (a task without
 * options shares DEFAULT_TASK, a pushed one shares `noop`), so a long queue
 * gives the garbage collector nothing to chase; a finished task's slot is
 * reused.
 */
export class TaskTable {
  /** The function; undefined for a free slot. */
  readonly fn: Array<Task<unknown> | undefined> = [];
  readonly args: TaskArguments[] = [];
  readonly coreId: number[] = [];
  readonly resolve: Array<(value: unknown) => void> = [];
  readonly reject: Array<(error: unknown) => void> = [];
  /** The caller's promise; undefined for a pushed task, which has none. */
  readonly promise: Array<Promise<unknown> | undefined> = [];
  /** The running (or last) attempt's context. */
  readonly context: Array<TaskContext | undefined> = [];
  /** An attempt is running (set at its start, cleared when it ends or is retried). */
  readonly running: boolean[] = [];
  readonly startedAt: number[] = [];
  /** What the last failed attempt threw, for the RETRY or FAILED effect its report leads to. */
  readonly error: unknown[] = [];
  readonly #free: number[] = [];

  /** A free slot, for a task that has yet to be filled in. */
  take(): number {
    const slot = this.#free.pop();
    if (slot !== undefined) return slot;
    this.fn.push(undefined);
    this.args.push(DEFAULT_TASK);
    this.coreId.push(0);
    this.resolve.push(noop);
    this.reject.push(noop);
    this.promise.push(undefined);
    this.context.push(undefined);
    this.running.push(false);
    this.startedAt.push(0);
    this.error.push(undefined);
    return this.fn.length - 1;
  }

  fill(
    slot: number,
    coreId: number,
    fn: Task<unknown>,
    o: TaskArguments,
    resolve: (value: unknown) => void,
    reject: (error: unknown) => void,
  ): void {
    this.fn[slot] = fn;
    this.args[slot] = o;
    this.coreId[slot] = coreId;
    this.resolve[slot] = resolve;
    this.reject[slot] = reject;
  }

  /** The task in `slot` ended: its slot lets go of everything and is reused. */
  free(slot: number): void {
    this.fn[slot] = undefined;
    this.args[slot] = DEFAULT_TASK;
    this.resolve[slot] = noop;
    this.reject[slot] = noop;
    this.promise[slot] = undefined;
    this.context[slot] = undefined;
    this.running[slot] = false;
    this.error[slot] = undefined;
    this.#free.push(slot);
  }

  live(slot: number): boolean {
    return this.fn[slot] !== undefined;
  }

  /** The slots of unfinished tasks (only the running ones with `running`), in the order the tasks were added. */
  slots(running = false): number[] {
    const found = [];
    for (let slot = 0; slot < this.fn.length; slot++) {
      if (running ? this.running[slot] : this.live(slot)) found.push(slot);
    }
    return found.sort((a, b) => this.coreId[a]! - this.coreId[b]!);
  }

  /** The caller's id, or the generated one: "1", "2", … in the order added, as p-queue numbers them. */
  idOf(slot: number): string {
    return this.args[slot]!.id ?? generatedId(this.coreId[slot]!);
  }
}

/** The runner an attempt's context reports progress to. */
export interface ProgressSink {
  /** Progress of task `coreId` in `slot`; ignored once that task has ended. */
  progress(slot: number, coreId: number, value: unknown): void;
}

const generatedId = (coreId: number): string => String(coreId + 1);

/** The core id behind generated id `id`, if it looks like one. */
export const generatedCoreId = (id: string): number | undefined => (/^[1-9]\d*$/.test(id) ? Number(id) - 1 : undefined);

/** Ends an attempt for the running code: its context's signal aborts with `reason`. */
export let abortAttempt: (context: TaskContext, reason: unknown) => void;

/** What a running attempt sees: its id, attempt number, abort signal and a progress reporter. */
export class TaskContext implements Contract {
  readonly #sink: ProgressSink;
  /** The task's slot; once the task ends the slot may hold another. */
  readonly #slot: number;
  readonly #coreId: number;
  readonly #callerId: string | undefined;
  #controller: AbortController | undefined = undefined;
  /** 1 on the first attempt. */
  readonly attempt: number;

  static {
    // Defined in here to reach #controller, and kept off the class: the
    // scheduler aborts an attempt, the code running it cannot.
    abortAttempt = (context, reason) => {
      context.#controller ??= new AbortController();
      context.#controller.abort(reason);
    };
  }

  constructor(sink: ProgressSink, slot: number, coreId: number, callerId: string | undefined, attempt: number) {
    this.#sink = sink;
    this.#slot = slot;
    this.#coreId = coreId;
    this.#callerId = callerId;
    this.attempt = attempt;
  }

  /** The task's id: `options.id`, or a generated one: "1", "2", … in the order tasks were added. */
  get id(): string {
    return this.#callerId ?? generatedId(this.#coreId);
  }

  /** Aborted when this attempt times out or the task is aborted. Created on first use: most tasks never look at it. */
  get signal(): AbortSignal {
    this.#controller ??= new AbortController();
    return this.#controller.signal;
  }

  /**
   * Reports progress to `onProgress` and to 'progress' listeners. A getter
   * returning a bound function, so `({ progress }) => progress(1)` works;
   * made only for tasks that ask for it.
   */
  get progress(): (progress: unknown) => void {
    return (value) => this.#sink.progress(this.#slot, this.#coreId, value);
  }
}
