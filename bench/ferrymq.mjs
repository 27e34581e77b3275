// The package under test, loaded from the built dist/ exactly as users get
// it (not from js/), building it first when a fresh checkout has no dist/.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const entry = new URL('../dist/ferrymq.mjs', import.meta.url);

if (!existsSync(entry)) {
  execFileSync('bash', ['scripts/build.sh'], { cwd: repoRoot, stdio: 'inherit' });
}

export const { Broker, Scheduler } = await import(entry.href);
export const { default: FerryPQueue } = await import(new URL('../dist/p-queue.mjs', import.meta.url).href);
