// AbortSignal plumbing shared by receives, consumers and requests.
import { FerryError } from '../errors.js';

export const abortedError = (signal: AbortSignal): FerryError =>
  new FerryError('ABORTED', 'the operation was aborted', { cause: signal.reason });

/** Calls `onAbortFn` when `signal` aborts; returns the function that stops listening. */
export function onAbort(signal: AbortSignal | undefined, onAbortFn: () => void): (() => void) | undefined {
  if (signal === undefined) return undefined;
  signal.addEventListener('abort', onAbortFn, { once: true });
  return () => signal.removeEventListener('abort', onAbortFn);
}
