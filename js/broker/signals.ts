// AbortSignal plumbing shared by receives, consumers and requests.
import { abortedError, type FerryError } from '../errors.js';

/** A receive, request or consumer stopped by its signal. */
export const operationAborted = (signal: AbortSignal): FerryError => abortedError('the operation', signal);

/** Calls `onAbortFn` when `signal` aborts; returns the function that stops listening. */
export function onAbort(signal: AbortSignal | undefined, onAbortFn: () => void): (() => void) | undefined {
  if (signal === undefined) return undefined;
  signal.addEventListener('abort', onAbortFn, { once: true });
  return () => signal.removeEventListener('abort', onAbortFn);
}
