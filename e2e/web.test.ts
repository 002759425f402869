// e2e against `npm run web` (dist/web-server.js) in Debian's Chromium, with WebGPU on SwiftShader.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright';
import { serializeOnnx } from '../src/onnx/write';
import { fixtureSidecar } from '../src/testing/sidecar';
import { buildModel } from '../src/zoo/build';
import { zooSpec } from '../src/zoo/spec';
import { appFlows } from './flows';
import {
  build, CHROMIUM, CHROMIUM_ARGS, chromiumSkip, dropFiles, FIXTURES, openAppPage, ROOT, screenshotPath, startWebServer, textOf, until, waitIdle, type Server,
} from './harness';

const skip = chromiumSkip();

describe('web build in Chromium', { skip }, () => {
  let server: Server | undefined;
  let browser: Browser | undefined;
  let page: Page | undefined;
  let pageErrors: string[] = [];

  before(async () => {
    build();
    server = await startWebServer();
    ({ browser, page, pageErrors } = await openAppPage(server.url));
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
    async pick(p, button, path) {
      const [chooser] = await Promise.all([p.waitForEvent('filechooser'), p.click(button)]);
      await chooser.setFiles(path);
    },
  });
});

// Trained models shipped in models/ (with sidecar JSON) must be listed at build time and become the
// default pair, with their training curves drawn as Figure 6. Built here into a copy of dist/web from
// two zoo exports marked as trained, so the test does not depend on which models the repo ships.
describe('shipped models in Chromium', { skip }, () => {
  let server: Server | undefined;
  let browser: Browser | undefined;
  let dir = '';

  before(async () => {
    build();
    dir = mkdtempSync(join(tmpdir(), 'resnet-lab-shipped-'));
    const models = join(dir, 'models');
    mkdirSync(models);
    // Two pairs, as shipped: the 20-layer one (loaded by default) and the 56-layer one (only its curves drawn).
    for (const [name, residual, start] of [['plain20', false, 0.4], ['resnet20', true, 0.3], ['plain56', false, 0.5], ['resnet56', true, 0.25]] as const) {
      const spec = { ...zooSpec(name), residual, inputChannels: 1, inputSize: 28 };
      const sidecar = fixtureSidecar(name, [1, 2, 3].map((e) => [start / e, (start + 0.05) / e] as const));
      const { labels, mean, std, training } = sidecar;
      const graph = buildModel(spec, { name, meta: { trained: true, labels, mean, std, training } });
      writeFileSync(join(models, `${name}.onnx`), serializeOnnx(graph));
      writeFileSync(join(models, `${name}.json`), JSON.stringify(sidecar));
    }
    cpSync(join(ROOT, 'dist', 'web'), join(dir, 'web'), { recursive: true });
    const r = spawnSync(process.execPath, ['scripts/build.mjs', '--models-only', models, join(dir, 'web')], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    server = await startWebServer(join(dir, 'web'));
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  });

  after(async () => {
    await browser?.close();
    server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('lists them in the manifest, loads them by default, and draws their training curves', { timeout: 60_000 }, async () => {
    const manifest = JSON.parse(readFileSync(join(dir, 'web', 'models', 'manifest.json'), 'utf8')) as { models: { id: string; sidecar: unknown }[] };
    assert.deepEqual(manifest.models.map((m) => m.id), ['plain20', 'plain56', 'resnet20', 'resnet56']);
    const page = await browser!.newPage({ viewport: { width: 1360, height: 900 } });
    await page.goto(server!.url);
    await page.waitForSelector('[data-testid="slot-b"][data-status="ready"]', { timeout: 30_000 });
    await waitIdle(page);
    assert.equal(await page.locator('[data-testid="pair-select"]').inputValue(), 'shipped:20');
    assert.equal(await textOf(page, '[data-testid="slot-a"] [data-testid="badge-trained"]'), 'trained · Fashion-MNIST');
    assert.equal(await page.locator('[data-testid="untrained-banner"]').count(), 0);
    assert.deepEqual(await page.locator('[data-testid="pair-select"] option[value^="shipped:"]').evaluateAll((os) => os.map((o) => o.getAttribute('value'))), ['shipped:20', 'shipped:56']);
    // Figure 6: plain nets and ResNets in two panels, test (solid) and train (dashed) error, three epochs each;
    // the pair on screen drawn thicker.
    const panels = await page.$$eval('[data-testid="fig6"] svg', (svgs) => svgs.map((svg) => [svg.getAttribute('aria-label'),
      ...[...svg.querySelectorAll('polyline')].map((p) => `${p.getAttribute('data-series')}:${p.getAttribute('data-points')}${p.classList.contains('in-pair') ? '*' : ''}`)]));
    assert.deepEqual(panels, [
      ['Plain networks', 'plain20 test:3*', 'plain20 train:3*', 'plain56 test:3', 'plain56 train:3'],
      ['ResNets', 'resnet20 test:3*', 'resnet20 train:3*', 'resnet56 test:3', 'resnet56 train:3'],
    ]);
    await dropFiles(page, [join(FIXTURES, 'trouser.jpg')]);
    await until('the image to be classified', async () => (await page.locator('[data-testid="thumb"][data-status="done"]').count()) === 1);
    await waitIdle(page);
    await page.screenshot({ path: screenshotPath('web-shipped'), fullPage: true });
  });
});
