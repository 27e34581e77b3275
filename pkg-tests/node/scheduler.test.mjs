import { test } from 'node:test';
import * as ferrymq from 'ferrymq';
import { scenarios } from '../scenarios/scheduler.mjs';

for (const [name, run] of Object.entries(scenarios)) test(name, () => run(ferrymq));
