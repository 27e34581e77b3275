// The numbers of the records the cores hand to JS in one batch: a
// Float64Array of fixed-size records (for the broker, plus an array of the
// few JS values they refer to, in order). Rust defines every one (src/bindings/wire.rs, where
// each record's fields are documented) and exports it as an enum; this file
// only names them as module-level constants, read once, for the hot paths.
// Each table below is a Record over its enum, so tsc fails when Rust adds a
// kind this wrapper does not handle.
import {
  BrokerEffect,
  DeadLetterReason,
  DeliveryFlag,
  RemoteCommand,
  SchedulerEffect,
  Wire,
} from '../pkg/ferrymq.js';

/**
 * `true` when `Named` covers every member of the enum `E`; otherwise the
 * members missing, so `true satisfies Covers<…>` fails to compile naming them.
 */
export type Covers<E, Named> = [Exclude<E, Named>] extends [never] ? true : Exclude<E, Named>;

/** Numeric fields that may be absent hold NONE; records are BROKER_STRIDE (or SCHEDULER_STRIDE) f64s. */
export const {
  None: NONE,
  BrokerStride: BROKER_STRIDE,
  SchedulerStride: SCHEDULER_STRIDE,
  CommandStride: COMMAND_STRIDE,
  ClaimedStride: CLAIMED_STRIDE,
} = Wire;

// Broker effect kinds; a message id field holds NONE for a caller-given id,
// which is then the record's last value.
export const {
  Deliver: DELIVER,
  WaitExpired: WAIT_EXPIRED,
  DeadLettered: DEAD_LETTERED,
  Expired: EXPIRED,
  Redelivered: REDELIVERED,
  Reply: REPLY,
  RequestTimedOut: REQUEST_TIMED_OUT,
  HandlerTimedOut: HANDLER_TIMED_OUT,
  Dropped: DROPPED,
} = BrokerEffect;

/**
 * Whether a broker record's field 2 is a message id: NONE there means a
 * caller-given id, which comes as a JS value beside the records (after a
 * recovered DELIVER's bytes, the only other value a record carries).
 */
export const BROKER_RECORD_HAS_MESSAGE_ID = {
  [BrokerEffect.Deliver]: true,
  [BrokerEffect.WaitExpired]: false,
  [BrokerEffect.DeadLettered]: true,
  [BrokerEffect.Expired]: true,
  [BrokerEffect.Redelivered]: true,
  [BrokerEffect.Reply]: false,
  [BrokerEffect.RequestTimedOut]: false,
  [BrokerEffect.HandlerTimedOut]: false,
  [BrokerEffect.Dropped]: false,
} as const satisfies Record<BrokerEffect, boolean>;

/** Bits of a DELIVER record's flags field. */
export const { Redelivered: FLAG_REDELIVERED, Recovered: FLAG_RECOVERED } = DeliveryFlag;
true satisfies Covers<DeliveryFlag, typeof FLAG_REDELIVERED | typeof FLAG_RECOVERED>;

/** A DEAD_LETTERED record's reason, as the 'dead-letter' event names it. */
export const DEAD_LETTER_REASONS = {
  [DeadLetterReason.Expired]: 'expired',
  [DeadLetterReason.MaxLen]: 'maxlen',
  [DeadLetterReason.Rejected]: 'rejected',
  [DeadLetterReason.DeliveryLimit]: 'delivery-limit',
} as const satisfies Record<DeadLetterReason, string>;

// Scheduler effect kinds: records of [kind, task slot, attempt, extra] (SCHEDULER_STRIDE).
export const {
  Start: START,
  TimedOut: TIMED_OUT,
  Retry: RETRY,
  Failed: FAILED,
  GaveUp: GAVE_UP,
  Aborted: ABORTED,
  Cleared: CLEARED,
  Empty: EMPTY,
  Idle: IDLE,
  RateLimited: RATE_LIMITED,
  RateLimitCleared: RATE_LIMIT_CLEARED,
} = SchedulerEffect;
true satisfies Covers<
  SchedulerEffect,
  | typeof START
  | typeof TIMED_OUT
  | typeof RETRY
  | typeof FAILED
  | typeof GAVE_UP
  | typeof ABORTED
  | typeof CLEARED
  | typeof EMPTY
  | typeof IDLE
  | typeof RATE_LIMITED
  | typeof RATE_LIMIT_CLEARED
>;

// What a broker kept on a server asks its host to run there: records of
// [kind, queue, seq, tag, extra] (COMMAND_STRIDE).
export const { Claim: CLAIM, Release: RELEASE, Fail: FAIL, Nack: NACK } = RemoteCommand;
export type { RemoteCommand };
true satisfies Covers<RemoteCommand, typeof CLAIM | typeof RELEASE | typeof FAIL | typeof NACK>;

/** Seeds the core's random number generator (backoff jitter). */
export const randomSeed = (): number => Math.floor(Math.random() * 2 ** 52);
