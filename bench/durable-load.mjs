// The send patterns of the durable benchmarks, one module for Node and the
// browser page alike (the page imports it from /bench/), so every store is
// driven by the same loops with the same payloads.

export const BATCH_SIZE = 1000;
export const IN_FLIGHT = 100;

export const payload = (i) => ({ n: i });

/**
 * Sends payloads 0..n-1 with at most `width` sends unresolved at a time:
 * `width` workers, each awaiting its send before taking the next payload.
 * Width 1 is one send at a time, each waiting for its own commit.
 */
export async function inFlight(send, n, width) {
  let next = 0;
  const worker = async () => {
    while (next < n) await send(payload(next++));
  };
  await Promise.all(Array.from({ length: Math.min(width, n) }, worker));
}

/** Sends payloads 0..n-1 as batches of BATCH_SIZE, each awaited before the next. */
export async function batches(sendBatch, n) {
  for (let i = 0; i < n; i += BATCH_SIZE) {
    const items = [];
    for (let j = i; j < Math.min(n, i + BATCH_SIZE); j++) items.push({ payload: payload(j) });
    await sendBatch(items);
  }
}

/** How many sends each single-send pattern keeps unresolved. */
const WIDTHS = { each: 1, inFlight: IN_FLIGHT };

/** Runs one pattern ('each', 'inFlight' or 'batch') of n sends on a ferrymq queue. */
export function load(queue, pattern, n) {
  if (pattern === 'batch') return batches((items) => queue.sendBatch(items), n);
  return inFlight((p) => queue.send(p), n, width(pattern));
}

export function width(pattern) {
  if (!(pattern in WIDTHS)) throw new Error(`no send pattern ${pattern}`);
  return WIDTHS[pattern];
}
