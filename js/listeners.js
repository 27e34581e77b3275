// Event listeners for Broker and Scheduler. A listener that throws does not
// disturb the caller or the other listeners: its error is re-thrown on a
// later microtask, where the host reports it as uncaught.
import { fn } from './validate.js';
import { typeError } from './errors.js';

export class Listeners {
  #byEvent = new Map();

  constructor(events) {
    for (const event of events) this.#byEvent.set(event, new Set());
  }

  /** Returns the function that removes the listener. */
  add(event, listener) {
    const set = this.#byEvent.get(event);
    if (set === undefined) throw typeError('event', `one of ${[...this.#byEvent.keys()].join(', ')}`, event);
    fn('listener', listener);
    // Wrapped so the same function subscribed twice is two subscriptions.
    const entry = (e) => listener(e);
    set.add(entry);
    return () => set.delete(entry);
  }

  /** Whether anyone listens to `event`: callers skip building payloads nobody reads. */
  wants(event) {
    return this.#byEvent.get(event).size > 0;
  }

  /** Whether anyone listens to any event. */
  get any() {
    for (const set of this.#byEvent.values()) if (set.size > 0) return true;
    return false;
  }

  emit(event, payload) {
    for (const listener of this.#byEvent.get(event)) {
      try {
        listener({ type: event, ...payload });
      } catch (error) {
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }
}
