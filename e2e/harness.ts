// Shared e2e plumbing: build, the `npm run web` server, Chromium and Electron launchers, and page helpers
// (dropping real files, waiting for the app to settle, reading results).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const FIXTURES = join(ROOT, 'e2e', 'fixtures');
export const IMAGES = join(ROOT, 'src', 'testdata', 'images');
const SCREENSHOTS = join(ROOT, 'e2e', 'screenshots');
export const CHROMIUM = '/usr/bin/chromium';

/**
 * Why the Chromium tests cannot run here, or false when they can. With REQUIRE_E2E set (CI sets it) a
 * missing Chromium is a failure, not a skip: the suite must not pass without its e2e half.
 */
export function chromiumSkip(): string | false {
  if (existsSync(CHROMIUM)) return false;
  const reason = `${CHROMIUM} is missing (apt-get install -y chromium)`;
  if (process.env['REQUIRE_E2E']) throw new Error(`${reason}, and REQUIRE_E2E is set: the e2e tests must run, not be skipped`);
  return reason;
}

export const CHROMIUM_ARGS = [
  '--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run',
  '--enable-unsafe-webgpu', '--enable-unsafe-swiftshader', '--use-webgpu-adapter=swiftshader',
];

/** Builds dist/ (esbuild, about a second) so the tests always run the current sources. */
export function build(): void {
  const r = spawnSync(process.execPath, ['scripts/build.mjs'], { cwd: ROOT, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`build failed:\n${r.stderr}${r.stdout}`);
}

export interface Server {
  readonly url: string;
  stop(): void;
}

/** `node dist/web-server.js --port 0`, exactly what `npm run web` runs, on a free port (optionally another root). */
export async function startWebServer(root?: string): Promise<Server> {
  const args = [join(ROOT, 'dist', 'web-server.js'), '--port', '0', ...(root ? ['--root', root] : [])];
  const child: ChildProcess = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => { stderr += String(d); });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`web server did not start: ${stderr}`)), 15_000);
    child.stdout!.on('data', (d: Buffer) => {
      const m = /http:\/\/127\.0\.0\.1:\d+\//.exec(String(d));
      if (m) {
        clearTimeout(timer);
        resolve(m[0]);
      }
    });
    child.on('exit', (code) => reject(new Error(`web server exited with ${code}: ${stderr}`)));
  });
  return { url, stop: () => void child.kill('SIGTERM') };
}

/**
 * Path of the Electron binary, or why there is none. Read from the package's path.txt rather than
 * require('electron'), which tries to download a missing binary.
 */
export function electronBinary(): { path: string } | { reason: string } {
  const dir = join(ROOT, 'node_modules', 'electron');
  if (process.env['ELECTRON_OVERRIDE_DIST_PATH']) {
    const p = join(process.env['ELECTRON_OVERRIDE_DIST_PATH'], process.platform === 'win32' ? 'electron.exe' : 'electron');
    return existsSync(p) ? { path: p } : { reason: `ELECTRON_OVERRIDE_DIST_PATH has no Electron binary (${p})` };
  }
  const pathFile = join(dir, 'path.txt');
  if (!existsSync(pathFile)) return { reason: 'no Electron binary (node_modules/electron/path.txt is missing: its download was not possible here)' };
  const p = join(dir, 'dist', readFileSync(pathFile, 'utf8').trim());
  return existsSync(p) ? { path: p } : { reason: `no Electron binary at ${p}` };
}

export function screenshotPath(name: string): string {
  mkdirSync(SCREENSHOTS, { recursive: true });
  return join(SCREENSHOTS, `${name}.png`);
}

const MIME: Record<string, string> = {
  '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg', '.png': 'image/png', '.webp': 'image/webp', '.gif': 'image/gif',
  '.avif': 'image/avif', '.tiff': 'image/tiff', '.tif': 'image/tiff', '.txt': 'text/plain', '.onnx': 'application/octet-stream',
};

// In-page code is passed as source text: this file is type-checked for Node (no DOM types), and the
// functions below only run inside the page.
const DROP_IN_PAGE = `({ payload, selector }) => {
  const dt = new DataTransfer();
  for (const p of payload) {
    const bin = atob(p.b64);
    const bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    dt.items.add(new File([bytes], p.name, { type: p.type }));
  }
  const target = document.querySelector(selector);
  if (!target) throw new Error('no drop target ' + selector);
  for (const type of ['dragenter', 'dragover', 'drop']) {
    target.dispatchEvent(new DragEvent(type, { bubbles: true, cancelable: true, dataTransfer: dt }));
  }
}`;

/**
 * Chromium at the e2e tests' window size with one page open on `url` (downloads accepted); `pageErrors`
 * collects the page's uncaught errors, for the test to fail on at the end.
 */
export async function openAppPage(url: string): Promise<{ browser: Browser; page: Page; pageErrors: string[] }> {
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  const page = await (await browser.newContext({ viewport: { width: 1360, height: 900 }, acceptDownloads: true })).newPage();
  const pageErrors: string[] = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  await page.goto(url);
  return { browser, page, pageErrors };
}

/** Drops real files on an element the way a user's drag and drop does (dragenter, dragover, drop). */
export async function dropFiles(page: Page, files: readonly (string | { name: string; bytes: Uint8Array })[], selector = '[data-testid="dropzone"]'): Promise<void> {
  const payload = files.map((f) => typeof f === 'string'
    ? { name: basename(f), b64: readFileSync(f).toString('base64'), type: MIME[extname(f).toLowerCase()] ?? '' }
    : { name: f.name, b64: Buffer.from(f.bytes).toString('base64'), type: MIME[extname(f.name).toLowerCase()] ?? '' });
  await page.evaluate(`(${DROP_IN_PAGE})(${JSON.stringify({ payload, selector })})`);
}

/** Polls `check` until it holds (twice in a row, so a state between two steps does not count). */
export async function until(what: string, check: () => Promise<boolean>, timeout = 60_000): Promise<void> {
  const end = Date.now() + timeout;
  let streak = 0;
  for (;;) {
    streak = (await check()) ? streak + 1 : 0;
    if (streak >= 2) return;
    if (Date.now() > end) throw new Error(`timed out after ${timeout} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Waits until no work is running and every image is classified or refused. */
export async function waitIdle(page: Page, timeout = 90_000): Promise<void> {
  await until('the app to be idle', async () =>
    (await page.locator('#app[data-busy="false"]').count()) === 1
    && (await page.locator('[data-testid^="slot-"][data-status="loading"]').count()) === 0
    && (await page.locator('[data-testid="thumb"][data-status="pending"], [data-testid="thumb"][data-status="working"]').count()) === 0,
  timeout);
}

export async function textOf(page: Page, selector: string): Promise<string> {
  const l = page.locator(selector).first();
  return (await l.count()) === 0 ? '' : ((await l.textContent()) ?? '').trim();
}

export interface RowResult {
  readonly name: string;
  readonly a: string;
  readonly b: string;
}

/** Top-1 labels of every classified image, from the batch table. */
export async function tableTop1(page: Page): Promise<RowResult[]> {
  return page.$$eval('[data-testid="batch-table"] tbody tr', (rows) => rows.map((r) => ({
    name: r.getAttribute('data-name') ?? '',
    a: r.querySelector('[data-col="a-top1"]')?.textContent ?? '',
    b: r.querySelector('[data-col="b-top1"]')?.textContent ?? '',
  })));
}

export async function chooseEngine(page: Page, engine: string): Promise<void> {
  await page.selectOption('[data-testid="engine-select"]', engine);
}

/** Answers the side question a model file brings up: which slot, and whether the other side gets the zoo twin. */
export async function answerPlacement(page: Page, slot: 'a' | 'b', twin = false): Promise<void> {
  await page.waitForSelector('[data-testid="place-dialog"]', { timeout: 30_000 });
  if (twin) await page.check('[data-testid="twin-zoo"]');
  await page.click(`[data-testid="place-${slot}"]`);
  await page.waitForSelector('[data-testid="place-dialog"]', { state: 'detached' });
}
