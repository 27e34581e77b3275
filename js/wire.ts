// Layout of the effect records the broker core hands to JS in one batch:
// a Float64Array of fixed-size records plus an array of the JS values they
// refer to, in order. Must match src/bindings/wire.rs.

export const STRIDE = 8;

// A message id is always at offset 2: its number for generated ids, or NONE
// with the caller's id string as the record's last value.
export const DELIVER = 1;           // consumer, autoId, tag, deliveryCount, redelivered, enqueuedAt, request | payload, headers, [id]
export const WAIT_EXPIRED = 2;      // consumer
export const DEAD_LETTERED = 3;     // queue, autoId, target, reason | [id]
export const EXPIRED = 4;           // queue, autoId | [id]
export const REDELIVERED = 5;       // queue, autoId, deliveryCount | [id]
export const REPLY = 6;             // request | payload
export const REQUEST_TIMED_OUT = 7; // request
export const HANDLER_TIMED_OUT = 8; // consumer, tag

// Numeric fields that may be absent hold -1.
export const NONE = -1;

export const DEAD_LETTER_REASONS = ['expired', 'maxlen', 'rejected', 'delivery-limit'];

/** Seeds the core's random number generator (backoff jitter). */
export const randomSeed = (): number => Math.floor(Math.random() * 2 ** 52);
