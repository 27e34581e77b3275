// What a core consumer id stands for in JS: a Waiter (one receive that is
// waiting) or a Handler (a consume() callback). The Runtime routes each
// DELIVER effect to one of them.
import { Completions } from '../completions.js';
import { FerryError } from '../errors.js';
import { isThenable } from '../promises.js';
import * as wire from '../wire.js';
import { Settle } from './settle.js';
import type { HandlerContext as PublicHandlerContext, MessageHandler } from '../types.js';
import { type Message, tagOf } from './message.js';
import type { Runtime } from './runtime.js';

export type Subscriber = Waiter | Handler;

/** The part of a receive that waits: the core's once-subscription, settled by its first effect. */
export class Waiter {
  /** Stops listening to the wait's AbortSignal. */
  cleanup: (() => void) | undefined = undefined;

  /** `endsWithNull`: an async iterator ends quietly when the broker closes; receive() rejects. */
  constructor(
    private readonly resolve: (message: Message | null) => void,
    private readonly reject: (error: unknown) => void,
    private readonly endsWithNull: boolean,
  ) {}

  deliver(message: Message): void {
    this.cleanup?.();
    this.resolve(message);
  }

  expired(): void {
    this.cleanup?.();
    this.resolve(null);
  }

  closed(error: FerryError): void {
    this.cleanup?.();
    if (this.endsWithNull) this.resolve(null);
    else this.reject(error);
  }
}

// Set in HandlerContext's static block: what the broker does with a context,
// out of reach of the handler that holds it.
/** Ends a handler's run: its context's signal aborts with `reason`. */
let end: (context: HandlerContext, reason: FerryError) => void;
/** The message a context was made for. */
let messageOf: (context: HandlerContext) => Message;

/** What a handler gets besides its message: the signal that tells it to stop. */
class HandlerContext implements PublicHandlerContext {
  #controller: AbortController | undefined = undefined;
  readonly #message: Message;

  static {
    end = (context, reason) => {
      context.#controller ??= new AbortController();
      context.#controller.abort(reason);
    };
    messageOf = (context) => context.#message;
  }

  constructor(message: Message) {
    this.#message = message;
  }

  // Created on first use: most handlers never look at their signal.
  get signal(): AbortSignal {
    this.#controller ??= new AbortController();
    return this.#controller.signal;
  }
}

/**
 * A consume() handler with its settings. Each call of it runs in a slot: its
 * context is kept there, to abort on timeout or cancel, and its promise
 * reports back through Completions.
 */
export class Handler {
  /** The context of the call running in each slot; undefined for a free slot. */
  readonly #running: Array<HandlerContext | undefined> = [];
  readonly #free: number[] = [];
  /**
   * Delivery tag -> slot, kept only for a consumer with a timeout: a
   * timeout is the one effect that names a running call by its tag.
   */
  readonly #slotOfTag: Map<number, number> | undefined;
  readonly #completions = new Completions((slot, ok, value) => (ok ? this.#fulfilled(slot) : this.#failed(slot, value)));
  /** Stops listening to the consumer's AbortSignal. */
  cleanup: (() => void) | undefined = undefined;

  constructor(
    private readonly runtime: Runtime,
    private readonly queueName: string,
    private readonly handler: MessageHandler<unknown>,
    private readonly autoAck: boolean,
    private readonly timeoutMs: number,
  ) {
    this.#slotOfTag = timeoutMs === wire.NONE ? undefined : new Map();
  }

  deliver(message: Message): void {
    const context = new HandlerContext(message);
    const slot = this.#free.pop() ?? this.#running.length;
    this.#running[slot] = context;
    this.#slotOfTag?.set(tagOf(message), slot);
    let result: unknown;
    try {
      result = this.handler(message, context);
    } catch (error) {
      this.#failed(slot, error);
      return;
    }
    // Ended for it while it ran (it cancelled its own consumer): nothing to wait for.
    if (this.#running[slot] !== context) return;
    if (isThenable(result)) this.#completions.wait(slot, result);
    else this.#fulfilled(slot);
  }

  /**
   * The core failed delivery `tag` at its timeout (a nack, done there). A
   * handler still running is told so and reported as failed; one that had
   * returned without settling it (autoAck: false) only sees it redelivered,
   * as after a lease.
   */
  timedOut(tag: number): void {
    const slot = this.#slotOfTag?.get(tag);
    if (slot === undefined) return;
    const context = this.#end(slot)!;
    const id = messageOf(context).id;
    const error = new FerryError('TIMEOUT', `the handler ran past timeoutMs (${this.timeoutMs} ms) on message ${id}`);
    end(context, error);
    this.#report(id, error);
  }

  // A handler that ends after it was ended for it (its delivery timed out,
  // its consumer was cancelled) is accounted for already: its ack or nack
  // would be stale, and its failure was reported or asked for.

  #fulfilled(slot: number): void {
    const context = this.#end(slot);
    if (context !== undefined && this.autoAck) this.runtime.settleQuietly(Settle.Ack, tagOf(messageOf(context)));
  }

  // A handler that failed nacks (the queue's backoff, then dead-lettering
  // once maxDeliveries is reached) and is reported, never thrown.
  #failed(slot: number, error: unknown): void {
    const context = this.#end(slot);
    if (context === undefined) return;
    const message = messageOf(context);
    this.#report(message.id, error);
    if (this.autoAck) this.runtime.settleQuietly(Settle.Nack, tagOf(message));
  }

  /**
   * The call in `slot` ended: its context, and the slot free for the next;
   * undefined if it was ended for it already (a handler that cancels its own
   * consumer, then returns).
   */
  #end(slot: number): HandlerContext | undefined {
    const context = this.#running[slot];
    if (context === undefined) return undefined;
    this.#running[slot] = undefined;
    this.#slotOfTag?.delete(tagOf(messageOf(context)));
    this.#completions.forget(slot);
    this.#free.push(slot);
    return context;
  }

  #report(id: string, error: unknown): void {
    const listeners = this.runtime.listeners;
    if (listeners.wants('error')) listeners.emit('error', { error, queue: this.queueName, id });
    // Never silent: without a listener, say it where a developer looks.
    else console.error(`ferrymq: a handler of queue ${JSON.stringify(this.queueName)} failed on message ${id}:`, error);
  }

  /** The consumer is cancelled or its broker closed: running handlers are told why. */
  closed(reason: FerryError): void {
    this.cleanup?.();
    const running = [];
    for (let slot = 0; slot < this.#running.length; slot++) {
      const context = this.#end(slot);
      if (context !== undefined) running.push(context);
    }
    for (const context of running) end(context, reason);
  }
}
