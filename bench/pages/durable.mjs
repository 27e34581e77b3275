// The in-page half of the browser cases of bench/durable.mjs: Node opens a
// store, runs one send pattern on it and closes it through window.bench; the
// page times the run itself so that Node↔page round trips are not counted.
import { Broker } from 'ferrymq';
import { Queue } from 'workbox-background-sync';
import { inFlight, load, width } from '/bench/durable-load.mjs';

// Workbox's Queue is written for service workers: its constructor reads
// `'sync' in self.registration`, and a page has no registration. With an
// empty one it takes its no-Background-Sync path, which stores requests just
// the same and replays them when the queue is constructed; the no-op onSync
// keeps it from replaying (there is no server here), so only storing is timed.
self.registration ??= {};

const settle = (request) => new Promise((resolve, reject) => {
  request.onsuccess = () => resolve(request.result);
  request.onerror = () => reject(request.error);
});

// What workbox stores (its QueueDb: database and object store names).
const WORKBOX_DB = 'workbox-background-sync';
const WORKBOX_STORE = 'requests';

/** Empties workbox's one shared database, so no run starts on another's entries. */
async function clearWorkbox() {
  const db = await settle(indexedDB.open(WORKBOX_DB));
  if (db.objectStoreNames.contains(WORKBOX_STORE)) {
    await settle(db.transaction(WORKBOX_STORE, 'readwrite').objectStore(WORKBOX_STORE).clear());
  }
  db.close();
}

function ferrymq(broker, close) {
  const queue = broker.queue('bench');
  return { run: (pattern, n) => load(queue, pattern, n), close };
}

/** Each store, opened fresh under `name`: { run(pattern, n), close() }. */
const stores = {
  async indexedDb(name) {
    const broker = await Broker.open({ storage: { indexedDb: name } });
    return ferrymq(broker, async () => {
      await broker.close();
      await settle(indexedDB.deleteDatabase(name));
    });
  },
  async memory() {
    const broker = new Broker();
    return ferrymq(broker, () => broker.close());
  },
  async workbox(name) {
    await clearWorkbox();
    const queue = new Queue(name, { onSync: async () => {} });
    // A POST carrying the same JSON payload ferrymq stores.
    const send = (p) => queue.pushRequest({
      request: new Request('/api/messages', { method: 'POST', body: JSON.stringify(p) }),
    });
    return {
      run: (pattern, n) => inFlight(send, n, width(pattern)),
      close: clearWorkbox,
    };
  },
};

let current;

window.bench = {
  async open(store, name) {
    current = await stores[store](name);
  },
  /** Milliseconds the n sends took, measured in the page. */
  async run(pattern, n) {
    const start = performance.now();
    await current.run(pattern, n);
    return performance.now() - start;
  },
  async close() {
    await current.close();
    current = undefined;
  },
};
document.body.dataset.ready = 'true';
