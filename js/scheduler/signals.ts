// The AbortSignals given to tasks, watched with one abort listener per
// signal for its whole life rather than one per task.

export class SignalWatch {
  /**
   * signal -> the core ids of its unfinished tasks. A task finishing forgets
   * its id in O(1). Weak, so a signal nobody holds is not kept.
   */
  readonly #ids = new WeakMap<AbortSignal, Set<number>>();
  readonly #onAbort: (ids: Set<number>) => void;

  /** @param onAbort called with the ids of a signal's unfinished tasks when it aborts */
  constructor(onAbort: (ids: Set<number>) => void) {
    this.#onAbort = onAbort;
  }

  watch(signal: AbortSignal, id: number): void {
    let ids = this.#ids.get(signal);
    if (ids === undefined) {
      ids = new Set();
      this.#ids.set(signal, ids);
      signal.addEventListener('abort', () => this.#aborted(signal), { once: true });
    }
    ids.add(id);
  }

  forget(signal: AbortSignal, id: number): void {
    this.#ids.get(signal)?.delete(id);
  }

  #aborted(signal: AbortSignal): void {
    const ids = this.#ids.get(signal);
    this.#ids.delete(signal);
    if (ids !== undefined) this.#onAbort(ids);
  }
}
