// What a core consumer id stands for in JS: a Waiter (one receive that is
// waiting) or a Handler (a consume() callback). The Runtime routes each
// DELIVER effect to one of them.
import { FerryError } from '../errors.js';
import { isThenable } from '../promises.js';
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

/** A consume() handler with its settings. */
export class Handler {
  /** Delivery tag -> context of each handler call still running, to abort on timeout or cancel. */
  readonly #running = new Map<number, HandlerContext>();
  /** Stops listening to the consumer's AbortSignal. */
  cleanup: (() => void) | undefined = undefined;

  constructor(
    private readonly runtime: Runtime,
    private readonly queueName: string,
    private readonly handler: MessageHandler<unknown>,
    private readonly autoAck: boolean,
    private readonly timeoutMs: number,
  ) {}

  deliver(message: Message): void {
    const tag = tagOf(message);
    const context = new HandlerContext(message);
    this.#running.set(tag, context);
    let result: unknown;
    try {
      result = this.handler(message, context);
    } catch (error) {
      this.#failed(message, error);
      return;
    }
    if (isThenable(result)) {
      result.then(
        () => this.#fulfilled(message),
        (error: unknown) => this.#failed(message, error),
      );
    } else {
      this.#fulfilled(message);
    }
  }

  /**
   * The core failed delivery `tag` at its timeout (a nack, done there). A
   * handler still running is told so and reported as failed; one that had
   * returned without settling it (autoAck: false) only sees it redelivered,
   * as after a lease.
   */
  timedOut(tag: number): void {
    const context = this.#running.get(tag);
    if (context === undefined) return;
    this.#running.delete(tag);
    const id = messageOf(context).id;
    const error = new FerryError('TIMEOUT', `the handler ran past timeoutMs (${this.timeoutMs} ms) on message ${id}`);
    end(context, error);
    this.#report(id, error);
  }

  // A handler that ends after it was ended for it (its delivery timed out,
  // its consumer was cancelled) is accounted for already: its ack or nack
  // would be stale, and its failure was reported or asked for.

  #fulfilled(message: Message): void {
    if (this.#running.delete(tagOf(message)) && this.autoAck) this.runtime.settleQuietly(Settle.Ack, tagOf(message));
  }

  // A handler that failed nacks (the queue's backoff, then dead-lettering
  // once maxDeliveries is reached) and is reported, never thrown.
  #failed(message: Message, error: unknown): void {
    if (!this.#running.delete(tagOf(message))) return;
    this.#report(message.id, error);
    if (this.autoAck) this.runtime.settleQuietly(Settle.Nack, tagOf(message));
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
    const running = [...this.#running.values()];
    this.#running.clear();
    for (const context of running) end(context, reason);
  }
}
