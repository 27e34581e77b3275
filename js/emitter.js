// The event API p-queue users call: EventEmitter3's (on/once/off with an
// optional `this` context, emit returning whether anyone listened). As
// there, a listener that throws throws out of emit.

/** Method a subclass defines to hear that `event` got a listener, so it can start producing it. */
export const LISTENING = Symbol('listening');

export class EventEmitter {
  /** event -> [{ fn, context, once }] */
  #events = new Map();

  on(event, fn, context) {
    return this.#add(event, fn, context, false);
  }

  addListener(event, fn, context) {
    return this.#add(event, fn, context, false);
  }

  once(event, fn, context) {
    return this.#add(event, fn, context, true);
  }

  /** Removes the matching listeners (all of `event`'s when `fn` is omitted). */
  off(event, fn, context, once) {
    const list = this.#events.get(event);
    if (list === undefined) return this;
    const kept = fn === undefined ? [] : list.filter((l) =>
      l.fn !== fn || (once && !l.once) || (context !== undefined && l.context !== context));
    if (kept.length === 0) this.#events.delete(event);
    else this.#events.set(event, kept);
    return this;
  }

  removeListener(event, fn, context, once) {
    return this.off(event, fn, context, once);
  }

  removeAllListeners(event) {
    if (event === undefined) this.#events.clear();
    else this.#events.delete(event);
    return this;
  }

  emit(event, ...args) {
    const list = this.#events.get(event);
    if (list === undefined) return false;
    // A copy: listeners may subscribe or unsubscribe while this runs.
    for (const l of [...list]) {
      if (l.once) this.#drop(event, l);
      l.fn.apply(l.context ?? this, args);
    }
    return true;
  }

  listeners(event) {
    return (this.#events.get(event) ?? []).map((l) => l.fn);
  }

  listenerCount(event) {
    return this.#events.get(event)?.length ?? 0;
  }

  eventNames() {
    return [...this.#events.keys()];
  }

  #add(event, fn, context, once) {
    if (typeof fn !== 'function') throw new TypeError('The listener must be a function');
    const list = this.#events.get(event);
    const entry = { fn, context, once };
    if (list === undefined) this.#events.set(event, [entry]);
    else list.push(entry);
    this[LISTENING]?.(event);
    return this;
  }

  #drop(event, entry) {
    const kept = (this.#events.get(event) ?? []).filter((l) => l !== entry);
    if (kept.length === 0) this.#events.delete(event);
    else this.#events.set(event, kept);
  }
}
