// The child side of isolate.mjs: measures the named cases of one benchmark
// and prints their result rows as JSON on stdout (progress goes to stderr).
import { measure } from './measure.mjs';

const { module, bench, impls, quick, rounds } = JSON.parse(process.argv[2]);
const cases = (await import(module)).cases({ quick })
  .filter((c) => c.bench === bench && impls.includes(c.impl));
const rows = await measure(cases, { rounds, log: (line) => process.stderr.write(`${line}\n`) });
process.stdout.write(JSON.stringify(rows));
// Exit now rather than wait for timers a run may have left behind.
process.exit(0);
