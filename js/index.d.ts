// Public types of ferrymq. Hand-written: this file is the contract users
// compile against (see shared/spec/api.md); pkg-tests/types checks it.

export type MessageId = string;

export type ErrorCode =
  | 'CLOSED'
  | 'QUEUE_FULL'
  | 'STALE_DELIVERY'
  | 'TIMEOUT'
  | 'ABORTED'
  | 'CLEARED'
  | 'NOT_SERIALIZABLE'
  | 'STORAGE'
  | 'INVALID_ARGUMENT';

/** Every error ferrymq raises on purpose carries a `code`. */
export declare class FerryError extends Error {
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown });
  readonly name: 'FerryError';
  readonly code: ErrorCode;
}

export interface BrokerOptions {}

export interface QueueOptions {
  /** Visibility timeout: an unacked delivery returns to the queue after it. Default 30000. */
  leaseMs?: number;
}

export interface SendOptions {
  /** Caller-chosen id; otherwise one is generated. */
  id?: string;
  /** 0..9, higher first; FIFO within a priority. */
  priority?: number;
  /** Not deliverable before now + delayMs. */
  delayMs?: number;
  ttlMs?: number;
  headers?: Record<string, string>;
}

export interface ReceiveOptions {
  /** How long to wait for a message before resolving with null. Default 0. */
  waitMs?: number;
}

export interface ConsumeOptions {
  /** Most unacked deliveries this consumer holds at once. Default 1. */
  prefetch?: number;
  /** Default true: handler fulfilled => ack; handler threw or rejected => nack. */
  autoAck?: boolean;
}

export interface NackOptions {
  /** Default true; false dead-letters the message. */
  requeue?: boolean;
  delayMs?: number;
}

export declare class Message<T = unknown> {
  private constructor();
  readonly id: MessageId;
  readonly payload: T;
  readonly headers: Record<string, string>;
  /** 1 on first delivery. */
  readonly deliveryCount: number;
  readonly redelivered: boolean;
  /** Epoch ms. */
  readonly enqueuedAt: number;
  /** A second ack, or an ack after the lease expired, rejects with code 'STALE_DELIVERY'. */
  ack(): Promise<void>;
  nack(options?: NackOptions): Promise<void>;
}

export declare class Consumer {
  private constructor();
  readonly active: boolean;
  cancel(): Promise<void>;
}

export declare class Queue<T = unknown> {
  private constructor();
  readonly name: string;
  /** Resolves with the message id once the message is accepted. */
  send(payload: T, options?: SendOptions): Promise<MessageId>;
  /** The next ready message, or null once `waitMs` passes without one. */
  receive(options?: ReceiveOptions): Promise<Message<T> | null>;
  consume(handler: (message: Message<T>) => unknown, options?: ConsumeOptions): Consumer;
}

export declare class Broker {
  constructor(options?: BrokerOptions);
  /** Declares a queue, or returns the one already declared under `name`. */
  queue<T = unknown>(name: string, options?: QueueOptions): Queue<T>;
  /** Later calls reject with code 'CLOSED'. */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

export interface Backoff {
  type: 'fixed' | 'exponential';
  /** Delay before the first retry; exponential doubles it for each further one. */
  baseMs: number;
  /** Upper bound of the delay. */
  maxMs?: number;
  /** Draw each delay uniformly from 0..delay, so retries of simultaneous failures spread out. */
  jitter?: boolean;
}

export interface SchedulerOptions {
  /** Most tasks running at once; default Infinity. Settable later through `concurrency`. */
  concurrency?: number;
  /** At most `max` tasks start in any window of `intervalMs`. */
  rateLimit?: { max: number; intervalMs: number };
  /** Default time a task may run before it rejects with TIMEOUT. */
  timeoutMs?: number;
  /** Default number of retries after a failed or timed-out attempt; default 0. */
  retries?: number;
  /** Delay before each retry; default none. */
  backoff?: Backoff;
  /** Default true; false starts paused until `resume()`. */
  autoStart?: boolean;
}

export interface TaskContext {
  /** The task's id: `options.id` or a generated one. */
  readonly id: string;
  /** 1 on the first attempt. */
  readonly attempt: number;
  /** Aborted when this attempt times out or the task is aborted: stop the work then. */
  readonly signal: AbortSignal;
  /** Reports progress to `onProgress` and to 'progress' listeners. */
  readonly progress: (progress: unknown) => void;
}

export interface TaskOptions {
  /** Higher runs first; FIFO within a priority. Default 0. */
  priority?: number;
  timeoutMs?: number;
  retries?: number;
  /** Aborting rejects the task with ABORTED, and aborts `ctx.signal` if it is running. */
  signal?: AbortSignal;
  id?: string;
  onProgress?: (progress: unknown) => void;
}

export type Task<T> = (context: TaskContext) => T | PromiseLike<T>;

export type TaskEvent =
  | { type: 'active'; id: string; attempt: number }
  | { type: 'completed'; id: string; attempt: number; result: unknown }
  | { type: 'failed'; id: string; attempt: number; error: unknown }
  | { type: 'retry'; id: string; attempt: number; error: unknown; delayMs: number }
  | { type: 'progress'; id: string; progress: unknown }
  | { type: 'idle' }
  | { type: 'empty' };

export type TaskEventType = TaskEvent['type'];

export declare class Scheduler {
  constructor(options?: SchedulerOptions);
  /** Resolves with the task's result; rejects with its error, or a FerryError TIMEOUT / ABORTED / CLEARED. */
  add<T>(task: Task<T>, options?: TaskOptions): Promise<Awaited<T>>;
  addAll<T>(tasks: ReadonlyArray<Task<T>>, options?: Omit<TaskOptions, 'id'>): Promise<Awaited<T>[]>;
  /** Resolves once nothing is waiting and nothing is running. */
  onIdle(): Promise<void>;
  /** Resolves once nothing is waiting. */
  onEmpty(): Promise<void>;
  pause(): void;
  resume(): void;
  /** Rejects every waiting task with CLEARED (`cause`: reason); running tasks go on. Returns how many. */
  clear(reason?: unknown): number;
  /** Tasks waiting to start, including ones waiting to be retried. */
  readonly size: number;
  /** Tasks running. */
  readonly pending: number;
  concurrency: number;
  readonly isPaused: boolean;
  on<E extends TaskEventType>(event: E, listener: (event: Extract<TaskEvent, { type: E }>) => void): () => void;
}
