// Where durable brokers keep their log. Each entry point registers the
// drivers its platform has (files in Node, IndexedDB in browsers); a driver
// opens a location, returns the log's bytes, and later runs the file steps
// the core decides (src/bindings/broker.rs, encode_steps), in order.
import { StorageFile, StorageOp } from '../pkg/ferrymq.js';
import { FerryError, typeError } from './errors.js';
import type { LocalRuntime } from './broker/local.js';
import type { Runtime } from './broker/runtime.js';
import type { Recovery } from './types.js';

/** One file step as the core encodes it: what to do, to which file, with which bytes. */
export type Step = readonly [op: StorageOp, file: StorageFile, data: Uint8Array];

/**
 * What a shared broker's leader keeps of its followers' calls, written with
 * the commit that holds the change a call made: its answer (so the call,
 * resent to the next leader after a hand-over, is answered from here and
 * never done twice), or that a client has every answer up to call `upTo`.
 */
export type CallNote = { client: string; call: number; answer: unknown } | { client: string; upTo: number };

/** Why a storage refused a write: another writer opened it since (a shared broker's next leader). */
export class Superseded extends Error {
  override name = 'Superseded';
}

/** Whether a broker stopped because another writer took its storage over: then its callers are the next writer's to answer. */
export const wasSuperseded = (reason: unknown): boolean => reason instanceof FerryError && reason.cause instanceof Superseded;

/** An open storage, locked until `close`. */
export interface OpenStorage {
  /** The log as it was found. */
  bytes: Uint8Array;
  /** The answers noted by earlier leaders (CallNote), by client and call; storages that are never shared have none. */
  answers?: Map<string, Map<number, unknown>>;
  /** Runs the core's file steps (src/bindings/broker.rs, encode_steps), in order, and writes `notes` with them. */
  run(steps: readonly Step[], notes?: readonly CallNote[]): Promise<void>;
  /** Once only; every call waits for the same closing. */
  close(): Promise<void>;
}

export type Driver = (location: string) => Promise<OpenStorage>;

const drivers = new Map<string, Driver>();

/** `kind` is the key of the storage option: 'file' or 'indexedDb'. */
export function registerStorage(kind: 'file' | 'indexedDb', open: Driver): void {
  drivers.set(kind, open);
}

// Step ops and files, as the core encodes them (src/bindings/wire.rs). The
// drivers switch over every op, so tsc fails when Rust adds one they lack.
export const { AppendLog: APPEND_LOG, Write: WRITE, Sync: SYNC, ReplaceLog: REPLACE_LOG, SyncDir: SYNC_DIR, Remove: REMOVE } =
  StorageOp;
export const { Log: LOG, Compact: COMPACT, Corrupt: CORRUPT } = StorageFile;

/** For the `default` of a switch that handles every member of an enum: tsc rejects one that is missed. */
export function unhandled(value: never): never {
  throw new TypeError(`unknown ${String(value)}`);
}

/** Opens a broker kept on a server: registered by the Node entry, the one platform that has it. */
export type RemoteOpener = (url: string, prefix: string) => Promise<Runtime>;
let remote: RemoteOpener | undefined;

export function registerRemote(open: RemoteOpener): void {
  remote = open;
}

/** Brokers shared across threads: registered by the Node entry (worker_threads) for now. */
export interface Sharing {
  /** Serves the followers of a broker kept in this context; `share()` makes a port for each. */
  host(runtime: LocalRuntime): { share(): MessagePort; close(): void };
  /** A follower of the leader at the other end of `port`. */
  follower(port: MessagePort): Promise<Runtime>;
}
let sharing: Sharing | undefined;

export function registerSharing(s: Sharing): void {
  sharing = s;
}

/** How this platform shares brokers, or a TypeError naming `argument`. */
export function sharingFor(argument: string, value: unknown): Sharing {
  if (sharing === undefined) throw typeError(argument, 'available on this platform (sharing is for Node worker_threads for now)', value);
  return sharing;
}

/** Opens an IndexedDB database shared by the pages and workers that open it (js/share/tabs.ts): registered by the browser entry. */
export type SharedOpener = (name: string) => Promise<{ runtime: Runtime; recovery: Recovery | undefined }>;
let shared: SharedOpener | undefined;

export function registerShared(open: SharedOpener): void {
  shared = open;
}

/** The opener of shared IndexedDB brokers, where there is one. */
export function sharedOpener(): SharedOpener | undefined {
  return shared;
}

/** A runtime on the Redis server at `url`, for the broker named by `prefix`. */
export function openRemote(url: string, prefix: string): Promise<Runtime> {
  if (remote === undefined) throw typeError('options.storage', 'available on this platform ({ redis } is for Node)', 'redis');
  return remote(url, prefix);
}

/**
 * Opens the storage named by a validated `storage` option; resolves with
 * `{ bytes, run(steps), close() }`, holding a lock until `close`.
 */
export function openStorage(storage: Record<string, string>): Promise<OpenStorage> {
  const [kind] = Object.keys(storage);
  const open = drivers.get(kind);
  if (open === undefined) {
    const here = [...drivers.keys()].map((k) => `{ ${k} }`).join(' or ') || 'no durable storage';
    throw typeError('options.storage', `available on this platform (${here})`, kind);
  }
  return open(storage[kind]!);
}
