// The event API p-queue users call: EventEmitter3's (on/once/off with an
// optional `this` context, emit returning whether anyone listened). As
// there, a listener that throws throws out of emit.

/** Method a subclass defines to hear that `event` got a listener, so it can start producing it. */
export const LISTENING: unique symbol = Symbol('listening');

/** Any function: what it is called with depends on the event. */
export type Listener = (...args: never[]) => void;
/** A listener as kept: called with whatever the event's emit passes. */
type Called = (...args: unknown[]) => void;

interface Entry {
  readonly fn: Called;
  readonly context: unknown;
  readonly once: boolean;
}

export class EventEmitter<E extends string = string> {
  readonly #events = new Map<E, Entry[]>();

  /** @internal */
  [LISTENING]?(event: E): void;

  on(event: E, fn: Listener, context?: unknown): this {
    return this.#add(event, fn, context, false);
  }

  addListener(event: E, fn: Listener, context?: unknown): this {
    return this.#add(event, fn, context, false);
  }

  once(event: E, fn: Listener, context?: unknown): this {
    return this.#add(event, fn, context, true);
  }

  /** Removes the matching listeners (all of `event`'s when `fn` is omitted). */
  off(event: E, fn?: Listener, context?: unknown, once?: boolean): this {
    const list = this.#events.get(event);
    if (list === undefined) return this;
    const kept = fn === undefined ? [] : list.filter((l) =>
      l.fn !== fn || (once && !l.once) || (context !== undefined && l.context !== context));
    if (kept.length === 0) this.#events.delete(event);
    else this.#events.set(event, kept);
    return this;
  }

  removeListener(event: E, fn?: Listener, context?: unknown, once?: boolean): this {
    return this.off(event, fn, context, once);
  }

  removeAllListeners(event?: E): this {
    if (event === undefined) this.#events.clear();
    else this.#events.delete(event);
    return this;
  }

  emit(event: E, ...args: unknown[]): boolean {
    const list = this.#events.get(event);
    if (list === undefined) return false;
    // Never changed in place (#add, off and #drop replace it), so listeners
    // subscribing or unsubscribing while this runs do not disturb the loop.
    for (const l of list) {
      if (l.once) this.#drop(event, l);
      l.fn.apply(l.context ?? this, args);
    }
    return true;
  }

  listeners(event: E): Called[] {
    return (this.#events.get(event) ?? []).map((l) => l.fn);
  }

  listenerCount(event: E): number {
    return this.#events.get(event)?.length ?? 0;
  }

  eventNames(): E[] {
    return [...this.#events.keys()];
  }

  #add(event: E, fn: Listener, context: unknown, once: boolean): this {
    if (typeof fn !== 'function') throw new TypeError('The listener must be a function');
    const list = this.#events.get(event);
    // Emitters of an event pass what its listeners take.
    const entry = { fn: fn as Called, context, once };
    if (list === undefined) this.#events.set(event, [entry]);
    else this.#events.set(event, [...list, entry]);
    this[LISTENING]?.(event);
    return this;
  }

  #drop(event: E, entry: Entry): void {
    const kept = (this.#events.get(event) ?? []).filter((l) => l !== entry);
    if (kept.length === 0) this.#events.delete(event);
    else this.#events.set(event, kept);
  }
}
