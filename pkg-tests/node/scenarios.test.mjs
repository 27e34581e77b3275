// The scenarios in Node, against the installed package (browser/scenarios.test.mjs runs them in Chromium).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import * as ferrymq from 'ferrymq';

const SUITES = ['broker', 'bad-input', 'scheduler', 'durable'];

// Durable scenarios store their logs as files here.
const folder = mkdtempSync(join(tmpdir(), 'ferrymq-test-'));
let logs = 0;
const env = { newStorage: () => ({ file: join(folder, `log-${++logs}`) }) };

for (const suite of SUITES) {
  const { scenarios } = await import(`../scenarios/${suite}.mjs`);
  for (const [name, run] of Object.entries(scenarios)) test(`${suite}: ${name}`, () => run(ferrymq, env));
}
