// The promises of onIdle(), onEmpty(), onSizeLessThan() and the like: one
// Waiters per kind, released at the moment that kind waits for, or all
// rejected at once if the scheduler stops (its instance died).

type Waiting = [limit: number, resolve: () => void, reject: (error: unknown) => void];

export class Waiters {
  /** In the order the waits began: they resolve in that order. */
  #waiting: Waiting[] = [];
  /** Why every wait fails from now on; undefined while the scheduler works. */
  #failure: { error: unknown } | undefined = undefined;

  /**
   * A promise resolved at once if `ready()`, else by the first release()
   * given a value below `limit` (by default, the next release()).
   */
  wait(ready: () => boolean, limit = Infinity): Promise<void> {
    if (this.#failure !== undefined) return Promise.reject(this.#failure.error);
    if (ready()) return Promise.resolve();
    return new Promise((resolve, reject) => this.#waiting.push([limit, resolve, reject]));
  }

  get waiting(): boolean {
    return this.#waiting.length > 0;
  }

  /** Resolves the waits whose limit `value` is below (all of them without a value). */
  release(value = -Infinity): void {
    if (this.#waiting.length === 0) return;
    this.#waiting = this.#waiting.filter(([limit, resolve]) => value >= limit || resolve());
  }

  /** Rejects every wait, now and later, with `error`. */
  fail(error: unknown): void {
    this.#failure = { error };
    const waiting = this.#waiting;
    this.#waiting = [];
    for (const [, , reject] of waiting) reject(error);
  }
}
