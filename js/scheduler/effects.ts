// Layout of the effect records the scheduler core hands to JS: a
// Float64Array of [kind, id, attempt, extra] records. Must match
// src/bindings/scheduler.rs.

export const STRIDE = 4;

export const START = 1;
export const TIMED_OUT = 2;          // extra: 1 when a retry follows
export const RETRY = 3;              // attempt: the next one; extra: epoch ms it is due
export const FAILED = 4;
export const GAVE_UP = 5;
export const ABORTED = 6;            // extra: 1 when it was running
export const CLEARED = 7;
export const EMPTY = 8;
export const IDLE = 9;
export const RATE_LIMITED = 10;
export const RATE_LIMIT_CLEARED = 11;
