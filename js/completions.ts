// How the scheduler and the broker's handlers hear that a call they made
// settled, without two closures per call: a promise being waited on holds a
// ticket, and each ticket has one pair of then-callbacks, made once and
// reused by every later wait that gets the ticket. Tickets number at most
// the promises waited on at once (a scheduler's concurrency, say).

// Taken at load: a promise whose `then` was replaced, or a subclass's, must
// not decide how often we are called back.
const then = Promise.prototype.then;

const NO_TICKET = -1;

/**
 * The promises an owner waits on, one per owner id at most (the owner's
 * slot). Each settle is reported once, as `settled(id, ok, value)`;
 * `forget(id)` ends a wait whose call ended otherwise (timed out, aborted,
 * cancelled), so that promise's late settle reaches nobody, whatever the id
 * names by then.
 */
export class Completions {
  readonly #fulfilled: Array<(value: unknown) => void> = [];
  readonly #rejected: Array<(error: unknown) => void> = [];
  /** Bumped when a ticket's wait is forgotten; callbacks report only in their own generation. */
  readonly #generation: number[] = [];
  /** The owner's id for each ticket's wait. */
  readonly #id: number[] = [];
  /** Each owner id's ticket, or NO_TICKET. */
  readonly #ticketOf: number[] = [];
  readonly #free: number[] = [];
  readonly #settled: (id: number, ok: boolean, value: unknown) => void;

  /** `settled(id, ok, value)`: the promise waited on for `id` fulfilled (ok) or rejected. */
  constructor(settled: (id: number, ok: boolean, value: unknown) => void) {
    this.#settled = settled;
  }

  /** Reports `result`'s settle for `id`, unless `forget(id)` comes first. `id` must have no wait. */
  wait(id: number, result: PromiseLike<unknown>): void {
    let ticket = this.#free.pop();
    if (ticket === undefined) {
      ticket = this.#id.length;
      this.#generation.push(0);
      this.#arm(ticket);
    }
    this.#id[ticket] = id;
    this.#ticketOf[id] = ticket;
    // A plain native promise is itself; anything else (a thenable, a
    // subclass) is adopted by one, which settles once, and a `then` that
    // throws becomes a rejection. So each wait reports at most once, and a
    // ticket is reused only after its report or its forget.
    void then.call(Promise.resolve(result), this.#fulfilled[ticket], this.#rejected[ticket]);
  }

  /** The call of `id` ended without its promise settling: a late settle is ignored. Nothing if `id` has no wait. */
  forget(id: number): void {
    const ticket = this.#ticketOf[id] ?? NO_TICKET;
    if (ticket === NO_TICKET) return;
    this.#ticketOf[id] = NO_TICKET;
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
    const id = this.#id[ticket]!;
    this.#ticketOf[id] = NO_TICKET;
    this.#free.push(ticket);
    this.#settled(id, ok, value);
  }
}
