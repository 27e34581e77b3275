// How the scheduler and the broker's handlers hear that a call they made
// settled, without two closures per call: a promise being waited on holds a
// ticket, and each ticket has one pair of then-callbacks, made once and
// reused by every later wait that gets the ticket. Tickets number at most
// the promises waited on at once (a scheduler's concurrency, say).

/** The ticket of no wait. */
export const NO_TICKET = -1;

/**
 * The promises an owner waits on. Each settle is reported once, as
 * `settled(id, ok, value)` with the owner's id given to `wait`; `forget`
 * stops a wait whose call ended otherwise (timed out, aborted, cancelled),
 * so that promise's late settle reaches nobody, whatever the id names by then.
 */
export class Completions {
  readonly #fulfilled: Array<(value: unknown) => void> = [];
  readonly #rejected: Array<(error: unknown) => void> = [];
  /** Bumped when a ticket's wait is forgotten; callbacks report only in their own generation. */
  readonly #generation: number[] = [];
  /** The owner's id for each ticket's wait. */
  readonly #id: number[] = [];
  readonly #free: number[] = [];
  readonly #settled: (id: number, ok: boolean, value: unknown) => void;

  /** `settled(id, ok, value)`: the promise waited on for `id` fulfilled (ok) or rejected. */
  constructor(settled: (id: number, ok: boolean, value: unknown) => void) {
    this.#settled = settled;
  }

  /**
   * Reports `result`'s settle for `id`, unless the ticket this returns is
   * forgotten first. The owner drops its ticket when the settle is reported:
   * the ticket is then free for another wait.
   */
  wait(id: number, result: PromiseLike<unknown>): number {
    let ticket = this.#free.pop();
    if (ticket === undefined) {
      ticket = this.#id.length;
      this.#generation.push(0);
      this.#arm(ticket);
    }
    this.#id[ticket] = id;
    // A native promise settles once; any other thenable is made one, so it
    // cannot call back twice, or throw from its `then`.
    const promise = result instanceof Promise ? result : Promise.resolve(result);
    void promise.then(this.#fulfilled[ticket], this.#rejected[ticket]);
    return ticket;
  }

  /** The call waited on with `ticket`, not reported yet, ended otherwise: its settle is ignored. */
  forget(ticket: number): void {
    this.#generation[ticket]!++;
    this.#arm(ticket);
    this.#free.push(ticket);
  }

  #arm(ticket: number): void {
    const generation = this.#generation[ticket]!;
    // Assigned, not declared: a named function would cost the bundle's
    // keepNames a defineProperty each.
    this.#fulfilled[ticket] = (value) => this.#report(ticket, generation, true, value);
    this.#rejected[ticket] = (error) => this.#report(ticket, generation, false, error);
  }

  #report(ticket: number, generation: number, ok: boolean, value: unknown): void {
    if (this.#generation[ticket] !== generation) return;
    this.#free.push(ticket);
    this.#settled(this.#id[ticket]!, ok, value);
  }
}
