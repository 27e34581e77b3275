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

export interface Backoff {
  type: 'fixed' | 'exponential';
  /** Delay before the first retry; exponential doubles it for each further one. */
  baseMs: number;
  /** Upper bound of the delay. */
  maxMs?: number;
  /** Draw each delay uniformly from 0..delay, so retries of simultaneous failures spread out. */
  jitter?: boolean;
}

/** Where a broker keeps its messages: in memory (the default), a log file in Node, or IndexedDB in browsers and workers. */
export type Storage = 'memory' | { file: string } | { indexedDb: string };

export interface BrokerOptions {
  storage?: Storage;
}

/** What a durable broker found in its log when it opened. */
export interface Recovery {
  /** Records replayed. */
  records: number;
  /** Byte offset of an incomplete last write that was dropped (a crash mid-write: nothing in it had been acknowledged). */
  tornTail?: number;
  /** Where the log was damaged; what followed is kept beside it (`<file>.corrupt`) and was not recovered. */
  corrupt?: { offset: number; damage: string };
}

export interface QueueOptions {
  /** Most messages waiting in the queue (ready or delayed); default unbounded. */
  maxLength?: number;
  /** At maxLength: 'reject' (default) rejects the send with QUEUE_FULL; 'drop-oldest' dead-letters the oldest waiting message. */
  overflow?: 'reject' | 'drop-oldest';
  /** Default time to live of each message; expired messages are never delivered. */
  ttlMs?: number;
  /** Visibility timeout: an unacked delivery returns to the queue after it. Default 30000. */
  leaseMs?: number;
  /** Deliveries without ack before the message is dead-lettered. Default 10. */
  maxDeliveries?: number;
  /** Delay before redelivery after a nack or a failed handler. Default: none. */
  backoff?: Backoff;
  /** Dead-letter queue name; default `${name}.dlq`; null discards dead letters. */
  deadLetter?: string | null;
  /** A second send with the same id inside this window is accepted but not enqueued. */
  dedupWindowMs?: number;
  /** On a durable broker (default true): false keeps this queue's messages in memory only. */
  durable?: boolean;
}

export interface SendOptions {
  /** Caller-chosen id (the dedup key); otherwise one is generated. */
  id?: string;
  /** 0..9, higher first; FIFO within a priority. */
  priority?: number;
  /** Not deliverable before now + delayMs. */
  delayMs?: number;
  ttlMs?: number;
  headers?: Record<string, string>;
}

export interface ReceiveOptions {
  /** How long to wait for a message before resolving with null (or []). Default 0. */
  waitMs?: number;
  /** Aborting rejects the wait with ABORTED. */
  signal?: AbortSignal;
}

export interface ConsumeOptions {
  /** Most unacked deliveries this consumer holds at once. Default 1. */
  prefetch?: number;
  /** Default true: handler fulfilled => ack; handler threw or rejected => nack (backoff, then dead letter). */
  autoAck?: boolean;
  /** Aborting cancels the consumer; its unacked messages return to the queue. */
  signal?: AbortSignal;
  /**
   * At most `max` deliveries to this consumer (first ones and redeliveries)
   * per `intervalMs`; while its window is full the queue's other consumers
   * go on receiving.
   */
  rateLimit?: RateLimit;
  /**
   * A delivery still unsettled this long after its handler got it fails: it
   * is nacked (the queue's backoff, counting towards maxDeliveries), the
   * handler's `signal` aborts with a FerryError TIMEOUT, and the handler's
   * own ack or nack afterwards is stale. At least 1.
   */
  timeoutMs?: number;
}

export interface HandlerContext {
  /**
   * Aborted when the delivery times out (FerryError TIMEOUT), the consumer
   * is cancelled (ABORTED) or the broker closes (CLOSED): stop the work then.
   */
  readonly signal: AbortSignal;
}

export type MessageHandler<T> = (message: Message<T>, context: HandlerContext) => unknown;

export interface NackOptions {
  /** Default true; false dead-letters the message (reason 'rejected'). */
  requeue?: boolean;
  /** Delay before redelivery; default the queue's backoff. */
  delayMs?: number;
}

export interface RequestOptions {
  /** Rejects with TIMEOUT when no reply arrives in time. */
  timeoutMs?: number;
  /** Aborting rejects with ABORTED. */
  signal?: AbortSignal;
}

export declare class Message<T = unknown> {
  private constructor();
  readonly id: MessageId;
  readonly payload: T;
  readonly headers: Readonly<Record<string, string>>;
  /** 1 on first delivery. */
  readonly deliveryCount: number;
  readonly redelivered: boolean;
  /** Epoch ms. */
  readonly enqueuedAt: number;
  /** A second ack, or an ack after the lease expired, rejects with code 'STALE_DELIVERY'. */
  ack(): Promise<void>;
  nack(options?: NackOptions): Promise<void>;
  /** Answers the `broker.request()` this message carries, and acks it. */
  reply(payload: unknown): Promise<void>;
  /** Keeps the delivery for `ms` more milliseconds from now. */
  extendLease(ms: number): void;
}

export declare class Consumer {
  private constructor();
  readonly active: boolean;
  /** Stops deliveries; unacked messages of this consumer return to the queue at once. */
  cancel(): Promise<void>;
}

export interface LatencyPercentiles {
  p50: number;
  p95: number;
  p99: number;
}

export interface QueueStats {
  ready: number;
  inFlight: number;
  delayed: number;
  deadLettered: number;
  sent: number;
  acked: number;
  nacked: number;
  expired: number;
  redelivered: number;
  /** Acks per second over the last 10 s. */
  throughputPerSec: number;
  /** Send to ack. */
  latencyMs: LatencyPercentiles;
}

export interface BrokerStats {
  queues: Record<string, QueueStats>;
}

export type DeadLetterReason = 'expired' | 'maxlen' | 'rejected' | 'delivery-limit';

export type BrokerEvent =
  | { type: 'dead-letter'; queue: string; id: MessageId; reason: DeadLetterReason; deadLetterQueue: string | null }
  | { type: 'expired'; queue: string; id: MessageId }
  | { type: 'redelivered'; queue: string; id: MessageId; deliveryCount: number }
  /** A handler threw or rejected (queue and id set), or durable storage failed (the broker then closes). */
  | { type: 'error'; queue?: string; id?: MessageId; error: unknown };

export type BrokerEventType = BrokerEvent['type'];

export declare class Queue<T = unknown> {
  private constructor();
  readonly name: string;
  /** Resolves with the message id once the message is accepted. */
  send(payload: T, options?: SendOptions): Promise<MessageId>;
  /** Sends every item or none. */
  sendBatch(items: ReadonlyArray<{ payload: T } & SendOptions>): Promise<MessageId[]>;
  /** The next ready message, or null once `waitMs` passes without one. */
  receive(options?: ReceiveOptions): Promise<Message<T> | null>;
  /** Up to `max` ready messages, waiting up to `waitMs` for the first. */
  receiveBatch(max: number, options?: ReceiveOptions): Promise<Message<T>[]>;
  consume(handler: MessageHandler<T>, options?: ConsumeOptions): Consumer;
  /** Messages as they arrive until the loop ends or the broker closes; ack or nack each. */
  [Symbol.asyncIterator](): AsyncIterator<Message<T>>;
  /** Removes ready and delayed messages (not in-flight ones); resolves with how many. */
  purge(): Promise<number>;
  stats(): QueueStats;
}

export declare class Broker {
  /** An in-memory broker. */
  constructor(options?: { storage?: 'memory' });
  /**
   * A durable broker: recovers its queues and messages before it resolves.
   * Sends, acks and nacks resolve once persisted; deliveries in flight at a
   * crash come back as redeliveries. A second broker on the same storage is
   * refused with STORAGE; payloads must be JSON values, Uint8Array or
   * ArrayBuffer (else NOT_SERIALIZABLE).
   */
  static open(options: BrokerOptions & { storage: Storage }): Promise<Broker>;
  /** Set on a durable broker. */
  readonly recovery: Recovery | undefined;
  /** Declares a queue, or returns the one already declared; different options throw INVALID_ARGUMENT. */
  queue<T = unknown>(name: string, options?: QueueOptions): Queue<T>;
  /** Sends to every queue bound to a pattern that matches; resolves with one id per queue. */
  publish(routingKey: string, payload: unknown, options?: SendOptions): Promise<MessageId[]>;
  /** Words split by '.'; '*' matches exactly one word, '#' zero or more. */
  bind(pattern: string, queueName: string): void;
  unbind(pattern: string, queueName: string): void;
  /** Resolves with the payload the consumer passes to `message.reply()`. */
  request<R = unknown>(queueName: string, payload: unknown, options?: RequestOptions): Promise<R>;
  stats(): BrokerStats;
  on<E extends BrokerEventType>(event: E, listener: (event: Extract<BrokerEvent, { type: E }>) => void): () => void;
  /** Later calls reject with code 'CLOSED'. */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

export interface RateLimit {
  max: number;
  intervalMs: number;
  /**
   * 'sliding' (default): at most `max` starts in any window of `intervalMs`.
   * 'fixed': the count resets at each window edge, as p-queue's default does,
   * so up to `2 * max` can start around an edge.
   */
  window?: 'sliding' | 'fixed';
  /** With window 'fixed': tasks (or unsettled deliveries) still running at an edge count against the new window. */
  carryover?: boolean;
}

export interface SchedulerOptions {
  /** Most tasks running at once; default Infinity. Settable later through `concurrency`. */
  concurrency?: number;
  /** At most `max` tasks start per `intervalMs`. */
  rateLimit?: RateLimit;
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
  /** The task's id: `options.id`, or a generated one: "1", "2", … in the order tasks were added. */
  readonly id: string;
  /** 1 on the first attempt. */
  readonly attempt: number;
  /** Aborted when this attempt times out or the task is aborted: stop the work then. */
  readonly signal: AbortSignal;
  /** Reports progress to `onProgress` and to 'progress' listeners. */
  readonly progress: (progress: unknown) => void;
}

export interface TaskOptions {
  /** Any finite number, higher first (fractions and timestamps too); FIFO within a priority. Default 0. */
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
  /** Its AbortSignal aborted it; `running` if it had started (its ctx.signal aborts too). */
  | { type: 'aborted'; id: string; running: boolean; error: FerryError }
  | { type: 'idle' }
  | { type: 'empty' }
  | { type: 'rateLimit' }
  | { type: 'rateLimitCleared' };

export type TaskEventType = TaskEvent['type'];

export interface RunningTask {
  id: string;
  attempt: number;
  /** Epoch ms the attempt started. */
  startedAt: number;
  priority: number;
  /** This attempt's timeout, if it has one. */
  timeoutMs: number | undefined;
}

export declare class Scheduler {
  constructor(options?: SchedulerOptions);
  /** Resolves with the task's result; rejects with its error, or a FerryError TIMEOUT / ABORTED / CLEARED. */
  add<T>(task: Task<T>, options?: TaskOptions): Promise<Awaited<T>>;
  addAll<T>(tasks: ReadonlyArray<Task<T>>, options?: Omit<TaskOptions, 'id'>): Promise<Awaited<T>[]>;
  /** Fire-and-forget `add`: no promise; the outcome goes to the events (a failure nobody listens for, to console.error). */
  push(task: Task<unknown>, options?: TaskOptions): void;
  /** Moves a waiting task to `priority`; RangeError for an id that is not waiting. */
  setPriority(id: string, priority: number): void;
  /** Waiting tasks (those of one priority with `filter.priority`). */
  sizeBy(filter?: { priority?: number }): number;
  /** Resolves when the rate limit holds a task back (at once if it does). */
  onRateLimit(): Promise<void>;
  /** Resolves when the rate limit no longer holds a task back (at once if it does not). */
  onRateLimitCleared(): Promise<void>;
  /** Resolves once fewer than `limit` tasks wait. */
  onSizeLessThan(limit: number): Promise<void>;
  /** Resolves once nothing is running. */
  onPendingZero(): Promise<void>;
  /** A task waits and the rate limit's window is full. */
  readonly isRateLimited: boolean;
  /** The attempts running now. */
  readonly runningTasks: ReadonlyArray<RunningTask>;
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
