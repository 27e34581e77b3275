// Points where a Scheduler subclass inside this package (ferrymq/p-queue)
// changes behaviour. Registered symbols: the p-queue entry is bundled apart
// from the main one and must name the same keys. Not part of the public API.
export const hooks = Object.freeze({
  /** (timeoutMs) => the error a timed-out task rejects with. */
  timeoutError: Symbol.for('ferrymq.scheduler.timeoutError'),
  /** (signal) => the error a task aborted by `signal` rejects with. */
  abortError: Symbol.for('ferrymq.scheduler.abortError'),
  /** () => void, called once a task is queued and before anything starts. */
  added: Symbol.for('ferrymq.scheduler.added'),
});
