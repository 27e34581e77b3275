// The Scheduler as ferrymq/p-queue runs it: rejecting with p-queue's
// errors (TimeoutError, the signal's reason), announcing each add, and
// running tasks the way p-queue does.
import { Scheduler } from '../api.js';
import * as hooks from '../hooks.js';
import { isThenable } from '../promises.js';
import type { SchedulerOptions, TaskContext } from '../types.js';
import { TimeoutError } from './timeout-error.js';
import type { Task } from './types.js';

/** The Scheduler, rejecting with p-queue's errors and announcing each add. */
export class Engine extends Scheduler {
  readonly #onAdded: () => void;

  constructor(options: SchedulerOptions, onAdded: () => void) {
    super(options);
    this.#onAdded = onAdded;
  }

  override [hooks.timeoutError](timeoutMs: number | undefined): TimeoutError {
    // The timed-out attempt has already left `pending`; p-queue counts it.
    const running = this.pending + 1;
    return new TimeoutError(`Task timed out after ${timeoutMs}ms (queue has ${running} running, ${this.size} waiting)`);
  }

  override [hooks.abortError](signal: AbortSignal | undefined): unknown {
    return signal?.reason;
  }

  override [hooks.added](): void {
    this.#onAdded();
  }
}

/**
 * `fn` as a task that settles no sooner than a microtask after it returns.
 * In p-queue a task holds its slot until then, even a synchronous one, so
 * add() never starts the next task before returning; given a plain value
 * the Scheduler would free the slot, and start the next, inside the call.
 */
export const settlingLater = <T>(fn: Task<T>) => (context: TaskContext): PromiseLike<T> => {
  try {
    const result = fn(context);
    return isThenable(result) ? (result as PromiseLike<T>) : Promise.resolve(result);
  } catch (error) {
    return Promise.reject(error);
  }
};
