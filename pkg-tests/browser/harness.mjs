// Shared by the browser suites: Debian's Chromium driven by playwright-core,
// pages served from this machine, console errors collected per page.
import { existsSync, mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { chromium } from 'playwright-core';

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
