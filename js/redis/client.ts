// The connections of a broker kept on Redis: loads the npm client (ioredis,
// an optional peer dependency, imported only when a Redis broker opens, so
// browsers never fetch it), loads the function library into the server
// once, and turns the library's error replies into FerryErrors.
import type { Redis as RedisClient, RedisOptions } from 'ioredis';
import LIBRARY from './library.lua';
import { FerryError, storageError } from '../errors.js';
import { type Arg, type Reply, ServerError } from '../remote/runtime.js';

/** The library's name, as its first line declares it: its functions are `${LIBRARY_NAME}_<name>`. */
const LIBRARY_NAME = /^#!lua name=(\w+)/.exec(LIBRARY)![1]!;

export type { RedisClient };

// Codes the library's error replies start with (js/redis/library.lua).
const CODES = ['QUEUE_FULL', 'STALE_DELIVERY', 'INVALID_ARGUMENT', 'STORAGE', 'BINDINGS_CHANGED'] as const;

/** `error` as what a caller sees: the library's own code, else STORAGE (the server is unreachable or failed). */
export function asFerryError(error: unknown): FerryError {
  if (error instanceof FerryError) return error;
  if (error instanceof ServerError && error.code !== 'BINDINGS_CHANGED') return new FerryError(error.code, error.message);
  return storageError(`redis: ${error instanceof Error ? error.message : String(error)}`, error);
}

/** The npm client, loaded on first use. */
let client: Promise<typeof import('ioredis')> | undefined;

async function loadClient(): Promise<typeof import('ioredis')> {
  try {
    return await (client ??= import('ioredis'));
  } catch (error) {
    client = undefined;
    throw storageError("a Redis broker needs the npm package 'ioredis' (npm install ioredis)", error);
  }
}

/**
 * Connection settings. Reconnects for ever, a little later each time. A
 * command made while the server is away waits for it, but not long: it is
 * refused (STORAGE) after two failed reconnections. A command in flight
 * when the connection dropped is sent again once it is back: it may then
 * run twice, which every call allows for (a second send is a duplicate the
 * guarantee allows, or one the dedup window drops; a second ack finds its
 * delivery settled and reports it stale), where not sending it would leave
 * its caller waiting for ever.
 */
const OPTIONS: RedisOptions = {
  lazyConnect: true,
  maxRetriesPerRequest: 2,
  retryStrategy: (times) => Math.min(50 * times, 1000),
  enableReadyCheck: true,
};

/** A connected client for `url` (throws STORAGE if it cannot connect). */
export async function connect(url: string): Promise<RedisClient> {
  const { Redis } = await loadClient();
  const redis = new Redis(url, OPTIONS);
  // Errors come to the commands that meet them; the client's own reports
  // of a lost connection would otherwise be unhandled 'error' events.
  redis.on('error', () => {});
  try {
    await redis.connect();
  } catch (error) {
    redis.disconnect();
    throw storageError(`redis: cannot connect to ${url}`, error);
  }
  return redis;
}

/** A second connection to the same server, for a command that blocks. */
export function duplicate(redis: RedisClient): RedisClient {
  const copy = redis.duplicate(OPTIONS);
  copy.on('error', () => {});
  return copy;
}

/** The library's error reply as a ServerError, or the error as it is. */
export function libraryError(error: unknown): unknown {
  const message = error instanceof Error ? error.message : '';
  const code = CODES.find((c) => message.startsWith(`${c} `));
  return code === undefined ? error : new ServerError(code, message.slice(code.length + 1));
}

/**
 * Calls function `name` of the library for the broker with keys `meta`
 * (its '{prefix}:meta'); `binary`: bulk strings come back as Buffers. A
 * server that lost the library (restarted without its files) gets it again.
 */
export async function call(redis: RedisClient, meta: string, name: string, args: Arg[], binary = false): Promise<Reply> {
  const fn = `${LIBRARY_NAME}_${name}`;
  // Bytes as the client sends them unchanged (it would stringify a plain Uint8Array).
  const sent = args.map((a) => (typeof a === 'object' && !Buffer.isBuffer(a) ? Buffer.from(a.buffer, a.byteOffset, a.byteLength) : a));
  const run = () => (binary ? redis.callBuffer('FCALL', fn, 1, meta, ...sent) : redis.call('FCALL', fn, 1, meta, ...sent)) as Promise<Reply>;
  try {
    return await run();
  } catch (error) {
    if (!(error instanceof Error && error.message.startsWith('ERR Function not found'))) throw libraryError(error);
  }
  await loadLibrary(redis);
  return run().catch((error: unknown) => {
    throw libraryError(error);
  });
}

/** Loads the library unless the server has this version already. */
async function loadLibrary(redis: RedisClient): Promise<void> {
  try {
    await redis.call('FUNCTION', 'LOAD', LIBRARY);
  } catch (error) {
    // Loaded meanwhile by another process: the same text, by its name.
    if (!(error instanceof Error && error.message.includes('already exists'))) throw error;
  }
}

/**
 * The server's eviction policy, if it can be read: any but noeviction may
 * drop a broker's keys (messages, leases) when memory runs short.
 */
export async function evictionPolicy(redis: RedisClient): Promise<string | undefined> {
  try {
    const info = (await redis.call('INFO', 'memory')) as string;
    return /^maxmemory_policy:(\S+)/m.exec(info)?.[1];
  } catch {
    // Managed servers may refuse INFO: nothing to say then.
    return undefined;
  }
}
