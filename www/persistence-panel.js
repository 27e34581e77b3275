// The persistence panel: a durable queue in IndexedDB whose messages survive
// a reload.
import { Broker } from 'ferrymq';
import { $ } from './dom.js';

const DATABASE = 'ferrymq-demo';
const QUEUE = 'durable-jobs';

export async function persistencePanel() {
  const panel = $('persistence');

  const status = (text) => { $('p-status').textContent = text; };
  let jobs;
  try {
    const broker = await Broker.open({ storage: { indexedDb: DATABASE } });
    jobs = broker.queue(QUEUE);
  } catch (error) {
    panel.dataset.state = 'error';
    status(`Could not open IndexedDB: ${error?.message ?? error}`);
    return;
  }

  const render = () => {
    const s = jobs.stats();
    $('p-count').textContent = s.ready + s.delayed + s.inFlight;
  };
  // Every button waits for its own operation, then shows the stored count.
  const action = (id, run) => $(id).addEventListener('click', async () => {
    try {
      await run();
    } catch (error) {
      status(`${error?.code ?? 'Error'}: ${error?.message ?? error}`);
    }
    render();
  });

  action('p-send', async () => {
    await jobs.sendBatch(Array.from({ length: 5 }, () => ({ payload: { sentAt: Date.now() } })));
    status('Stored 5 messages. Reload the page: they are still here.');
  });
  action('p-consume', async () => {
    const message = await jobs.receive();
    if (message === null) return status('The queue is empty.');
    await message.ack();
    status(`Consumed and acked message ${message.id}, sent ${new Date(message.payload.sentAt).toLocaleTimeString()}.`);
  });
  $('p-reload').addEventListener('click', () => location.reload());

  for (const id of ['p-send', 'p-consume', 'p-reload']) $(id).disabled = false;
  render();
  panel.dataset.state = 'ready';
}
