// Child of kill9.test.mjs: sends, receives and acks on a durable broker as
// fast as it can until it is killed, printing what each call resolved for:
//   S <id>  the send was accepted
//   R <id>  the message was received; it is held, never acked
//   K <id>  the message was received and is being acked
//   A <id>  that ack was accepted
// Ids carry the run's prefix and their round.
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
  if (message === null) continue;
  if (round % 2 === 1) {
    out(`R ${message.id}`);
    continue;
  }
  out(`K ${message.id}`);
  await message.ack();
  out(`A ${message.id}`);
}
