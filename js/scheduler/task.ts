// A task as the scheduler keeps it from add() until it settles, the context
// each attempt gets, and the parsing of a task's options.
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

/** What JS keeps of a task until it settles. */
export interface TaskRecord {
  /** The scheduler's, shared by all its tasks, so a task costs no closure for it. */
  readonly reportProgress: (task: TaskRecord, value: unknown) => void;
  readonly coreId: number;
  /** The caller's id; a generated one is made from coreId when asked for. */
  readonly id: string | undefined;
  readonly fn: Task<unknown>;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
  readonly onProgress: ((progress: unknown) => void) | undefined;
  readonly signal: AbortSignal | undefined;
  /** The running (or last) attempt's. */
  context: TaskContext | undefined;
  /** What the last failed attempt threw, for the RETRY or FAILED effect its report leads to. */
  error: unknown;
  /** The promise the caller got, so a CLEARED nobody awaits is not an unhandled rejection. */
  promise: Promise<unknown> | undefined;
  priority: number;
  /** NONE: the scheduler's default. */
  readonly timeoutMs: number;
  /** An attempt is running (set at its start, cleared when it ends or is retried). */
  running: boolean;
  startedAt: number | undefined;
  /** Added by push(): no promise; a failure nobody listens for goes to the console. */
  pushed: boolean;
}

export function taskRecord(
  reportProgress: TaskRecord['reportProgress'],
  coreId: number,
  fn: Task<unknown>,
  o: TaskArguments,
  resolve: TaskRecord['resolve'],
  reject: TaskRecord['reject'],
): TaskRecord {
  return {
    reportProgress,
    coreId,
    id: o.id,
    fn,
    resolve,
    reject,
    onProgress: o.onProgress,
    signal: o.signal,
    context: undefined,
    error: undefined,
    promise: undefined,
    priority: o.priority,
    timeoutMs: o.timeoutMs,
    running: false,
    startedAt: undefined,
    pushed: false,
  };
}

/** The caller's id, or the generated one: "1", "2", … in the order added, as p-queue numbers them. */
export const taskId = (task: TaskRecord): string => task.id ?? String(task.coreId + 1);

/** The core id behind generated id `id`, if it looks like one. */
export const generatedCoreId = (id: string): number | undefined => (/^[1-9]\d*$/.test(id) ? Number(id) - 1 : undefined);

/** Ends an attempt for the running code: its context's signal aborts with `reason`. */
export let abortAttempt: (context: TaskContext, reason: unknown) => void;

/** What a running attempt sees: its id, attempt number, abort signal and a progress reporter. */
export class TaskContext implements Contract {
  readonly #task: TaskRecord;
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

  constructor(task: TaskRecord, attempt: number) {
    this.#task = task;
    this.attempt = attempt;
  }

  /** The task's id: `options.id`, or a generated one: "1", "2", … in the order tasks were added. */
  get id(): string {
    return taskId(this.#task);
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
    const task = this.#task;
    return (value) => task.reportProgress(task, value);
  }
}
