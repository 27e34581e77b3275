// Points where a Scheduler subclass inside this package (ferrymq/p-queue)
// changes behaviour. Registered symbols: the p-queue entry is bundled apart
// from the main one and must name the same keys. Not part of the public API.

/** (timeoutMs) => the error a timed-out task rejects with. */
export const timeoutError: unique symbol = Symbol.for('ferrymq.scheduler.timeoutError');
/** (signal) => the error a task aborted by `signal` rejects with. */
export const abortError: unique symbol = Symbol.for('ferrymq.scheduler.abortError');
/** () => void, called once a task is queued and before anything starts. */
export const added: unique symbol = Symbol.for('ferrymq.scheduler.added');

/** The hooks as methods of the Scheduler, which its runner calls. */
export interface Hooks {
  [timeoutError](timeoutMs: number | undefined): unknown;
  [abortError](signal: AbortSignal | undefined): unknown;
  [added](): void;
}
