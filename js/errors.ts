// The error types users catch. Rust creates FerryErrors through the factory
// installed by entry points (see boot.ts), so wasm and JS share one class.

/** Every code a FerryError can carry. */
export type ErrorCode =
  | 'CLOSED'
  | 'QUEUE_FULL'
  | 'STALE_DELIVERY'
  | 'TIMEOUT'
  | 'ABORTED'
  | 'CLEARED'
  | 'NOT_SERIALIZABLE'
  | 'STORAGE'
  | 'INVALID_ARGUMENT';

/** Every error ferrymq raises on purpose carries a `code`. */
export class FerryError extends Error {
  override readonly name = 'FerryError' as const;
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** `what` was stopped by an AbortSignal (`cause`: the signal's reason). */
export const abortedError = (what: string, signal: AbortSignal | undefined): FerryError =>
  new FerryError('ABORTED', `${what} was aborted`, { cause: signal?.reason });

/** The storage failed (`cause`: the platform's error). */
export const storageError = (message: string, cause?: unknown): FerryError => new FerryError('STORAGE', message, { cause });

/** `error` as a STORAGE error, unless it already is a FerryError (ours, with its own code). */
export const asStorageError = (error: unknown, message = 'durable storage failed'): FerryError =>
  error instanceof FerryError ? error : storageError(message, error);

/** A TypeError or RangeError naming the argument; `code` lets callers tell them from other errors. */
export type ArgumentError = (TypeError | RangeError) & { code: 'INVALID_ARGUMENT' };

function argumentError(Kind: typeof TypeError | typeof RangeError, argument: string, problem: string): ArgumentError {
  return Object.assign(new Kind(`${argument} ${problem}`), { code: 'INVALID_ARGUMENT' as const });
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'undefined') return String(value);
  return typeof value;
}

/** TypeError with code INVALID_ARGUMENT, naming the argument. */
export const typeError = (argument: string, expected: string, value: unknown): ArgumentError =>
  argumentError(TypeError, argument, `must be ${expected}, got ${describe(value)}`);

/** RangeError with code INVALID_ARGUMENT, naming the argument. */
export const rangeError = (argument: string, expected: string, value: unknown): ArgumentError =>
  argumentError(RangeError, argument, `must be ${expected}, got ${describe(value)}`);
