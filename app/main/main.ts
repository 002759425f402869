// Electron main process: the window, the File menu, dialogs, the app:// protocol that serves the UI, and
// the IPC handlers (every sender and argument checked). Image decoding runs in a utility process.
// Follows Electron's security checklist: context isolation, sandbox, no Node in the renderer, a custom
// protocol instead of file://, strict CSP, no navigation, no new windows, no permissions.
import { app, BrowserWindow, dialog, ipcMain, Menu, protocol, session, utilityProcess, type MenuItemConstructorOptions } from 'electron';
import { createReadStream, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { CHANNELS, fail, type InvokeChannel, type MenuCommand } from '../shared/ipc';
import { DecoderClient, type DecoderChild } from './decoder-client';
import { APP_ORIGIN, createHandlers, senderProblem, type Dialogs } from './ipc-handlers';
import { IMAGE_EXTENSIONS, PathPolicy } from './paths';
import { lookupStatic, securityHeaders } from './static-files';

const here = dirname(fileURLToPath(import.meta.url));
/**
 * The renderer's files. Packaged builds keep dist/web unpacked (electron-builder.yml asarUnpack): ORT's
 * wasm and the models are large, and plain files let the protocol handler use ordinary fs calls.
 */
const WEB_ROOT = ((): string => {
  const inAsar = join(here, '..', 'web');
  const unpacked = inAsar.replace(/app\.asar([\\/])/, 'app.asar.unpacked$1');
  return unpacked !== inAsar && existsSync(unpacked) ? unpacked : inAsar;
})();
const PRELOAD = join(here, 'preload.cjs');
const DECODER = join(here, 'decoder.js');

protocol.registerSchemesAsPrivileged([
  { scheme: 'app', privileges: { standard: true, secure: true, supportFetchAPI: true, stream: true, codeCache: true } },
]);

const windows = new Set<BrowserWindow>();
const trustedWebContents = new Set<number>();

function spawnDecoder(): DecoderChild {
  const child = utilityProcess.fork(DECODER, [], { serviceName: 'resnet-lab image decoder', stdio: 'inherit' });
  return {
    postMessage: (m) => child.postMessage(m),
    onMessage: (listener) => child.on('message', listener),
    onExit: (listener) => child.on('exit', (code) => listener(code)),
    kill: () => void child.kill(),
  };
}

async function serveApp(request: Request): Promise<Response> {
  const url = new URL(request.url);
  const headers = securityHeaders();
  if (url.host !== 'resnet-lab') return new Response('unknown host', { status: 404, headers });
  if (request.method !== 'GET' && request.method !== 'HEAD') return new Response('method not allowed', { status: 405, headers });
  const found = await lookupStatic(WEB_ROOT, url.pathname);
  if (found.status !== 200) return new Response(found.reason, { status: found.status, headers });
  const body = request.method === 'HEAD' ? null : (Readable.toWeb(createReadStream(found.path)) as ReadableStream<Uint8Array>);
  return new Response(body, { status: 200, headers: { ...headers, 'Content-Type': found.contentType, 'Content-Length': String(found.size) } });
}

function hardenContents(): void {
  app.on('web-contents-created', (_event, contents) => {
    contents.on('will-navigate', (e) => e.preventDefault());
    contents.on('will-frame-navigate', (e) => {
      if (!e.isMainFrame || e.url !== contents.getURL()) e.preventDefault();
    });
    contents.on('will-redirect', (e) => e.preventDefault());
    contents.on('will-attach-webview', (e) => e.preventDefault());
    contents.setWindowOpenHandler(() => ({ action: 'deny' }));
  });
  session.defaultSession.setPermissionRequestHandler((_wc, _permission, callback) => callback(false));
  session.defaultSession.setPermissionCheckHandler(() => false);
  session.defaultSession.setDevicePermissionHandler(() => false);
}

function focusedWindow(): BrowserWindow | undefined {
  return BrowserWindow.getFocusedWindow() ?? [...windows][0];
}

function makeDialogs(): Dialogs {
  const imageExts = [...IMAGE_EXTENSIONS].map((e) => e.slice(1));
  const parent = (): BrowserWindow => {
    const w = focusedWindow();
    if (!w) throw new Error('no window to attach the dialog to');
    return w;
  };
  return {
    async openImages() {
      const r = await dialog.showOpenDialog(parent(), {
        title: 'Open images', properties: ['openFile', 'multiSelections'],
        filters: [{ name: 'Images', extensions: imageExts }, { name: 'All files', extensions: ['*'] }],
      });
      return r.canceled ? [] : r.filePaths;
    },
    async openFolder() {
      const r = await dialog.showOpenDialog(parent(), { title: 'Open a folder of images', properties: ['openDirectory'] });
      return r.canceled ? null : (r.filePaths[0] ?? null);
    },
    async openModel() {
      const r = await dialog.showOpenDialog(parent(), {
        title: 'Open an ONNX model', properties: ['openFile'],
        filters: [
          { name: 'Models (ONNX, PyTorch checkpoints)', extensions: ['onnx', 'pth', 'pt', 'tar', 'safetensors', 'ckpt', 'bin'] },
          { name: 'All files', extensions: ['*'] },
        ],
      });
      return r.canceled ? null : (r.filePaths[0] ?? null);
    },
    async saveCsv(suggestedName) {
      const r = await dialog.showSaveDialog(parent(), {
        title: 'Save results as CSV', defaultPath: join(app.getPath('documents'), suggestedName),
        filters: [{ name: 'CSV', extensions: ['csv'] }],
      });
      return r.canceled || !r.filePath ? null : r.filePath;
    },
  };
}

function sendMenuCommand(command: MenuCommand): void {
  focusedWindow()?.webContents.send(CHANNELS.menuCommand, command);
}

function buildMenu(): void {
  const mac = process.platform === 'darwin';
  const template: MenuItemConstructorOptions[] = [
    ...(mac ? [{ role: 'appMenu' as const }] : []),
    {
      label: 'File',
      submenu: [
        { label: 'Open Images…', accelerator: 'CmdOrCtrl+O', click: () => sendMenuCommand('open-images') },
        { label: 'Open Folder…', accelerator: 'CmdOrCtrl+Shift+O', click: () => sendMenuCommand('open-folder') },
        { label: 'Open Model (ONNX or PyTorch)…', accelerator: 'CmdOrCtrl+M', click: () => sendMenuCommand('open-model') },
        { type: 'separator' },
        { label: 'Save Results as CSV…', accelerator: 'CmdOrCtrl+S', click: () => sendMenuCommand('save-csv') },
        { type: 'separator' },
        mac ? { role: 'close' } : { role: 'quit' },
      ],
    },
    { role: 'editMenu' },
    {
      label: 'View',
      submenu: [
        { role: 'reload' },
        ...(app.isPackaged ? [] : [{ role: 'toggleDevTools' as const }]),
        { type: 'separator' },
        { role: 'resetZoom' }, { role: 'zoomIn' }, { role: 'zoomOut' },
        { type: 'separator' },
        { role: 'togglefullscreen' },
      ],
    },
    {
      role: 'help',
      submenu: [{
        label: 'About resnet-lab',
        click: () => void dialog.showMessageBox({
          type: 'info', title: 'resnet-lab', message: `resnet-lab ${app.getVersion()}`,
          detail: 'Plain and residual networks (He et al., 2015) side by side, on our kernels and ONNX Runtime.',
        }),
      }],
    },
  ];
  Menu.setApplicationMenu(Menu.buildFromTemplate(template));
}

function createWindow(): void {
  const win = new BrowserWindow({
    width: 1360,
    height: 900,
    minWidth: 900,
    minHeight: 600,
    title: 'resnet-lab',
    backgroundColor: '#f6f7f9',
    show: false,
    webPreferences: {
      preload: PRELOAD,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      spellcheck: false,
    },
  });
  const id = win.webContents.id;
  windows.add(win);
  trustedWebContents.add(id);
  win.once('ready-to-show', () => win.show());
  win.on('closed', () => {
    windows.delete(win);
    trustedWebContents.delete(id);
  });
  void win.loadURL(`${APP_ORIGIN}/index.html`);
}

async function start(): Promise<void> {
  await app.whenReady();
  hardenContents();
  protocol.handle('app', serveApp);
  const decoder = new DecoderClient(spawnDecoder);
  app.on('will-quit', () => decoder.close());
  const paths = await PathPolicy.create([WEB_ROOT]);
  const handlers = createHandlers({ decoder, paths, dialogs: makeDialogs() });
  for (const [channel, handler] of Object.entries(handlers) as [InvokeChannel, (typeof handlers)[InvokeChannel]][]) {
    ipcMain.handle(channel, async (event, ...args: unknown[]) => {
      const problem = senderProblem({
        frameUrl: event.senderFrame?.url,
        isMainFrame: event.senderFrame !== null && event.senderFrame === event.sender.mainFrame,
        webContentsId: event.sender.id,
      }, trustedWebContents);
      if (problem) return fail('forbidden', `${channel}: ${problem}`);
      return handler(args);
    });
  }
  buildMenu();
  createWindow();
  app.on('activate', () => {
    if (windows.size === 0) createWindow();
  });
}

app.on('window-all-closed', () => {
  if (process.platform !== 'darwin') app.quit();
});

start().catch((err: unknown) => {
  dialog.showErrorBox('resnet-lab failed to start', err instanceof Error ? err.message : String(err));
  app.quit();
});
