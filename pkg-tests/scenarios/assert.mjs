// A small assert for scenarios that run both in Node and in a page, where
// node:assert does not exist. Failures throw Errors with readable messages.

// For messages only: what the values look like, -0 and undefined included.
const show = (value) => {
  try {
    return (
      JSON.stringify(value, (_, v) => {
        if (Object.is(v, -0)) return '-0';
        if (v === undefined) return 'undefined';
        if (ArrayBuffer.isView(v)) return `${v.constructor.name}[${Array.from(v)}]`;
        return v;
      }) ?? String(value)
    );
  } catch {
    return String(value);
  }
};

export function ok(value, message = 'expected a truthy value') {
  if (!value) throw new Error(`${message}: got ${show(value)}`);
}

export function equal(actual, expected, message = 'values differ') {
  if (!Object.is(actual, expected)) throw new Error(`${message}: expected ${show(expected)}, got ${show(actual)}`);
}

/**
 * Structural equality: primitives by Object.is (-0 is not 0, NaN is NaN),
 * the same prototype, the same own keys (a key holding undefined counts, a
 * hole does not), typed arrays and ArrayBuffers by bytes, Maps and Sets by
 * entries, Dates by time.
 */
function same(a, b, seen) {
  if (Object.is(a, b)) return true;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  if (seen.get(a) === b) return true;
  seen.set(a, b);
  if (a instanceof Date) return Object.is(a.getTime(), b.getTime());
  if (a instanceof ArrayBuffer) return same(new Uint8Array(a), new Uint8Array(b), seen);
  if (ArrayBuffer.isView(a) && !(a instanceof DataView)) {
    return a.length === b.length && a.every((x, i) => Object.is(x, b[i]));
  }
  if (a instanceof Map) return a.size === b.size && [...a].every(([k, v]) => b.has(k) && same(v, b.get(k), seen));
  if (a instanceof Set) return a.size === b.size && [...a].every((v) => b.has(v));
  const keys = Reflect.ownKeys(a);
  if (keys.length !== Reflect.ownKeys(b).length) return false;
  return keys.every((k) => Object.prototype.hasOwnProperty.call(b, k) && same(a[k], b[k], seen));
}

export function deepEqual(actual, expected, message = 'values differ') {
  if (!same(actual, expected, new Map())) throw new Error(`${message}: expected ${show(expected)}, got ${show(actual)}`);
}

function check(error, expected) {
  if (typeof expected === 'function' && expected.prototype instanceof Error) return error instanceof expected;
  if (typeof expected === 'function') return expected(error) === true;
  if (expected instanceof RegExp) return expected.test(String(error?.message ?? error));
  return Object.entries(expected).every(([key, value]) => error?.[key] === value);
}

/** `expected`: an Error class, a predicate, a RegExp for the message, or an object of fields. */
export function throws(fn, expected, message = 'expected a throw') {
  try {
    fn();
  } catch (error) {
    if (!check(error, expected)) throw new Error(`${message}: wrong error ${show(String(error))}`);
    return;
  }
  throw new Error(`${message}: nothing was thrown`);
}

export async function rejects(promise, expected, message = 'expected a rejection') {
  try {
    await promise;
  } catch (error) {
    if (!check(error, expected)) throw new Error(`${message}: wrong error ${show(String(error))}`);
    return;
  }
  throw new Error(`${message}: the promise fulfilled`);
}
