// One process of the multi-process tests (processes.test.mjs): opens the
// broker on the given server and prefix and plays `role`, writing one JSON
// line per thing it did to stdout.
//   node child.mjs <url> <prefix> <role> [params as JSON]
const [url, prefix, role, json = '{}'] = process.argv.slice(2);
const params = JSON.parse(json);
// A process whose clock is off: the server's clock decides delays and TTLs.
if (params.skewMs) {
  const realNow = Date.now;
  Date.now = () => realNow() + params.skewMs;
}
const { Broker } = await import('../../dist/ferrymq.mjs');
const say = (line) => process.stdout.write(`${JSON.stringify(line)}\n`);
const broker = await Broker.open({ storage: { redis: url, prefix } });
broker.on('error', (e) => say({ error: String(e.error) }));

const roles = {
  /** Acks everything it gets, saying each id. */
  async consume({ queue, prefetch }) {
    broker.queue(queue).consume((m) => say({ got: m.id, redelivered: m.redelivered }), { prefetch });
    say({ ready: true });
  },
  /** Receives n messages and never settles them: to be killed holding them. */
  async hold({ queue, n }) {
    const held = [];
    for (let i = 0; i < n; i++) held.push((await broker.queue(queue).receive({ waitMs: 10_000 })).id);
    say({ held });
    setInterval(() => {}, 1_000);
  },
  /** Sends n messages at once; says how many were accepted and refused. */
  async produce({ queue, n }) {
    const results = await Promise.allSettled(Array.from({ length: n }, (_, i) => broker.queue(queue).send({ i })));
    const refused = results.filter((r) => r.status === 'rejected');
    say({ sent: n - refused.length, full: refused.filter((r) => r.reason.code === 'QUEUE_FULL').length });
    await broker.close();
  },
  /** Sends messages in order, each until it is accepted; says each id it resolved for. */
  async stream({ queue, n }) {
    for (let i = 0; i < n; i++) {
      for (;;) {
        try {
          say({ sent: await broker.queue(queue).send({ i }, { id: `m${i}` }) });
          break;
        } catch (error) {
          if (error.code !== 'STORAGE') throw error;
          say({ refused: i });
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      }
    }
    say({ done: true });
    await broker.close();
  },
  /** Binds, publishes and sends with priorities, a caller id twice, a delay. */
  async mixed({ queue }) {
    broker.bind('orders.*', 'audit');
    await broker.publish('orders.new', 'published');
    const q = broker.queue(queue);
    await q.send('low', { priority: 0 });
    await q.send('once', { id: 'same' });
    await q.send('once again', { id: 'same' });
    await q.send('high', { priority: 9 });
    await q.send('later', { delayMs: 60_000 });
    say({ done: true });
    await broker.close();
  },
  /** Answers every request with the payload it carried. */
  async reply({ queue }) {
    broker.queue(queue).consume((m) => m.reply({ echo: m.payload }));
    say({ ready: true });
  },
  /** Sends a message due in delayMs and one that lives ttlMs. */
  async timed({ queue, delayMs, ttlMs }) {
    await broker.queue(queue).send('delayed', { delayMs });
    await broker.queue(queue).send('short-lived', { ttlMs });
    say({ done: true });
    await broker.close();
  },
};

await roles[role](params);
