// The state one broker shares with everything it hands out (queues,
// messages, consumers): its core, the flush that hands the core's effects on,
// the timer armed at the core's next deadline, and the subscribers and
// requests waiting on effects. Where messages are kept is a subclass's
// business: LocalRuntime (in memory, or durable on a log) and RedisRuntime
// (on a Redis server shared by many processes) implement the operations the
// public classes call.
//
// Every core call that changes state wakes the flush (the core calls `wake`);
// effects are handled in one flush per microtask checkpoint, so a burst of
// calls shares one drain and handlers never run inside the caller's call,
// nor while Rust is borrowed: a handler may send, ack, cancel or close
// re-entrantly.
import { FerryError } from '../errors.js';
import { DIED, deadCore, whenDead } from '../instance.js';
import { Listeners } from '../listeners.js';
import { f64 } from '../memory.js';
import type { BrokerEventType, MessageId, QueueStats } from '../types.js';
import { HostTimer } from '../timer.js';
import type { SendArguments } from './options.js';
import { Payloads } from './payloads.js';
import { dispatch } from './effects.js';
import type { Message } from './message.js';
import type { Settle } from './settle.js';
import type { Subscriber } from './subscribers.js';

const BROKER_EVENTS = ['dead-letter', 'expired', 'redelivered', 'error', 'role'] as const satisfies readonly BrokerEventType[];

/** A request() waiting for its reply. */
export interface PendingRequest {
  resolve(payload: unknown): void;
  reject(error: unknown): void;
  /** Stops listening to the request's AbortSignal. */
  cleanup: (() => void) | undefined;
}

/** What both cores (BrokerCore, RemoteCore) offer the code they share. */
export interface SharedCore {
  queueId(name: string): number;
  queueName(queue: number): string | undefined;
  queueNames(): unknown[];
  subscribe(queue: number, deadline: number): number;
  subscribeConsumer(queue: number, options: unknown): number;
  cancel(consumer: number): void;
  cancelRequest(request: number): void;
  advance(): void;
  nextDeadline(): number;
  drain(vals: unknown[]): number;
  outPtr(): number;
  free(): void;
}

/** One item of a sendBatch, checked. */
export interface BatchItem {
  payload: unknown;
  send: SendArguments;
}

export const closedError = (): FerryError => new FerryError('CLOSED', 'the broker is closed');

export abstract class Runtime<Core extends SharedCore = SharedCore> {
  core: Core;
  readonly timer = new HostTimer(() => this.#onTimer());
  readonly listeners = new Listeners<BrokerEventType>(BROKER_EVENTS);
  readonly subscribers = new Map<number, Subscriber>();
  readonly requests = new Map<number, PendingRequest>();
  readonly payloads = new Payloads();
  closed = false;
  /** The one shutdown every close() call waits for. */
  closing: Promise<void> | undefined = undefined;
  readonly #queueNames: string[] = [];
  /** JS values of the batch being dispatched, in record order. */
  readonly #vals: unknown[] = [];
  #flushScheduled = false;
  readonly #flush = (): void => this.#flushNow();
  /** Why the broker stopped by itself (its instance died, its storage failed), for every later call. */
  #stopped: FerryError | undefined = undefined;
  /** Called after every flush: a leader's host looks for queues its followers wait on. */
  flushed: (() => void) | undefined = undefined;
  /** Told when the broker stops by itself (not by close()), with why, in the order they were added. */
  readonly #stopListeners: ((reason: FerryError) => void)[] = [];

  /** `makeCore(wake)` builds the core around the function that wakes this runtime. */
  constructor(makeCore: (wake: () => void) => Core) {
    this.core = makeCore(() => this.pump());
    whenDead(this);
  }

  // ---- the operations, by where messages are kept ----------------------

  /** Declares queue `name` (its options shape-checked or undefined); its core id. */
  abstract declare(argument: string, name: string, options: unknown): number;
  abstract send(queue: number, payload: unknown, send: SendArguments): Promise<MessageId>;
  abstract sendBatch(queue: number, items: BatchItem[]): Promise<MessageId[]>;
  abstract publish(routingKey: string, payload: unknown, send: SendArguments): Promise<MessageId[]>;
  abstract bind(pattern: string, queue: number): void;
  abstract unbind(pattern: string, queue: number): void;
  /** Sends a request's message; its reply or timeout comes to the returned id's PendingRequest. */
  abstract startRequest(queue: number, payload: unknown, timeoutMs: number): number;
  /**
   * Takes up to `max` messages of `queue` that are ready now, without
   * waiting for more; undefined where only a wait can tell (the messages are
   * elsewhere: wait with `subscribe`, a deadline of now when `waitMs` is 0).
   */
  abstract takeNow(queue: number, max: number): Message[] | Promise<Message[]> | undefined;
  abstract purge(queue: number): Promise<number>;
  abstract queueStats(queue: number): QueueStats;
  /** The stats as of now, where they are kept. */
  abstract fetchQueueStats(queue: number): Promise<QueueStats>;
  /** `queueNames()` with every queue where they are kept (a server may have queues other processes made). */
  abstract fetchQueueNames(): Promise<string[]>;
  abstract ack(tag: number): Promise<void>;
  abstract nack(tag: number, requeue: boolean, delayMs: number): Promise<void>;
  abstract reply(tag: number, payload: unknown): Promise<void>;
  abstract extendLease(tag: number, ms: number): void;
  /** For settles nobody awaits (autoAck, abandoned waits and loops). */
  abstract settleQuietly(action: Settle, tag: number): void;
  /** Ends everything: waits, consumers and requests end with CLOSED; resolves once nothing is left to write. */
  abstract shutdown(): Promise<void>;
  /** Resolves once nothing is left in flight (see `idle`): the I/O this broker has started. */
  protected abstract ioSettled(): Promise<void> | undefined;
  /** After each flush: run what the effects left for the storage. */
  protected abstract afterFlush(): void;
  /** Whether the timer should hold a Node process open besides waiters. */
  protected abstract holdsOpen(): boolean;

  // ---- shared ----------------------------------------------------------

  /** The wasm instance trapped: stop, saying so. */
  [DIED](error: FerryError): void {
    if (this.closed) return;
    // Set before the listeners run: one may close the broker, which must see it stopped.
    this.#stopped = error;
    this.core = deadCore(error) as Core;
    this.listeners.emit('error', { error, queue: undefined, id: undefined });
    this.stopWith(error);
  }

  /** The storage this broker held is to be let go of, as it stopped by itself. */
  protected abstract released(): void;

  /** Stops by itself for `reason`: waits end with it, and so does every later call; the storage is let go of. */
  protected stopWith(reason: FerryError): void {
    this.#stopped = reason;
    this.closeNow(reason);
    this.released();
    for (const listener of this.#stopListeners) listener(reason);
  }

  /** Calls `listener` with why, if the broker stops by itself (a leader's host tells its followers). */
  whenStopped(listener: (reason: FerryError) => void): void {
    this.#stopListeners.push(listener);
  }

  /** Why the broker stopped by itself, if it did. */
  protected get stopped(): FerryError | undefined {
    return this.#stopped;
  }

  /** 'follower' where another context's broker does the work (see PortRuntime). */
  get role(): 'leader' | 'follower' {
    return 'leader';
  }

  assertOpen(): void {
    if (this.closed) throw this.#stopped ?? closedError();
  }

  /**
   * For the package's tests: a broker kept elsewhere reads this process's
   * clock (Date.now) there too, so a fake clock moves both. Local brokers
   * read it anyway.
   */
  useHostClock(): void {}

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
   * scheduled and the I/O started has ended (including what the flushes
   * after it started). For tests that must see what a write released
   * without waiting on a clock.
   */
  async idle(): Promise<void> {
    for (;;) {
      const io = this.ioSettled();
      await io;
      // A flush scheduled by what the I/O released runs in this microtask.
      await null;
      if (!this.#flushScheduled && this.ioSettled() === io) return;
    }
  }

  /** Every queue's name, by core id. */
  queueNames(): string[] {
    return this.core.queueNames() as string[];
  }

  /** A queue's name by core id; names never change, so each is fetched once. */
  queueName(id: number): string {
    return (this.#queueNames[id] ??= this.core.queueName(id)!);
  }

  /** Ends waits, consumers and requests with CLOSED (or why the broker stopped). */
  protected closeNow(reason: FerryError): void {
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
    this.abandon(reason);
  }

  /** Whatever was waiting on the storage ends with `reason`. */
  protected abstract abandon(reason: FerryError): void;

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
    this.afterFlush();
    this.flushed?.();
    this.#armTimer();
  }

  #armTimer(): void {
    // Keep a Node process alive only while someone waits for the broker: a
    // consumer, a receive, a request or an event listener.
    const keepAlive = this.subscribers.size > 0 || this.requests.size > 0 || this.listeners.any || this.holdsOpen();
    this.timer.arm(this.core.nextDeadline(), keepAlive);
  }
}
