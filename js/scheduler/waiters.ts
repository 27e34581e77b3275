// The promises of onIdle(), onEmpty(), onSizeLessThan() and the like: one
// Waiters per kind, released at the moment that kind waits for.

export class Waiters {
  /** [limit, resolve], in the order the waits began: they resolve in that order. */
  #waiting: Array<[limit: number, resolve: () => void]> = [];

  /**
   * A promise resolved at once if `ready`, else by the first release()
   * given a value below `limit` (by default, the next release()).
   */
  wait(ready: boolean, limit = Infinity): Promise<void> {
    if (ready) return Promise.resolve();
    return new Promise((resolve) => this.#waiting.push([limit, resolve]));
  }

  get waiting(): boolean {
    return this.#waiting.length > 0;
  }

  /** Resolves the waits whose limit `value` is below (all of them without a value). */
  release(value = -Infinity): void {
    if (this.#waiting.length === 0) return;
    this.#waiting = this.#waiting.filter(([limit, resolve]) => value >= limit || resolve());
  }
}
