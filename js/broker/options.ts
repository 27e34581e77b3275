// The broker's options, checked and flattened to the numbers the core takes.
// Every check names the argument, so a bad call throws before the core sees
// it and changes nothing.
import type { FlatBackoff, FlatRateLimit } from '../validate.js';
import * as check from '../validate.js';
import { rangeError, typeError } from '../errors.js';
import * as wire from '../wire.js';
import type { DeadLetterTarget } from '../../pkg/ferrymq.js';

export const MAX_BATCH = 100_000;
const MAX_PREFETCH = 65_535;

const QUEUE_OPTIONS = [
  'maxLength', 'overflow', 'ttlMs', 'leaseMs', 'maxDeliveries', 'backoff', 'deadLetter', 'dedupWindowMs', 'durable',
] as const;
const SEND_OPTIONS = ['id', 'priority', 'delayMs', 'ttlMs', 'headers'] as const;
const RECEIVE_OPTIONS = ['waitMs', 'signal'] as const;
const CONSUME_OPTIONS = ['prefetch', 'autoAck', 'signal', 'rateLimit', 'timeoutMs'] as const;
const REQUEST_OPTIONS = ['timeoutMs', 'signal'] as const;
const NACK_OPTIONS = ['requeue', 'delayMs'] as const;
export const BROKER_OPTIONS = ['storage'] as const;
export const BATCH_ITEM = ['payload', ...SEND_OPTIONS] as const;

/** The arguments of `BrokerCore.declareQueue` after the name. */
export type QueueArguments = [
  maxLength: number,
  dropOldest: boolean,
  ttlMs: number,
  leaseMs: number,
  maxDeliveries: number,
  ...backoff: FlatBackoff,
  deadLetter: DeadLetterTarget,
  deadLetterName: string | undefined,
  dedupWindowMs: number,
  durable: boolean,
];

/** Queue options for `name`; `durable` defaults to whether the broker is. */
export function queueArguments(name: string, options: unknown, durableBroker: boolean): QueueArguments {
  const o = check.options('options', options, QUEUE_OPTIONS);
  // The core refuses it too; here it is a RangeError naming the option.
  if (o.deadLetter === name) throw rangeError('options.deadLetter', 'another queue than the queue itself', name);
  const overflow = o.overflow === undefined ? 'reject' : check.oneOf('options.overflow', o.overflow, ['reject', 'drop-oldest']);
  let deadLetter: DeadLetterTarget = wire.DEAD_LETTER_DEFAULT;
  let deadLetterName: string | undefined;
  if (o.deadLetter === null) deadLetter = wire.DEAD_LETTER_DISCARD;
  else if (o.deadLetter !== undefined) {
    [deadLetter, deadLetterName] = [wire.DEAD_LETTER_NAMED, check.name('options.deadLetter', o.deadLetter)];
  }
  return [
    o.maxLength === undefined ? wire.NONE : check.count('options.maxLength', o.maxLength, 1),
    overflow === 'drop-oldest',
    o.ttlMs === undefined ? wire.NONE : check.positive('options.ttlMs', o.ttlMs),
    o.leaseMs === undefined ? wire.NONE : check.positive('options.leaseMs', o.leaseMs),
    o.maxDeliveries === undefined ? wire.NONE : check.count('options.maxDeliveries', o.maxDeliveries, 1, 2 ** 32 - 1),
    ...check.backoff('options.backoff', o.backoff),
    deadLetter,
    deadLetterName,
    o.dedupWindowMs === undefined ? wire.NONE : check.positive('options.dedupWindowMs', o.dedupWindowMs),
    o.durable === undefined ? durableBroker : check.boolean('options.durable', o.durable) && durableBroker,
  ];
}

/** Send options as [id, priority, delayMs, ttlMs, headers]. */
export type SendArguments = readonly [
  id: string | undefined,
  priority: number,
  delayMs: number,
  ttlMs: number,
  headers: Record<string, string> | undefined,
];

// A send without options allocates nothing for them.
const DEFAULT_SEND: SendArguments = Object.freeze([undefined, 0, 0, wire.NONE, undefined] as const);

/** `allowed`: the keys `options` may have (a batch item also has its payload). */
export function sendArguments(
  argument: string,
  options: unknown,
  allowed: readonly string[] = SEND_OPTIONS,
): SendArguments {
  if (options === undefined) return DEFAULT_SEND;
  const o = check.options(argument, options, allowed as readonly (typeof SEND_OPTIONS)[number][]);
  return [
    o.id === undefined ? undefined : check.name(`${argument}.id`, o.id),
    o.priority === undefined ? 0 : check.count(`${argument}.priority`, o.priority, 0, 9),
    o.delayMs === undefined ? 0 : check.duration(`${argument}.delayMs`, o.delayMs),
    o.ttlMs === undefined ? wire.NONE : check.positive(`${argument}.ttlMs`, o.ttlMs),
    o.headers === undefined ? undefined : check.headers(`${argument}.headers`, o.headers),
  ];
}

export type ReceiveArguments = [waitMs: number, signal: AbortSignal | undefined];

export function receiveArguments(options: unknown): ReceiveArguments {
  const o = check.options('options', options, RECEIVE_OPTIONS);
  return [
    o.waitMs === undefined ? 0 : check.duration('options.waitMs', o.waitMs),
    o.signal === undefined ? undefined : check.signal('options.signal', o.signal),
  ];
}

export interface ConsumeArguments {
  prefetch: number;
  autoAck: boolean;
  signal: AbortSignal | undefined;
  rate: FlatRateLimit;
  /** NONE without one. */
  timeoutMs: number;
}

export function consumeArguments(options: unknown): ConsumeArguments {
  const o = check.options('options', options, CONSUME_OPTIONS);
  return {
    prefetch: o.prefetch === undefined ? 1 : check.count('options.prefetch', o.prefetch, 1, MAX_PREFETCH),
    autoAck: o.autoAck === undefined ? true : check.boolean('options.autoAck', o.autoAck),
    signal: o.signal === undefined ? undefined : check.signal('options.signal', o.signal),
    rate: check.rateLimit('options.rateLimit', o.rateLimit),
    // At least 1 ms, as the core counts whole ones: zero would fail every handler.
    timeoutMs: o.timeoutMs === undefined ? wire.NONE : check.positive('options.timeoutMs', o.timeoutMs),
  };
}

export type RequestArguments = [timeoutMs: number, signal: AbortSignal | undefined];

export function requestArguments(options: unknown): RequestArguments {
  const o = check.options('options', options, REQUEST_OPTIONS);
  return [
    o.timeoutMs === undefined ? wire.NONE : check.positive('options.timeoutMs', o.timeoutMs),
    o.signal === undefined ? undefined : check.signal('options.signal', o.signal),
  ];
}

export type NackArguments = [requeue: boolean, delayMs: number];

export function nackArguments(options: unknown): NackArguments {
  const o = check.options('options', options, NACK_OPTIONS);
  return [
    o.requeue === undefined ? true : check.boolean('options.requeue', o.requeue),
    o.delayMs === undefined ? wire.NONE : check.duration('options.delayMs', o.delayMs),
  ];
}

/** Where a broker keeps its log, checked: 'memory', { file: path } or { indexedDb: name }. */
export type StorageOption = 'memory' | Record<'file' | 'indexedDb', string>;

export function storageOption(value: unknown): StorageOption {
  if (value === undefined || value === 'memory') return 'memory';
  const o = check.options('options.storage', value, ['file', 'indexedDb']);
  const keys = Object.keys(o) as ('file' | 'indexedDb')[];
  if (keys.length !== 1) throw typeError('options.storage', "'memory', { file: path } or { indexedDb: name }", value);
  check.string(`options.storage.${keys[0]}`, o[keys[0]!]);
  return o as Record<'file' | 'indexedDb', string>;
}
