// e2e against `npm run web` (dist/web-server.js) in Debian's Chromium, with WebGPU on SwiftShader.
import { existsSync, readFileSync } from 'node:fs';
import { after, before, describe } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright';
import { appFlows } from './flows';
import { build, CHROMIUM, CHROMIUM_ARGS, startWebServer, type Server } from './harness';

const skip = existsSync(CHROMIUM) ? false : `${CHROMIUM} is missing (apt-get install -y chromium)`;

describe('web build in Chromium', { skip }, () => {
  let server: Server | undefined;
  let browser: Browser | undefined;
  let page: Page | undefined;
  const pageErrors: string[] = [];

  before(async () => {
    build();
    server = await startWebServer();
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    const context = await browser.newContext({ viewport: { width: 1360, height: 900 }, acceptDownloads: true });
    page = await context.newPage();
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await page.goto(server.url);
  });

  after(async () => {
    await browser?.close();
    server?.stop();
    if (pageErrors.length > 0) throw new Error(`uncaught errors in the page: ${pageErrors.join(' | ')}`);
  });

  appFlows({
    kind: 'web',
    page: () => page!,
    async saveCsv(p) {
      const [download] = await Promise.all([p.waitForEvent('download'), p.click('[data-testid="save-csv"]')]);
      const path = await download.path();
      return readFileSync(path, 'utf8');
    },
  });
});
