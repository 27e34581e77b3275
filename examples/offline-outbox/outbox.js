// An offline outbox: orders are kept in IndexedDB the moment they are
// placed and posted to the server in the background, retried with backoff
// while it cannot be reached; a reload or a closed tab loses none.
import { Broker } from 'ferrymq';

const broker = await Broker.open({ storage: { indexedDb: 'outbox' } });
const orders = broker.queue('orders', {
  maxDeliveries: 1_000, // keep trying for a long time
  backoff: { type: 'exponential', baseMs: 200, maxMs: 5_000 },
});

// The sender: one POST at a time. Acked once the server has the order;
// on a failure it goes back to the queue and comes again after the backoff.
orders.consume(async (message) => {
  try {
    const response = await fetch('/api/orders', {
      method: 'POST',
      // The server can drop a repeat (a POST whose answer was lost) by this key.
      headers: { 'content-type': 'application/json', 'idempotency-key': message.id },
      body: JSON.stringify(message.payload),
    });
    if (!response.ok) throw new Error(`the server answered ${response.status}`);
    await message.ack();
  } catch (error) {
    document.querySelector('#failure').textContent = error.message;
    await message.nack();
  }
  await showPending();
}, { prefetch: 1, autoAck: false });

async function showPending() {
  const { ready, delayed, inFlight } = await orders.fetchStats();
  document.querySelector('#pending').textContent = String(ready + delayed + inFlight);
}

/** Places an order: resolves once it is stored, whether or not the server is reachable. */
export async function placeOrder(order) {
  await orders.send(order);
  await showPending();
}

document.querySelector('#order').addEventListener('submit', (event) => {
  event.preventDefault();
  placeOrder({ item: new FormData(event.target).get('item'), at: Date.now() });
});

await showPending();
// For the tests (pkg-tests/browser/examples.test.mjs), and for you in the console.
window.outbox = { placeOrder };
document.body.dataset.ready = 'true';
