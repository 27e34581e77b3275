// ferrymq/p-queue: p-queue 9's API on ferrymq's Scheduler.

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

/** EventEmitter3's API, which p-queue extends. */
export declare class EventEmitter<E extends string = string> {
  on(event: E, listener: (...args: any[]) => void, context?: unknown): this;
  addListener(event: E, listener: (...args: any[]) => void, context?: unknown): this;
  once(event: E, listener: (...args: any[]) => void, context?: unknown): this;
  off(event: E, listener?: (...args: any[]) => void, context?: unknown, once?: boolean): this;
  removeListener(event: E, listener?: (...args: any[]) => void, context?: unknown, once?: boolean): this;
  removeAllListeners(event?: E): this;
  emit(event: E, ...args: any[]): boolean;
  listeners(event: E): Array<(...args: any[]) => void>;
  listenerCount(event: E): number;
  eventNames(): E[];
}

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

/** A task ran past its timeout. */
export declare class TimeoutError extends Error {
  readonly name: 'TimeoutError';
}

export default class PQueue extends EventEmitter<EventName> {
  constructor(options?: Options);
  /** Default timeout (ms) for tasks added from now on. */
  timeout?: number;
  concurrency: number;
  add<T>(fn: Task<T>, options?: QueueAddOptions): Promise<Awaited<T>>;
  addAll<T>(fns: ReadonlyArray<Task<T>>, options?: QueueAddOptions): Promise<Array<Awaited<T>>>;
  start(): this;
  pause(): void;
  /** Removes waiting tasks; their promises reject with a FerryError of code CLEARED (p-queue leaves them pending). */
  clear(): void;
  onEmpty(): Promise<void>;
  onIdle(): Promise<void>;
  onPendingZero(): Promise<void>;
  onSizeLessThan(limit: number): Promise<void>;
  onRateLimit(): Promise<void>;
  onRateLimitCleared(): Promise<void>;
  onError(): Promise<never>;
  setPriority(id: string, priority: number): void;
  sizeBy(options?: { priority?: number }): number;
  readonly size: number;
  readonly pending: number;
  readonly isPaused: boolean;
  readonly isRateLimited: boolean;
  readonly isSaturated: boolean;
  readonly runningTasks: ReadonlyArray<RunningTask>;
}

export { PQueue };
