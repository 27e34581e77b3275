// Runs the cases of one benchmark: a warm-up of each, then rounds in which
// every implementation runs once, in rotating order, so background load on a
// shared machine falls on all of them alike instead of on whoever ran last.
// Each run gets a fresh instance from its case's setup(), which is not timed.
import { summarize } from './stats.mjs';

// A run that never settles (a lost message, a missing drain event) must fail
// the harness, not hang it.
const RUN_TIMEOUT_MS = 180_000;

const collect = globalThis.gc ?? (() => {});

function withTimeout(promise, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no result after ${RUN_TIMEOUT_MS} ms`)), RUN_TIMEOUT_MS);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * One run: a timed case yields { ms }; a value case (one that names its
 * `unit`) yields the numbers its run() returned (latencies, bytes), keyed by
 * metric name.
 */
async function runOnce(c, n) {
  collect(); // garbage left by the previous implementation is not this one's cost
  const state = c.setup ? await c.setup(n) : undefined;
  const start = performance.now();
  const values = await withTimeout(Promise.resolve(c.run(state, n)), `${c.impl} on ${c.bench}`);
  const ms = performance.now() - start;
  await c.teardown?.(state);
  return c.unit ? values : { ms };
}

/**
 * Measures the cases of one benchmark (same group and bench name) and returns
 * one result per case and metric, with every round's number kept.
 */
export async function measure(cases, { rounds, log }) {
  const entries = cases.map((c) => ({ c, runs: [], na: c.unavailable?.(), error: undefined }));
  const live = entries.filter((e) => !e.na);
  for (const entry of live) {
    try {
      if (entry.c.warmup !== false) {
        await runOnce(entry.c, entry.c.warmupN ?? Math.max(1, Math.ceil(entry.c.n / 10)));
      }
    } catch (error) {
      entry.error = error;
    }
  }
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < live.length; k++) {
      const entry = live[(r + k) % live.length];
      // Deterministic cases (sizes) ask for one round: more would only repeat it.
      if (entry.error || entry.runs.length >= (entry.c.rounds ?? rounds)) continue;
      try {
        entry.runs.push(await runOnce(entry.c, entry.c.n));
      } catch (error) {
        entry.error = error;
      }
    }
    log?.(`  round ${r + 1}/${rounds}`);
  }
  return entries.flatMap(({ c, runs, na, error }) => {
    if (na || error) return [result(c, 'ms', [], { na, error })];
    return Object.keys(runs[0]).map((metric) => result(c, metric, runs.map((v) => v[metric])));
  });
}

function result(c, metric, values, extra = {}) {
  return {
    group: c.group,
    bench: c.bench,
    impl: c.impl,
    vs: c.vs,
    metric,
    unit: metric === 'ms' ? 'ms' : c.unit,
    n: c.n,
    rounds: values,
    ...summarize(values),
    ...(extra.na ? { na: extra.na } : {}),
    ...(extra.error ? { error: String(extra.error?.stack ?? extra.error) } : {}),
  };
}
