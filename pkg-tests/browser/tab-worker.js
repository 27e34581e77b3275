// A dedicated worker sharing an IndexedDB broker with the page that started
// it (shared.test.mjs): it opens the broker when told, and sends or drains
// a queue on request, answering each request with one message.
import { Broker } from '/node_modules/ferrymq/dist/browser.js';

const name = new URL(self.location.href).searchParams.get('db');
let broker;

const ops = {
  async open() {
    broker = await Broker.open({ storage: { indexedDb: name } });
    return broker.role;
  },
  async send({ queue, count }) {
    const q = broker.queue(queue);
    for (let i = 0; i < count; i++) await q.send(i, { id: `w${i}` });
    return count;
  },
  async drain({ queue }) {
    const q = broker.queue(queue);
    const seen = [];
    for (let m = await q.receive(); m !== null; m = await q.receive()) {
      seen.push(m.id);
      await m.ack();
    }
    return seen;
  },
};

self.onmessage = (e) => ops[e.data.op](e.data).then(
  (result) => self.postMessage(result),
  (error) => self.postMessage({ error: String(error?.stack ?? error) }),
);
// Messages posted before the package's top-level await finished were lost: say when to start.
self.postMessage('ready');
