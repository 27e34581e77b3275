// The error types users catch. Rust creates FerryErrors through the factory
// installed by entry points (see api.js), so wasm and JS share one class.

export class FerryError extends Error {
  /**
   * @param {string} code one of the codes in the API spec
   * @param {string} message
   * @param {{ cause?: unknown }} [options]
   */
  constructor(code, message, options) {
    super(message, options);
    this.name = 'FerryError';
    this.code = code;
  }
}

function argumentError(Kind, argument, problem) {
  const error = new Kind(`${argument} ${problem}`);
  error.code = 'INVALID_ARGUMENT';
  return error;
}

function describe(value) {
  if (value === null) return 'null';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'undefined') return String(value);
  return typeof value;
}

/** TypeError with code INVALID_ARGUMENT, naming the argument. */
export const typeError = (argument, expected, value) =>
  argumentError(TypeError, argument, `must be ${expected}, got ${describe(value)}`);

/** RangeError with code INVALID_ARGUMENT, naming the argument. */
export const rangeError = (argument, expected, value) =>
  argumentError(RangeError, argument, `must be ${expected}, got ${describe(value)}`);
