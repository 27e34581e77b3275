// Durable storage in browsers and workers: the log is the values of one
// object store joined in key order; a Web Lock keeps a second broker (in
// this tab or another) from opening the same database. The core's file
// steps map onto transactions: an append is one put, a compaction (write,
// sync, rename, sync dir) is one transaction that clears the store and puts
// the new log; a sync is a transaction's `complete` with strict durability.
import { FerryError } from './errors.js';
import * as step from './storage.js';

const LOG_STORE = 'log';
const CORRUPT_STORE = 'corrupt';

const storageError = (message, cause) => new FerryError('STORAGE', message, { cause });

const done = (request) =>
  new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });

/** Runs `work(store...)` in one strict readwrite transaction; resolves on `complete`. */
function write(db, stores, work) {
  return new Promise((resolve, reject) => {
    const tx = db.transaction(stores, 'readwrite', { durability: 'strict' });
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error ?? new Error('transaction aborted'));
    work(...stores.map((s) => tx.objectStore(s)));
  });
}

/** Holds the Web Lock named after the database until `release` is called. */
function lock(name) {
  return new Promise((resolve, reject) => {
    navigator.locks
      .request(`ferrymq:${name}`, { ifAvailable: true }, (held) => {
        if (held === null) {
          reject(storageError(`IndexedDB database ${name} is open in another broker`));
          return undefined;
        }
        return new Promise((release) => resolve(release));
      })
      .catch(reject);
  });
}

export async function openIndexedDb(name) {
  if (typeof indexedDB === 'undefined' || typeof navigator?.locks?.request !== 'function') {
    throw storageError('IndexedDB and Web Locks are not available here');
  }
  const release = await lock(name);
  let db;
  let bytes;
  let nextKey;
  try {
    const request = indexedDB.open(name, 1);
    request.onupgradeneeded = () => {
      request.result.createObjectStore(LOG_STORE);
      request.result.createObjectStore(CORRUPT_STORE);
    };
    db = await done(request);
    const tx = db.transaction(LOG_STORE, 'readonly');
    const store = tx.objectStore(LOG_STORE);
    const [keys, values] = await Promise.all([done(store.getAllKeys()), done(store.getAll())]);
    nextKey = keys.length === 0 ? 0 : keys[keys.length - 1] + 1;
    bytes = new Uint8Array(values.reduce((n, v) => n + v.byteLength, 0));
    let at = 0;
    for (const v of values) {
      bytes.set(new Uint8Array(v), at);
      at += v.byteLength;
    }
  } catch (error) {
    db?.close();
    release();
    throw error instanceof FerryError ? error : storageError(`cannot open IndexedDB database ${name}`, error);
  }
  // The compact "file" waits here until its rename turns it into the log.
  let compact;

  let closed = false;

  async function run(steps) {
    if (closed) throw storageError(`IndexedDB database ${name} is closed`);
    try {
      for (const [op, file, data] of steps) {
        if (op === step.APPEND_LOG) {
          const key = nextKey++;
          await write(db, [LOG_STORE], (log) => log.put(data, key));
        } else if (op === step.WRITE && file === step.COMPACT) {
          compact = data;
        } else if (op === step.WRITE) {
          await write(db, [CORRUPT_STORE], (corrupt) => corrupt.put(data, Date.now()));
        } else if (op === step.REPLACE_LOG) {
          const log = compact;
          await write(db, [LOG_STORE], (store) => {
            store.clear();
            store.put(log, 0);
          });
          nextKey = 1;
          compact = undefined;
        } else if (op === step.REMOVE && file === step.COMPACT) {
          compact = undefined;
        }
        // SYNC and SYNC_DIR: every write above already waited for a strict `complete`.
      }
    } catch (error) {
      throw storageError(`writing IndexedDB database ${name} failed`, error);
    }
  }

  // Once only, like the file driver's.
  async function close() {
    if (closed) return;
    closed = true;
    db.close();
    release();
  }

  return { bytes, run, close };
}
