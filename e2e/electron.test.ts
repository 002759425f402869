// The same e2e flows through the Electron app (Playwright's _electron launcher), when an Electron binary
// exists. Native dialogs cannot be driven, so the save dialog is answered from the main process.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe } from 'node:test';
import { _electron, type ElectronApplication, type Page } from 'playwright';
import { appFlows } from './flows';
import { build, electronBinary, ROOT, textOf, until } from './harness';

const bin = electronBinary();
const skip = 'reason' in bin ? `Electron e2e skipped: ${bin.reason}` : false;

describe('Electron app', { skip }, () => {
  let app: ElectronApplication | undefined;
  let page: Page | undefined;

  before(async () => {
    build();
    app = await _electron.launch({ executablePath: (bin as { path: string }).path, args: [ROOT], cwd: ROOT });
    page = await app.firstWindow();
    await page.setViewportSize({ width: 1360, height: 900 });
  });

  after(async () => {
    await app?.close();
  });

  appFlows({
    kind: 'electron',
    page: () => page!,
    async saveCsv(p) {
      const dest = join(mkdtempSync(join(tmpdir(), 'resnet-lab-e2e-')), 'results.csv');
      await app!.evaluate(({ dialog }, file) => {
        dialog.showSaveDialog = (async () => ({ canceled: false, filePath: file })) as typeof dialog.showSaveDialog;
      }, dest);
      await p.click('[data-testid="save-csv"]');
      await until('the CSV to be saved', async () => /saved to/.test(await textOf(p, '[data-testid="status"]')));
      return readFileSync(dest, 'utf8');
    },
    async pick(p, button, path) {
      // The next open dialog answers with `path` (a folder for Open folder, a file otherwise).
      await app!.evaluate(({ dialog }, picked) => {
        dialog.showOpenDialog = (async () => ({ canceled: false, filePaths: [picked] })) as typeof dialog.showOpenDialog;
      }, path);
      await p.click(button);
    },
  });
});
