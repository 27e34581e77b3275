// Request/reply: a caller awaits the answer of whichever consumer takes
// its message, with a timeout, as RPC over a queue.
//
//   node request-reply.mjs
import { Broker, FerryError } from 'ferrymq';

const broker = new Broker();

broker.queue('prices').consume(async (message) => {
  const { sku } = message.payload;
  if (sku === 'unknown') return; // acked without a reply: the caller times out
  await message.reply({ sku, cents: sku.length * 100 });
});

const price = await broker.request('prices', { sku: 'teapot' }, { timeoutMs: 1_000 });
console.log(`teapot costs ${price.cents} cents`);

try {
  await broker.request('prices', { sku: 'unknown' }, { timeoutMs: 50 });
} catch (error) {
  if (!(error instanceof FerryError && error.code === 'TIMEOUT')) throw error;
  console.log('unknown: no reply within 50 ms');
}
await broker.close();
