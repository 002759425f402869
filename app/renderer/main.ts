// Renderer entry: pick the host (Electron's preload API when present, else the browser) and start the app.
import type { ResnetLabApi } from '../shared/ipc';
import { App } from './app';
import { BrowserHost } from './host-browser';
import { ElectronHost } from './host-electron';
import type { Host } from './host';

declare global {
  interface Window {
    readonly resnetLab?: ResnetLabApi;
  }
}

const root = document.getElementById('app');
if (!root) throw new Error('index.html has no #app element');
const host: Host = window.resnetLab ? new ElectronHost(window.resnetLab) : new BrowserHost();
document.documentElement.dataset['host'] = host.kind;
const app = new App(host, root);
app.start().then(
  () => {
    document.documentElement.dataset['started'] = 'true';
  },
  (e: unknown) => {
    root.textContent = `resnet-lab could not start: ${e instanceof Error ? e.message : String(e)}`;
  },
);
