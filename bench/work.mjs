// The work the Redis and worker_threads groups measure: N messages `{ i }`
// sent to queue 'jobs' in batches of BATCH, then consumed and acked with
// PREFETCH in flight.
export const BATCH = 1_000;
export const PREFETCH = 64;

/** The batch sizes that send n messages. */
export const chunks = (n) => Array.from({ length: Math.ceil(n / BATCH) }, (_, c) => Math.min(BATCH, n - c * BATCH));

/** Sends n messages to 'jobs' on a ferrymq `broker`, a batch at a time. */
export async function sendAll(broker, n) {
  const queue = broker.queue('jobs');
  let sent = 0;
  for (const size of chunks(n)) {
    await queue.sendBatch(Array.from({ length: size }, () => ({ payload: { i: sent++ } })));
  }
}

/** sendAll, then consumes and acks all n. */
export async function work(broker, n) {
  await sendAll(broker, n);
  let acked = 0;
  let consumer;
  await new Promise((resolve) => {
    consumer = broker.queue('jobs').consume(() => {
      if (++acked === n) resolve();
    }, { prefetch: PREFETCH });
  });
  await consumer.cancel();
}
