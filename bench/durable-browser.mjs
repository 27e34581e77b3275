// The browser side of bench/durable.mjs: one Chromium page per benchmark
// process (as the Node cases share one process), serving the built package,
// the page under bench/pages/ and workbox-background-sync bundled for it.
// Cases open a fresh store in that page per run, and the page times the run.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { CHROMIUM, launchChromium } from '../scripts/chromium.mjs';
import { serve } from '../scripts/serve.mjs';
import { repoRoot } from './ferrymq.mjs';

/** Why the browser cases cannot run here, or undefined when they can. */
export const noChromium = () => (existsSync(CHROMIUM)
  ? undefined
  : `n/a: ${CHROMIUM} is missing (bash scripts/setup.sh --browser)`);

/** workbox-background-sync as one ES module in a temporary folder, removed at exit. */
async function bundleWorkbox() {
  const dir = mkdtempSync(join(tmpdir(), 'ferrymq-bench-workbox-'));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  await build({
    entryPoints: ['workbox-background-sync'],
    absWorkingDir: repoRoot,
    bundle: true,
    format: 'esm',
    outfile: join(dir, 'workbox-background-sync.js'),
    // Workbox's development build asserts and logs on every call.
    define: { 'process.env.NODE_ENV': '"production"' },
    logLevel: 'warning',
  });
  return dir;
}

async function start() {
  const server = await serve([
    ['/dist/', join(repoRoot, 'dist')],
    ['/bench/', join(repoRoot, 'bench')],
    ['/workbox/', await bundleWorkbox()],
  ]);
  // Chromium (and its temporary profile) goes when this process exits.
  const browser = await launchChromium();
  const page = await browser.newPage();
  page.on('pageerror', (error) => process.stderr.write(`page error: ${error}\n`));
  await page.goto(`${server.url}/bench/pages/durable.html`);
  await page.waitForSelector('body[data-ready]', { state: 'attached' });
  return page;
}

let session;
let runs = 0;

/**
 * Setup, run and teardown of a case that runs `pattern` on a fresh `store`
 * (see bench/pages/durable.mjs) per run. run() returns the page's own
 * milliseconds as the `ms` metric (the case's unit), which the table turns
 * into messages per second as it does for Node-timed cases.
 */
export function inPage(store, pattern) {
  return {
    unit: 'ms',
    unavailable: noChromium,
    setup: async () => {
      const page = await (session ??= start());
      const name = `bench-${store}-${process.pid}-${++runs}`;
      await page.evaluate(([s, n]) => window.bench.open(s, n), [store, name]);
      return page;
    },
    run: async (page, n) => ({ ms: await page.evaluate(([p, n]) => window.bench.run(p, n), [pattern, n]) }),
    teardown: (page) => page.evaluate(() => window.bench.close()),
  };
}
