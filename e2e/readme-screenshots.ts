// The README's screenshots of the app, taken as a user sees it: the web build in Chromium at 1400x900 and
// 1024x700, with sample images dropped on the shipped pair and a class activation map shown.
//   node --import tsx e2e/readme-screenshots.ts      (writes docs/screenshots/app-1400.png, app-1024.png, app-checkpoint-1400.png)
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright';
import { imagenetCheckpoint } from './checkpoints';
import { answerPlacement, build, CHROMIUM, CHROMIUM_ARGS, dropFiles, ROOT, startWebServer, until, waitIdle } from './harness';

const OUT = join(ROOT, 'docs', 'screenshots');
const SAMPLES = ['ankle-boot.png', 'bag.png', 'dress.png', 'sneaker.png', 'pullover.png'].map((f) => join(ROOT, 'app', 'samples', f));

build();
mkdirSync(OUT, { recursive: true });
const server = await startWebServer();
const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
try {
  for (const [width, height] of [[1400, 900], [1024, 700]] as const) {
    const page = await (await browser.newContext({ viewport: { width, height } })).newPage();
    await page.goto(server.url);
    await page.waitForSelector('[data-testid="slot-b"][data-status="ready"]', { timeout: 90_000 });
    await dropFiles(page, SAMPLES);
    await waitIdle(page);
    // The wide window as a whole page (cards, maps, Figures 7 and 6, the table); the small one as it opens.
    await page.screenshot({ path: join(OUT, `app-${width}.png`), fullPage: width === 1400 });
    console.log(`wrote docs/screenshots/app-${width}.png`);
    if (width === 1400) {
      // A PyTorch checkpoint (a tiny ImageNet-layout ResNet made by PyTorch) opened into the right side.
      const ckpt = imagenetCheckpoint();
      await dropFiles(page, [ckpt]);
      await answerPlacement(page, 'b');
      await until('the checkpoint loaded', async () => (await page.locator('[data-testid="slot-b"] [data-testid="model-name"]').textContent()) === ckpt.name, 120_000);
      await waitIdle(page);
      await page.evaluate('window.scrollTo(0, 0)');
      await page.screenshot({ path: join(OUT, 'app-checkpoint-1400.png') });
      console.log('wrote docs/screenshots/app-checkpoint-1400.png');
    }
  }
} finally {
  await browser.close();
  server.stop();
}
