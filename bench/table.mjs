// Markdown rendering of results: one table per group, each peer's row saying
// how ferrymq compares with it. Every metric here is lower-is-better (time,
// latency, bytes), so the ratio is ferrymq's median over the peer's.

export const count = (n) => (n >= 1e6 ? `${n / 1e6}M` : n >= 1e3 ? `${n / 1e3}k` : String(n));

const UNITS = {
  ms: { scale: 1, suffix: 'ms', worse: 'slower', better: 'faster' },
  'µs': { scale: 1, suffix: 'µs', worse: 'slower', better: 'faster' },
  'B/msg': { scale: 1, suffix: 'B', worse: 'more', better: 'less' },
  KiB: { scale: 1 / 1024, suffix: 'KiB', worse: 'larger', better: 'smaller' },
};

const sig = (x) => (Math.abs(x) >= 100 ? x.toFixed(0) : Math.abs(x) >= 10 ? x.toFixed(1) : x.toFixed(2));

function value(x, unit) {
  const u = UNITS[unit];
  return `${sig(x * u.scale)} ${u.suffix}`;
}

function rate(n, ms) {
  const perSecond = n / (ms / 1000);
  if (perSecond >= 1e6) return `${sig(perSecond / 1e6)} M/s`;
  if (perSecond >= 1e3) return `${sig(perSecond / 1e3)} k/s`;
  return `${sig(perSecond)} /s`;
}

/** ferrymq's median over the peer's, or undefined when either is missing. */
export function ratio(row, rows) {
  if (!row.vs) return undefined;
  const ferry = rows.find((r) => r.group === row.group && r.bench === row.bench
    && r.metric === row.metric && r.impl === row.vs);
  if (!ferry || !Number.isFinite(ferry.median) || !(row.median > 0)) return undefined;
  return ferry.median / row.median;
}

function compare(r, unit) {
  if (r === undefined) return '';
  const u = UNITS[unit];
  if (r > 1.05) return `ferrymq ${sig(r)}× ${u.worse}`;
  if (r < 1 / 1.05) return `ferrymq ${sig(1 / r)}× ${u.better}`;
  return 'about the same';
}

function line(row, rows) {
  const what = row.metric === 'ms' ? row.bench : `${row.bench}: ${row.metric}`;
  if (row.na) return `| ${what} | ${row.impl} | n/a | | | ${row.na.replace(/^n\/a: /, '')} |`;
  if (row.error) return `| ${what} | ${row.impl} | **failed** | | | ${row.error.split('\n')[0].replaceAll('|', '\\|')} |`;
  const spread = row.rounds.length > 1 ? `${value(row.min, row.unit)} – ${value(row.max, row.unit)}` : '';
  const speed = row.unit === 'ms' && row.n ? rate(row.n, row.median) : '';
  return `| ${what} | ${row.impl} | ${value(row.median, row.unit)} | ${spread} | ${speed} | ${compare(ratio(row, rows), row.unit)} |`;
}

/** Markdown for all results: a heading and a table per group, in run order. */
export function markdown(rows, titles) {
  const groups = [...new Set(rows.map((r) => r.group))];
  return groups.map((group) => [
    `### ${titles[group] ?? group}`,
    '',
    '| Benchmark | Implementation | Median | Min – max | Throughput | ferrymq vs this |',
    '|---|---|---:|---:|---:|---|',
    ...rows.filter((r) => r.group === group).map((r) => line(r, rows)),
  ].join('\n')).join('\n\n');
}
