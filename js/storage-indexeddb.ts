// Durable storage in browsers and workers: the log is the values of one
// object store joined in key order; a Web Lock keeps a second broker (in
// this tab or another) from opening the same database. The core's file
// steps map onto transactions: an append is one put, a compaction (write,
// sync, rename, sync dir) is one transaction that clears the store and puts
// the new log; a sync is a transaction's `complete` with strict durability.
import { asStorageError, storageError } from './errors.js';
import * as step from './storage.js';
import type { OpenStorage, Step } from './storage.js';

const LOG_STORE = 'log';
const CORRUPT_STORE = 'corrupt';

const done = <T>(request: IDBRequest<T>): Promise<T> =>
  new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });

/** Runs `work(store...)` in one strict readwrite transaction; resolves on `complete`. */
function write(db: IDBDatabase, stores: string[], work: (...stores: IDBObjectStore[]) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const tx = db.transaction(stores, 'readwrite', { durability: 'strict' });
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error ?? new Error('transaction aborted'));
    work(...stores.map((s) => tx.objectStore(s)));
  });
}

/** Holds the Web Lock named after the database until `release` is called. */
function lock(name: string): Promise<() => void> {
  return new Promise((resolve, reject) => {
    navigator.locks
      .request(`ferrymq:${name}`, { ifAvailable: true }, (held) => {
        if (held === null) {
          reject(storageError(`IndexedDB database ${name} is open in another broker`));
          return undefined;
        }
        return new Promise<void>((release) => resolve(() => release()));
      })
      .catch(reject);
  });
}

export async function openIndexedDb(name: string): Promise<OpenStorage> {
  if (typeof indexedDB === 'undefined' || typeof navigator?.locks?.request !== 'function') {
    throw storageError('IndexedDB and Web Locks are not available here');
  }
  const release = await lock(name);
  let db: IDBDatabase | undefined;
  let bytes: Uint8Array;
  let nextKey: number;
  try {
    const request = indexedDB.open(name, 1);
    request.onupgradeneeded = () => {
      request.result.createObjectStore(LOG_STORE);
      request.result.createObjectStore(CORRUPT_STORE);
    };
    db = await done(request);
    const tx = db.transaction(LOG_STORE, 'readonly');
    const store = tx.objectStore(LOG_STORE);
    const [keys, values] = await Promise.all([
      done(store.getAllKeys() as IDBRequest<number[]>),
      done(store.getAll() as IDBRequest<ArrayBufferLike[]>),
    ]);
    nextKey = keys.length === 0 ? 0 : keys[keys.length - 1]! + 1;
    bytes = new Uint8Array(values.reduce((n, v) => n + v.byteLength, 0));
    let at = 0;
    for (const v of values) {
      bytes.set(new Uint8Array(v), at);
      at += v.byteLength;
    }
  } catch (error) {
    db?.close();
    release();
    throw asStorageError(error, `cannot open IndexedDB database ${name}`);
  }
  // The compact "file" waits here until its rename turns it into the log.
  let compact: Uint8Array | undefined;
  const opened = db;

  let closed = false;

  async function run(steps: readonly Step[]): Promise<void> {
    if (closed) throw storageError(`IndexedDB database ${name} is closed`);
    try {
      for (const [op, file, data] of steps) {
        switch (op) {
          case step.APPEND_LOG: {
            const key = nextKey++;
            await write(opened, [LOG_STORE], (log) => log.put(data, key));
            break;
          }
          case step.WRITE:
            if (file === step.COMPACT) compact = data;
            else await write(opened, [CORRUPT_STORE], (corrupt) => corrupt.put(data, Date.now()));
            break;
          case step.REPLACE_LOG: {
            const log = compact;
            // The core writes the compacted log before it asks for the rename;
            // without it, clearing the store would lose the log.
            if (log === undefined) throw new Error('a compaction renamed a log it never wrote');
            await write(opened, [LOG_STORE], (store) => {
              store.clear();
              store.put(log, 0);
            });
            nextKey = 1;
            compact = undefined;
            break;
          }
          case step.REMOVE:
            if (file === step.COMPACT) compact = undefined;
            break;
          case step.SYNC:
          case step.SYNC_DIR:
            // Every write above already waited for a strict `complete`.
            break;
          default:
            step.unhandled(op);
        }
      }
    } catch (error) {
      throw storageError(`writing IndexedDB database ${name} failed`, error);
    }
  }

  // Once only, like the file driver's.
  async function close(): Promise<void> {
    if (closed) return;
    closed = true;
    opened.close();
    release();
  }

  return { bytes, run, close };
}
