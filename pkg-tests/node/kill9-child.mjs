// Child of kill9.test.mjs: sends and acks on a durable broker as fast as it
// can, printing "S <id>" once a send is accepted, "R <id>" when a message
// is received and "A <id>" once its ack is, until it is killed.
import { Broker } from 'ferrymq';

const [path, prefix] = process.argv.slice(2);
const broker = await Broker.open({ storage: { file: path } });
const queue = broker.queue('jobs', { leaseMs: 60_000 });
const out = (line) => process.stdout.write(`${line}\n`);
out('READY');
for (let round = 0; ; round++) {
  // Several sends in flight at once share commits (group commit).
  const ids = Array.from({ length: 8 }, (_, i) => `${prefix}-${round}-${i}`);
  await Promise.all(ids.map((id) => queue.send({ id }, { id }).then(() => out(`S ${id}`))));
  const message = await queue.receive();
  if (message !== null) out(`R ${message.id}`);
  if (message !== null && round % 2 === 0) {
    await message.ack();
    out(`A ${message.id}`);
  }
}
