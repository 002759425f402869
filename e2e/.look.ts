// scratch: screenshots of a running server (not committed)
import { join } from 'node:path';
import { chromium } from 'playwright';
import { CHROMIUM, CHROMIUM_ARGS, dropFiles, ROOT, waitIdle } from './harness';
const [w, h, out, full, url] = [Number(process.argv[2]), Number(process.argv[3]), process.argv[4]!, process.argv[5] === 'full', process.argv[6] ?? 'http://127.0.0.1:8199/'];
const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
const page = await (await browser.newContext({ viewport: { width: w, height: h } })).newPage();
await page.goto(url);
await page.waitForSelector('[data-testid="slot-b"][data-status="ready"]', { timeout: 90_000 });
await dropFiles(page, ['ankle-boot.png', 'bag.png', 'dress.png', 'sneaker.png', 'pullover.png'].map((f) => join(ROOT, 'app', 'samples', f)));
await waitIdle(page);
await page.screenshot({ path: out, fullPage: full });
await browser.close();
