// Boundary checks: every argument's type and shape is checked here, before
// it reaches wasm, so bad input becomes a TypeError naming it and never a
// trap. The ranges of the cold paths' options (declareQueue, new
// SchedulerCore, subscribeConsumer) are checked once, in Rust, whose
// RangeErrors name the argument the same way; the hot paths' are here.
import { maxNameBytes } from '../pkg/ferrymq.js';
import { rangeError, typeError } from './errors.js';

/** An options object as given: each allowed key's value, still unchecked. */
export type Given<K extends string> = { readonly [key in K]?: unknown };

/** `undefined` becomes `{}`; unknown keys are rejected so typos don't pass silently. */
export function options<K extends string>(argument: string, value: unknown, allowed: readonly K[]): Given<K> {
  if (value === undefined) return {};
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw typeError(argument, 'an object', value);
  }
  for (const key of Object.keys(value)) {
    if (!(allowed as readonly string[]).includes(key)) throw typeError(`${argument}.${key}`, `one of ${allowed.join(', ')} (unknown option)`, key);
  }
  return value as Given<K>;
}

/**
 * A string that comes back exactly as given: one with a lone surrogate
 * would be stored (UTF-8 in the core) as U+FFFD, and two different ones
 * would become the same name or id.
 */
export function wellFormed(argument: string, value: unknown): string {
  if (typeof value !== 'string') throw typeError(argument, 'a string', value);
  if (!value.isWellFormed()) throw typeError(argument, 'a well-formed string (no lone surrogates)', value);
  return value;
}

export function string(argument: string, value: unknown): string {
  const s = wellFormed(argument, value);
  if (s.length === 0) throw rangeError(argument, 'a non-empty string', value);
  return s;
}

let nameLimit: number | undefined;

/** Whether `value` is at most the core's limit in UTF-8 bytes (a UTF-16 unit is at most 3). */
function withinNameLimit(value: string): boolean {
  nameLimit ??= maxNameBytes();
  if (value.length * 3 <= nameLimit) return true;
  let bytes = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    // A surrogate pair (well-formed by now) is 4 bytes over its 2 units.
    bytes += c < 0x80 ? 1 : c < 0x800 ? 2 : c >= 0xd800 && c <= 0xdfff ? 2 : 3;
  }
  return bytes <= nameLimit!;
}

/** A message id: non-empty, well-formed, within the core's byte limit (checked here, where a batch item's index is known). */
export function name(argument: string, value: unknown): string {
  const s = string(argument, value);
  if (!withinNameLimit(s)) throw rangeError(argument, `at most ${nameLimit} bytes long in UTF-8`, value);
  return s;
}

/** A duration in ms: finite and >= 0. */
export function duration(argument: string, value: unknown): number {
  if (typeof value !== 'number') throw typeError(argument, 'a number of milliseconds', value);
  if (!(value >= 0) || value === Infinity) throw rangeError(argument, 'a finite number of milliseconds >= 0', value);
  return value;
}

/** A number whose range the core checks. */
export function number(argument: string, value: unknown): number {
  if (typeof value !== 'number') throw typeError(argument, 'a number', value);
  return value;
}

/** Any finite number (a priority). */
export function finite(argument: string, value: unknown): number {
  if (typeof value !== 'number') throw typeError(argument, 'a number', value);
  if (!Number.isFinite(value)) throw rangeError(argument, 'a finite number', value);
  return value;
}

/** An integer count in [min, max]. */
export function count(argument: string, value: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number') throw typeError(argument, 'a number', value);
  if (!Number.isInteger(value) || value < min || value > max) throw rangeError(argument, `an integer from ${min} to ${max}`, value);
  return value;
}

export function boolean(argument: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw typeError(argument, 'a boolean', value);
  return value;
}

export function fn<F extends Function = (...args: never[]) => unknown>(argument: string, value: unknown): F {
  if (typeof value !== 'function') throw typeError(argument, 'a function', value);
  return value as F;
}

export function signal(argument: string, value: unknown): AbortSignal {
  const s = value as Partial<AbortSignal> | null | undefined;
  if (typeof s?.aborted !== 'boolean' || typeof s.addEventListener !== 'function') {
    throw typeError(argument, 'an AbortSignal', value);
  }
  return value as AbortSignal;
}

/** The shape of a backoff option { type, baseMs, maxMs?, jitter? }; Rust decodes it and checks its numbers. */
export function backoff(argument: string, value: unknown): void {
  if (value === undefined) return;
  const o = options(argument, value, ['type', 'baseMs', 'maxMs', 'jitter']);
  oneOf(`${argument}.type`, o.type, ['fixed', 'exponential']);
  number(`${argument}.baseMs`, o.baseMs);
  if (o.maxMs !== undefined) number(`${argument}.maxMs`, o.maxMs);
  if (o.jitter !== undefined) boolean(`${argument}.jitter`, o.jitter);
}

/**
 * The shape of a rate limit { max, intervalMs, window?, carryover? } (the
 * Scheduler's and a consumer's); Rust decodes it and checks its numbers.
 * Window 'sliding' (the default) bounds every window; 'fixed' resets at
 * each edge, as p-queue does, and alone may carry over.
 */
export function rateLimit(argument: string, value: unknown): void {
  if (value === undefined) return;
  const o = options(argument, value, ['max', 'intervalMs', 'window', 'carryover']);
  number(`${argument}.max`, o.max);
  number(`${argument}.intervalMs`, o.intervalMs);
  const window = o.window ?? 'sliding';
  if (window !== 'sliding' && window !== 'fixed') throw rangeError(`${argument}.window`, "'sliding' or 'fixed'", window);
  if (o.carryover !== undefined) boolean(`${argument}.carryover`, o.carryover);
}

/**
 * A duration of at least 1 ms (a zero lease or TTL would lose every message;
 * the core counts whole milliseconds, so 0.5 would be zero there).
 */
export function atLeastOneMs(argument: string, value: unknown): number {
  const ms = duration(argument, value);
  if (ms < 1) throw rangeError(argument, 'a number of milliseconds of at least 1', value);
  return ms;
}

export function oneOf<T extends string>(argument: string, value: unknown, allowed: readonly T[]): T {
  if (!(allowed as readonly unknown[]).includes(value)) {
    throw typeError(argument, `one of ${allowed.map((a) => `'${a}'`).join(', ')}`, value);
  }
  return value as T;
}

/** Message headers: a plain object of string values. */
export function headers(argument: string, value: unknown): Record<string, string> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw typeError(argument, 'an object', value);
  for (const [key, v] of Object.entries(value)) {
    wellFormed(`${argument} key ${JSON.stringify(key)}`, key);
    wellFormed(`${argument}.${key}`, v);
  }
  return value as Record<string, string>;
}

/** A topic routing key or binding pattern: dot-separated words (the core checks their form), within the byte limit. */
export function routingKey(argument: string, value: unknown): string {
  const key = wellFormed(argument, value);
  if (!withinNameLimit(key)) throw rangeError(argument, `at most ${nameLimit} bytes long in UTF-8`, value);
  return key;
}
