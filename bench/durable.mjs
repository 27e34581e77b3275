// Durable send throughput: how long N small sends take to be persisted, in
// Node (append-only log file, fsync'd group commits) and in Chromium
// (IndexedDB, one strict transaction per commit), each next to the same
// sends on an in-memory broker, and in Chromium next to workbox-background-
// sync's Queue.pushRequest on the same page. Three patterns, shared by all
// (bench/durable-load.mjs): each send awaited before the next (one commit
// each), 100 in flight (sends share commits), and sendBatch of 1000 awaited.
// Sends only: no consumer, so the numbers are the cost of accepting.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inPage } from './durable-browser.mjs';
import { BATCH_SIZE, IN_FLIGHT, load } from './durable-load.mjs';
import { Broker } from './ferrymq.mjs';
import { count } from './table.mjs';

const FILE = 'ferrymq, log file';
const IDB = 'ferrymq, IndexedDB';
const MEMORY = 'ferrymq, in memory';
const WORKBOX = 'workbox-background-sync Queue.pushRequest';

const PATTERNS = {
  each: 'each send awaited',
  inFlight: `${IN_FLIGHT} sends in flight`,
  batch: `sendBatch of ${count(BATCH_SIZE)}, awaited`,
};

/** A Node case: a fresh broker per run, durable ones on a log in a fresh temporary folder. */
function inNode(durable, pattern) {
  return {
    setup: async () => {
      if (!durable) return { broker: new Broker() };
      const dir = mkdtempSync(join(tmpdir(), 'ferrymq-bench-log-'));
      return { dir, broker: await Broker.open({ storage: { file: join(dir, 'bench.log') } }) };
    },
    run: ({ broker }, n) => load(broker.queue('bench'), pattern, n),
    teardown: async ({ broker, dir }) => {
      await broker.close();
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

function bench(where, pattern, n, impls) {
  return impls.map((c) => ({ group: 'durable', bench: `${where}: ${PATTERNS[pattern]}, ${count(n)}`, n, ...c }));
}

export function cases({ quick }) {
  // One commit per awaited send costs milliseconds, so that pattern gets a smaller N.
  const sizes = Object.entries({
    each: quick ? 100 : 2_000,
    inFlight: quick ? 2_000 : 20_000,
    batch: quick ? 2_000 : 20_000,
  });
  return [
    ...sizes.flatMap(([pattern, n]) => bench('Node', pattern, n, [
      { impl: FILE, ...inNode(true, pattern) },
      { impl: MEMORY, vs: FILE, ...inNode(false, pattern) },
    ])),
    ...sizes.flatMap(([pattern, n]) => bench('Chromium', pattern, n, [
      { impl: IDB, ...inPage('indexedDb', pattern) },
      { impl: MEMORY, vs: IDB, ...inPage('memory', pattern) },
      // Workbox has no batch call: it stores one request per pushRequest.
      ...(pattern === 'batch' ? [] : [{ impl: WORKBOX, vs: IDB, ...inPage('workbox', pattern) }]),
    ])),
  ];
}
