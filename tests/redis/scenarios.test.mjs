// The broker scenarios every storage runs (pkg-tests/scenarios/broker.mjs),
// on a broker kept on a real redis-server: each scenario's brokers share a
// prefix of their own, so they see each other's queues as processes would.
import { test } from 'node:test';
import * as ferrymq from '../../dist/ferrymq.mjs';
import { scenarios } from '../../pkg-tests/scenarios/broker.mjs';
import { environment } from '../../pkg-tests/scenarios/environment.mjs';
import { whenIdle } from '../../pkg-tests/scenarios/fake-clock.mjs';
import { withLibrary } from './server.mjs';

let url;
let redis;
withLibrary((server, client) => {
  url = server.url;
  redis = client;
});

let prefixes = 0;
for (const [name, run] of Object.entries(scenarios)) {
  test(`broker on redis: ${name}`, { timeout: 30_000 }, async () => {
    const prefix = `scenario${++prefixes}`;
    // The server's clock is the test's from the start (the brokers keep it
    // so, see environment.mjs): a fake clock installed later starts after it.
    await redis.set(`{${prefix}}:clock`, String(Date.now()));
    const env = environment(ferrymq, () => ({ redis: url, prefix }), 'durable');
    whenIdle(env.idle);
    return run(ferrymq, env);
  });
}
