// Event listeners for Broker and Scheduler. A listener that throws does not
// disturb the caller or the other listeners: its error is re-thrown on a
// later microtask, where the host reports it as uncaught.
import { fn } from './validate.js';
import { typeError } from './errors.js';

type Listener = (event: { type: string }) => void;

/** Listeners of a fixed set of events; `payload` objects get `type` added. */
export class Listeners<Event extends string = string> {
  readonly #byEvent = new Map<string, Set<Listener>>();

  constructor(events: readonly Event[]) {
    for (const event of events) this.#byEvent.set(event, new Set());
  }

  /**
   * `listener` takes the event's payload with `type` added (each owner types
   * it per event); returns the function that removes it.
   */
  add(event: Event, listener: (event: never) => void): () => boolean {
    const set = this.#byEvent.get(event);
    if (set === undefined) throw typeError('event', `one of ${[...this.#byEvent.keys()].join(', ')}`, event);
    fn('listener', listener);
    // Wrapped so the same function subscribed twice is two subscriptions.
    const entry: Listener = (e) => (listener as Listener)(e);
    set.add(entry);
    return () => set.delete(entry);
  }

  /** Whether anyone listens to `event`: callers skip building payloads nobody reads. */
  wants(event: Event): boolean {
    return this.#byEvent.get(event)!.size > 0;
  }

  /** Whether anyone listens to any event. */
  get any(): boolean {
    for (const set of this.#byEvent.values()) if (set.size > 0) return true;
    return false;
  }

  emit(event: Event, payload: object): void {
    for (const listener of this.#byEvent.get(event)!) {
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
