// `npm run bench [-- [filter...] [--quick] [--check]]`
//   filter   run only cases whose "group bench implementation" contains one
//            of the words (case-insensitive), e.g. `scheduler`, `prefetch 64`
//   --quick  smaller N and fewer rounds, for the test suite (under a minute)
//   --check  exit non-zero if any case threw or produced no number
// Prints Markdown to stdout (progress goes to stderr) and writes the same
// results with every round's numbers to bench/results/latest.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { measureIsolated } from './isolate.mjs';
import { markdown } from './table.mjs';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const check = args.includes('--check');
const filters = args.filter((a) => !a.startsWith('--')).map((a) => a.toLowerCase());
const unknown = args.filter((a) => a.startsWith('--') && a !== '--quick' && a !== '--check');
if (unknown.length > 0) {
  console.error(`unknown option ${unknown.join(' ')}; usage: bench/run.mjs [filter...] [--quick] [--check]`);
  process.exit(2);
}

const ROUNDS = quick ? 3 : 5;

// In run order.
const GROUPS = [
  ['scheduler', 'Scheduler: no-op async tasks', './scheduler.mjs'],
  ['broker', 'Broker, in memory: throughput', './broker.mjs'],
  ['durable', 'Durable broker: send throughput', './durable.mjs'],
  ['redis', 'Through Redis: send, consume and ack', './redis.mjs'],
  ['shared', 'Shared with worker_threads: a follower next to its leader', './shared.mjs'],
  ['latency', 'Latency at low load', './latency.mjs'],
  ['memory', 'Memory per queued message', './memory.mjs'],
  ['size', 'Package size', './size.mjs'],
  ['startup', 'Start-up', './startup.mjs'],
];

const log = (line) => process.stderr.write(`${line}\n`);
const selected = (c) => filters.length === 0
  || filters.some((f) => `${c.group} ${c.bench} ${c.impl}`.toLowerCase().includes(f));

const environment = {
  date: new Date().toISOString(),
  node: process.version,
  cpu: os.cpus()[0]?.model ?? 'unknown',
  cores: os.cpus().length,
  platform: `${os.platform()} ${os.arch()}`,
  mode: quick ? 'quick' : 'full',
  rounds: ROUNDS,
  filters,
};

const started = performance.now();
const rows = [];
for (const [group, , module] of GROUPS) {
  const all = (await import(module)).cases({ quick }).filter(selected);
  const benches = [...new Set(all.map((c) => c.bench))];
  for (const bench of benches) {
    log(`${group}: ${bench}`);
    rows.push(...await measureIsolated(module, all.filter((c) => c.bench === bench), { quick, rounds: ROUNDS }));
  }
}
const seconds = (performance.now() - started) / 1000;

const titles = Object.fromEntries(GROUPS.map(([group, title]) => [group, title]));
console.log(`Node ${environment.node}, ${environment.cpu} (${environment.cores} cores), `
  + `${environment.platform}; ${environment.mode} mode: warm-up then ${ROUNDS} rounds, median; `
  + `${environment.date.slice(0, 10)}; took ${seconds.toFixed(0)} s.\n`);
console.log(markdown(rows, titles));

const results = new URL('./results/', import.meta.url);
mkdirSync(results, { recursive: true });
writeFileSync(new URL('latest.json', results), `${JSON.stringify({ environment, seconds, rows }, null, 2)}\n`);

if (check) {
  const broken = rows.filter((r) => !r.na && (r.error || !Number.isFinite(r.median)));
  if (rows.length === 0) {
    log('--check: no benchmark matched');
    process.exit(1);
  }
  if (broken.length > 0) {
    for (const r of broken) log(`--check: ${r.group} / ${r.bench} / ${r.impl}: ${r.error ?? 'no number'}`);
    process.exit(1);
  }
  log(`--check: all ${rows.length} results are numbers (${rows.filter((r) => r.na).length} n/a)`);
}
