// The scenarios in Node, against the installed package (browser/scenarios.test.mjs runs them in Chromium).
import { test } from 'node:test';
import * as ferrymq from 'ferrymq';

const SUITES = ['broker', 'bad-input', 'scheduler'];

for (const suite of SUITES) {
  const { scenarios } = await import(`../scenarios/${suite}.mjs`);
  for (const [name, run] of Object.entries(scenarios)) test(`${suite}: ${name}`, () => run(ferrymq));
}
