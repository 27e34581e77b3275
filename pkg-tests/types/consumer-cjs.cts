// The same package through require(), as a CommonJS TypeScript user sees it
// (dist/*.d.cts). Compiled by tsc --noEmit with consumer.ts.
import ferrymq = require('ferrymq');
import pQueue = require('ferrymq/p-queue');

async function commonJsUser(): Promise<void> {
  const broker: ferrymq.Broker = new ferrymq.Broker();
  const queue: ferrymq.Queue<{ n: number }> = broker.queue<{ n: number }>('cjs', { maxLength: 10 });
  const id: ferrymq.MessageId = await queue.send({ n: 1 });
  const scheduler = new ferrymq.Scheduler({ concurrency: 2 });
  const doubled: number = await scheduler.add(() => 2 * id.length);
  const PQueue = pQueue.default;
  const tasks = new PQueue({ concurrency: 1 });
  const result: string = await tasks.add(async ({ signal }) => (signal.aborted ? 'stopped' : 'ran'));
  if (!(new Error() instanceof pQueue.TimeoutError)) console.log(doubled, result);
  await broker.close();
}
void commonJsUser;
