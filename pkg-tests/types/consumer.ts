// Compiled with `tsc --noEmit` against the installed package: a user's view
// of the API. A wrong or missing type here fails the build.
import {
  Broker,
  FerryError,
  Scheduler,
  type BrokerStats,
  type DeadLetterReason,
  type HandlerContext,
  type Message,
  type MessageId,
  type QueueStats,
  type Recovery,
} from 'ferrymq';

interface Order {
  sku: string;
  quantity: number;
}

export async function broker(): Promise<void> {
  await using broker = new Broker();
  const orders = broker.queue<Order>('orders', {
    maxLength: 10_000,
    overflow: 'drop-oldest',
    ttlMs: 60_000,
    leaseMs: 5_000,
    maxDeliveries: 5,
    backoff: { type: 'exponential', baseMs: 100, maxMs: 5_000, jitter: true },
    deadLetter: 'orders.failed',
    dedupWindowMs: 60_000,
    durable: false,
  });
  broker.queue('audit', { deadLetter: null });
  const id: MessageId = await orders.send({ sku: 'A-1', quantity: 2 }, { id: 'o-1', priority: 5, delayMs: 0, ttlMs: 1_000, headers: { tenant: 't1' } });
  const ids: MessageId[] = await orders.sendBatch([{ payload: { sku: 'B', quantity: 1 } }, { payload: { sku: 'C', quantity: 3 }, priority: 9 }]);
  const controller = new AbortController();
  const message: Message<Order> | null = await orders.receive({ waitMs: 100, signal: controller.signal });
  if (message !== null) {
    const quantity: number = message.payload.quantity;
    const count: number = message.deliveryCount;
    const tenant: string | undefined = message.headers['tenant'];
    void [id, ids, quantity, count, message.redelivered, message.enqueuedAt, tenant];
    message.extendLease(10_000);
    await message.nack({ requeue: true, delayMs: 50 });
  }
  const batch: Message<Order>[] = await orders.receiveBatch(10, { waitMs: 5 });
  for (const m of batch) await m.ack();
  const consumer = orders.consume(async (m, { signal }) => {
    if (m.payload.quantity < 0) await m.nack({ requeue: false });
    if (signal.aborted) throw signal.reason;
  }, { prefetch: 8, autoAck: true, signal: controller.signal, rateLimit: { max: 10, intervalMs: 1_000 }, timeoutMs: 5_000 });
  const keepSignal = (_: unknown, context: HandlerContext): AbortSignal => context.signal;
  orders.consume(keepSignal, { rateLimit: { max: 1, intervalMs: 50, window: 'fixed', carryover: true } });
  // @ts-expect-error a rate limit needs intervalMs
  orders.consume(() => {}, { rateLimit: { max: 1 } });
  if (consumer.active) await consumer.cancel();
  for await (const m of orders) {
    await m.ack();
    break;
  }
  const purged: number = await orders.purge();
  const stats: QueueStats = orders.stats();
  const p99: number = stats.latencyMs.p99;
  broker.bind('orders.*', 'orders');
  broker.unbind('orders.*', 'orders');
  const routed: MessageId[] = await broker.publish('orders.new', { sku: 'D', quantity: 1 }, { priority: 1 });
  broker.queue<number>('rpc').consume((m) => m.reply(m.payload * 2));
  const doubled = await broker.request<number>('rpc', 21, { timeoutMs: 1_000, signal: controller.signal });
  const all: BrokerStats = broker.stats();
  const off = broker.on('dead-letter', (e) => {
    const reason: DeadLetterReason = e.reason;
    void [reason, e.queue, e.id, e.deadLetterQueue];
  });
  broker.on('error', (e) => void [e.error, e.queue, e.id]);
  broker.on('redelivered', (e) => void e.deliveryCount);
  off();
  void [purged, p99, routed, doubled + 1, all.queues['orders']?.ready];
  // @ts-expect-error payloads are typed per queue
  await orders.send('not an order');
  await broker.close();
}

export async function scheduler(): Promise<number> {
  const scheduler = new Scheduler({
    concurrency: 4,
    rateLimit: { max: 10, intervalMs: 1_000 },
    timeoutMs: 5_000,
    retries: 2,
    backoff: { type: 'exponential', baseMs: 100, maxMs: 2_000, jitter: true },
    autoStart: false,
  });
  const controller = new AbortController();
  const n: number = await scheduler.add(async ({ attempt, signal, progress, id }) => {
    progress({ step: 1 });
    void [signal.aborted, id.length];
    return attempt * 2;
  }, { priority: 3, timeoutMs: 100, retries: 1, signal: controller.signal, id: 'job-1', onProgress: (p) => void p });
  const s: string = await scheduler.add(() => 'sync result');
  const all: number[] = await scheduler.addAll([() => 1, async () => 2]);
  // @ts-expect-error ids must be unique, so addAll takes none
  void scheduler.addAll([() => 1], { id: 'same' });
  const off = scheduler.on('retry', (e) => void [e.attempt, e.delayMs, e.error]);
  scheduler.on('completed', (e) => void e.result);
  off();
  scheduler.pause();
  scheduler.resume();
  scheduler.concurrency = Infinity;
  const cleared: number = scheduler.clear('stop');
  await scheduler.onEmpty();
  await scheduler.onIdle();
  scheduler.push(() => 1, { id: 'pushed', priority: 2.5 });
  scheduler.setPriority('pushed', Date.now());
  const waiting: number = scheduler.sizeBy({ priority: 1 }) + scheduler.sizeBy();
  await Promise.all([scheduler.onRateLimit(), scheduler.onRateLimitCleared(), scheduler.onSizeLessThan(10), scheduler.onPendingZero()]);
  const running: ReadonlyArray<{ id: string; attempt: number; startedAt: number; priority: number; timeoutMs: number | undefined }> = scheduler.runningTasks;
  scheduler.on('aborted', (e) => void [e.id, e.running]);
  scheduler.on('rateLimit', () => {});
  void [s, all, cleared, scheduler.size, scheduler.pending, scheduler.isPaused, scheduler.isRateLimited, waiting, running];
  return n;
}

export async function durable(): Promise<void> {
  const broker = await Broker.open({ storage: { file: './data/jobs.log' } });
  const recovery: Recovery | undefined = broker.recovery;
  if (recovery?.corrupt) console.warn(recovery.corrupt.offset, recovery.corrupt.damage);
  await broker.queue('jobs').send(new Uint8Array([1, 2]));
  const inBrowser = await Broker.open({ storage: { indexedDb: 'jobs' } });
  await Promise.all([broker.close(), inBrowser.close()]);
  // @ts-expect-error durable storage needs Broker.open
  void new Broker({ storage: { file: 'x' } });
}

export async function sharedAcrossThreads(): Promise<void> {
  const leader = await Broker.open({ storage: { file: './data/jobs.log' } });
  const port: MessagePort = leader.share();
  const follower = await Broker.open({ storage: { port } });
  const roles: ['leader' | 'follower', 'leader' | 'follower'] = [leader.role, follower.role];
  const onRedis = await Broker.open({ storage: { redis: 'redis://127.0.0.1:6379/0', prefix: 'app' } });
  void roles;
  await Promise.all([follower.close(), leader.close(), onRedis.close()]);
}

export function codeOf(error: unknown): string | undefined {
  return error instanceof FerryError ? error.code : undefined;
}

// ferrymq/p-queue: p-queue's API, typed.
import PQueue, { TimeoutError, type Options, type QueueAddOptions, type RunningTask } from 'ferrymq/p-queue';

async function pQueueUser(): Promise<void> {
  const options: Options = { concurrency: 2, intervalCap: 5, interval: 1_000, strict: true, timeout: 5_000, autoStart: true };
  const queue = new PQueue(options);
  const addOptions: QueueAddOptions = { priority: 1, id: 'job', signal: new AbortController().signal, timeout: undefined };
  const n: number = await queue.add(async ({ signal }) => (signal.aborted ? 0 : 1), addOptions);
  const all: string[] = await queue.addAll([() => 'a', async () => 'b']);
  queue.on('completed', (result: unknown) => void result).on('error', (error: unknown) => void error);
  queue.once('idle', () => {}).off('idle');
  queue.setPriority('job', 2);
  queue.concurrency = 4;
  queue.timeout = 10_000;
  const running: ReadonlyArray<RunningTask> = queue.runningTasks;
  const counts: number[] = [queue.size, queue.pending, queue.sizeBy({ priority: 1 }), n, all.length, running.length];
  const flags: boolean[] = [queue.isPaused, queue.isRateLimited, queue.isSaturated];
  await Promise.race([queue.onError(), queue.onIdle(), queue.onEmpty(), queue.onPendingZero(), queue.onSizeLessThan(3)]);
  await Promise.all([queue.onRateLimit(), queue.onRateLimitCleared()]);
  queue.start().pause();
  queue.clear();
  try {
    await queue.add(() => 1);
  } catch (error) {
    if (error instanceof TimeoutError) console.log(error.name, counts, flags);
  }
}
void pQueueUser;
