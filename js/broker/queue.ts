// A named queue of a broker: send, receive, consume, iterate, purge.
import { rangeError, typeError } from '../errors.js';
import * as check from '../validate.js';
import * as wire from '../wire.js';
import type { ConsumeOptions, MessageHandler, MessageId, QueueStats, ReceiveOptions, SendOptions } from '../types.js';
import { Settle } from './settle.js';
import { type Consumer, makeConsumer, type Message, tagOf } from './message.js';
import { BATCH_ITEM, consumeArguments, MAX_BATCH, receiveArguments, sendArguments } from './options.js';
import type { BatchItem, Runtime } from './runtime.js';
import { Handler, Waiter } from './subscribers.js';
import { onAbort, operationAborted } from './signals.js';

/** @internal A queue's id in the core. Set in Queue's static block, like tagOf. */
export let queueIdOf: (queue: Queue) => number;
/** @internal The Queue object for core queue `id`. */
export let makeQueue: (runtime: Runtime, id: number, name: string) => Queue;

export class Queue<T = unknown> {
  readonly #runtime: Runtime;
  readonly #id: number;
  readonly name: string;

  private constructor(runtime: Runtime, id: number, name: string) {
    this.#runtime = runtime;
    this.#id = id;
    this.name = name;
  }

  static {
    queueIdOf = (queue) => queue.#id;
    makeQueue = (runtime, id, name) => new Queue(runtime, id, name);
  }

  /** Resolves with the message id once the message is accepted. */
  send(payload: T, options?: SendOptions): Promise<MessageId> {
    try {
      const runtime = this.#runtime;
      runtime.assertOpen();
      return runtime.send(this.#id, payload, sendArguments('options', options));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Sends every item or none; resolves with their ids in order. */
  async sendBatch(items: ReadonlyArray<{ payload: T } & SendOptions>): Promise<MessageId[]> {
    const runtime = this.#runtime;
    runtime.assertOpen();
    if (!Array.isArray(items)) throw typeError('items', 'an array', items);
    if (items.length > MAX_BATCH) throw rangeError('items', `at most ${MAX_BATCH} messages`, items.length);
    const checked = Array.from(items, (item: unknown, i): BatchItem => {
      if (item === null || typeof item !== 'object' || !('payload' in item)) {
        throw typeError(`items[${i}]`, 'an object with a payload', item);
      }
      return { payload: item.payload, send: sendArguments(`items[${i}]`, item, BATCH_ITEM) };
    });
    return runtime.sendBatch(this.#id, checked);
  }

  /** Resolves with the next ready message, or null once `waitMs` (default 0) passes without one. */
  async receive(options?: ReceiveOptions): Promise<Message<T> | null> {
    const [message] = await this.#take(1, ...receiveArguments(options), false);
    return message ?? null;
  }

  /** Up to `max` ready messages; waits up to `waitMs` (default 0) for the first. */
  async receiveBatch(max: number, options?: ReceiveOptions): Promise<Message<T>[]> {
    check.count('max', max, 1, MAX_BATCH);
    return this.#take(max, ...receiveArguments(options), false);
  }

  /** Takes up to `max` messages; waits (up to `waitMs`, or for ever when Infinity) for the first. */
  async #take(max: number, waitMs: number, signal: AbortSignal | undefined, endsWithNull: boolean): Promise<Message<T>[]> {
    const runtime = this.#runtime;
    runtime.assertOpen();
    if (signal?.aborted) throw operationAborted(signal);
    const deadline = waitMs === Infinity ? wire.NONE : Date.now() + waitMs;
    for (;;) {
      const now = runtime.takeNow(this.#id, max) as Message<T>[] | Promise<Message<T>[]> | undefined;
      // Kept elsewhere: only a wait can tell.
      if (now === undefined) break;
      if (Array.isArray(now)) {
        if (now.length > 0 || waitMs === 0) return now;
        break;
      }
      const handed = await now;
      // Durable: each one may have expired while its lease was written. If
      // all did, the wait goes on for what time it has left.
      const over = waitMs === 0 || runtime.closed || (deadline !== wire.NONE && Date.now() >= deadline);
      if (handed.length > 0 || over) return handed;
      if (signal?.aborted) throw operationAborted(signal);
    }
    const first = await new Promise<Message | null>((resolve, reject) => {
      const consumer = runtime.core.subscribe(this.#id, deadline);
      const waiter = new Waiter(resolve, reject, endsWithNull);
      waiter.cleanup = onAbort(signal, () => runtime.stopConsumer(consumer, operationAborted(signal!)));
      runtime.subscribers.set(consumer, waiter);
      runtime.pump();
    });
    if (first === null) return [];
    if (max === 1 || runtime.closed) return [first as Message<T>];
    const more = (await runtime.takeNow(this.#id, max - 1)) ?? (await this.#eachReady(max - 1));
    return [first, ...more] as Message<T>[];
  }

  /**
   * Up to `max` messages ready now, where only a wait can tell what is
   * ready (a broker kept elsewhere): `max` waits of no time at once, which
   * its core answers with one claim, each in the order it was made.
   */
  async #eachReady(max: number): Promise<Message[]> {
    const taken = await Promise.all(Array.from({ length: max }, () => this.#take(1, 0, undefined, false)));
    return taken.flat();
  }

  /**
   * Calls `handler(message, { signal })` for each message; with autoAck
   * (default) a fulfilled handler acks, a failed one nacks. At most
   * `rateLimit.max` deliveries per `rateLimit.intervalMs`; a handler past
   * `timeoutMs` fails (nack) and its signal aborts.
   */
  consume(handler: MessageHandler<T>, options?: ConsumeOptions): Consumer {
    const runtime = this.#runtime;
    runtime.assertOpen();
    check.fn('handler', handler);
    const { autoAck, signal, timeoutMs } = consumeArguments(options);
    const id = runtime.core.subscribeConsumer(this.#id, options);
    const entry = new Handler(runtime, this.name, handler as MessageHandler<unknown>, autoAck, timeoutMs);
    const consumer = makeConsumer(runtime, id);
    runtime.subscribers.set(id, entry);
    runtime.pump();
    const cancelBySignal = (): void => runtime.stopConsumer(id, operationAborted(signal!));
    entry.cleanup = onAbort(signal, cancelBySignal);
    if (signal?.aborted) cancelBySignal();
    return consumer;
  }

  /** Yields messages as they arrive, until the loop ends or the broker closes; ack or nack each one (a loop left on a message returns it at once). */
  async *[Symbol.asyncIterator](): AsyncGenerator<Message<T>, void, undefined> {
    while (!this.#runtime.closed) {
      const [message] = await this.#take(1, Infinity, undefined, true);
      if (message === undefined) return;
      let resumed = false;
      try {
        yield message;
        resumed = true;
      } finally {
        // The loop ended on this message (break, throw, return): unless its
        // body settled it, it goes back at once, not after its lease.
        if (!resumed) this.#runtime.settleQuietly(Settle.Release, tagOf(message));
      }
    }
  }

  /** Removes every ready and delayed message (not those in flight); resolves with how many. */
  async purge(): Promise<number> {
    const runtime = this.#runtime;
    runtime.assertOpen();
    return runtime.purge(this.#id);
  }

  /**
   * Counts and rates. On a broker kept on Redis: as last read from the
   * server (each call reads them again for the next); `fetchStats()` gives
   * them as of now.
   */
  stats(): QueueStats {
    this.#runtime.assertOpen();
    return this.#runtime.queueStats(this.#id);
  }

  /** Counts and rates as of now, wherever the queue is kept. */
  async fetchStats(): Promise<QueueStats> {
    this.#runtime.assertOpen();
    return this.#runtime.fetchQueueStats(this.#id);
  }
}

/** @internal A queue's stats from the numbers the core reports, in this order. */
export function queueStats(s: Float64Array): QueueStats {
  return {
    ready: s[0]!,
    inFlight: s[1]!,
    delayed: s[2]!,
    deadLettered: s[3]!,
    sent: s[4]!,
    acked: s[5]!,
    nacked: s[6]!,
    expired: s[7]!,
    redelivered: s[8]!,
    throughputPerSec: s[9]!,
    latencyMs: { p50: s[10]!, p95: s[11]!, p99: s[12]! },
  };
}

