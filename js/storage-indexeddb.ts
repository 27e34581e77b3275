// Durable storage in browsers and workers: the log is the values of one
// object store joined in key order. The core's file steps map onto
// transactions: an append is one put, a compaction (write, sync, rename,
// sync dir) is one transaction that clears the store and puts the new log;
// a sync is a transaction's `complete` with strict durability.
//
// One writer at a time: a Web Lock (`ferrymq:<name>`) is held by whoever
// writes, an exclusive broker or a shared broker's leader (js/share/tabs.ts).
// A lock can be stolen, and a frozen page may wake up still thinking it
// holds one, so every opening also raises a *term* kept in the database, and
// every write checks in its own transaction that the term is still the one
// it opened with: an earlier writer's writes are refused (fenced).
import { asStorageError, storageError } from './errors.js';
import * as step from './storage.js';
import { type CallNote, type OpenStorage, type Step, Superseded } from './storage.js';

const LOG_STORE = 'log';
const CORRUPT_STORE = 'corrupt';
/** The term (key TERM). */
const META_STORE = 'meta';
/** A shared broker's call notes (storage.ts CallNote), keyed [client, call]. */
const CALLS_STORE = 'calls';
const TERM = 'term';
/** 2: the term and the call notes; an older ferrymq refuses the database rather than write past the term. */
const VERSION = 2;

const done = <T>(request: IDBRequest<T>): Promise<T> =>
  new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });

/**
 * Runs `work(store...)` in one strict readwrite transaction, if the
 * database's term is still `term` (else the transaction aborts and nothing
 * is written); resolves on `complete`.
 */
function write(db: IDBDatabase, term: number, stores: string[], work: (...stores: IDBObjectStore[]) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const tx = db.transaction([...stores, META_STORE], 'readwrite', { durability: 'strict' });
    let fenced: number | undefined;
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () =>
      reject(fenced === undefined ? (tx.error ?? new Error('transaction aborted')) : new Superseded(`another writer opened the database since (term ${fenced}, this writer's ${term})`));
    const read = tx.objectStore(META_STORE).get(TERM);
    read.onsuccess = () => {
      if (read.result !== term) {
        fenced = read.result as number;
        tx.abort();
        return;
      }
      work(...stores.map((s) => tx.objectStore(s)));
    };
  });
}

/** Writes `notes` into the calls store. */
function writeNotes(calls: IDBObjectStore, notes: readonly CallNote[]): void {
  for (const note of notes) {
    if ('answer' in note) calls.put(note.answer, [note.client, note.call]);
    else calls.delete(IDBKeyRange.bound([note.client, 0], [note.client, note.upTo]));
  }
}

/** The Web Lock its writer holds: an exclusive broker, or a shared broker's leader. */
export const lockName = (db: string): string => `ferrymq:${db}`;

/** Holds the Web Lock named after the database until `release` is called, or refuses if another holds it. */
function lock(name: string): Promise<() => void> {
  return new Promise((resolve, reject) => {
    navigator.locks
      .request(lockName(name), { ifAvailable: true }, (held) => {
        if (held === null) {
          reject(storageError(`IndexedDB database ${name} is open in another broker`));
          return undefined;
        }
        return new Promise<void>((release) => resolve(() => release()));
      })
      .catch(reject);
  });
}

/** Throws STORAGE where there is no IndexedDB or no Web Locks. */
export function assertIndexedDb(): void {
  if (typeof indexedDB === 'undefined' || typeof navigator?.locks?.request !== 'function') {
    throw storageError('IndexedDB and Web Locks are not available here');
  }
}

/** An exclusive broker's storage: refused while anyone else writes the database. */
export async function openIndexedDb(name: string): Promise<OpenStorage> {
  assertIndexedDb();
  return openLog(name, await lock(name));
}

/**
 * The log of database `name`, for a writer that holds its Web Lock
 * (`release` gives it back, on close): raises the term, reads the log and
 * the call notes in one transaction.
 */
export async function openLog(name: string, release: () => void): Promise<OpenStorage> {
  let db: IDBDatabase | undefined;
  let bytes: Uint8Array;
  let nextKey: number;
  let term = 0;
  const answers = new Map<string, Map<number, unknown>>();
  try {
    const request = indexedDB.open(name, VERSION);
    request.onupgradeneeded = () => {
      const stores = request.result.objectStoreNames;
      for (const store of [LOG_STORE, CORRUPT_STORE, META_STORE, CALLS_STORE]) {
        if (!stores.contains(store)) request.result.createObjectStore(store);
      }
    };
    db = await done(request);
    const tx = db.transaction([LOG_STORE, META_STORE, CALLS_STORE], 'readwrite', { durability: 'strict' });
    const store = tx.objectStore(LOG_STORE);
    const meta = tx.objectStore(META_STORE);
    const calls = tx.objectStore(CALLS_STORE);
    const committed = new Promise<void>((resolve, reject) => {
      tx.oncomplete = () => resolve();
      tx.onabort = () => reject(tx.error ?? new Error('transaction aborted'));
    });
    const [keys, values, , noted, notes] = await Promise.all([
      done(store.getAllKeys() as IDBRequest<number[]>),
      done(store.getAll() as IDBRequest<ArrayBufferLike[]>),
      done(meta.get(TERM) as IDBRequest<number | undefined>).then((t) => {
        term = (t ?? 0) + 1;
        meta.put(term, TERM);
      }),
      done(calls.getAllKeys() as unknown as IDBRequest<[string, number][]>),
      done(calls.getAll()),
    ]);
    await committed;
    noted.forEach(([client, call], i) => {
      let of = answers.get(client);
      if (of === undefined) answers.set(client, (of = new Map()));
      of.set(call, notes[i]);
    });
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

  async function run(steps: readonly Step[], notes: readonly CallNote[] = []): Promise<void> {
    if (closed) throw storageError(`IndexedDB database ${name} is closed`);
    // The notes go into the first transaction that writes the log: they
    // answer calls whose changes it holds.
    let unwritten = notes;
    const noting = (calls: IDBObjectStore): void => {
      writeNotes(calls, unwritten);
      unwritten = [];
    };
    try {
      for (const [op, file, data] of steps) {
        switch (op) {
          case step.APPEND_LOG: {
            const key = nextKey++;
            await write(opened, term, [LOG_STORE, CALLS_STORE], (log, calls) => {
              log.put(data, key);
              noting(calls!);
            });
            break;
          }
          case step.WRITE:
            if (file === step.COMPACT) compact = data;
            else await write(opened, term, [CORRUPT_STORE], (corrupt) => corrupt.put(data, Date.now()));
            break;
          case step.REPLACE_LOG: {
            const log = compact;
            // The core writes the compacted log before it asks for the rename;
            // without it, clearing the store would lose the log.
            if (log === undefined) throw new Error('a compaction renamed a log it never wrote');
            await write(opened, term, [LOG_STORE, CALLS_STORE], (store, calls) => {
              store.clear();
              store.put(log, 0);
              noting(calls!);
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
      if (unwritten.length > 0) await write(opened, term, [CALLS_STORE], noting);
    } catch (error) {
      if (error instanceof Superseded) throw storageError(`IndexedDB database ${name} has another writer now: ${error.message}`, error);
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

  return { bytes, answers, run, close };
}
