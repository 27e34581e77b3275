// Shared by the browser suites: Debian's Chromium driven by playwright-core,
// pages served from this machine, console errors collected per page.
import { existsSync, mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { after, before } from 'node:test';
import { chromium } from 'playwright-core';
import { serve } from '../../../scripts/serve.mjs';

const CHROMIUM = '/usr/bin/chromium';

/** Where screenshots go: a gitignored folder of the repo. */
export const screenshots = resolve(process.env.FERRYMQ_REPO ?? '..', '.artifacts', 'screenshots');

export async function launch() {
  // Missing Chromium fails the suite: a browser test must never be skipped.
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: run scripts/setup.sh --browser`);
  mkdirSync(screenshots, { recursive: true });
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // playwright gives every launch a fresh temporary profile (user-data-dir).
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
      '--disable-quic',
      '--disable-sync',
    ],
  });
}

/** Opens `url`; `errors` collects console errors and uncaught exceptions. */
export async function open(browser, url, viewport) {
  const page = await browser.newPage(viewport ? { viewport } : undefined);
  const errors = [];
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(url);
  return { page, errors };
}

/**
 * For a test file: serves `mounts` and starts Chromium before its tests,
 * closes both after. `setup` runs before the server starts (e.g. a build it
 * serves), `ready` once the browser is up. The returned object gets
 * `server`, `browser` and whatever `ready` returns.
 */
export function useBrowser(mounts, { setup, ready } = {}) {
  const fixture = {};
  before(async () => {
    await setup?.();
    fixture.server = await serve(mounts);
    fixture.browser = await launch();
    Object.assign(fixture, await ready?.(fixture));
  });
  after(async () => {
    await fixture.browser?.close();
    await fixture.server?.close();
  });
  return fixture;
}

/** `useBrowser` plus one page opened at `path`, ready once `readySelector` is in the DOM. */
export function usePage(mounts, path, readySelector) {
  return useBrowser(mounts, {
    async ready({ browser, server }) {
      const opened = await open(browser, `${server.url}${path}`);
      await opened.page.waitForSelector(readySelector, { state: 'attached' });
      return opened;
    },
  });
}

/**
 * A page of `context` (pages of one context share IndexedDB, Web Locks and
 * BroadcastChannel) with the installed package loaded as `window.ferrymq`;
 * `errors` collects its console errors.
 */
export async function packagePage(fixture, context, errors) {
  const page = await context.newPage();
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(`${fixture.server.url}/browser/slice.html`);
  await page.waitForSelector('body[data-ready="function"]', { state: 'attached' });
  return page;
}
