// A durable broker's way to its log: everything the core recorded since the
// last commit is sealed into one epoch (group commit: one append and sync for
// all of it), written behind earlier commits, and then the calls waiting for
// it resolve and the core releases the effects that waited for those
// records. JS only runs the file steps the core decides, in order.
import type { BrokerCore } from '../../pkg/ferrymq.js';
import { asStorageError, type FerryError } from '../errors.js';
import type { CallNote, OpenStorage, Step } from '../storage.js';

interface CommitWaiter {
  resolve(): void;
  reject(error: unknown): void;
}

export class Commits {
  /** Commits run one after another on this chain. */
  #io: Promise<void> = Promise.resolve();
  /** Calls waiting for the next commit to be persisted. */
  #waiters: CommitWaiter[] = [];
  /** Notes for the next commit: they are written with the changes they answer. */
  #notes: CallNote[] = [];
  /** The storage error that stopped the broker; later commits must not run. */
  #failure: FerryError | undefined = undefined;

  /**
   * `core()`: the broker's core now (it is replaced when the instance dies);
   * `failed(error)`: the broker stops, as memory is ahead of its log.
   */
  constructor(
    readonly storage: OpenStorage,
    private readonly core: () => BrokerCore,
    private readonly isClosed: () => boolean,
    private readonly failed: (error: FerryError) => void,
  ) {}

  /** Resolves once everything done so far is in the log; call `commit` (a flush does) to get there. */
  persisted(): Promise<void> {
    return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }

  /** Writes `note` with the next commit, which holds everything recorded so far. */
  note(note: CallNote): void {
    this.#notes.push(note);
  }

  /** Seals what was recorded since the last commit and writes it behind the earlier ones. */
  commit(): void {
    const steps: Step[] = [];
    const waiters = this.#waiters;
    this.#waiters = [];
    const notes = this.#notes;
    this.#notes = [];
    let epoch: number;
    let refused: unknown;
    try {
      epoch = this.core().commit(steps as unknown[]);
    } catch (error) {
      refused = error;
    }
    this.#io = this.#io
      .then(() => {
        // After a failure the log is behind memory: nothing more may be written.
        if (this.#failure !== undefined) throw this.#failure;
        if (refused !== undefined) throw refused;
        return steps.length > 0 || notes.length > 0 ? this.storage.run(steps, notes) : undefined;
      })
      .then(() => {
        for (const waiter of waiters) waiter.resolve();
        if (!this.isClosed()) this.core().committed(epoch);
      })
      .catch((error: unknown) => {
        const failure = asStorageError(error);
        for (const waiter of waiters) waiter.reject(failure);
        this.#failure ??= failure;
        this.failed(failure);
      });
  }

  /** Every commit started so far has ended. */
  settled(): Promise<void> {
    return this.#io;
  }

  /** The broker stopped (`reason`): calls still waiting for a commit end with it. */
  abandon(reason: unknown): void {
    for (const waiter of this.#waiters) waiter.reject(reason);
    this.#waiters = [];
  }
}
