// The state one broker shares with everything it hands out (queues,
// messages, consumers): its core, the flush that hands the core's effects on,
// the timer armed at the core's next deadline, the subscribers and requests
// waiting on effects, and, when durable, the way to its log.
//
// Every core call that changes state wakes the flush (the core calls `wake`);
// effects are handled in one flush per microtask checkpoint, so a burst of
// calls shares one drain and handlers never run inside the caller's call,
// nor while Rust is borrowed: a handler may send, ack, cancel or close
// re-entrantly.
import { BrokerCore } from '../../pkg/ferrymq.js';
import { encode } from '../codec.js';
import { asStorageError, FerryError } from '../errors.js';
import { DIED, deadCore, whenDead } from '../instance.js';
import { Listeners } from '../listeners.js';
import { f64 } from '../memory.js';
import { noop } from '../promises.js';
import type { OpenStorage } from '../storage.js';
import type { BrokerEventType } from '../types.js';
import { HostTimer } from '../timer.js';
import * as wire from '../wire.js';
import { Commits } from './commits.js';
import { Payloads } from './payloads.js';
import { dispatch, messageAt, valuesOf } from './effects.js';
import { Settle } from './settle.js';
import { type Message, tagOf } from './message.js';
import type { Subscriber } from './subscribers.js';

const BROKER_EVENTS = ['dead-letter', 'expired', 'redelivered', 'error'] as const satisfies readonly BrokerEventType[];

/** A request() waiting for its reply. */
export interface PendingRequest {
  resolve(payload: unknown): void;
  reject(error: unknown): void;
  /** Stops listening to the request's AbortSignal. */
  cleanup: (() => void) | undefined;
}

const closedError = (): FerryError => new FerryError('CLOSED', 'the broker is closed');

export class Runtime {
  core: BrokerCore;
  readonly timer = new HostTimer(() => this.#onTimer());
  readonly listeners = new Listeners<BrokerEventType>(BROKER_EVENTS);
  readonly subscribers = new Map<number, Subscriber>();
  readonly requests = new Map<number, PendingRequest>();
  readonly payloads = new Payloads();
  closed = false;
  /** The one shutdown every close() call waits for. */
  closing: Promise<void> | undefined = undefined;
  /** Durable only: the way to the log. */
  readonly commits: Commits | undefined;
  readonly #queueNames: string[] = [];
  /** JS values of the batch being dispatched, in record order. */
  readonly #vals: unknown[] = [];
  #flushScheduled = false;
  readonly #flush = (): void => this.#flushNow();
  /** Why the broker stopped by itself (its instance died), for every later call. */
  #stopped: FerryError | undefined = undefined;

  /**
   * `makeCore(wake)` builds the core around the function that wakes this
   * runtime; `storage`: the open storage of a durable broker.
   */
  constructor(makeCore: (wake: () => void) => BrokerCore, storage?: OpenStorage) {
    this.core = makeCore(() => this.pump());
    this.commits = storage && new Commits(storage, () => this.core, () => this.closed, (error) => this.fail(error));
    whenDead(this);
  }

  /** The wasm instance trapped: stop, saying so, and release the storage lock. */
  [DIED](error: FerryError): void {
    if (this.closed) return;
    this.#stopped = error;
    this.core = deadCore(error);
    this.listeners.emit('error', { error, queue: undefined, id: undefined });
    this.#closeNow(error);
    this.commits?.storage.close().catch(noop);
  }

  get durable(): boolean {
    return this.commits !== undefined;
  }

  /**
   * On a durable broker: resolves once everything done so far is in the
   * log (rejects with STORAGE if writing it fails). Undefined in memory.
   */
  persisted(): Promise<void> | undefined {
    if (this.commits === undefined) return undefined;
    this.pump();
    return this.commits.persisted();
  }

  /**
   * The promise of an operation already done: resolved with `value` at once
   * in memory, once written on a durable broker. The hot calls (send, ack,
   * nack, reply, publish) end with it instead of being async functions: in
   * memory that saves a promise and a microtask per call.
   */
  settled<T>(value: T): Promise<T> {
    const persisted = this.persisted();
    return persisted === undefined ? Promise.resolve(value) : persisted.then(() => value);
  }

  /**
   * Makes the core call `store(slot)` for a payload and its headers. The
   * slot holds them for one stored message, or for `count(result)` (publish
   * makes one per matching queue); a call that throws leaves it free.
   */
  withPayload<R>(
    payload: unknown,
    headers: Record<string, string> | undefined,
    store: (slot: number) => R,
    count?: (result: R) => number,
  ): R {
    const slot = this.payloads.take(payload, headers);
    let result: R;
    try {
      result = store(slot);
    } catch (error) {
      this.payloads.free(slot);
      throw error;
    }
    if (count !== undefined) this.payloads.hold(slot, count(result));
    return result;
  }

  /** The bytes the log stores for a message; undefined in memory. */
  encode(payload: unknown, headers: Record<string, string> | undefined): Uint8Array | undefined {
    return this.commits === undefined ? undefined : encode(payload, headers);
  }

  assertOpen(): void {
    if (this.closed) throw this.#stopped ?? closedError();
  }

  /**
   * Durable brokers hand a delivery out only once its lease is written:
   * resolves with those of `messages` (taken by `take`) still deliverable
   * then; one that expired meanwhile was dead-lettered instead.
   */
  handOut(messages: Message[]): Message[] | Promise<Message[]> {
    // In memory there is nothing to wait for: no promise per receive.
    if (this.commits === undefined || messages.length === 0) return messages;
    return this.persisted()!.then(() => (this.closed ? messages : messages.filter((m) => this.core.handOut(tagOf(m)))));
  }

  /** For settles nobody awaits (autoAck, abandoned waits and loops). */
  settleQuietly(action: Settle, tag: number): void {
    if (this.closed) return;
    try {
      if (action === Settle.Ack) this.core.ack(tag);
      else if (action === Settle.Nack) this.core.nack(tag, true, wire.NONE);
      else this.core.release(tag);
    } catch (error) {
      // Settled already, or its lease ran out: the message is redelivered or
      // gone, as the core decided. Anything else is not for swallowing.
      if (!(error instanceof FerryError && error.code === 'STALE_DELIVERY')) throw error;
    }
  }

  /** Cancels consumer `id`, aborting its running handlers with `reason`; nothing if it is gone. */
  stopConsumer(id: number, reason: FerryError): void {
    const entry = this.subscribers.get(id);
    if (this.closed || entry === undefined) return;
    this.subscribers.delete(id);
    this.core.cancel(id);
    // After the core call: an abort listener may close the broker.
    entry.closed(reason);
  }

  /** Forgets request `id` and returns it, to be settled; undefined if it is gone. */
  endRequest(id: number): PendingRequest | undefined {
    const request = this.requests.get(id);
    this.requests.delete(id);
    request?.cleanup?.();
    return request;
  }

  /**
   * Schedules the flush that hands the core's effects on, once per microtask
   * checkpoint. The flush also re-arms the timer, which holds a Node process
   * open while someone waits (so a new consumer, receive or request pumps).
   */
  pump(): void {
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      queueMicrotask(this.#flush);
    }
  }

  /**
   * Resolves once nothing is left in flight inside the broker: no flush
   * scheduled and, durable, every commit started has ended (including those
   * the flushes of earlier commits started). For tests that must see what a
   * write released without waiting on a clock.
   */
  async idle(): Promise<void> {
    for (;;) {
      const io = this.commits?.settled();
      await io;
      // A flush scheduled by what the commit released runs in this microtask.
      await null;
      if (!this.#flushScheduled && this.commits?.settled() === io) return;
    }
  }

  /** A queue's name by core id; names never change, so each is fetched once. */
  queueName(id: number): string {
    return (this.#queueNames[id] ??= this.core.queueName(id)!);
  }

  /** Takes up to `max` ready messages from queue `id` now. */
  take(id: number, max: number): Message[] {
    this.assertOpen();
    const vals: unknown[] = [];
    const n = this.core.take(id, max, vals);
    const messages: Message[] = [];
    if (n === 0) return messages;
    const m = f64();
    const base = this.core.takenPtr() / 8;
    for (let i = 0, v = 0; i < n; i += wire.BROKER_STRIDE) {
      messages.push(messageAt(this, m, base + i, vals, v));
      v += valuesOf(m, base + i);
    }
    return messages;
  }

  /**
   * Ends everything: waits, consumers and requests end with CLOSED. A
   * durable broker first commits what is pending and waits for its log.
   */
  async shutdown(): Promise<void> {
    // Stopped by its instance's death: nothing is left to write or free.
    if (this.#stopped !== undefined) return;
    // Durable: everything accepted so far goes into one last commit.
    this.commits?.commit();
    this.#closeNow(closedError());
    if (this.commits !== undefined) {
      await this.commits.settled();
      await this.commits.storage.close();
    }
    this.core.free();
  }

  /** Fail-stop: memory is ahead of the log, so the broker stops; reopen it from storage. */
  fail(error: unknown): void {
    if (this.closed) return;
    const failure = asStorageError(error);
    if (this.listeners.wants('error')) this.listeners.emit('error', { error: failure, queue: undefined, id: undefined });
    // Never silent: without a listener, say it where a developer looks.
    else console.error('ferrymq: durable storage failed; the broker has stopped (reopen it from storage):', failure);
    this.#closeNow(failure);
    this.commits?.storage.close().catch(noop);
  }

  #closeNow(reason: FerryError): void {
    this.closed = true;
    this.timer.cancel();
    // Waits end with CLOSED, or with why the broker stopped by itself.
    const ended = this.#stopped ?? closedError();
    for (const subscriber of this.subscribers.values()) subscriber.closed(ended);
    this.subscribers.clear();
    for (const request of this.requests.values()) {
      request.cleanup?.();
      request.reject(ended);
    }
    this.requests.clear();
    this.commits?.abandon(reason);
  }

  #onTimer(): void {
    if (this.closed) return;
    this.core.advance();
    this.pump();
  }

  #flushNow(): void {
    this.#flushScheduled = false;
    if (this.closed) return;
    const core = this.core;
    const vals = this.#vals;
    // In memory: every effect. Durable: those whose records are written.
    while (!this.closed) {
      const n = core.drain(vals);
      if (n === 0) break;
      try {
        dispatch(this, f64, core.outPtr() / 8, n, vals);
      } finally {
        // Even after a throw: the next batch's values must not follow this one's.
        vals.length = 0;
      }
    }
    // A handler may have closed the broker, which frees the core.
    if (this.closed) return;
    this.commits?.commit();
    this.#armTimer();
  }

  #armTimer(): void {
    // Keep a Node process alive only while someone waits for the broker: a
    // consumer, a receive, a request or an event listener.
    const keepAlive = this.subscribers.size > 0 || this.requests.size > 0 || this.listeners.any;
    this.timer.arm(this.core.nextDeadline(), keepAlive);
  }
}
