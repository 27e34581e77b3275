// The core's effect records, turned into what JS users see: messages handed
// to waiters and handlers, events, replies. Records are read in place from
// wasm memory (wire.BROKER_STRIDE numbers each); payloads are read from the
// broker's payload slots (payloads.ts), and the few JS values records carry
// (a caller's message id, a recovered payload's bytes) follow in `vals`, in
// record order.
import type { BrokerEffect, DeadLetterReason } from '../../pkg/ferrymq.js';
import { decode } from '../codec.js';
import { FerryError } from '../errors.js';
import * as wire from '../wire.js';
import { Settle } from './settle.js';
import { makeMessage, type Message, tagOf } from './message.js';
import type { Runtime } from './runtime.js';
import { Waiter } from './subscribers.js';

/** The headers of a message sent without any: one object for all of them. */
export const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze({});

/**
 * How many JS values the record at `i` carries: a recovered delivery's
 * bytes, and the caller's id when its message id field says NONE.
 */
export function valuesOf(m: Float64Array, i: number): number {
  const bytes = m[i] === wire.DELIVER && (m[i + 5]! & wire.FLAG_RECOVERED) !== 0 ? 1 : 0;
  const givenId = wire.BROKER_RECORD_HAS_MESSAGE_ID[m[i] as BrokerEffect] && m[i + 2] === wire.NONE ? 1 : 0;
  return bytes + givenId;
}

/** The Message for the DELIVER record at index `i` of `m`; its values start at `vals[v]`. */
export function messageAt(runtime: Runtime, m: Float64Array, i: number, vals: unknown[], v: number): Message {
  const autoId = m[i + 2]!;
  const flags = m[i + 5]!;
  let payload;
  let headers;
  if (flags & wire.FLAG_RECOVERED) {
    // Recovered from the log: no slot, its bytes are the first value, for JS to decode.
    [payload, headers] = decode(vals[v++] as Uint8Array);
  } else {
    const slot = m[i + 8]!;
    payload = runtime.payloads.values[slot];
    headers = runtime.payloads.headers(slot);
  }
  return makeMessage(
    runtime,
    m[i + 3]!,
    autoId === wire.NONE ? (vals[v] as string) : String(autoId),
    payload,
    headers ?? NO_HEADERS,
    m[i + 4]!,
    (flags & wire.FLAG_REDELIVERED) !== 0,
    m[i + 6]!,
    m[i + 7]! !== wire.NONE,
  );
}

/** Acts on the `n` numbers of records from index `base` of `read()`, stopping if the broker closes. */
export function dispatch(runtime: Runtime, read: () => Float64Array, base: number, n: number, vals: unknown[]): void {
  let v = 0;
  for (let i = base; i < base + n && !runtime.closed; i += wire.BROKER_STRIDE) {
    // Read afresh each time: a handler run for the previous record may have
    // grown memory, which detaches the view; so may this record's, so its
    // value count is read before acting on it.
    const m = read();
    const kind = m[i] as BrokerEffect;
    const values = valuesOf(m, i);
    switch (kind) {
      case wire.DELIVER: {
        deliver(runtime, m[i + 1]!, messageAt(runtime, m, i, vals, v));
        break;
      }
      case wire.WAIT_EXPIRED: {
        const waiter = runtime.subscribers.get(m[i + 1]!);
        runtime.subscribers.delete(m[i + 1]!);
        (waiter as Waiter | undefined)?.expired();
        break;
      }
      case wire.DEAD_LETTERED:
      case wire.EXPIRED:
      case wire.REDELIVERED: {
        // A caller-given id is the record's one value; a generated one is its number.
        const id = m[i + 2] === wire.NONE ? (vals[v] as string) : String(m[i + 2]);
        emit(runtime, m, i, id);
        break;
      }
      case wire.REPLY: {
        const slot = m[i + 2]!;
        const payload = runtime.payloads.values[slot];
        runtime.payloads.dropped(slot);
        runtime.endRequest(m[i + 1]!)?.resolve(payload);
        break;
      }
      case wire.DROPPED:
        runtime.payloads.dropped(m[i + 1]!);
        break;
      case wire.REQUEST_TIMED_OUT:
        runtime.endRequest(m[i + 1]!)?.reject(new FerryError('TIMEOUT', 'no reply before the request timed out'));
        break;
      case wire.HANDLER_TIMED_OUT: {
        const handler = runtime.subscribers.get(m[i + 1]!);
        if (handler !== undefined && !(handler instanceof Waiter)) handler.timedOut(m[i + 2]!);
        break;
      }
      default:
        kind satisfies never;
    }
    v += values;
  }
}

function emit(runtime: Runtime, m: Float64Array, i: number, id: string): void {
  const queue = runtime.queueName(m[i + 1]!);
  const listeners = runtime.listeners;
  if (m[i] === wire.EXPIRED) {
    listeners.emit('expired', { queue, id });
  } else if (m[i] === wire.REDELIVERED) {
    listeners.emit('redelivered', { queue, id, deliveryCount: m[i + 3] });
  } else {
    const target = m[i + 3]!;
    const deadLetterQueue = target === wire.NONE ? null : runtime.queueName(target);
    listeners.emit('dead-letter', { queue, id, reason: wire.DEAD_LETTER_REASONS[m[i + 4] as DeadLetterReason], deadLetterQueue });
  }
}

function deliver(runtime: Runtime, consumerId: number, message: Message): void {
  const subscriber = runtime.subscribers.get(consumerId);
  if (subscriber === undefined) {
    // Aborted between the core's decision and now: hand the message back
    // at once instead of letting it wait out its lease.
    runtime.settleQuietly(Settle.Release, tagOf(message));
    return;
  }
  if (subscriber instanceof Waiter) runtime.subscribers.delete(consumerId);
  subscriber.deliver(message);
}
