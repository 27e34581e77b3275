// Shared by the browser suites: Debian's Chromium driven by playwright-core,
// pages served from this machine, console errors collected per page.
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { after, before } from 'node:test';
import { launchChromium } from '../../../scripts/chromium.mjs';
import { serve } from '../../../scripts/serve.mjs';

/** Where screenshots go: a gitignored folder of the repo. */
export const screenshots = resolve(process.env.FERRYMQ_REPO ?? '..', '.artifacts', 'screenshots');

export function launch() {
  mkdirSync(screenshots, { recursive: true });
  return launchChromium();
}

/**
 * Opens `url` in a new page made with playwright's page `options` (viewport,
 * colorScheme); `errors` collects console errors and uncaught exceptions.
 */
export async function open(browser, url, options) {
  const page = await browser.newPage(options);
  const errors = collectErrors(page);
  await page.goto(url);
  return { page, errors };
}

/** Pushes `page`'s console errors and uncaught exceptions onto `errors`; returns it. */
export function collectErrors(page, errors = []) {
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  page.on('pageerror', (e) => errors.push(String(e)));
  return errors;
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
  collectErrors(page, errors);
  await page.goto(`${fixture.server.url}/browser/slice.html`);
  await page.waitForSelector('body[data-ready="function"]', { state: 'attached' });
  return page;
}
