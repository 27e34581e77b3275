// What a consumer holds: a Message to settle, and the Consumer it came from.
import { FerryError } from '../errors.js';
import * as check from '../validate.js';
import type { MessageId, NackOptions } from '../types.js';
import { MAKE, TAG } from './keys.js';
import { nackArguments } from './options.js';
import type { Runtime } from './runtime.js';

export class Message<T = unknown> {
  readonly #runtime: Runtime;
  /** @internal */
  readonly [TAG]: number;
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
  ) {
    this.#runtime = runtime;
    this[TAG] = tag;
    this.id = id;
    this.payload = payload;
    this.headers = headers;
    this.deliveryCount = deliveryCount;
    this.redelivered = redelivered;
    this.enqueuedAt = enqueuedAt;
  }

  /** @internal Made by the broker for each delivery. */
  static [MAKE]<T>(
    runtime: Runtime,
    tag: number,
    id: MessageId,
    payload: T,
    headers: Readonly<Record<string, string>>,
    deliveryCount: number,
    redelivered: boolean,
    enqueuedAt: number,
  ): Message<T> {
    return new Message(runtime, tag, id, payload, headers, deliveryCount, redelivered, enqueuedAt);
  }

  /** Settles the delivery. A second ack, or one after the lease ran out, rejects with code 'STALE_DELIVERY'. */
  async ack(): Promise<void> {
    const runtime = this.#runtime;
    runtime.assertOpen();
    runtime.core.ack(this[TAG]);
    await runtime.persisted();
  }

  /** Returns the message for redelivery (after `delayMs`, or the queue's backoff), or dead-letters it with `requeue: false`. */
  async nack(options?: NackOptions): Promise<void> {
    const [requeue, delayMs] = nackArguments(options);
    this.#runtime.run((core) => core.nack(this[TAG], requeue, delayMs));
    await this.#runtime.persisted();
  }

  /** Answers the `broker.request()` this message carries, and acks it. */
  async reply(payload: unknown): Promise<void> {
    this.#runtime.run((core) => core.reply(this[TAG], payload));
    await this.#runtime.persisted();
  }

  /** Keeps the delivery for `ms` more milliseconds from now. */
  extendLease(ms: number): void {
    check.duration('ms', ms);
    this.#runtime.run((core) => core.extendLease(this[TAG], ms));
  }
}

export class Consumer {
  readonly #runtime: Runtime;
  readonly #id: number;

  private constructor(runtime: Runtime, id: number) {
    this.#runtime = runtime;
    this.#id = id;
  }

  /** @internal Made by `queue.consume()`. */
  static [MAKE](runtime: Runtime, id: number): Consumer {
    return new Consumer(runtime, id);
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
