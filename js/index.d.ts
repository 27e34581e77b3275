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

export interface SchedulerOptions {
  /** Default Infinity. */
  concurrency?: number;
}

export interface TaskContext {
  readonly id: string;
  /** 1 on the first attempt. */
  readonly attempt: number;
}

export interface TaskOptions {}

export declare class Scheduler {
  constructor(options?: SchedulerOptions);
  add<T>(task: (context: TaskContext) => T | PromiseLike<T>, options?: TaskOptions): Promise<T>;
  /** Resolves once nothing is waiting and nothing is running. */
  onIdle(): Promise<void>;
  /** Tasks waiting to start. */
  readonly size: number;
  /** Tasks running. */
  readonly pending: number;
}
