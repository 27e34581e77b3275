// ferrymq/p-queue in Node. The p-queue scenarios run twice: against p-queue
// 9 itself (the reference, from this repository's devDependencies) and
// against ferrymq/p-queue from the installed package; the differences run
// against ferrymq/p-queue only. browser/scenarios.test.mjs runs them in Chromium.
import { test } from 'node:test';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { FerryError } from 'ferrymq';
import PQueue, { TimeoutError } from 'ferrymq/p-queue';
import { differences, scenarios } from '../scenarios/p-queue.mjs';

const reference = await import(pathToFileURL(join(process.env.FERRYMQ_REPO, 'node_modules/p-queue/dist/index.js')).href);
const implementations = {
  'p-queue 9 (reference)': { PQueue: reference.default, TimeoutError: reference.TimeoutError },
  'ferrymq/p-queue': { PQueue, TimeoutError, FerryError },
};

for (const [implementation, api] of Object.entries(implementations)) {
  for (const [name, run] of Object.entries(scenarios)) test(`${implementation}: ${name}`, () => run(api));
}
for (const [name, run] of Object.entries(differences)) {
  test(`ferrymq/p-queue, differs on purpose: ${name}`, () => run(implementations['ferrymq/p-queue']));
}
