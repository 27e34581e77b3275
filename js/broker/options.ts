// The broker's options, checked: the hot paths' flattened to the numbers the
// core takes, the cold paths' (queue, consume) shape-checked and passed on
// as objects, whose ranges Rust checks. Every check names the argument, so
// a bad call throws before the core changes anything.
import * as check from '../validate.js';
import { typeError } from '../errors.js';
import * as wire from '../wire.js';

export const MAX_BATCH = 100_000;

const QUEUE_OPTIONS = [
  'maxLength', 'overflow', 'ttlMs', 'leaseMs', 'maxDeliveries', 'backoff', 'deadLetter', 'dedupWindowMs', 'durable',
] as const;
const SEND_OPTIONS = ['id', 'priority', 'delayMs', 'ttlMs', 'headers'] as const;
const RECEIVE_OPTIONS = ['waitMs', 'signal'] as const;
const CONSUME_OPTIONS = ['prefetch', 'autoAck', 'signal', 'rateLimit', 'timeoutMs'] as const;
const REQUEST_OPTIONS = ['timeoutMs', 'signal'] as const;
const NACK_OPTIONS = ['requeue', 'delayMs'] as const;
export const BROKER_OPTIONS = ['storage', 'exclusive'] as const;
export const BATCH_ITEM = ['payload', ...SEND_OPTIONS] as const;

/** `declareQueue`'s options: numbers still to be checked by Rust, `durable` only on a durable broker. */
export type QueueArguments = check.Given<(typeof QUEUE_OPTIONS)[number]> & { durable: boolean };

/** Queue options, shape-checked; `durable` defaults to whether the broker is. */
export function queueArguments(options: unknown, durableBroker: boolean): QueueArguments {
  const o = check.options('options', options, QUEUE_OPTIONS);
  for (const key of ['maxLength', 'ttlMs', 'leaseMs', 'maxDeliveries', 'dedupWindowMs'] as const) {
    if (o[key] !== undefined) check.number(`options.${key}`, o[key]);
  }
  if (o.overflow !== undefined) check.oneOf('options.overflow', o.overflow, ['reject', 'drop-oldest']);
  check.backoff('options.backoff', o.backoff);
  // null discards dead letters; the core checks a name's length, and that it is another queue's.
  if (o.deadLetter !== undefined && o.deadLetter !== null) check.wellFormed('options.deadLetter', o.deadLetter);
  const durable = o.durable === undefined ? durableBroker : check.boolean('options.durable', o.durable) && durableBroker;
  return { ...o, durable };
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
    o.ttlMs === undefined ? wire.NONE : check.atLeastOneMs(`${argument}.ttlMs`, o.ttlMs),
    o.headers === undefined ? undefined : check.headers(`${argument}.headers`, o.headers),
  ];
}

export type ReceiveArguments = readonly [waitMs: number, signal: AbortSignal | undefined];

// A receive or nack without options allocates nothing for them.
const DEFAULT_RECEIVE: ReceiveArguments = Object.freeze([0, undefined] as const);
const DEFAULT_NACK: NackArguments = Object.freeze([true, wire.NONE] as const);

export function receiveArguments(options: unknown): ReceiveArguments {
  if (options === undefined) return DEFAULT_RECEIVE;
  const o = check.options('options', options, RECEIVE_OPTIONS);
  return [
    o.waitMs === undefined ? 0 : check.duration('options.waitMs', o.waitMs),
    o.signal === undefined ? undefined : check.signal('options.signal', o.signal),
  ];
}

/** What the wrapper keeps of consume()'s options; `subscribeConsumer` reads prefetch, rateLimit and timeoutMs. */
export interface ConsumeArguments {
  autoAck: boolean;
  signal: AbortSignal | undefined;
  /** NONE without one. */
  timeoutMs: number;
}

export function consumeArguments(options: unknown): ConsumeArguments {
  const o = check.options('options', options, CONSUME_OPTIONS);
  if (o.prefetch !== undefined) check.number('options.prefetch', o.prefetch);
  check.rateLimit('options.rateLimit', o.rateLimit);
  return {
    autoAck: o.autoAck === undefined ? true : check.boolean('options.autoAck', o.autoAck),
    signal: o.signal === undefined ? undefined : check.signal('options.signal', o.signal),
    timeoutMs: o.timeoutMs === undefined ? wire.NONE : check.number('options.timeoutMs', o.timeoutMs),
  };
}

export type RequestArguments = [timeoutMs: number, signal: AbortSignal | undefined];

export function requestArguments(options: unknown): RequestArguments {
  const o = check.options('options', options, REQUEST_OPTIONS);
  return [
    o.timeoutMs === undefined ? wire.NONE : check.atLeastOneMs('options.timeoutMs', o.timeoutMs),
    o.signal === undefined ? undefined : check.signal('options.signal', o.signal),
  ];
}

export type NackArguments = readonly [requeue: boolean, delayMs: number];

export function nackArguments(options: unknown): NackArguments {
  if (options === undefined) return DEFAULT_NACK;
  const o = check.options('options', options, NACK_OPTIONS);
  return [
    o.requeue === undefined ? true : check.boolean('options.requeue', o.requeue),
    o.delayMs === undefined ? wire.NONE : check.duration('options.delayMs', o.delayMs),
  ];
}

/** Where a broker keeps its messages, checked: 'memory', { file: path }, { indexedDb: name }, { redis: url, prefix } or { port }. */
export type StorageOption =
  | 'memory'
  | Record<'file' | 'indexedDb', string>
  | { redis: string; prefix: string }
  | { port: MessagePort };

const STORAGE_KINDS = "'memory', { file: path }, { indexedDb: name }, { redis: url, prefix? } or { port }";

export function storageOption(value: unknown): StorageOption {
  if (value === undefined || value === 'memory') return 'memory';
  const o = check.options('options.storage', value, ['file', 'indexedDb', 'redis', 'prefix', 'port']);
  if (o.port !== undefined) {
    if (Object.keys(o).length !== 1) throw typeError('options.storage', STORAGE_KINDS, value);
    if (typeof MessagePort === 'undefined' || !(o.port instanceof MessagePort)) {
      throw typeError('options.storage.port', "a MessagePort from the leader's broker.share()", o.port);
    }
    return { port: o.port };
  }
  if (o.redis !== undefined) {
    if (o.file !== undefined || o.indexedDb !== undefined) throw typeError('options.storage', STORAGE_KINDS, value);
    return {
      redis: check.string('options.storage.redis', o.redis),
      prefix: o.prefix === undefined ? 'ferrymq' : check.wellFormed('options.storage.prefix', o.prefix),
    };
  }
  const keys = Object.keys(o) as ('file' | 'indexedDb')[];
  if (keys.length !== 1 || o.prefix !== undefined) throw typeError('options.storage', STORAGE_KINDS, value);
  check.string(`options.storage.${keys[0]}`, o[keys[0]!]);
  return o as Record<'file' | 'indexedDb', string>;
}
