/** Whether `value` is a promise or promise-like: what callers await rather than take as a result. */
export const isThenable = (value: unknown): value is PromiseLike<unknown> =>
  value !== null && typeof (value as { then?: unknown } | undefined)?.then === 'function';
