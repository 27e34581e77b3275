// The persistence panel: a durable queue in IndexedDB whose messages survive
// a reload, shared by every tab that shows this page: one tab leads, the
// others follow, and one of them takes over when the leader goes.
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
    const role = () => {
      $('p-role').textContent = broker.role === 'leader'
        ? 'This tab leads: it keeps the queue. Open the page in another tab to watch that one follow.'
        : 'This tab follows the tab that leads; close that one and this tab takes over.';
      panel.dataset.role = broker.role;
    };
    broker.on('role', () => {
      role();
      render();
    });
    role();
    // What this tab found in IndexedDB when it opened the broker as its first leader.
    if (broker.recovery !== undefined) {
      $('p-recovery').textContent = `Recovered ${broker.recovery.records} log records when this tab opened${broker.recovery.tornTail === undefined ? '' : ' (an unfinished last write was dropped)'}.`;
    }
  } catch (error) {
    panel.dataset.state = 'error';
    status(`Could not open IndexedDB: ${error?.message ?? error}`);
    return;
  }

  // As of now, wherever the leader is (a follower's stats() is what it last read).
  const render = async () => {
    const s = await jobs.fetchStats();
    $('p-count').textContent = s.ready + s.delayed + s.inFlight;
  };
  // Every button waits for its own operation, then shows the stored count.
  const action = (id, run) => $(id).addEventListener('click', async () => {
    try {
      await run();
    } catch (error) {
      status(`${error?.code ?? 'Error'}: ${error?.message ?? error}`);
    }
    await render();
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
  await render();
  panel.dataset.state = 'ready';
}
