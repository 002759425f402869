import { join } from 'node:path';
import { chromium } from 'playwright';
import { CHROMIUM, CHROMIUM_ARGS, dropFiles, ROOT, waitIdle } from './harness';
const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
const page = await (await browser.newContext({ viewport: { width: 1400, height: 900 } })).newPage();
await page.goto('http://127.0.0.1:8199/');
await page.waitForSelector('[data-testid="slot-b"][data-status="ready"]', { timeout: 90_000 });
await dropFiles(page, ['ankle-boot.png', 'bag.png'].map((f) => join(ROOT, 'app', 'samples', f)));
await waitIdle(page);
for (const s of ['a', 'b']) {
  const box = page.locator(`[data-testid="slot-${s}"] [data-testid="step-times"]`);
  console.log(s, await box.getAttribute('data-sum'), await box.getAttribute('data-total'), await box.getAttribute('data-coverage'));
}
await browser.close();
