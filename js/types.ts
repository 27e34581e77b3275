// The public types of ferrymq's options, events and results (the classes
// are typed where they are written). The published .d.ts is emitted from
// these sources; pkg-tests/types compiles a user of all of it.
import type { FerryError } from './errors.js';
import type { Message } from './broker/message.js';

export type MessageId = string;

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
export type Storage = 'memory' | { file: string } | { indexedDb: string } | RedisStorage | PortStorage;

/**
 * A follower of a broker in another thread: `port` is what the leader's
 * `broker.share()` returned, passed to this thread (a Node worker_thread's
 * workerData and transferList). Every call goes to the leader.
 */
export interface PortStorage {
  port: MessagePort;
}

/**
 * Node only: a broker kept on a Redis server (7.0 or later), shared by every
 * process that opens the same server and prefix. Needs the npm package
 * `ioredis`.
 */
export interface RedisStorage {
  /** e.g. 'redis://127.0.0.1:6379/0' */
  redis: string;
  /** Names this broker's keys on the server: `{prefix}:…`. Default 'ferrymq'. */
  prefix?: string;
}

export interface BrokerOptions {
  storage?: Storage;
  /**
   * `{ indexedDb }` only: open the database for this broker alone, refused
   * with STORAGE while another broker (in any tab or worker) has it open.
   * By default every broker that opens it shares it: one leads, the others
   * follow (`broker.role`).
   */
  exclusive?: boolean;
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
  /** A handler threw or rejected (queue and id set), or durable storage failed (the broker then stops: its waits and later calls reject with this error). */
  | { type: 'error'; queue?: string; id?: MessageId; error: unknown }
  /** A broker shared by pages and workers: this context became the leader, or stopped leading (`broker.role`). */
  | { type: 'role'; role: 'leader' | 'follower' };

export type BrokerEventType = BrokerEvent['type'];

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

