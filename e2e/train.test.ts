// The Train view in Chromium against `npm run web`: a committed shapes folder (three classes, a junk
// file, a truncated JPEG, a hidden file) is picked, refused input leaves the view as it was, both nets
// train for two epochs at 16x16 with their curves drawn live (the page staying responsive), pause and
// resume, the results, the pair in the compare view classifying held-out images, and the saved files
// opening again, in the app and in `resnet classify`.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright';
import { parseMeta } from '../src/model-meta';
import { parseOnnx } from '../src/onnx/read';
import { parseSidecar } from '../src/sidecar';
import {
  answerPlacement, build, chromiumSkip, dropFiles, openAppPage, ROOT, type Server, startWebServer, textOf, until, waitIdle,
} from './harness';

const skip = chromiumSkip();
// Beside e2e/fixtures, not in it: the flows pick that whole folder and count its images.
const TRAIN_FIXTURES = join(ROOT, 'e2e', 'train-fixtures');
const FOLDER = join(TRAIN_FIXTURES, 'train-shapes');
const CLASSES = ['disc', 'square', 'triangle'];
const HELD_OUT = [join(TRAIN_FIXTURES, 'heldout-disc.jpg'), join(TRAIN_FIXTURES, 'heldout-square.jpg')];

describe('Train view in Chromium', { skip }, () => {
  let server: Server | undefined;
  let browser: Browser | undefined;
  let page: Page;
  let pageErrors: string[] = [];
  const tmp = mkdtempSync(join(tmpdir(), 'rl-train-e2e-'));

  before(async () => {
    build();
    server = await startWebServer();
    ({ browser, page, pageErrors } = await openAppPage(server.url));
    await page.waitForSelector('html[data-started="true"]');
  });

  after(async () => {
    await browser?.close();
    server?.stop();
    rmSync(tmp, { recursive: true, force: true });
    if (pageErrors.length > 0) throw new Error(`uncaught errors in the page: ${pageErrors.join(' | ')}`);
  });

  const pickFolder = async (dir: string): Promise<void> => {
    const [chooser] = await Promise.all([page.waitForEvent('filechooser'), page.click('[data-testid="train-pick"]')]);
    await chooser.setFiles(dir);
  };

  it('refuses a folder with one class in one line and keeps the view as it was', async () => {
    await page.click('[data-testid="view-train"]');
    const one = join(tmp, 'one-class');
    mkdirSync(one);
    cpSync(join(FOLDER, 'disc'), join(one, 'disc'), { recursive: true });
    await pickFolder(one);
    await page.waitForSelector('[data-testid="train-error"]');
    assert.match(await textOf(page, '[data-testid="train-error"]'), /^one-class: only one class \('disc'\) has usable images; a classifier needs at least 2/);
    assert.equal(await page.locator('[data-testid="train-folder"]').count(), 0);
  });

  it('shows the classes with counts and samples, what was skipped, and the estimate', async () => {
    await pickFolder(FOLDER);
    await page.waitForSelector('[data-testid="train-folder"]');
    assert.equal(await page.locator('[data-testid="train-error"]').count(), 0, 'the error went with the good folder');
    const rows = await page.$$eval('[data-testid="train-classes"] tbody tr', (trs) => trs.map((tr) => ({
      cls: tr.getAttribute('data-class'), cells: [...tr.querySelectorAll('td')].map((td) => td.textContent), thumbs: tr.querySelectorAll('img').length,
    })));
    assert.deepEqual(rows.map((r) => r.cls), CLASSES);
    // 16 images each (square has one truncated): 20% held out per class.
    assert.deepEqual(rows.map((r) => [r.cells[1], r.cells[2]]), [['13', '3'], ['13', '3'], ['13', '3']]);
    assert.ok(rows.every((r) => r.thumbs > 0));
    const skips = await textOf(page, '[data-testid="train-skips"]');
    assert.match(skips, /skipped 1 file: not images \(disc\/notes\.txt\)/);
    assert.match(skips, /corrupt or truncated images \(square\/cut\.jpg\)/);
    assert.match(skips, /hidden or system files \(\.DS_Store\)/);
    // The page is cross-origin isolated (for the wasm engine's threads): both workers read one copy of the pixels.
    assert.match(await textOf(page, '[data-testid="train-memory"]'), /3×32×32 \(RGB\).*KB of pixels, held once, shared by the two training workers/);
    await page.selectOption('[data-testid="train-size"]', '16');
    await page.fill('[data-testid="train-epochs"]', '2');
    await page.press('[data-testid="train-epochs"]', 'Tab');
    await until('the estimate', async () => /^Estimated time: .*plain20 .* s, resnet20 .* s a step of 9 images/.test(await textOf(page, '[data-testid="train-estimate"]')));
    assert.match(await textOf(page, '[data-testid="train-memory"]'), /3×16×16/);
    // A bad folder now leaves this one, measured and ready, as it was.
    await pickFolder(join(tmp, 'one-class'));
    await page.waitForSelector('[data-testid="train-error"]');
    assert.deepEqual(await page.$$eval('[data-testid="train-classes"] tbody tr', (trs) => trs.map((tr) => tr.getAttribute('data-class'))), CLASSES);
    assert.match(await textOf(page, '[data-testid="train-estimate"]'), /^Estimated time/);
    assert.equal(await page.isEnabled('[data-testid="train-start"]'), true);
  });

  it('trains both nets with live curves, pause and resume, then shows the results', async () => {
    await page.click('[data-testid="train-start"]');
    await page.waitForSelector('[data-testid="train-progress"][data-phase="training"]');
    await page.click('[data-testid="train-pause"]');
    await page.waitForSelector('[data-testid="train-progress"][data-phase="paused"]');
    // The card is redrawn on every worker message, so its text is read until it holds (not once, mid-redraw).
    await until('the paused status', async () => /Paused/.test(await textOf(page, '[data-testid="train-eta"]')), 10_000);
    await page.click('[data-testid="train-resume"]');
    // Training runs in workers: the page's own thread answers timers promptly meanwhile.
    const lag = await page.evaluate(`new Promise((resolve) => {
      let worst = 0, last = performance.now();
      const id = setInterval(() => { const now = performance.now(); worst = Math.max(worst, now - last - 10); last = now; }, 10);
      setTimeout(() => { clearInterval(id); resolve(worst); }, 600);
    })`) as number;
    assert.ok(lag < 250, `the page's thread was blocked for ${lag.toFixed(0)} ms while training`);
    await until('curves of both nets', async () => (await page.locator('[data-testid="train-curves"] polyline[data-points]').count()) >= 4, 60_000);
    await page.waitForSelector('[data-testid="train-results"]', { timeout: 60_000 });
    const lines = await page.$$eval('[data-testid="train-curves"] polyline', (ps) => ps.map((p) => [p.getAttribute('data-series'), p.getAttribute('data-points')]));
    assert.deepEqual(lines.map((l) => l[1]), ['2', '2', '2', '2'], `two epochs on every line: ${JSON.stringify(lines)}`);
    for (const model of ['plain20', 'resnet20']) {
      const block = `[data-testid="train-report-${model}"]`;
      assert.match(await textOf(page, `${block} [data-testid="train-accuracy"]`), /^\d+\.\d%$/);
      assert.equal(await page.locator(`${block} .confusion tbody tr`).count(), 3);
    }
  });

  it('saves both nets with their labels and preprocessing, which load again', async () => {
    const saved: Record<string, string> = {};
    for (const f of ['plain', 'residual']) {
      const downloads: Promise<import('playwright').Download>[] = [];
      page.on('download', (d) => downloads.push(Promise.resolve(d)));
      await page.click(`[data-testid="train-save-${f}"]`);
      await until('two downloads', async () => downloads.length === 2, 10_000);
      page.removeAllListeners('download');
      for (const d of await Promise.all(downloads)) {
        const to = join(tmp, d.suggestedFilename());
        await d.saveAs(to);
        saved[d.suggestedFilename()] = to;
      }
    }
    assert.deepEqual(Object.keys(saved).sort(), ['plain20.json', 'plain20.onnx', 'resnet20.json', 'resnet20.onnx']);
    const meta = parseMeta(parseOnnx(readFileSync(saved['resnet20.onnx']!)).metadata);
    assert.deepEqual(meta?.labels, CLASSES);
    assert.deepEqual(meta?.input, [3, 16, 16]);
    assert.equal(meta?.trained, true);
    const sidecar = parseSidecar(JSON.parse(readFileSync(saved['resnet20.json']!, 'utf8')));
    assert.equal(sidecar.history?.length, 2);
    assert.equal(sidecar.recipe?.dataset, 'train-shapes');
    // `resnet classify` reads the saved file's labels and preprocessing.
    const cli = spawnSync(process.execPath, [join(ROOT, 'bin', 'resnet.js'), 'classify', HELD_OUT[0]!, '--model', saved['resnet20.onnx']!, '--json'], { encoding: 'utf8' });
    assert.equal(cli.status, 0, cli.stderr);
    const classified = JSON.parse(cli.stdout) as { top: { label: string }[] }[];
    assert.deepEqual(classified[0]!.top.map((t) => t.label).sort(), CLASSES);

    // The pair in the compare view classifies held-out images into the folder's classes.
    await page.click('[data-testid="train-use"]');
    await until('the trained pair', async () => (await textOf(page, '[data-testid="slot-a"] [data-testid="model-name"]')) === 'plain20.onnx'
      && (await textOf(page, '[data-testid="slot-b"] [data-testid="model-name"]')) === 'resnet20.onnx', 30_000);
    await waitIdle(page);
    await dropFiles(page, HELD_OUT);
    await waitIdle(page);
    for (const slot of ['a', 'b']) {
      const top = await page.$$eval(`[data-testid="slot-${slot}"] [data-testid="top5"] li`, (lis) => lis.map((li) => li.getAttribute('data-label') ?? li.textContent ?? ''));
      assert.ok(top.length > 0 && CLASSES.some((c) => top[0]!.includes(c)), `slot ${slot} top-1 is a class of the folder: ${top.join(', ')}`);
    }

    // The saved file opens again like any model.
    const [chooser] = await Promise.all([page.waitForEvent('filechooser'), page.click('[data-testid="open-model"]')]);
    await chooser.setFiles(saved['plain20.onnx']!);
    await answerPlacement(page, 'b');
    await waitIdle(page);
    assert.equal(await page.getAttribute('[data-testid="slot-b"]', 'data-status'), 'ready');
    const top = await textOf(page, '[data-testid="slot-b"] [data-testid="top5"] li');
    assert.ok(CLASSES.some((c) => top.includes(c)), `the reopened net names a folder class: ${top}`);
  });
});
