// The AbortSignals given to tasks, watched with one abort listener per
// signal while it has unfinished tasks, rather than one per task.

interface Watched<K> {
  readonly ids: Set<K>;
  readonly listener: () => void;
}

export class SignalWatch<K> {
  /**
   * signal -> its unfinished tasks and the listener watching
   * it. A task finishing forgets its id in O(1); the last one also removes
   * the listener, so a long-lived signal does not keep this scheduler alive.
   * Weak, so a signal nobody holds is not kept.
   */
  readonly #watched = new WeakMap<AbortSignal, Watched<K>>();
  readonly #onAbort: (ids: Set<K>) => void;

  /** @param onAbort called with a signal's unfinished tasks when it aborts */
  constructor(onAbort: (ids: Set<K>) => void) {
    this.#onAbort = onAbort;
  }

  watch(signal: AbortSignal, id: K): void {
    let watched = this.#watched.get(signal);
    if (watched === undefined) {
      watched = { ids: new Set<K>(), listener: () => this.#aborted(signal) };
      this.#watched.set(signal, watched);
      signal.addEventListener('abort', watched.listener, { once: true });
    }
    watched.ids.add(id);
  }

  forget(signal: AbortSignal, id: K): void {
    const watched = this.#watched.get(signal);
    if (watched === undefined || !watched.ids.delete(id) || watched.ids.size > 0) return;
    this.#watched.delete(signal);
    signal.removeEventListener('abort', watched.listener);
  }

  #aborted(signal: AbortSignal): void {
    const watched = this.#watched.get(signal);
    this.#watched.delete(signal);
    if (watched !== undefined) this.#onAbort(watched.ids);
  }
}
