// A module worker using the installed package by path (import maps do not
// reach workers): broker, scheduler and a durable broker on IndexedDB.
import { Broker, Scheduler } from '/node_modules/ferrymq/dist/browser.js';

async function run(name) {
  const broker = new Broker();
  const queue = broker.queue('in-worker');
  await queue.send({ from: 'worker' });
  const message = await queue.receive();
  await message.ack();
  await broker.close();

  const scheduler = new Scheduler({ concurrency: 2 });
  const results = await scheduler.addAll([1, 2, 3].map((n) => async () => n * 10));

  let durable = await Broker.open({ storage: { indexedDb: name } });
  await durable.queue('kept').send('across opens');
  await durable.close();
  durable = await Broker.open({ storage: { indexedDb: name } });
  const kept = await durable.queue('kept').receive();
  await kept.ack();
  await durable.close();

  return { payload: message.payload, results, kept: kept.payload };
}

// The database name comes in the URL: a message posted at once could arrive
// while the package's top-level await is still instantiating, before any
// onmessage handler exists.
run(new URL(self.location.href).searchParams.get('db')).then(
  (result) => self.postMessage({ result }),
  (error) => self.postMessage({ error: String(error?.stack ?? error) }),
);
