// A small assert for scenarios that run both in Node and in a page, where
// node:assert does not exist. Failures throw Errors with readable messages.

const show = (value) => {
  try {
    return JSON.stringify(value) ?? String(value);
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

/** Structural equality of plain data (arrays, objects, primitives). */
export function deepEqual(actual, expected, message = 'values differ') {
  if (show(actual) !== show(expected)) throw new Error(`${message}: expected ${show(expected)}, got ${show(actual)}`);
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
