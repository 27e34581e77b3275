// The public types of ferrymq/p-queue: p-queue 9's option, event and task
// types (the PQueue class is typed where it is written).

export type EventName =
  | 'active'
  | 'idle'
  | 'empty'
  | 'add'
  | 'next'
  | 'completed'
  | 'error'
  | 'pendingZero'
  | 'rateLimit'
  | 'rateLimitCleared';

export interface Options {
  /** Most tasks running at once; from 1, default Infinity. */
  readonly concurrency?: number;
  /** Default true. */
  readonly autoStart?: boolean;
  /** Most task starts per `interval`; from 1, default Infinity. */
  readonly intervalCap?: number;
  /** Window length in ms; 0 (default) turns the rate limit off. */
  readonly interval?: number;
  /** Tasks still running at a window edge count against the next window. */
  readonly carryoverIntervalCount?: boolean;
  /** @deprecated Renamed to `carryoverIntervalCount`. */
  readonly carryoverConcurrencyCount?: boolean;
  /** Sliding window: at most `intervalCap` starts in any `interval`. */
  readonly strict?: boolean;
  /** Default per-task timeout in ms, counted from the task's start. */
  timeout?: number;
  /** Not supported: ferrymq's core orders tasks. Passing one throws a TypeError. */
  readonly queueClass?: never;
}

export interface QueueAddOptions {
  /** Higher runs first; default 0. */
  readonly priority?: number;
  /** For `setPriority`; default an increasing number as a string, from "1". */
  id?: string;
  /** Aborting removes a waiting task, or rejects a running one's promise, with `signal.reason`. */
  readonly signal?: AbortSignal | undefined;
  /** Overrides the queue's `timeout` for this task; `undefined` means none. */
  timeout?: number;
}

/** What a task function receives. */
export interface TaskArguments {
  /** Aborted when the task's own signal aborts or it times out. */
  readonly signal: AbortSignal;
}

export type Task<T> = (arguments_: TaskArguments) => T | PromiseLike<T>;

export interface RunningTask {
  readonly id: string;
  readonly priority: number;
  /** Epoch ms. */
  readonly startTime: number;
  readonly timeout?: number;
  readonly timeoutRemaining?: number;
}

