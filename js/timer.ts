// One host timer per broker or scheduler, armed at the core's next deadline.
// Uses the global setTimeout, so it works in Node, pages and workers.

// setTimeout fires at once for delays above 2^31-1 ms; waking early is harmless.
const MAX_DELAY = 2 ** 31 - 1;

/** What setTimeout returns: a number in browsers, an object with ref/unref in Node. */
type Handle = ReturnType<typeof setTimeout> | number;

export class HostTimer {
  readonly #fire: () => void;
  #handle: Handle | undefined = undefined;
  #at = Infinity;

  /** @param fire called when the armed deadline is reached */
  constructor(fire: () => void) {
    this.#fire = fire;
  }

  /**
   * Arms for epoch-ms `at`, or disarms when `at` is negative (no deadline).
   * Without `keepAlive` the timer does not hold a Node process open.
   */
  arm(at: number, keepAlive = true): void {
    if (at < 0) return this.cancel();
    if (at !== this.#at || this.#handle === undefined) {
      this.cancel();
      this.#at = at;
      this.#handle = setTimeout(() => {
        this.#handle = undefined;
        this.#at = Infinity;
        this.#fire();
      }, Math.min(MAX_DELAY, Math.max(0, at - Date.now())));
    }
    // Node's timers have ref/unref; browsers' are numbers and never hold anything open.
    const handle = this.#handle as Partial<NodeJS.Timeout>;
    if (keepAlive) handle.ref?.();
    else handle.unref?.();
  }

  cancel(): void {
    if (this.#handle !== undefined) clearTimeout(this.#handle);
    this.#handle = undefined;
    this.#at = Infinity;
  }
}
