// What a consumer holds: a Message to settle, and the Consumer it came from.
import { FerryError } from '../errors.js';
import * as check from '../validate.js';
import type { MessageId, NackOptions } from '../types.js';
import { nackArguments } from './options.js';
import type { Runtime } from './runtime.js';

// Set in the classes' static blocks: what the broker does with what users
// hold, out of their reach (a private field cannot be read, or rewritten,
// from outside; a symbol-keyed property could).
/** @internal The delivery tag of a message in the core. */
export let tagOf: (message: Message) => number;
/** @internal Whether the delivery carries a request (a reply answers it): a leader says so to the follower it hands it to. */
export let carriesRequest: (message: Message) => boolean;
/** @internal A Message for a delivery the core made. */
export let makeMessage: <T>(
  runtime: Runtime,
  tag: number,
  id: MessageId,
  payload: T,
  headers: Readonly<Record<string, string>>,
  deliveryCount: number,
  redelivered: boolean,
  enqueuedAt: number,
  request: boolean,
) => Message<T>;
/** @internal The Consumer for core consumer `id`. */
export let makeConsumer: (runtime: Runtime, id: number) => Consumer;

export class Message<T = unknown> {
  readonly #runtime: Runtime;
  readonly #tag: number;
  readonly #request: boolean;
  readonly id: MessageId;
  readonly payload: T;
  readonly headers: Readonly<Record<string, string>>;
  /** 1 on first delivery. */
  readonly deliveryCount: number;
  readonly redelivered: boolean;
  /** Epoch ms. */
  readonly enqueuedAt: number;

  private constructor(
    runtime: Runtime,
    tag: number,
    id: string,
    payload: T,
    headers: Readonly<Record<string, string>>,
    deliveryCount: number,
    redelivered: boolean,
    enqueuedAt: number,
    request: boolean,
  ) {
    this.#runtime = runtime;
    this.#tag = tag;
    this.#request = request;
    this.id = id;
    this.payload = payload;
    this.headers = headers;
    this.deliveryCount = deliveryCount;
    this.redelivered = redelivered;
    this.enqueuedAt = enqueuedAt;
  }

  static {
    tagOf = (message) => message.#tag;
    carriesRequest = (message) => message.#request;
    makeMessage = (...args) => new Message(...args);
  }

  /** Settles the delivery. A second ack, or one after the lease ran out, rejects with code 'STALE_DELIVERY'. */
  ack(): Promise<void> {
    try {
      this.#runtime.assertOpen();
      return this.#runtime.ack(this.#tag);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Returns the message for redelivery (after `delayMs`, or the queue's backoff), or dead-letters it with `requeue: false`. */
  nack(options?: NackOptions): Promise<void> {
    try {
      const [requeue, delayMs] = nackArguments(options);
      this.#runtime.assertOpen();
      return this.#runtime.nack(this.#tag, requeue, delayMs);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Answers the `broker.request()` this message carries, and acks it. */
  reply(payload: unknown): Promise<void> {
    try {
      this.#runtime.assertOpen();
      return this.#runtime.reply(this.#tag, payload);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Keeps the delivery for `ms` more milliseconds from now. */
  extendLease(ms: number): void {
    check.duration('ms', ms);
    this.#runtime.assertOpen();
    this.#runtime.extendLease(this.#tag, ms);
  }
}

export class Consumer {
  readonly #runtime: Runtime;
  readonly #id: number;

  private constructor(runtime: Runtime, id: number) {
    this.#runtime = runtime;
    this.#id = id;
  }

  static {
    makeConsumer = (runtime, id) => new Consumer(runtime, id);
  }

  get active(): boolean {
    return !this.#runtime.closed && this.#runtime.subscribers.has(this.#id);
  }

  /**
   * Stops deliveries; messages this consumer has not acked go back to the
   * queue at once, and the signals of handlers still running abort.
   */
  async cancel(): Promise<void> {
    this.#runtime.stopConsumer(this.#id, new FerryError('ABORTED', 'the consumer was cancelled'));
  }
}
