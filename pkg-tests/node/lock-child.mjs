// Child of lock.test.mjs: at the given epoch ms, opens the durable broker at
// the given path; prints "opened" (and holds it until stdin closes) or
// "refused <code>".
import { Broker } from 'ferrymq';

const [path, at] = process.argv.slice(2);
// Every child opens at the same moment, so their lock attempts interleave.
while (Date.now() < Number(at));
try {
  const broker = await Broker.open({ storage: { file: path } });
  process.stdout.write('opened\n');
  process.stdin.resume();
  await new Promise((resolve) => process.stdin.on('end', resolve));
  await broker.close();
} catch (error) {
  process.stdout.write(`refused ${error.code}\n`);
}
