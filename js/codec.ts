// Payload bytes for durable brokers: what the log stores of a message.
//   [kind u8][headers length u32 LE][headers JSON][body]
// kind 0: body is JSON; 1: body is a Uint8Array's bytes; 2: an ArrayBuffer's.
// Only values that come back equal are accepted: anything JSON.stringify
// would silently drop or change (-0, an array's holes or extra properties,
// symbol keys, a Buffer or other Uint8Array subclass) is refused with
// NOT_SERIALIZABLE, before the message reaches the broker; so is a payload
// too large for one log record (RangeError), so it never stops the broker.
import { maxPayloadBytes } from '../pkg/ferrymq.js';
import { FerryError, rangeError } from './errors.js';

const JSON_BODY = 0;
const UINT8ARRAY_BODY = 1;
const ARRAYBUFFER_BODY = 2;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

const notSerializable = (path: string, what: string): FerryError =>
  new FerryError('NOT_SERIALIZABLE', `${path} is ${what}: a durable queue stores JSON values, Uint8Array or ArrayBuffer`);

/** Throws NOT_SERIALIZABLE unless `value` survives JSON unchanged. */
function checkJson(value: unknown, path: string, ancestors: Set<object>): void {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return;
    case 'number':
      if (!Number.isFinite(value)) throw notSerializable(path, String(value));
      if (Object.is(value, -0)) throw notSerializable(path, '-0 (JSON keeps it as 0)');
      return;
    case 'object':
      break;
    default:
      throw notSerializable(path, `a ${typeof value}`);
  }
  if (value === null) return;
  if (ancestors.has(value)) throw notSerializable(path, 'a cycle');
  const proto: unknown = Object.getPrototypeOf(value);
  ancestors.add(value);
  if (Object.getOwnPropertySymbols(value).length > 0) throw notSerializable(path, 'an object with symbol keys');
  if (Array.isArray(value) && proto === Array.prototype) {
    // Holes and extra properties would not come back.
    if (Object.keys(value).length !== value.length) throw notSerializable(path, 'an array with holes or extra properties');
    for (let i = 0; i < value.length; i++) checkJson(value[i], `${path}[${i}]`, ancestors);
  } else if (proto === Object.prototype || proto === null) {
    const record = value as Record<string, unknown>;
    for (const key of Object.keys(record)) {
      if (record[key] !== undefined) checkJson(record[key], `${path}.${key}`, ancestors);
      else throw notSerializable(`${path}.${key}`, 'undefined');
    }
  } else {
    throw notSerializable(path, `a ${value.constructor?.name ?? 'non-plain object'}`);
  }
  ancestors.delete(value);
}

/** The core's limit, read once (a call into wasm per send otherwise). */
let payloadLimit: number | undefined;

/** The bytes of a payload and its headers (a plain object of strings, or undefined). */
export function encode(payload: unknown, headers: Record<string, string> | undefined): Uint8Array {
  let kind: number;
  let body: Uint8Array;
  const proto = payload === null || typeof payload !== 'object' ? undefined : Object.getPrototypeOf(payload);
  if (proto === Uint8Array.prototype) {
    [kind, body] = [UINT8ARRAY_BODY, payload as Uint8Array];
  } else if (proto === ArrayBuffer.prototype) {
    [kind, body] = [ARRAYBUFFER_BODY, new Uint8Array(payload as ArrayBuffer)];
  } else {
    checkJson(payload, 'payload', new Set());
    [kind, body] = [JSON_BODY, encoder.encode(JSON.stringify(payload))];
  }
  const head = headers === undefined ? new Uint8Array(0) : encoder.encode(JSON.stringify(headers));
  payloadLimit ??= maxPayloadBytes();
  if (5 + head.length + body.length > payloadLimit) {
    throw rangeError('payload', `at most ${payloadLimit} bytes with its headers in a durable queue`, payload);
  }
  const bytes = new Uint8Array(5 + head.length + body.length);
  bytes[0] = kind;
  new DataView(bytes.buffer).setUint32(1, head.length, true);
  bytes.set(head, 5);
  bytes.set(body, 5 + head.length);
  return bytes;
}

/** [payload, headers or undefined] from what `encode` made. */
export function decode(bytes: Uint8Array): [payload: unknown, headers: Record<string, string> | undefined] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headLength = view.getUint32(1, true);
  const headers = headLength === 0 ? undefined : JSON.parse(decoder.decode(bytes.subarray(5, 5 + headLength)));
  const body = bytes.subarray(5 + headLength);
  switch (bytes[0]) {
    case UINT8ARRAY_BODY:
      return [body.slice(), headers];
    case ARRAYBUFFER_BODY:
      return [body.slice().buffer, headers];
    default:
      return [JSON.parse(decoder.decode(body)), headers];
  }
}
