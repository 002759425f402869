// The README's screenshots of the app, taken as a user sees it: the web build in Chromium at 1400x900 and
// 1024x700, with sample images dropped on the shipped pair and a class activation map shown, and the Train
// view on a generated shapes folder (scripts/make-shapes.ts) as it trains and when it is done.
//   node --import tsx e2e/readme-screenshots.ts [--train-only]
//   (writes docs/screenshots/app-1400.png, app-1024.png, app-checkpoint-1400.png, app-train-1400.png,
//    app-train-running-1400.png, app-train-1024.png)
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright';
import { imagenetCheckpoint } from './checkpoints';
import { answerPlacement, build, CHROMIUM, CHROMIUM_ARGS, dropFiles, ROOT, startWebServer, until, waitIdle } from './harness';

const OUT = join(ROOT, 'docs', 'screenshots');
const SAMPLES = ['ankle-boot.png', 'bag.png', 'dress.png', 'sneaker.png', 'pullover.png'].map((f) => join(ROOT, 'app', 'samples', f));

build();
mkdirSync(OUT, { recursive: true });
const server = await startWebServer();
const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
try {
  for (const [width, height] of process.argv.includes('--train-only') ? [] : [[1400, 900], [1024, 700]] as const) {
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
  await trainScreenshots(browser, server.url);
} finally {
  await browser.close();
  server.stop();
}

/** The Train view on four shapes classes at 32x32: while both nets train (curves growing), and the results. */
async function trainScreenshots(b: Browser, url: string): Promise<void> {
  const data = mkdtempSync(join(tmpdir(), 'rl-shapes-'));
  try {
    const made = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/make-shapes.ts', data, '--train', '150', '--val', '25', '--size', '48', '--classes', '4', '--seed', '3'], { cwd: ROOT, encoding: 'utf8' });
    if (made.status !== 0) throw new Error(`make-shapes failed: ${made.stderr}`);
    for (const [width, height] of [[1400, 900], [1024, 700]] as const) {
      const page = await (await b.newContext({ viewport: { width, height } })).newPage();
      await page.goto(url);
      await page.waitForSelector('html[data-started="true"]');
      await page.click('[data-testid="view-train"]');
      await pickFolder(page, data);
      await page.fill('[data-testid="train-epochs"]', '15');
      await page.press('[data-testid="train-epochs"]', 'Tab');
      await until('the estimate', async () => (await page.locator('[data-testid="train-estimate"]').textContent())?.startsWith('Estimated time') ?? false, 120_000);
      if (width === 1024) {
        await page.screenshot({ path: join(OUT, 'app-train-1024.png') });
        console.log('wrote docs/screenshots/app-train-1024.png');
        continue;
      }
      await page.click('[data-testid="train-start"]');
      await until('four epochs', async () => (await page.locator('[data-testid="train-curves"] polyline[data-points="4"]').count()) >= 4, 300_000);
      await page.screenshot({ path: join(OUT, 'app-train-running-1400.png') });
      console.log('wrote docs/screenshots/app-train-running-1400.png');
      await page.waitForSelector('[data-testid="train-results"]', { timeout: 600_000 });
      await page.screenshot({ path: join(OUT, 'app-train-1400.png'), fullPage: true });
      console.log('wrote docs/screenshots/app-train-1400.png');
      // The figures app/README.md quotes: the estimate, the time taken and each net's accuracy.
      for (const id of ['train-estimate', 'train-eta', 'train-line-plain', 'train-line-residual']) {
        console.log(`${id}: ${(await page.locator(`[data-testid="${id}"]`).first().textContent())?.trim()}`);
      }
    }
  } finally {
    rmSync(data, { recursive: true, force: true });
  }
}

async function pickFolder(page: Page, dir: string): Promise<void> {
  const [chooser] = await Promise.all([page.waitForEvent('filechooser'), page.click('[data-testid="train-pick"]')]);
  await chooser.setFiles(dir);
  await page.waitForSelector('[data-testid="train-folder"]', { timeout: 120_000 });
}
