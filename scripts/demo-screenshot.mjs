// `npm run screenshot`: the README's picture of the demo (docs/demo.png),
// taken after the page has run long enough for its charts to say something
// and a poison message has just walked to the dead-letter queue.
import { demoMounts, serve } from './serve.mjs';
import { launchChromium } from './chromium.mjs';

const RUN_MS = 40_000;

const server = await serve(demoMounts('.'));
const browser = await launchChromium();
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 }, colorScheme: 'light' });
  await page.goto(server.url);
  await page.waitForTimeout(RUN_MS / 2);
  await page.click('#burst');
  await page.waitForTimeout(RUN_MS / 2);
  await page.click('#poison');
  await page.waitForSelector('#log .msg.followed .step.dead');
  // Only the messages that failed, so its row is on show among them.
  await page.check('#trouble-only');
  await page.screenshot({ path: 'docs/demo.png', fullPage: true });
  console.log('wrote docs/demo.png');
} finally {
  await browser.close();
  await server.close();
}
