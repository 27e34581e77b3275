// Compiled with `tsc --noEmit` against the installed package: a user's view
// of the API. A wrong or missing type here fails the build.
import { Broker, FerryError, Scheduler, type Message, type MessageId } from 'ferrymq';

interface Order {
  sku: string;
  quantity: number;
}

export async function broker(): Promise<void> {
  await using broker = new Broker();
  const orders = broker.queue<Order>('orders', { leaseMs: 5_000 });
  const id: MessageId = await orders.send({ sku: 'A-1', quantity: 2 }, { priority: 5, delayMs: 0, headers: { tenant: 't1' } });
  const message: Message<Order> | null = await orders.receive({ waitMs: 100 });
  if (message !== null) {
    const quantity: number = message.payload.quantity;
    const count: number = message.deliveryCount;
    void [id, quantity, count, message.redelivered, message.enqueuedAt, message.headers['tenant']];
    await message.ack();
  }
  const consumer = orders.consume(async (m) => {
    if (m.payload.quantity < 0) await m.nack({ requeue: false });
  }, { prefetch: 8, autoAck: true });
  if (consumer.active) await consumer.cancel();
  // @ts-expect-error payloads are typed per queue
  await orders.send('not an order');
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
  void [s, all, cleared, scheduler.size, scheduler.pending, scheduler.isPaused];
  return n;
}

export function codeOf(error: unknown): string | undefined {
  return error instanceof FerryError ? error.code : undefined;
}
