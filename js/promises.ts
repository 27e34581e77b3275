// Small promise helpers shared by the broker, the scheduler and p-queue.

/** Whether `value` is a promise or promise-like: what callers await rather than take as a result. */
export const isThenable = (value: unknown): value is PromiseLike<unknown> =>
  value !== null && typeof (value as { then?: unknown } | undefined)?.then === 'function';

/** Does nothing: a catch handler that marks a rejection handled. */
export const noop = (): void => {};
